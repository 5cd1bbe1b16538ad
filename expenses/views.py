"""Staff pages: advances per study (grant, receipts, settle, pay at once) and the
private downloads of receipt files (staff, and the consultant they belong to)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.access import coordinator_required, get_visible_or_404, staff_required
from accounts.roles import FINANCE
from core.errors import DomainError
from core.files import stored_file_download
from core.forms import show_error
from engagements.models import Engagement, Study
from engagements.selectors import engagements_visible_to
from expenses import selectors
from expenses.forms import AdvanceGrantForm, PayNowForm, ReceiptForm, SettleForm
from expenses.services import advance_grant, advance_pay_now, advance_receipt_add, advance_settle

PAGE_SIZE = 50


def _may_coordinate(user) -> bool:
    return user.has_perm("engagements.add_contribution")


@staff_required
def advance_list(request):
    """Every advance, newest first; ``?study=<id>`` for one study's."""
    user = request.user
    advances = selectors.advances_visible_to(user).prefetch_related("receipts")
    study = None
    if request.GET.get("study"):
        study = get_visible_or_404(Study.objects.all(), public_id=request.GET["study"])
        advances = advances.filter(engagement__phase__study=study)
    page = Paginator(advances, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "expenses/advance_list.html",
        {
            "page": page,
            "study": study,
            "studies": Study.objects.order_by("name"),
            "can_grant": _may_coordinate(user),
        },
    )


@coordinator_required
def advance_grant_view(request, public_id):
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    engagements = (
        engagements_visible_to(request.user)
        .filter(phase__study=study, status=Engagement.Status.ACTIVE)
        .order_by("consultant__display_name", "phase__position")
    )
    form = AdvanceGrantForm(request.POST or None, engagements=engagements)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                advance = advance_grant(
                    engagement=data["engagement"],
                    by=request.user,
                    purpose=data["purpose"],
                    planned_for=data["planned_for"],
                    amount=data["amount"],
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request,
                    _(
                        "The advance was granted. Another coordinator approves it on Review; "
                        "then it is paid in the next batch, or at once by finance."
                    ),
                )
                return redirect("expenses:advance", public_id=advance.public_id)
        else:
            status = 400
    return render(
        request, "expenses/advance_form.html", {"form": form, "study": study}, status=status
    )


@staff_required
def advance_detail(request, public_id):
    user = request.user
    advance = get_visible_or_404(selectors.advances_visible_to(user), public_id=public_id)
    forms = {
        "receipt": ReceiptForm(prefix="receipt"),
        "settle": SettleForm(prefix="settle"),
        "pay_now": PayNowForm(prefix="pay"),
    }
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "receipt":
                form = forms["receipt"] = ReceiptForm(request.POST, request.FILES, prefix="receipt")
                if not form.is_valid():
                    status = 400
                else:
                    advance_receipt_add(
                        advance=advance,
                        by=user,
                        amount=form.cleaned_data["amount"],
                        description=form.cleaned_data["description"],
                        upload=form.cleaned_data["file"],
                    )
                    messages.success(request, _("The receipt was added."))
                    return redirect("expenses:advance", public_id=advance.public_id)
            elif action == "settle":
                form = forms["settle"] = SettleForm(request.POST, prefix="settle")
                if not form.is_valid():
                    status = 400
                else:
                    advance_settle(advance=advance, by=user, note=form.cleaned_data["note"])
                    messages.success(request, _("The advance is settled."))
                    return redirect("expenses:advance", public_id=advance.public_id)
            elif action == "pay_now":
                form = forms["pay_now"] = PayNowForm(request.POST, prefix="pay")
                if not form.is_valid():
                    status = 400
                else:
                    batch = advance_pay_now(
                        advance=advance, by=user, method=form.cleaned_data["method"]
                    )
                    messages.success(
                        request,
                        _(
                            "A batch of just this advance was built. Submit it; a second "
                            "finance person approves it, as for every batch."
                        ),
                    )
                    return redirect("payments:batch", public_id=batch.public_id)
            else:
                status = 400
        except DomainError as exc:
            status = show_error(form, exc)
    advance.refresh_from_db()
    settlement = getattr(advance, "settlement", None)
    return render(
        request,
        "expenses/advance_detail.html",
        {
            "advance": advance,
            "receipts": list(advance.receipts.select_related("added_by")),
            "spent": selectors.spent_on(advance),
            "settlement": settlement,
            "can_coordinate": _may_coordinate(user),
            "is_finance": user.has_role(FINANCE),
            **{f"{name}_form": f for name, f in forms.items()},
        },
        status=status,
    )


@never_cache
@login_required
def claim_file(request, public_id):
    """One receipt file of a claim, to staff or to the consultant it belongs to."""
    f = get_visible_or_404(selectors.claim_files_visible_to(request.user), public_id=public_id)
    response = stored_file_download(
        f.file, filename_stem=f"receipt-{f.claim.contribution.date.isoformat()}"
    )
    if response is None:
        raise Http404
    return response


@never_cache
@login_required
def advance_receipt_file(request, public_id):
    r = get_visible_or_404(selectors.advance_receipts_visible_to(request.user), public_id=public_id)
    response = stored_file_download(
        r.file, filename_stem=f"receipt-{r.added_at.date().isoformat()}"
    )
    if response is None:
        raise Http404
    return response
