"""Coordinator pages: thin views over engagements.services and selectors.

Every write goes through a service. A service's error lands on the form field
it names (400), or above the form; a change that no longer applies answers 409.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.access import coordinator_required, get_visible_or_404, staff_required
from accounts.roles import ADMIN, COORDINATOR
from consultants.models import Consultant
from consultants.selectors import consultants_visible_to
from core.errors import DomainError, NotAllowed, StateConflict, ValidationFailed
from core.files import stored_file_download
from core.forms import show_error
from core.history import history_entries, plain_number
from engagements import imports, selectors, services
from engagements.forms import (
    AdjustmentForm,
    ContributionEditForm,
    ContributionFilterForm,
    ContributionForm,
    EngagementForm,
    ImportForm,
    RejectForm,
    ResolveForm,
    ReviewDecisionForm,
    ReviewFilterForm,
    WeekGrid,
    parse_week,
    week_label,
)
from engagements.models import Contribution, Dispute, Engagement, Study

PAGE_SIZE = 50


def _coordinates(user) -> bool:
    return user.is_superuser or user.has_role(COORDINATOR, ADMIN)


def _no_store(response):
    response["Cache-Control"] = "private, no-store"
    return response


def _wants_csv(request) -> bool:
    return request.GET.get("format") == "csv"


# --- studies ------------------------------------------------------------------------


@staff_required
def dashboard(request):
    """The list of studies, or straight to the only one."""
    studies = list(selectors.studies_with_counts())
    if len(studies) == 1:
        return redirect("engagements:study_dashboard", public_id=studies[0].public_id)
    return render(request, "engagements/study_list.html", {"studies": studies})


@staff_required
def study_dashboard(request, public_id):
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    return render(
        request,
        "engagements/dashboard.html",
        {
            "d": selectors.study_dashboard(study),
            "can_coordinate": _coordinates(request.user),
        },
    )


# --- engagements --------------------------------------------------------------------


@staff_required
def engagement_detail(request, public_id):
    user = request.user
    engagement = get_visible_or_404(
        selectors.with_burn(selectors.engagements_visible_to(user)).prefetch_related(
            "rate_card__rates"
        ),
        public_id=public_id,
    )
    selectors.decorate_burn([engagement])
    entries = selectors.contribution_rows(
        selectors.contributions_visible_to(user).filter(engagement=engagement)
    ).order_by("-date", "-id")
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            "engagement": engagement,
            "page": page,
            "entries": selectors.with_estimates(page.object_list),
            "history": history_entries(engagement, viewer=user),
            "can_coordinate": _coordinates(user),
        },
    )


@coordinator_required
def engagement_create(request):
    user = request.user
    consultants = (
        consultants_visible_to(user)
        .filter(status=Consultant.Status.ACTIVE)
        .only("public_id", "display_name")
        .order_by("display_name", "id")
    )
    form = EngagementForm(
        request.POST or None,
        consultants=consultants,
        initial={"consultant": request.GET.get("consultant", "")},
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                engagement = services.engagement_create(by=user, **form.cleaned_data)
            except (ValidationFailed, StateConflict) as exc:
                show_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("The engagement was created."))
                return redirect("engagements:engagement_detail", public_id=engagement.public_id)
    return render(request, "engagements/engagement_form.html", {"form": form}, status=status)


# --- logging ------------------------------------------------------------------------


def _active_engagements(user, consultant=None):
    qs = selectors.engagements_visible_to(user).filter(status=Engagement.Status.ACTIVE)
    if consultant is not None:
        qs = qs.filter(consultant=consultant)
    return qs.order_by("consultant__display_name", "phase__study__name", "phase__position", "role")


@coordinator_required
def log_start(request):
    """Pick a consultant, then log a week of hours or a single entry for them."""
    user = request.user
    consultants = (
        consultants_visible_to(user)
        .filter(status=Consultant.Status.ACTIVE)
        .only("public_id", "display_name")
        .order_by("display_name", "id")
    )
    chosen = None
    engagements = []
    if request.GET.get("consultant"):
        chosen = get_visible_or_404(
            consultants_visible_to(user), public_id=request.GET["consultant"]
        )
        engagements = list(_active_engagements(user, chosen))
    return render(
        request,
        "engagements/log_start.html",
        {"consultants": consultants, "chosen": chosen, "engagements": engagements},
    )


@coordinator_required
def week(request, public_id):
    """Hours for one consultant across their active engagements, a week at a time.

    One entry per filled cell, all in one transaction: if any cell is refused
    nothing is saved, and the page shows each cell's error with what was typed.
    """
    user = request.user
    consultant = get_visible_or_404(consultants_visible_to(user), public_id=public_id)
    today = timezone.localdate()
    requested = request.GET.get("week")
    monday = parse_week(requested)
    unreadable = monday is None and bool(requested)
    if monday is None:
        if unreadable and request.method != "POST":
            messages.warning(request, _("That week could not be read; here is this week."))
        monday = parse_week(week_label(today))
    engagements = list(_active_engagements(user, consultant))
    logged = selectors.week_logged_hours(engagements, monday)
    grid = WeekGrid.build(
        engagements=engagements,
        monday=monday,
        today=today,
        logged=logged,
        data=request.POST if request.method == "POST" else None,
    )
    status = 200
    if request.method == "POST":
        submit = request.POST.get("then") == "submit"
        if unreadable:
            # Never save hours typed for one week into another.
            grid.errors.append(_("That week could not be read. Open the week again from the list."))
        elif not grid.filled:
            grid.errors.append(_("Enter hours in at least one cell."))
        elif not grid.has_errors:
            with transaction.atomic():
                for cell in grid.filled:
                    try:
                        services.contribution_create(
                            engagement=cell.engagement,
                            by=user,
                            kind=Contribution.Kind.HOURS,
                            activity=cell.activity,
                            date=cell.day,
                            quantity=cell.value,
                            description=grid.note_for(cell.engagement),
                            submit=submit,
                        )
                    except DomainError as exc:
                        cell.error = exc.message
                if grid.has_errors:
                    transaction.set_rollback(True)
        if not grid.has_errors:
            count = len(grid.filled)
            if submit:
                text = ngettext(
                    "%(count)d entry was saved and sent for approval.",
                    "%(count)d entries were saved and sent for approval.",
                    count,
                )
            else:
                text = ngettext(
                    "%(count)d entry was saved as a draft.",
                    "%(count)d entries were saved as drafts.",
                    count,
                )
            messages.success(request, text % {"count": count})
            return redirect(
                reverse("engagements:week", kwargs={"public_id": consultant.public_id})
                + f"?week={week_label(monday)}"
            )
        status = 400
    previous_week = week_label(monday - timedelta(days=7))
    next_week = week_label(monday + timedelta(days=7))
    return render(
        request,
        "engagements/week.html",
        {
            "consultant": consultant,
            "grid": grid,
            "week": week_label(monday),
            "previous_week": previous_week,
            "next_week": next_week if monday + timedelta(days=7) <= today else None,
            "sunday": monday + timedelta(days=6),
        },
        status=status,
    )


@coordinator_required
def contribution_create(request):
    """One entry: hours, an honorarium or a reimbursement, with an optional receipt."""
    user = request.user
    form = ContributionForm(
        request.POST or None,
        request.FILES or None,
        engagements=_active_engagements(user),
        initial={
            "engagement": request.GET.get("engagement", ""),
            "date": timezone.localdate(),
        },
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                contribution = services.contribution_create(
                    engagement=data["engagement"],
                    by=user,
                    kind=data["kind"],
                    activity=data["activity"],
                    date=data["date"],
                    quantity=data["quantity"],
                    claimed_amount=data["claimed_amount"],
                    description=data["description"],
                    attachment=data.get("attachment") or None,
                    submit=request.POST.get("then") == "submit",
                )
            except (ValidationFailed, StateConflict) as exc:
                show_error(form, exc)
                status = exc.status
            else:
                if contribution.status == Contribution.Status.SUBMITTED:
                    messages.success(request, _("The entry was saved and sent for approval."))
                else:
                    messages.success(request, _("The entry was saved as a draft."))
                return redirect("engagements:contribution_detail", public_id=contribution.public_id)
    return render(
        request,
        "engagements/contribution_form.html",
        {"form": form, "creating": True, "file_lost": bool(request.FILES) and status != 200},
        status=status,
    )


# --- one contribution ----------------------------------------------------------------


def _get_contribution(request, public_id) -> Contribution:
    return get_visible_or_404(
        selectors.contribution_rows(selectors.contributions_visible_to(request.user)),
        public_id=public_id,
    )


def _detail(request, c, *, reject_form=None, adjust_form=None, error="", status=200):
    user = request.user
    selectors.with_estimates([c])
    adjustments = selectors.with_estimates(
        selectors.contribution_rows(Contribution.objects.filter(adjusts=c)).order_by(
            "logged_at", "id"
        )
    )
    live = [a for a in adjustments if a.status != Contribution.Status.REJECTED]
    net_quantity = c.quantity + sum((a.quantity for a in live), Decimal("0"))
    net_amount = None
    if c.amount is not None:
        net_amount = c.amount + sum((a.amount for a in live if a.amount is not None), Decimal("0"))
    disputes = list(c.disputes.select_related("raised_by", "resolved_by").order_by("created_at"))
    locked = c.status in Contribution.LOCKED_STATUSES
    can_change = user.has_perm("engagements.change_contribution")
    can_approve = user.has_perm("engagements.approve_contribution")
    context = {
        "c": c,
        "adjustments": adjustments,
        "net_quantity": plain_number(net_quantity),
        "net_amount": net_amount,
        "has_pending_adjustments": any(
            a.status == Contribution.Status.SUBMITTED for a in adjustments
        ),
        "disputes": disputes,
        "open_dispute": next((d for d in disputes if d.status == Dispute.Status.OPEN), None),
        "history": history_entries(c, viewer=user),
        "you_logged": c.logged_by_id == user.pk,
        "you_edited": c.last_edited_by_id == user.pk,
        "can_edit": can_change and not locked and not c.is_adjustment,
        "can_submit": can_change and c.status == Contribution.Status.DRAFT,
        "can_decide": can_approve and c.status == Contribution.Status.SUBMITTED,
        "can_adjust": can_change and locked and not c.is_adjustment,
        "reject_form": reject_form or RejectForm(prefix="reject"),
        "adjust_form": adjust_form or AdjustmentForm(contribution=c, prefix="adjust"),
        "can_resolve": can_approve,
        "error": error,
        "is_receipt_image": c.attachment.name.rsplit(".", 1)[-1].lower() in ("jpg", "png", "webp")
        if c.attachment
        else False,
    }
    return render(request, "engagements/contribution_detail.html", context, status=status)


@staff_required
def contribution_detail(request, public_id):
    return _detail(request, _get_contribution(request, public_id))


@coordinator_required
def contribution_edit(request, public_id):
    c = _get_contribution(request, public_id)
    if c.status in Contribution.LOCKED_STATUSES:
        raise StateConflict(
            _("This entry is approved and read-only. Correct it with an adjustment instead.")
        )
    if c.is_adjustment:
        raise StateConflict(_("An adjustment cannot be edited; return it and add a new one."))
    form = ContributionEditForm(request.POST or None, request.FILES or None, contribution=c)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            changes = {name: data[name] for name in services.EDITABLE_FIELDS}
            if data.get("attachment"):
                changes["attachment"] = data["attachment"]
            try:
                services.contribution_update(
                    contribution=c, by=request.user, reason=data.get("reason", ""), **changes
                )
            except (ValidationFailed, StateConflict) as exc:
                show_error(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Your changes were saved."))
                return redirect("engagements:contribution_detail", public_id=c.public_id)
    return render(
        request,
        "engagements/contribution_form.html",
        {
            "form": form,
            "c": c,
            "creating": False,
            "file_lost": bool(request.FILES) and status != 200,
        },
        status=status,
    )


@coordinator_required
@require_POST
def contribution_submit(request, public_id):
    c = _get_contribution(request, public_id)
    try:
        services.contribution_submit(contribution=c, by=request.user)
    except DomainError as exc:
        return _detail(request, c, error=exc.message, status=exc.status)
    messages.success(request, _("The entry was sent for approval."))
    return redirect("engagements:contribution_detail", public_id=c.public_id)


@coordinator_required
@require_POST
def contribution_approve(request, public_id):
    c = _get_contribution(request, public_id)
    try:
        done = services.contribution_approve(
            contribution=c, by=request.user, seen_version=request.POST.get("seen_version")
        )
    except DomainError as exc:
        return _detail(request, c, error=exc.message, status=exc.status)
    messages.success(
        request, _("The entry was approved at %(amount)s.") % {"amount": f"{done.amount:.2f}"}
    )
    return redirect("engagements:contribution_detail", public_id=c.public_id)


@coordinator_required
@require_POST
def contribution_reject(request, public_id):
    c = _get_contribution(request, public_id)
    form = RejectForm(request.POST, prefix="reject")
    if not form.is_valid():
        return _detail(request, c, reject_form=form, status=400)
    try:
        services.contribution_reject(
            contribution=c,
            by=request.user,
            reason=form.cleaned_data["reason"],
            seen_version=request.POST.get("seen_version"),
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _detail(request, c, reject_form=form, status=400)
    except DomainError as exc:
        return _detail(request, c, error=exc.message, status=exc.status)
    messages.success(request, _("The entry was returned with your reason."))
    return redirect("engagements:contribution_detail", public_id=c.public_id)


@coordinator_required
@require_POST
def contribution_adjust(request, public_id):
    c = _get_contribution(request, public_id)
    form = AdjustmentForm(request.POST, contribution=c, prefix="adjust")
    if not form.is_valid():
        return _detail(request, c, adjust_form=form, status=400)
    data = form.cleaned_data
    try:
        adjustment = services.contribution_adjust(
            contribution=c,
            by=request.user,
            reason=data["reason"],
            quantity_delta=data.get("quantity_delta"),
            amount_delta=data.get("amount_delta"),
        )
    except ValidationFailed as exc:
        show_error(form, exc)
        return _detail(request, c, adjust_form=form, status=400)
    except DomainError as exc:
        return _detail(request, c, adjust_form=form, error=exc.message, status=exc.status)
    messages.success(request, _("The adjustment was added. Someone other than you approves it."))
    return redirect("engagements:contribution_detail", public_id=adjustment.public_id)


@login_required
def contribution_attachment(request, public_id):
    """The receipt of an entry, to staff or to the consultant it belongs to."""
    c = get_visible_or_404(selectors.contributions_visible_to(request.user), public_id=public_id)
    if not c.attachment:
        raise Http404
    response = stored_file_download(c.attachment, filename_stem=f"receipt-{c.date.isoformat()}")
    if response is None:
        raise Http404
    return response


# --- review ---------------------------------------------------------------------------

OUTCOME_LABELS = {
    "approved": gettext_lazy("Approved"),
    "returned": gettext_lazy("Returned"),
    "refused": gettext_lazy("Refused"),
    "conflict": gettext_lazy("Changed meanwhile"),
    "invalid": gettext_lazy("Not done"),
    "missing": gettext_lazy("Not found"),
}


def _row_label(c: Contribution) -> str:
    what = (
        f"{c.claimed_amount:.2f}"
        if c.kind == Contribution.Kind.REIMBURSEMENT
        else plain_number(c.quantity)
    )
    return " · ".join(
        [
            c.engagement.consultant.display_name,
            date_format(c.date, "j M Y"),
            f"{c.get_kind_display()} {what}",
        ]
    )


@coordinator_required
def review(request):
    """Entries waiting for approval, oldest first; approve or return one or many."""
    user = request.user
    filter_form = ReviewFilterForm(request.GET or None)
    queue = selectors.review_queue(user, **filter_form.filters())
    if _wants_csv(request):
        return imports.csv_response(
            header=imports.CONTRIBUTION_HEADER,
            rows=imports.contribution_csv_rows(queue.iterator(chunk_size=500)),
            filename=imports.dated_filename("review"),
        )
    decision_form = None
    status = 200
    if request.method == "POST":
        decision_form = ReviewDecisionForm(request.POST)
        if decision_form.is_valid():
            wanted = decision_form.cleaned_data["selected"]
            found = {
                c.public_id: c
                for c in selectors.contributions_visible_to(user).filter(public_id__in=wanted)
            }
            decisions = services.contributions_decide(
                by=user,
                contributions=[found[w] for w in wanted if w in found],
                approve=decision_form.cleaned_data["decision"] == ReviewDecisionForm.APPROVE,
                reason=decision_form.cleaned_data["reason"],
                # Each row of the page carries the version of the entry it showed.
                seen_versions={w: request.POST.get(f"version-{w}") for w in wanted},
            )
            outcomes = [
                {
                    "label": _row_label(found[d.contribution.public_id]),
                    "outcome": d.outcome,
                    "outcome_label": str(OUTCOME_LABELS[d.outcome]),
                    "message": d.message,
                    "url": reverse(
                        "engagements:contribution_detail",
                        kwargs={"public_id": d.contribution.public_id},
                    ),
                }
                for d in decisions
            ]
            outcomes += [
                {
                    "label": str(w),
                    "outcome": "missing",
                    "outcome_label": str(OUTCOME_LABELS["missing"]),
                    "message": _("This entry does not exist or is not yours to see."),
                    "url": "",
                }
                for w in wanted
                if w not in found
            ]
            request.session["review_outcomes"] = outcomes
            return redirect(request.get_full_path())
        status = 400
    page = Paginator(queue, PAGE_SIZE).get_page(request.GET.get("page"))
    selected = set(decision_form.data.getlist("selected")) if decision_form else set()
    outcomes = request.session.pop("review_outcomes", [])
    return render(
        request,
        "engagements/review.html",
        {
            "filter_form": filter_form,
            "decision_form": decision_form or ReviewDecisionForm(),
            "page": page,
            "rows": selectors.with_estimates(page.object_list),
            "selected": selected,
            "outcomes": outcomes,
            "outcome_counts": _count_outcomes(outcomes),
        },
        status=status,
    )


def _count_outcomes(outcomes) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["outcome_label"]] = counts.get(o["outcome_label"], 0) + 1
    return list(counts.items())


# --- disputes -------------------------------------------------------------------------


@coordinator_required
def dispute_list(request):
    user = request.user
    disputes = selectors.open_disputes(user)
    if _wants_csv(request):
        rows = (
            [
                str(d.public_id),
                str(d.contribution.public_id),
                d.contribution.engagement.consultant.display_name,
                d.contribution.engagement.phase.study.name,
                d.contribution.engagement.phase.name,
                d.contribution.date.isoformat(),
                d.comment,
                timezone.localtime(d.created_at).isoformat(timespec="minutes"),
                d.status,
            ]
            for d in disputes.iterator(chunk_size=500)
        )
        return imports.csv_response(
            header=[
                "dispute_id",
                "entry_id",
                "consultant",
                "study",
                "phase",
                "date_of_work",
                "comment",
                "opened_at",
                "status",
            ],
            rows=rows,
            filename=imports.dated_filename("disputes"),
        )
    page = Paginator(disputes, PAGE_SIZE).get_page(request.GET.get("page"))
    resolved = list(
        selectors.disputes_visible_to(user)
        .filter(status=Dispute.Status.RESOLVED)
        .order_by("-resolved_at", "-id")[:10]
    )
    return render(
        request,
        "engagements/dispute_list.html",
        {"page": page, "resolved": resolved, "form": ResolveForm()},
    )


@coordinator_required
def dispute_resolve(request, public_id):
    dispute = get_visible_or_404(selectors.disputes_visible_to(request.user), public_id=public_id)
    form = ResolveForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.dispute_resolve(
                    dispute=dispute, by=request.user, resolution=form.cleaned_data["resolution"]
                )
            except ValidationFailed as exc:
                show_error(form, exc)
            except (StateConflict, NotAllowed) as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                messages.success(request, _("The dispute was resolved."))
                return redirect("engagements:disputes")
    return render(
        request,
        "engagements/dispute_detail.html",
        {"dispute": dispute, "form": form},
        status=status,
    )


# --- all entries ------------------------------------------------------------------------


@staff_required
def contribution_list(request):
    user = request.user
    filter_form = ContributionFilterForm(request.GET or None)
    entries = selectors.contributions_filtered(
        selectors.contribution_rows(selectors.contributions_visible_to(user)),
        **filter_form.filters(),
    ).order_by("-date", "-id")
    if _wants_csv(request):
        return imports.csv_response(
            header=imports.CONTRIBUTION_HEADER,
            rows=imports.contribution_csv_rows(entries.iterator(chunk_size=500)),
            filename=imports.dated_filename("contributions"),
        )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "engagements/contribution_list.html",
        {
            "filter_form": filter_form,
            "page": page,
            "rows": selectors.with_estimates(page.object_list),
            "can_coordinate": _coordinates(user),
        },
    )


# --- import ---------------------------------------------------------------------------

IMPORT_SESSION_KEY = "engagements.import"
IMPORT_SALT = "engagements.import"
IMPORT_MAX_AGE = 60 * 60
IMPORT_USED_PREFIX = "engagements.import-used:"


def _import_token(content: bytes, user) -> str:
    # The checked file travels back with the form, signed: nothing is kept on
    # the server between the dry run and the import, and nothing goes in a URL.
    packed = base64.b64encode(zlib.compress(content)).decode("ascii")
    return signing.dumps({"u": user.pk, "f": packed}, salt=IMPORT_SALT)


def _import_content(token: str, user) -> bytes | None:
    try:
        payload = signing.loads(token, salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
        if payload.get("u") != user.pk:
            return None
        return zlib.decompress(base64.b64decode(payload["f"]))
    except (signing.BadSignature, KeyError, TypeError, binascii.Error, zlib.error):
        return None


@coordinator_required
def import_contributions(request):
    """Import historical entries from a CSV: a dry run first, then all or nothing."""
    if _wants_csv(request):
        return imports.csv_response(
            header=imports.IMPORT_TEMPLATE_HEADER, rows=[], filename="import-template.csv"
        )
    user = request.user
    form = ImportForm()
    report = None
    token = ""
    status = 200
    if request.method == "POST" and "token" in request.POST:
        content = _import_content(request.POST["token"], user)
        expected = request.session.get(IMPORT_SESSION_KEY)
        digest = imports.content_hash(content) if content is not None else None
        if content is None or expected != digest:
            messages.error(request, _("Check the file again before importing it."))
            return redirect("engagements:import")
        # The checked file is imported once: a second click, or the same form sent
        # again from another tab, finds the mark and stops. cache.add is atomic on
        # the shared cache (database or Redis), so two requests at once cannot both
        # pass; the session alone cannot tell, as each request reads its own copy.
        used_key = f"{IMPORT_USED_PREFIX}{digest}"
        if not cache.add(used_key, user.pk, timeout=IMPORT_MAX_AGE):
            request.session.pop(IMPORT_SESSION_KEY, None)
            messages.error(
                request,
                _(
                    "This file was already imported, or is being imported right now. "
                    "Look for its entries on the Review page before importing it again."
                ),
            )
            return redirect("engagements:import")
        report = None
        try:
            report = imports.run_import(content=content, by=user, commit=True)
        finally:
            if report is None or not report.imported:
                cache.delete(used_key)  # nothing was imported: it may be checked and tried again
        if report.imported:
            request.session.pop(IMPORT_SESSION_KEY, None)
            messages.success(
                request,
                ngettext(
                    "%(count)d entry was imported. It waits for approval by another "
                    "coordinator on the Review page.",
                    "%(count)d entries were imported. They wait for approval by another "
                    "coordinator on the Review page.",
                    report.imported,
                )
                % {"count": report.imported},
            )
            return redirect("engagements:import")
        # Something changed since the dry run: nothing was imported.
        request.session.pop(IMPORT_SESSION_KEY, None)
        status = 409
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > imports.MAX_IMPORT_BYTES:
                form.add_error(
                    "file", _("The file is larger than 1 MB. Split it into smaller files.")
                )
            else:
                content = upload.read()
                report = imports.run_import(content=content, by=user, commit=False)
                if report.clean:
                    request.session[IMPORT_SESSION_KEY] = imports.content_hash(content)
                    token = _import_token(content, user)
                    status = 200
    response = render(
        request,
        "engagements/import.html",
        {
            "form": form,
            "report": report,
            "token": token,
            "columns": imports.IMPORT_COLUMNS,
            "max_rows": imports.MAX_IMPORT_ROWS,
        },
        status=status,
    )
    return _no_store(response)
