"""The portal's first page: what the consultant earned, what waits, and their own limit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.shortcuts import render
from django.utils.translation import gettext as _

from agreements.selectors import waiting_for as agreements_waiting_for
from consents.selectors import pending_count as consents_pending
from engagements.selectors import consultant_summary, next_promised_payment
from meetings.selectors import next_invitation
from portal.selectors import benefits_cap_status
from portal.views.page import portal_page


@dataclass
class ChartRow:
    month: object
    hours: Decimal
    earned: Decimal
    pending: Decimal
    hours_percent: int
    earned_percent: int


def _month_chart(by_month) -> list[ChartRow]:
    most_hours = max((t.hours for _m, t in by_month), default=Decimal("0"))
    most_earned = max((t.earned for _m, t in by_month), default=Decimal("0"))

    def percent(value, top):
        return int(value * 100 / top) if top > 0 else 0

    return [
        ChartRow(
            month=month,
            hours=t.hours,
            earned=t.earned,
            pending=t.pending,
            hours_percent=percent(t.hours, most_hours),
            earned_percent=percent(t.earned, most_earned),
        )
        for month, t in by_month
    ]


@portal_page
def home(request):
    consultant = request.consultant
    summary = consultant_summary(consultant)
    periods = [
        (_("This month"), summary.month),
        (_("This year"), summary.year),
        (_("All time"), summary.all_time),
    ]
    return render(
        request,
        "portal/home.html",
        {
            "consultant": consultant,
            "summary": summary,
            "next_session": next_invitation(consultant),
            "periods": periods,
            "chart": _month_chart(summary.by_month),
            "cap": benefits_cap_status(consultant, summary),
            "agreements_waiting": agreements_waiting_for(request.user),
            "consents_waiting": consents_pending(consultant.pk),
            "next_payment": next_promised_payment(consultant),
        },
    )
