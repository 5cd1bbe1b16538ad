from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.admin import ReasonedHistoryAdmin
from engagements.models import (
    Contribution,
    Dispute,
    Engagement,
    ImportRun,
    Phase,
    Rate,
    RateCard,
    Study,
)
from engagements.services.engagements import rate_add, study_create


class NoDeleteMixin:
    def has_delete_permission(self, request, obj=None):
        return False


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    fields = ["position", "name", "description"]
    ordering = ["position"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Study)
class StudyAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    list_display = ["name", "currency", "budget", "hourly_rate_floor", "created_at"]
    # The payout calendar is set on its own page, where its gaps are checked against the
    # target (engagements.paydates); here it is shown only.
    readonly_fields = ["public_id", "created_at", "time_to_pay_days", "pay_calendar", "pay_days"]
    inlines = [PhaseInline]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A new study gets the five default phases, like one made anywhere else.
        created = study_create(
            name=obj.name,
            by=request.user,
            hourly_rate_floor=obj.hourly_rate_floor,
            budget=obj.budget,
            description=obj.description,
        )
        obj.pk = created.pk
        obj._state.adding = False


@admin.register(Phase)
class PhaseAdmin(ReasonedHistoryAdmin):
    list_display = ["name", "study", "position"]
    list_filter = ["study"]
    ordering = ["study", "position"]


class RateInline(admin.TabularInline):
    model = Rate
    extra = 0
    fields = ["activity", "kind", "amount", "floor", "effective_from"]
    readonly_fields = ["activity", "kind", "amount", "floor", "effective_from"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # rates are added one at a time, through the Rate page


@admin.register(RateCard)
class RateCardAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    list_display = ["name", "study"]
    list_filter = ["study"]
    readonly_fields = ["public_id"]
    inlines = [RateInline]


@admin.register(Rate)
class RateAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    """Rates are a schedule: add a new one with a later date, never edit one."""

    list_display = ["rate_card", "activity", "kind", "amount", "floor", "effective_from"]
    list_filter = ["rate_card__study", "kind", "activity"]
    fields = ["rate_card", "activity", "kind", "amount", "effective_from"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = rate_add(
            rate_card=obj.rate_card,
            by=request.user,
            kind=obj.kind,
            amount=obj.amount,
            effective_from=obj.effective_from,
            activity=obj.activity,
        )
        obj.pk = created.pk
        obj._state.adding = False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class RateForm(form):
            def clean(self):
                data = super().clean()
                card = data.get("rate_card")
                amount = data.get("amount")
                if card and amount is not None and data.get("kind") == Rate.Kind.HOURLY:
                    floor = card.study.hourly_rate_floor
                    if amount < floor:
                        raise ValidationError(
                            _("This study's hourly rates cannot go below %(floor)s."),
                            params={"floor": floor},
                        )
                return data

        return form


@admin.register(Engagement)
class EngagementAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    list_display = ["consultant", "phase", "role", "rate_card", "hours_cap", "status"]
    list_filter = ["phase__study", "phase", "status"]
    search_fields = ["consultant__display_name", "role"]
    readonly_fields = ["public_id", "created_at"]
    raw_id_fields = ["consultant"]
    # Who is engaged, in which phase and at which rates is what the services check
    # contributions and payments against: fixed once the engagement exists.
    locked_after_add = ["consultant", "phase", "rate_card"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [name for name in self.locked_after_add if name not in fields]
        return fields

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            # Like one made anywhere else: version 1 of its agreement, to be accepted.
            from agreements.services import agreement_issue

            agreement_issue(engagement=obj, by=request.user)


@admin.register(Contribution)
class ContributionAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    """Read-only here: contributions change only through their services."""

    list_display = ["date", "engagement", "kind", "activity", "quantity", "amount", "status"]
    list_filter = ["status", "kind", "activity", "engagement__phase__study"]
    search_fields = ["engagement__consultant__display_name"]
    date_hierarchy = "date"
    list_select_related = ["engagement__consultant", "engagement__phase"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(NoDeleteMixin, ReasonedHistoryAdmin):
    """Read-only: disputes are opened and resolved through their services."""

    list_display = ["created_at", "contribution", "status", "resolved_at"]
    list_filter = ["status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    """Background imports, read only: who, when, how far and how it ended. Neither the
    file (encrypted, deleted once used) nor the report (rows of descriptions) is shown."""

    list_display = ("created_at", "mode", "status", "size", "applied", "finished_at")
    list_filter = ("mode", "status", "applied")
    fields = (
        "public_id",
        "by",
        "mode",
        "status",
        "size",
        "bytes_done",
        "applied",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
