"""The consultant's income by month and year, their pay plans and income letters, under /me/.

Honora gives no benefits advice: these pages show figures, and let the consultant ask
to be paid later or spread out, and download a letter that states what was paid.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import get_visible_or_404
from core.errors import DomainError
from core.files import bytes_download
from core.forms import show_error
from core.money import sum_money
from income import selectors
from income.documents import letter_filename
from income.forms import LetterForm, PayPlanForm
from income.services import (
    income_letter_issue,
    pay_plan_cancel,
    pay_plan_create,
    plan_waiting_ids,
    plannable_work,
)
from payments.documents.rendering import document_pdf
from portal.views.page import portal_page


def _plan_rows(consultant):
    rows = []
    for plan in selectors.plans_of(consultant).prefetch_related("entries")[:24]:
        waiting = plan_waiting_ids(plan) if not plan.cancelled else []
        rows.append(
            {
                "plan": plan,
                "entries": len(plan.entries.all()),
                "waiting": len(waiting),
                "cancellable": bool(waiting),
            }
        )
    return rows


@portal_page
def income(request):
    consultant = request.consultant
    today = timezone.localdate()
    figures = selectors.income_of(consultant, today=today)
    years = figures.years(today)
    year = None
    raw = request.GET.get("year", "")
    # isdigit() alone takes "²" and any length, and int() of those raises (a 500).
    if raw.isascii() and raw.isdigit() and len(raw) <= 4 and int(raw) in years:
        year = int(raw)
    if year is None:
        months = selectors.last_months(
            today, 12, ahead=selectors.months_ahead_with_work(figures, today)
        )
    else:
        months = [today.replace(year=year, month=m, day=1) for m in range(1, 13)]
    return render(
        request,
        "portal/income.html",
        {
            "consultant": consultant,
            "months": selectors.monthly(consultant, figures, months),
            "years": selectors.yearly(consultant, figures, years),
            "year_choices": years,
            "year": year,
            "plans": _plan_rows(consultant),
            "letters": selectors.letters_of(consultant)[:24],
        },
    )


@portal_page
def plan_new(request):
    consultant = request.consultant
    today = timezone.localdate()
    work = plannable_work(consultant)
    data = request.POST if request.method == "POST" else None
    form = PayPlanForm(data, work=work, today=today)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            chosen = form.chosen()
            if request.POST.get("confirmed") != "yes":
                return render(
                    request,
                    "portal/income_plan_confirm.html",
                    {
                        "form": form,
                        "kind": data["kind"],
                        "chosen": chosen,
                        "total": sum_money(c.amount for c in chosen),
                        "data": data,
                    },
                )
            try:
                pay_plan_create(
                    consultant=consultant,
                    by=request.user,
                    kind=data["kind"],
                    entries=chosen,
                    start_month=data["start_month"],
                    months=data["months"] or 1,
                    month_limit=data["month_limit"],
                    today=today,
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request, _("Your request was saved. Finance will follow it when paying you.")
                )
                return redirect("portal:income")
        else:
            status = 400
    return render(
        request,
        "portal/income_plan.html",
        {"form": form, "has_work": bool(work)},
        status=status,
    )


@portal_page
def plan_cancel(request, public_id):
    plan = get_visible_or_404(selectors.plans_of(request.consultant), public_id=public_id)
    status = 200
    error = ""
    if request.method == "POST":
        try:
            pay_plan_cancel(plan=plan, by=request.user)
        except DomainError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(
                request, _("Your request was cancelled. That work goes in the next payout.")
            )
            return redirect("portal:income")
    return render(
        request,
        "portal/income_plan_cancel.html",
        {"plan": plan, "error": error, "entries": plan.entries.count()},
        status=status,
    )


@portal_page
def letter(request):
    consultant = request.consultant
    today = timezone.localdate()
    form = LetterForm(request.POST if request.method == "POST" else None, today=today)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                issued = income_letter_issue(
                    consultant=consultant,
                    by=request.user,
                    first_month=form.cleaned_data["first_month"],
                    last_month=form.cleaned_data["last_month"],
                    today=today,
                )
            except DomainError as exc:
                status = show_error(form, exc)
            else:
                messages.success(request, _("Your letter is ready to download."))
                return redirect("portal:income_letter_done", public_id=issued.public_id)
        else:
            status = 400
    return render(
        request,
        "portal/income_letter.html",
        {"form": form, "letters": selectors.letters_of(consultant)[:24]},
        status=status,
    )


@portal_page
def letter_done(request, public_id):
    issued = get_visible_or_404(selectors.letters_of(request.consultant), public_id=public_id)
    return render(request, "portal/income_letter_done.html", {"letter": issued})


@portal_page
def letter_download(request, public_id):
    """The letter as stored when it was rendered, checked against its SHA-256 (409 while
    a worker is still drawing it)."""
    issued = get_visible_or_404(selectors.letters_of(request.consultant), public_id=public_id)
    return bytes_download(
        document_pdf(issued), filename=letter_filename(issued), content_type="application/pdf"
    )
