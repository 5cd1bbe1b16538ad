"""Slip notices: the people who can fix a blocked payment are told once, with the fix."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from consultants.models import ContactMethod
from consultants.services import vault_update
from engagements.services.disputes import dispute_open
from payments.models import Payment
from payments.services.finance import payment_cancel
from promises.models import SlipNotice, SlipReason
from promises.services import promises_check
from tests.factories import ConsultantFactory, EngagementFactory, UserFactory
from tests.payments.payout_support import approved, build, consultant_with_work

pytestmark = pytest.mark.django_db

LEGAL_NAME = "Zephyrine Quillfeather-Okonkwo"


@pytest.fixture(autouse=True)
def always_needs_a_w9(settings):
    settings.TAX_FORM_ORG_THRESHOLD = Decimal("0")
    settings.SITE_URL = "https://honora.example.org"
    settings.PAY_SLIP_WARNING_DAYS = 2


@pytest.fixture
def held(coordinator, finance):
    """Approved work of a Spanish-speaking consultant, its payment held for the W-9."""
    consultant = consultant_with_work(approver=coordinator, name="Rivera")
    consultant.preferred_language = "es"
    consultant.safe_contact_method = ContactMethod.EMAIL
    consultant.save()
    vault_update(consultant=consultant, by=finance, reason="", legal_name=LEGAL_NAME)
    payment = build(by=finance).payments.get(consultant=consultant)
    assert (payment.status, payment.hold_reason) == (Payment.Status.HELD, "w9_missing")
    entry = payment.items.get().contribution
    return consultant, payment, entry


def by_recipient():
    return {tuple(m.to): m for m in mail.outbox}


def test_a_held_payment_tells_coordinator_finance_and_consultant_once(
    held, coordinator, finance, finance2
):
    consultant, _payment, entry = held
    # Not yet within the warning days: nobody is told.
    assert promises_check(today=entry.promised_pay_date - timedelta(days=3)) == {}
    assert mail.outbox == []

    counts = promises_check(today=entry.promised_pay_date - timedelta(days=2))
    assert counts == {"w9_missing": 1}
    notice = SlipNotice.objects.get()
    assert (notice.reason, notice.promised_date) == ("w9_missing", entry.promised_pay_date)
    assert list(notice.contributions.all()) == [entry]

    sent = by_recipient()
    staff = sent[tuple(sorted([coordinator.email, finance.email, finance2.email]))]
    assert staff.subject == "A promised pay date is at risk"
    assert "Rivera" in staff.body
    assert "a W-9 that is not on file" in staff.body
    finance_page = reverse("payments:consultant", kwargs={"public_id": consultant.public_id})
    assert "Ask for a W-9\nhttps://honora.example.org" + finance_page in staff.body

    told = sent[(consultant.email,)]
    # Neutral: no amount, no study, no name; in Spanish (the date as Spanish writes it).
    assert "$" not in told.subject and "$" not in told.body
    assert entry.engagement.phase.study.name not in told.body
    assert "Rivera" not in told.body
    assert " de " in told.body  # "15 de diciembre de 2026"
    assert reverse("portal:home") in told.body
    for message in mail.outbox:
        assert LEGAL_NAME not in message.subject + message.body

    # A second run, the same day or later, tells nobody again.
    mail.outbox.clear()
    assert promises_check(today=entry.promised_pay_date) == {}
    assert promises_check(today=entry.promised_pay_date + timedelta(days=5)) == {}
    assert mail.outbox == []
    assert SlipNotice.objects.count() == 1


def test_a_different_reason_later_is_told(held, finance, coordinator):
    consultant, payment, entry = held
    promises_check(today=entry.promised_pay_date)
    payment_cancel(payment=payment, by=finance, reason="Waiting for the tax form")
    dispute_open(contribution=entry, by=consultant.user, comment="Dos horas, no una")
    mail.outbox.clear()

    assert promises_check(today=entry.promised_pay_date + timedelta(days=1)) == {"disputed": 1}
    assert set(SlipNotice.objects.values_list("reason", flat=True)) == {
        "w9_missing",
        "disputed",
    }
    staff = next(m for m in mail.outbox if finance.email in m.to)
    dispute = entry.disputes.get()
    assert (
        "Resolve the dispute\nhttps://honora.example.org"
        + reverse("engagements:dispute_resolve", kwargs={"public_id": dispute.public_id})
        in staff.body
    )
    told = next(m for m in mail.outbox if m.to == [consultant.email])
    assert "https://" in told.body and "$" not in told.body


def test_a_consultant_who_chose_no_email_is_not_written_to(held, coordinator):
    consultant, _payment, entry = held
    consultant.safe_contact_method = ContactMethod.PHONE
    consultant.save()
    promises_check(today=entry.promised_pay_date)
    assert all(consultant.email not in m.to for m in mail.outbox)
    assert SlipNotice.objects.get().consultant_outcome == "channel_not_available"
    assert mail.outbox  # staff were told


def test_work_not_in_a_batch_without_an_agreement_asks_the_consultant_to_accept(
    coordinator, finance, settings
):
    settings.TAX_FORM_ORG_THRESHOLD = None  # far below the legal threshold: no W-9 needed
    user = UserFactory(roles=["consultant"])
    person = ConsultantFactory(user=user, safe_contact_method=ContactMethod.EMAIL)
    engagement = EngagementFactory(consultant=person, agreed=False)
    entry = approved(engagement, approver=coordinator)
    assert promises_check(today=entry.promised_pay_date) == {"agreement_pending": 1}
    told = next(m for m in mail.outbox if m.to == [person.email])
    assert "Accept your agreement:\nhttps://honora.example.org" + reverse("portal:agreements") in (
        told.body
    )
    staff = next(m for m in mail.outbox if finance.email in m.to)
    assert "Ask them to accept their agreement" in staff.body
    assert (
        reverse("engagements:engagement_detail", kwargs={"public_id": engagement.public_id})
        in staff.body
    )


def test_the_command_runs_the_check(held, capsys):
    _consultant, payment, entry = held
    # The command uses today's date: make the promise today.
    from engagements.models import Contribution

    Contribution.objects.filter(pk=entry.pk).update(promised_pay_date=payment.created_at.date())
    call_command("promises_check")
    assert SlipNotice.objects.filter(reason=SlipReason.W9_MISSING).count() == 1
    assert "1 slip notice(s) sent." in capsys.readouterr().out


def test_the_sweeper_turn_sends_them(held):
    from io import StringIO

    _consultant, payment, entry = held
    from engagements.models import Contribution

    Contribution.objects.filter(pk=entry.pk).update(promised_pay_date=payment.created_at.date())
    out = StringIO()
    call_command("payments_sweep", stdout=out)
    assert "1 slip notice(s) sent." in out.getvalue()
    assert SlipNotice.objects.count() == 1


def test_a_payment_held_for_the_consultants_own_limit_asks_to_release_the_hold(
    coordinator, finance, settings
):
    from consultants.models import CapPeriod

    settings.TAX_FORM_ORG_THRESHOLD = None
    consultant = consultant_with_work(approver=coordinator, name="Alder")
    consultant.benefits_cap_amount = Decimal("50.00")
    consultant.benefits_cap_period = CapPeriod.MONTHLY
    consultant.safe_contact_method = ContactMethod.EMAIL
    consultant.save()
    payment = build(by=finance).payments.get(consultant=consultant)
    assert (payment.status, payment.hold_reason) == (Payment.Status.HELD, "benefits_cap")
    entry = payment.items.get().contribution
    assert promises_check(today=entry.promised_pay_date) == {"benefits_cap": 1}
    staff = next(m for m in mail.outbox if finance.email in m.to)
    assert (
        "Release the hold\nhttps://honora.example.org"
        + reverse("payments:payment", kwargs={"public_id": payment.public_id})
        in staff.body
    )
    told = next(m for m in mail.outbox if m.to == [consultant.email])
    assert "the limit you set" in told.body
    assert reverse("portal:preferences") in told.body
    assert "$" not in told.subject + told.body


def test_a_failed_transfer_asks_to_retry_it_and_tells_the_consultant_nothing_is_needed(
    held, finance
):
    consultant, payment, entry = held
    # As the payment engine leaves a transfer the provider refused.
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)
    assert promises_check(today=entry.promised_pay_date) == {"payment_failed": 1}
    staff = next(m for m in mail.outbox if finance.email in m.to)
    assert "the transfer failed" in staff.body
    assert (
        "Retry the transfer\nhttps://honora.example.org"
        + reverse("payments:payment", kwargs={"public_id": payment.public_id})
        in staff.body
    )
    told = next(m for m in mail.outbox if m.to == [consultant.email])
    # Nothing for them to do: only the sign-in link, no page to act on.
    assert told.body.rstrip().endswith("https://honora.example.org/accounts/login/")
    assert "/me/" not in told.body


def test_work_nothing_holds_back_is_told_to_finance_only_on_its_day_with_no_batch(
    coordinator, finance, settings
):
    """Nothing blocks the work, but no batch pays it: days before, nobody is told (building
    a batch is routine); on the promised day finance is asked to build one, the
    coordinator is not (they cannot), and the consultant hears that nothing is needed."""
    settings.TAX_FORM_ORG_THRESHOLD = None
    consultant = consultant_with_work(approver=coordinator, name="Birch")
    consultant.safe_contact_method = ContactMethod.EMAIL
    consultant.save()
    entry = consultant.engagements.get().contributions.get()
    assert promises_check(today=entry.promised_pay_date - timedelta(days=1)) == {}
    assert mail.outbox == []
    assert promises_check(today=entry.promised_pay_date) == {"not_batched": 1}
    staff = next(m for m in mail.outbox if finance.email in m.to)
    assert coordinator.email not in staff.to
    assert "no payout batch includes it yet" in staff.body
    assert (
        "Build a payout batch\nhttps://honora.example.org" + reverse("payments:batch_build")
        in staff.body
    )
    told = next(m for m in mail.outbox if m.to == [consultant.email])
    assert "Nothing is needed from you" in told.body
    # Once in a batch (pending, on its way) it is no longer a slip; told once either way.
    mail.outbox.clear()
    build(by=finance)
    assert promises_check(today=entry.promised_pay_date + timedelta(days=1)) == {}
    assert mail.outbox == []


def test_a_failing_consultant_address_is_recorded_and_staff_are_told_once(
    held, coordinator, monkeypatch, caplog
):
    """The consultant's send fails: staff were told, the notice says "failed", and the
    next run sends nothing (it used to roll the notice back and repeat staff every turn)."""
    from smtplib import SMTPRecipientsRefused

    import promises.services

    consultant, _payment, entry = held
    real = promises.services.send_mail

    def refuse_the_consultant(**kwargs):
        if kwargs["recipient_list"] == [consultant.email]:
            raise SMTPRecipientsRefused({consultant.email: (550, b"no")})
        return real(**kwargs)

    monkeypatch.setattr(promises.services, "send_mail", refuse_the_consultant)
    day = entry.promised_pay_date - timedelta(days=2)
    assert promises_check(today=day) == {"w9_missing": 1}
    notice = SlipNotice.objects.get()
    assert notice.consultant_outcome == "failed" and notice.staff_told >= 1
    assert len(mail.outbox) == 1 and consultant.email not in mail.outbox[0].to
    # The class only in the log: no address.
    assert "SMTPRecipientsRefused" in caplog.text and consultant.email not in caplog.text

    mail.outbox.clear()
    assert promises_check(today=day) == {}
    assert promises_check(today=entry.promised_pay_date) == {}
    assert mail.outbox == [] and SlipNotice.objects.count() == 1


@pytest.mark.parametrize("what", ["promises_check", "send_due_reminders"])
def test_a_mail_failure_never_stops_the_sweeper(held, monkeypatch, what):
    from io import StringIO
    from smtplib import SMTPServerDisconnected

    import payments.management.commands.payments_sweep as sweep

    def down(*args, **kwargs):
        raise SMTPServerDisconnected("gone")

    from engagements.models import Contribution

    _consultant, payment, entry = held
    Contribution.objects.filter(pk=entry.pk).update(promised_pay_date=payment.created_at.date())
    monkeypatch.setattr(sweep, what, down)
    out = StringIO()
    call_command("payments_sweep", stdout=out)  # no exception: the turn ends normally
    # The reminders fail first: the promise check after them still runs.
    assert SlipNotice.objects.count() == (1 if what == "send_due_reminders" else 0)
