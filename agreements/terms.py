"""What an agreement says: the terms snapshot of an engagement, and its plain words.

``current_terms`` reads the engagement and the consultant's choices as they are now;
``agreement_text`` words a snapshot in the active language. The snapshot keeps codes
and amounts (never translated words), so the text can be written in any language.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants.models import CapPeriod, PayoutMethod
from core.money import format_money
from engagements.models import Activity, Engagement, Rate

if TYPE_CHECKING:
    from accounts.models import User

# The activities whose pay the agreement spells out, beside the work itself.
PAID_EXTRAS = (Activity.PREPARATION, Activity.TRAVEL, Activity.PAPERWORK, Activity.TRAINING)


def contact_terms(user: User | None) -> dict[str, str] | None:
    """The named contact as the agreement prints it: display name and work e-mail."""
    if user is None:
        return None
    return {"id": str(user.public_id), "name": user.name or user.email, "email": user.email}


def _rates_in_force_and_later(rates: list[Rate], today: date) -> list[Rate]:
    """Each (activity, kind)'s rate in force today, and every later scheduled one."""
    keep: list[Rate] = []
    current: dict[tuple[str, str], Rate] = {}
    for rate in rates:
        if rate.effective_from > today:
            keep.append(rate)
            continue
        key = (rate.activity, rate.kind)
        if key not in current or rate.effective_from > current[key].effective_from:
            current[key] = rate
    keep.extend(current.values())
    return sorted(keep, key=lambda r: (r.activity, r.kind, r.effective_from))


def current_terms(
    engagement: Engagement,
    *,
    contact: dict[str, str] | None,
    today: date | None = None,
    rates: list[Rate] | None = None,
) -> dict[str, Any]:
    """The engagement's terms as they stand now (a JSON-safe snapshot).

    ``rates``: the rate card's rates, already read (bulk seeding), by id.
    """
    from payments.preflight import tax_threshold, w9_threshold

    today = today or timezone.localdate()
    consultant = engagement.consultant
    phase = engagement.phase
    study = phase.study
    all_rates = (
        rates
        if rates is not None
        else list(Rate.objects.filter(rate_card_id=engagement.rate_card_id).order_by("id"))
    )
    shown = _rates_in_force_and_later(all_rates, today)
    covers_all = any(r.activity == "" for r in shown)
    paid = [a.value for a in PAID_EXTRAS if covers_all or any(r.activity == a for r in shown)]
    return {
        "role": engagement.role,
        "study": study.name,
        "phases": [phase.name],
        "rate_card": engagement.rate_card.name,
        "currency": study.currency,
        "rates": [
            {
                "activity": r.activity,
                "kind": r.kind,
                "amount": str(r.amount),
                "effective_from": r.effective_from.isoformat(),
            }
            for r in shown
        ],
        # Rates are never edited: a new rate (or another card) is a new id, so comparing
        # ids tells a changed rate from the calendar simply moving on.
        "rate_ids": [r.pk for r in all_rates],
        "paid_extras": paid,
        "payout_method": consultant.payout_method,
        "time_to_pay_days": study.time_to_pay_days,
        "tax_year": today.year,
        "tax_threshold": str(tax_threshold(today.year)),
        "w9_threshold": str(w9_threshold(today.year)),
        "benefits_cap": {
            "amount": None
            if consultant.benefits_cap_amount is None
            else str(consultant.benefits_cap_amount),
            "period": consultant.benefits_cap_period,
        },
        "contact": contact,
    }


def what_changed(old: dict[str, Any] | None, new: dict[str, Any]) -> str | None:
    """The reason code for a new version, or None when nothing that matters changed."""
    from agreements.models import AgreementVersion

    if old is None:
        return AgreementVersion.Reason.FIRST
    if old.get("rate_ids") != new["rate_ids"]:
        return AgreementVersion.Reason.RATE_CHANGED
    if old.get("payout_method") != new["payout_method"]:
        return AgreementVersion.Reason.METHOD_CHANGED
    return None


