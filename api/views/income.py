"""Pay plans (``/api/v1/pay-plans/``) and the monthly income figures (``/api/v1/income/``).

A consultant lists, creates and cancels their own plans and reads their own figures;
finance, coordinators and admins read plans. Anyone else sees nothing.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.idempotency import IdempotentMixin
from api.serializers.income import IncomeSerializer, PayPlanCreateSerializer, PayPlanSerializer
from api.views.base import HonoraViewSet
from core.errors import NotAllowed, StateConflict
from engagements.models import Contribution
from income import selectors
from income.models import PayPlan
from income.services import pay_plan_cancel, pay_plan_create


class PayPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, HonoraViewSet):
    queryset = PayPlan.objects.none()
    serializer_class = PayPlanSerializer
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            selectors.pay_plans_visible_to(self.request.user)
            .prefetch_related("entries__contribution")
            .order_by("-id")
        )

    def _consultant(self):
        consultant = getattr(self.request.user, "consultant", None)
        if consultant is None:
            raise NotAllowed("Only a consultant asks this, for their own work.")
        return consultant

    def _answer(self, plan, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=plan.pk)
        return Response(PayPlanSerializer(fresh).data, status=code)

    @extend_schema(request=PayPlanCreateSerializer, responses={201: PayPlanSerializer})
    def create(self, request):
        """Defer chosen approved entries to a month, or spread them over 2-6 months."""
        consultant = self._consultant()
        serializer = PayPlanCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entries = None
        if data.get("entries") is not None:
            wanted = set(data["entries"])
            entries = list(
                Contribution.objects.filter(engagement__consultant=consultant, public_id__in=wanted)
            )
            if len(entries) != len(wanted):
                raise StateConflict(
                    "Some of this work is not yours or not approved and unpaid.",
                    code="not_plannable",
                )
        plan = pay_plan_create(
            consultant=consultant,
            by=request.user,
            kind=data["kind"],
            entries=entries,
            start_month=data["start_month"],
            months=data.get("months") or 1,
            month_limit=data.get("month_limit"),
        )
        return self._answer(plan, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PayPlanSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id=None):
        """The consultant cancels their plan (409 once all its work is in a payment)."""
        plan = self.get_object()
        if plan.consultant.user_id != request.user.pk:
            raise NotAllowed("Only the consultant cancels their own request.")
        pay_plan_cancel(plan=plan, by=request.user)
        return self._answer(plan)


class IncomeView(IdempotentMixin, generics.GenericAPIView):
    """The signed-in consultant's money by month (the last 12 and any scheduled ahead) and
    by year: paid (income only), approved and scheduled, reimbursements apart, and the
    room left under their own limit."""

    serializer_class = IncomeSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(responses=IncomeSerializer)
    def get(self, request):
        consultant = getattr(request.user, "consultant", None)
        if consultant is None:
            raise NotFound("You have no consultant record.")
        today = timezone.localdate()
        figures = selectors.income_of(consultant, today=today)
        months = selectors.last_months(
            today, 12, ahead=selectors.months_ahead_with_work(figures, today)
        )
        body = {
            "months": selectors.monthly(consultant, figures, months),
            "years": selectors.yearly(consultant, figures, figures.years(today)),
        }
        return Response(IncomeSerializer(body).data)
