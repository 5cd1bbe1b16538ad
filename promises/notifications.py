"""What a slip notice says: plain to staff with the one fix, neutral to the consultant.

Staff (the approving coordinator, else the active coordinators, and finance) read
the reason and the one action that fixes it, with an absolute link; they see the
consultant's pseudonym or display name, never the legal name. The consultant reads,
in their language and only on the channel they chose as safe, that a payment may
come later than the date they were given and what they can do, if anything. No
subject names an amount, a study or a person (``meetings.reminders`` does the same).
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from consultants.models import Consultant, ContactMethod
from promises.models import SlipReason
from promises.selectors import Slip

STAFF_SUBJECT = gettext_noop("A promised pay date is at risk")
CONSULTANT_SUBJECT = gettext_noop("An update about a payment")
CONSULTANT_BODY = gettext_noop(
    "A payment to you may arrive later than the date we gave you (%(date)s)."
)
NOTHING_NEEDED = gettext_noop(
    "Nothing is needed from you: the team is working on it and will pay you as soon as it can."
)
# What the consultant can do, when they can do something (reason -> (words, portal URL)).
CONSULTANT_ACTIONS: dict[str, tuple[str, str]] = {
    SlipReason.AGREEMENT_NOT_ACCEPTED: (
        gettext_noop("Accept your agreement:"),
        "portal:agreements",
    ),
    SlipReason.W9_MISSING: (
        gettext_noop("Send your W-9 (tax form) to the study team. Sign in to see your records:"),
        "portal:home",
    ),
    SlipReason.ACCOUNT_NOT_READY: (
        gettext_noop("Finish direct deposit set-up:"),
        "portal:stripe_onboarding",
    ),
    SlipReason.BENEFITS_CAP: (
        gettext_noop(
            "This is because of the limit you set. You can change it in your preferences:"
        ),
        "portal:preferences",
    ),
}


def site() -> str:
    return getattr(settings, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def staff_reason(reason: str) -> str:
    words: dict[str, str] = {
        SlipReason.W9_MISSING: _("the payment needs a W-9 that is not on file"),
        SlipReason.ACCOUNT_NOT_READY: _("the consultant's direct deposit is not set up"),
        SlipReason.BENEFITS_CAP: _("the payment would go over the consultant's own limit"),
        SlipReason.NOT_POSITIVE: _("the payment's amount is zero or negative"),
        SlipReason.OVER_LIMIT: _("the payment is over the most Honora pays at once"),
        SlipReason.DISPUTED: _("the consultant disputes the work and the dispute is open"),
        SlipReason.AGREEMENT_NOT_ACCEPTED: _(
            "the consultant has not accepted the agreement the work falls under"
        ),
        SlipReason.PAYMENT_FAILED: _("the transfer failed"),
        SlipReason.NOT_BATCHED: _("no payout batch includes it yet"),
    }
    return str(words.get(reason, reason))


def staff_action(slip: Slip) -> tuple[str, str]:
    """The one action that fixes it, and where (an absolute link)."""
    consultant = slip.consultant
    finance_page = reverse("payments:consultant", kwargs={"public_id": consultant.public_id})
    if slip.reason == SlipReason.PAYMENT_FAILED and slip.payment is not None:
        return _("Retry the transfer"), site() + reverse(
            "payments:payment", kwargs={"public_id": slip.payment.public_id}
        )
    if slip.reason == SlipReason.DISPUTED and slip.dispute is not None:
        return _("Resolve the dispute"), site() + reverse(
            "engagements:dispute_resolve", kwargs={"public_id": slip.dispute.public_id}
        )
    if slip.reason == SlipReason.NOT_BATCHED:
        return _("Build a payout batch"), site() + reverse("payments:batch_build")
    if slip.reason == SlipReason.W9_MISSING:
        return _("Ask for a W-9"), site() + finance_page
    if slip.reason == SlipReason.ACCOUNT_NOT_READY:
        return _("Ask them to finish direct deposit set-up"), site() + finance_page
    if slip.reason == SlipReason.AGREEMENT_NOT_ACCEPTED:
        engagement = slip.contributions[0].engagement
        return _("Ask them to accept their agreement"), site() + reverse(
            "engagements:engagement_detail", kwargs={"public_id": engagement.public_id}
        )
    if slip.payment is not None:
        return _("Release the hold"), site() + reverse(
            "payments:payment", kwargs={"public_id": slip.payment.public_id}
        )
    return _("Look at the work"), site() + reverse(
        "engagements:contribution_detail", kwargs={"public_id": slip.contributions[0].public_id}
    )


def known_as(consultant: Consultant) -> str:
    return consultant.pseudonym or consultant.display_name


def staff_message(slip: Slip) -> tuple[str, str]:
    """Subject and body for staff, in the site's language."""
    with translation.override(settings.LANGUAGE_CODE):
        action, url = staff_action(slip)
        body = _(
            "Work approved for %(name)s was promised to be paid by %(date)s, and it is "
            "held back: %(reason)s (%(count)d entries).\n\nWhat fixes it: %(action)s\n%(url)s\n"
        ) % {
            "name": known_as(slip.consultant),
            "date": date_format(slip.promised_date, "DATE_FORMAT"),
            "reason": staff_reason(slip.reason),
            "count": len(slip.contributions),
            "action": action,
            "url": url,
        }
        return _(STAFF_SUBJECT), body


def consultant_language(consultant: Consultant) -> str:
    language = consultant.preferred_language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def consultant_message(slip: Slip) -> tuple[str, str]:
    """Subject and body for the consultant, in their language; no amount, no study."""
    with translation.override(consultant_language(slip.consultant)):
        body = _(CONSULTANT_BODY) % {"date": date_format(slip.promised_date, "DATE_FORMAT")}
        action = CONSULTANT_ACTIONS.get(slip.reason)
        if action is None:
            body += "\n\n" + _(NOTHING_NEEDED) + "\n\n" + site() + "/accounts/login/\n"
        else:
            words, url_name = action
            body += "\n\n" + _(words) + "\n" + site() + reverse(url_name) + "\n"
        return _(CONSULTANT_SUBJECT), body


def consultant_reachable(consultant: Consultant) -> str:
    """The outcome for the consultant, as ``meetings.models.Reminder.Outcome`` words."""
    if consultant.safe_contact_method != ContactMethod.EMAIL:
        return "channel_not_available"
    if not consultant.email:
        return "no_contact"
    return "sent"