def _activity_label(code: str) -> str:
    return str(dict(Activity.choices).get(code, "")) if code else _("any activity")


def _rate_line(rate: dict[str, Any], currency: str) -> str:
    amount = format_money(Decimal(rate["amount"]), currency)
    what = _activity_label(rate["activity"])
    if rate["kind"] == Rate.Kind.HOURLY:
        line = _("%(activity)s: %(amount)s an hour") % {"activity": what, "amount": amount}
    else:
        line = _("%(activity)s: %(amount)s each time (a flat honorarium)") % {
            "activity": what,
            "amount": amount,
        }
    start = date.fromisoformat(rate["effective_from"])
    if start > timezone.localdate():
        line += " " + _("(from %(date)s)") % {"date": start.isoformat()}
    return line


def agreement_text(terms: dict[str, Any], *, number: int) -> str:
    """The agreement in plain words, in the active language (paragraphs, blank lines)."""
    currency = terms.get("currency") or settings.CURRENCY
    method = str(dict(PayoutMethod.choices).get(terms["payout_method"], terms["payout_method"]))
    rates = "\n".join(f"- {_rate_line(r, currency)}" for r in terms["rates"]) or _(
        "- No rate is set yet. You will get a new version of this agreement when one is."
    )
    extras = ", ".join(_activity_label(a).lower() for a in terms["paid_extras"])
    cap = terms["benefits_cap"]
    if cap.get("amount"):
        period = str(dict(CapPeriod.choices).get(cap["period"], cap["period"])).lower()
        cap_words = _(
            "You set a limit of %(amount)s (%(period)s). A payment that would go over it "
            "waits, and we tell you."
        ) % {"amount": format_money(Decimal(cap["amount"]), currency), "period": period}
    else:
        cap_words = _("You have not set a limit.")
    contact = terms.get("contact")
    if contact:
        contact_words = _("Your contact is %(name)s (%(email)s).") % {
            "name": contact["name"],
            "email": contact["email"],
        }
    else:
        contact_words = _("Your contact is the study team.")
    preferences = reverse("portal:preferences")
    parts = [
        _("Agreement for your work with %(study)s (version %(number)s)")
        % {"study": terms["study"], "number": number},
        _("Your role: %(role)s. Phase: %(phases)s.")
        % {"role": terms["role"], "phases": ", ".join(terms["phases"])},
        _("What you are paid:") + "\n" + rates,
        (
            _("Time you spend on %(extras)s is paid too.") % {"extras": extras}
            if extras
            else _(
                "Only the work itself is paid: preparation, travel, paperwork and training are not, unless a rate above names them."
            )
        ),
        _(
            "How you are paid: %(method)s, the way you chose. You can change it under "
            "Preferences; a change makes a new version of this agreement. We aim to pay "
            "approved work within %(days)s days."
        )
        % {"method": method, "days": terms["time_to_pay_days"]},
        _(
            "Taxes: what you are paid (not reimbursements) may be reportable income. Once "
            "your payments in %(year)s reach %(threshold)s, we need a tax form (W-9) from "
            "you before we can pay more, and we report the year's total (the reporting "
            "threshold is %(legal)s)."
        )
        % {
            "year": terms["tax_year"],
            "threshold": format_money(Decimal(terms["w9_threshold"]), currency),
            "legal": format_money(Decimal(terms["tax_threshold"]), currency),
        },
        _(
            "Public benefits: payments can affect some benefits. You can set your own limit "
            "per month or per year under Preferences (%(where)s); a payment that would go "
            "over it waits."
        )
        % {"where": preferences}
        + " "
        + cap_words,
        contact_words,
        _(
            "How to stop: you can stop at any time by telling your contact. You do not have "
            "to give a reason. Work you have already done is still paid."
        ),
        _(
            "Work you log before you accept this agreement is kept, but it is not paid until "
            "you accept it."
        ),
    ]
    return "\n\n".join(str(p) for p in parts)
