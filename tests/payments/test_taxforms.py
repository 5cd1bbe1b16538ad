"""Tax forms where finance works: a W-9 or W-8BEN recorded from a held payment or the
consultant's finance page releases every hold it resolves, with a reason in history;
the taxpayer id lives only in the encrypted vault (last four shown), and the signed
copy is a private file, encrypted at rest and served to finance only.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consultants import actions
from consultants.models import CapPeriod, IdentityVault, TaxForm
from consultants.services import taxform_receive
from core.errors import NotAllowed, ValidationFailed
from core.storage import MAGIC
from payments.models import Payment
from tests.factories import UserFactory
from tests.payments.payout_support import PDF, approved, build, consultant_with_work, pdf_upload

pytestmark = pytest.mark.django_db

PS = Payment.Status
TIN = "900-70-4321"
TIN_DIGITS = "900704321"
RECEIVED = date(2026, 1, 5)


@pytest.fixture(autouse=True)
def always_needs_a_w9(settings):
    # The organisation's own threshold of zero: every payment needs a tax form on file.
    settings.TAX_FORM_ORG_THRESHOLD = Decimal("0")


@pytest.fixture
def held(coordinator, finance):
    """A consultant with two payments (in two batches) held for the missing W-9."""
    consultant = consultant_with_work(approver=coordinator, name="River")
    first = build(by=finance).payments.get(consultant=consultant)
    approved(consultant.engagements.get(), approver=coordinator, quantity="1")
    second = build(by=finance).payments.get(consultant=consultant)
    for p in (first, second):
        assert (p.status, p.hold_reason) == (PS.HELD, Payment.Hold.W9_MISSING)
    return consultant, [first, second]


@pytest.fixture
def as_finance(finance):
    client = Client()
    client.force_login(finance)
    return client


def _fresh(payment) -> Payment:
    return Payment.objects.get(pk=payment.pk)


def _post_data(**overrides):
    data = {
        "taxform-form_type": "W-9",
        "taxform-received_on": RECEIVED.isoformat(),
        "taxform-tin": TIN,
        "taxform-reason": "Signed W-9 arrived by post",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- the service ---------------------------------------------------------------------------


def test_a_w9_releases_every_payment_held_only_for_it(held, finance, coordinator):
    consultant, payments = held
    other = consultant_with_work(approver=coordinator, name="Other")
    other_payment = build(by=finance).payments.get(consultant=other)
    assert other_payment.status == PS.HELD

    result = taxform_receive(
        consultant=consultant,
        by=finance,
        form_type="W-9",
        received_on=RECEIVED,
        tin=TIN,
        reason="Signed W-9 arrived by post",
    )

    assert sorted(p.pk for p in result.released) == sorted(p.pk for p in payments)
    assert result.still_held == []
    for p in payments:
        p = _fresh(p)
        assert (p.status, p.hold_reason) == (PS.PENDING, "")
        row = p.history.latest("history_id")
        assert row.history_action == "payment.hold_released"
        assert row.history_change_reason == "Signed W-9 arrived by post"
    assert _fresh(other_payment).status == PS.HELD  # someone else's hold is untouched
    form = TaxForm.objects.get(consultant=consultant)
    assert (form.form_type, form.status, form.received_on, form.tin_last4) == (
        "W-9",
        "received",
        RECEIVED,
        "4321",
    )
    assert IdentityVault.objects.get(consultant=consultant).taxpayer_id == TIN_DIGITS
    row = form.history.latest("history_id")
    assert (row.history_action, row.history_change_reason, row.history_user) == (
        actions.TAXFORM_W9_RECEIVED,
        "Signed W-9 arrived by post",
        finance,
    )
    assert form.history.filter(
        history_action=actions.TAXFORM_TIN_RECORDED,
        history_change_reason="Signed W-9 arrived by post",
    ).exists()


def test_a_w8ben_for_a_non_us_person_releases_the_hold_without_a_us_tin(held, finance):
    consultant, payments = held
    result = taxform_receive(
        consultant=consultant,
        by=finance,
        form_type="W-8BEN",
        received_on=RECEIVED,
        reason="Lives in Canada; W-8BEN signed",
    )
    assert len(result.released) == 2
    assert all(_fresh(p).status == PS.PENDING for p in payments)
    form = TaxForm.objects.get(consultant=consultant)
    assert (form.form_type, form.status, form.tin_last4) == ("W-8BEN", "received", "")
    assert form.get_form_type_display() == "W-8BEN (non-US person)"
    assert form.history.latest("history_id").history_action == "taxform.non_us_form_received"
    assert not IdentityVault.objects.filter(consultant=consultant).exists()


def test_a_w8ben_may_carry_a_foreign_tin_kept_in_the_vault(held, finance):
    consultant, _payments = held
    taxform_receive(
        consultant=consultant,
        by=finance,
        form_type="W-8BEN",
        received_on=RECEIVED,
        tin="AB 123 456 789",
        reason="W-8BEN with foreign TIN",
    )
    assert IdentityVault.objects.get(consultant=consultant).taxpayer_id == "AB 123 456 789"
    assert TaxForm.objects.get(consultant=consultant).tin_last4 == "6789"


def test_a_payment_held_for_something_else_too_stays_held_and_finance_is_told(held, finance):
    consultant, payments = held
    consultant.benefits_cap_amount = Decimal("1.00")
    consultant.benefits_cap_period = CapPeriod.YEARLY
    consultant.save(update_fields=["benefits_cap_amount", "benefits_cap_period"])
    result = taxform_receive(
        consultant=consultant,
        by=finance,
        form_type="W-9",
        received_on=RECEIVED,
        tin=TIN,
        reason="W-9 arrived",
    )
    assert result.released == []
    assert len(result.still_held) == 2
    assert all("limit" in why for _p, why in result.still_held)
    assert all(_fresh(p).status == PS.HELD for p in payments)
    # The form itself is recorded all the same.
    assert TaxForm.objects.get(consultant=consultant).on_file


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"form_type": "W-4"}, "form_type"),
        ({"received_on": None}, "received_on"),
        ({"received_on": "future"}, "received_on"),
        ({"received_on": date(1900, 1, 1)}, "received_on"),
        ({"tin": ""}, "tin"),
        ({"tin": "12345"}, "tin"),
        ({"tin": "900-70-43211"}, "tin"),
        ({"tin": "９００７０４３２１"}, "tin"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(held, finance, changes, field):
    consultant, payments = held
    values = {
        "form_type": "W-9",
        "received_on": RECEIVED,
        "tin": TIN,
        "reason": "W-9 arrived",
        **changes,
    }
    if values["received_on"] == "future":
        values["received_on"] = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        taxform_receive(consultant=consultant, by=finance, **values)
    assert caught.value.field == field
    assert TIN_DIGITS not in caught.value.message and "4321" not in caught.value.message
    form = TaxForm.objects.get(consultant=consultant)
    assert (form.status, form.tin_last4) == ("missing", "")
    assert not IdentityVault.objects.filter(consultant=consultant).exists()
    assert all(_fresh(p).status == PS.HELD for p in payments)


def test_a_w9_without_a_tin_is_fine_when_one_is_on_file(held, finance):
    consultant, _payments = held
    from consultants.services import vault_update

    vault_update(consultant=consultant, by=finance, reason="", taxpayer_id=TIN)
    result = taxform_receive(
        consultant=consultant,
        by=finance,
        form_type="W-9",
        received_on=RECEIVED,
        reason="W-9 arrived; TIN already on file",
    )
    assert len(result.released) == 2


def test_only_finance_records_tax_forms_and_never_their_own(held, coordinator, finance):
    consultant, _payments = held
    with pytest.raises(NotAllowed):
        taxform_receive(
            consultant=consultant,
            by=coordinator,
            form_type="W-9",
            received_on=RECEIVED,
            tin=TIN,
            reason="x",
        )
    consultant.user.groups.add(*finance.groups.all())
    del consultant.user._perm_cache
    del consultant.user._group_perm_cache
    with pytest.raises(NotAllowed):
        taxform_receive(
            consultant=consultant,
            by=consultant.user,
            form_type="W-9",
            received_on=RECEIVED,
            tin=TIN,
            reason="my own",
        )


# --- the pages ------------------------------------------------------------------------------


def test_a_held_payment_page_offers_the_form_and_records_it(as_finance, held, caplog):
    consultant, payments = held
    url = reverse("payments:payment", kwargs={"public_id": payments[0].public_id})
    page = as_finance.get(url).content.decode()
    assert 'name="taxform-tin"' in page and 'type="password"' in page
    assert reverse("payments:consultant", kwargs={"public_id": consultant.public_id}) in page

    caplog.set_level(logging.DEBUG)
    response = as_finance.post(
        reverse("payments:payment_taxform", kwargs={"public_id": payments[0].public_id}),
        _post_data(),
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "The W-9 (US person) was recorded as received." in text
    assert "2 held payments were released." in text
    assert all(_fresh(p).status == PS.PENDING for p in payments)
    # The TIN is in no page and no log line: only its last four digits, masked.
    consultant_page = as_finance.get(
        reverse("payments:consultant", kwargs={"public_id": consultant.public_id})
    ).content.decode()
    assert "•••-••-4321" in consultant_page
    for blob in (text, consultant_page, caplog.text):
        assert TIN not in blob and TIN_DIGITS not in blob and "900-70" not in blob


def test_the_consultant_page_shows_standing_payments_and_holds(as_finance, held):
    consultant, payments = held
    page = as_finance.get(
        reverse("payments:consultant", kwargs={"public_id": consultant.public_id})
    ).content.decode()
    assert "River: tax form and payments" in page
    assert "Not on file" in page
    assert "2 payments are held until a tax form is on file." in page
    for p in payments:
        assert reverse("payments:payment", kwargs={"public_id": p.public_id}) in page


def test_a_form_with_an_error_never_echoes_the_tin_and_changes_nothing(as_finance, held):
    consultant, payments = held
    url = reverse("payments:consultant_taxform", kwargs={"public_id": consultant.public_id})
    response = as_finance.post(url, _post_data(**{"taxform-reason": ""}))
    assert response.status_code == 400
    text = response.content.decode()
    assert "Say why you are recording this tax form." in text
    assert TIN not in text and TIN_DIGITS not in text
    response = as_finance.post(url, _post_data(**{"taxform-tin": "900-70-432"}))
    assert response.status_code == 400
    text = response.content.decode()
    assert "nine digits" in text and "900-70-432" not in text
    assert TaxForm.objects.get(consultant=consultant).status == "missing"
    assert all(_fresh(p).status == PS.HELD for p in payments)


def test_the_signed_copy_is_encrypted_at_rest_and_served_to_finance_only(
    as_finance, held, settings, client, coordinator, finance2
):
    consultant, _payments = held
    url = reverse("payments:consultant_taxform", kwargs={"public_id": consultant.public_id})
    response = as_finance.post(
        url,
        _post_data(
            **{
                "taxform-form_type": "W-8BEN",
                "taxform-tin": None,
                "taxform-upload": pdf_upload("my legal name.pdf"),
            }
        ),
    )
    assert response.status_code == 302
    form = TaxForm.objects.get(consultant=consultant)
    assert form.signed_copy and "legal" not in form.signed_copy.name
    raw = (settings.MEDIA_ROOT / form.signed_copy.name).read_bytes()
    assert raw.startswith(MAGIC) and PDF not in raw and b"%PDF" not in raw
    assert form.history.filter(
        history_action="taxform.file_attached", history_change_reason="Signed W-9 arrived by post"
    ).exists()

    file_url = reverse(
        "payments:consultant_taxform_file", kwargs={"public_id": consultant.public_id}
    )
    download = as_finance.get(file_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Cache-Control"] == "private, no-store"
    for user, status in (
        (consultant.user, 403),
        (coordinator, 403),
        (UserFactory(roles=["finance"]), 302),  # finance without TOTP: set it up first
    ):
        client.force_login(user)
        assert client.get(file_url).status_code == status
    client.force_login(finance2)
    assert client.get(file_url).status_code == 200


def test_an_upload_that_is_not_a_pdf_or_photo_is_refused(as_finance, held):
    consultant, _payments = held
    url = reverse("payments:consultant_taxform", kwargs={"public_id": consultant.public_id})
    bad = pdf_upload("w9.pdf", content=b"MZ\x90\x00 not a pdf")
    response = as_finance.post(url, _post_data(**{"taxform-upload": bad}))
    assert response.status_code == 400
    assert "This file is none of those." in response.content.decode()
    assert TaxForm.objects.get(consultant=consultant).status == "missing"


@pytest.mark.parametrize("name", ["payments:consultant", "payments:consultant_taxform_file"])
def test_finance_without_totp_is_sent_to_set_it_up(held, name):
    consultant, _payments = held
    client = Client()
    client.force_login(UserFactory(roles=["finance"]))
    response = client.get(reverse(name, kwargs={"public_id": consultant.public_id}))
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    response = client.post(
        reverse("payments:consultant_taxform", kwargs={"public_id": consultant.public_id}),
        _post_data(),
    )
    assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    assert TaxForm.objects.get(consultant=consultant).status == "missing"


def test_a_page_for_no_consultant_is_a_404(as_finance):
    import uuid

    url = reverse("payments:consultant", kwargs={"public_id": uuid.uuid4()})
    assert as_finance.get(url).status_code == 404


# --- the API --------------------------------------------------------------------------------


def _api_body(**overrides):
    body = {
        "form_type": "W-9",
        "received_on": RECEIVED.isoformat(),
        "tin": TIN,
        "reason": "W-9 arrived by e-mail",
    }
    body.update(overrides)
    return body


def test_the_api_records_a_w9_and_releases_holds_idempotently(held, finance, caplog):
    from tests.api.conftest import client_for

    consultant, payments = held
    api = client_for(finance)
    url = f"/api/v1/consultants/{consultant.public_id}/tax-form/"
    caplog.set_level(logging.DEBUG)
    first = api.post(url, _api_body(), format="json", HTTP_IDEMPOTENCY_KEY="tf-1")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["form_type"] == "W-9" and body["status"] == "received"
    assert body["taxpayer_id_last4"] == "4321" and body["released_count"] == 2
    assert sorted(body["released"]) == sorted(str(p.public_id) for p in payments)
    assert body["still_held"] == [] and body["has_signed_copy"] is False
    assert first["Cache-Control"] == "no-store"
    assert TIN not in first.content.decode() and TIN_DIGITS not in first.content.decode()
    replay = api.post(url, _api_body(), format="json", HTTP_IDEMPOTENCY_KEY="tf-1")
    assert replay.json() == body and replay["Idempotent-Replayed"] == "true"
    form = TaxForm.objects.get(consultant=consultant)
    assert form.history.filter(history_action="taxform.us_form_received").count() == 1
    assert TIN_DIGITS not in caplog.text and TIN not in caplog.text
    # The stored request fingerprint is keyed: it cannot be matched against guessed TINs.
    import hashlib

    from api.models import IdempotencyRecord

    record = IdempotencyRecord.objects.get(key="tf-1")
    plain = hashlib.sha256(b"POST\0" + url.encode() + b"\0" + first.wsgi_request.body)
    assert record.request_hash != plain.hexdigest() and len(record.request_hash) == 64


def test_the_api_records_a_w8ben_and_needs_a_reason(held, finance):
    from tests.api.conftest import client_for

    consultant, _payments = held
    api = client_for(finance)
    url = f"/api/v1/consultants/{consultant.public_id}/tax-form/"
    no_reason = api.post(url, _api_body(form_type="W-8BEN", tin="", reason=""), format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    bad_tin = api.post(url, _api_body(tin="12"), format="json")
    assert bad_tin.status_code == 400 and list(bad_tin.json()["fields"]) == ["tin"]
    assert TaxForm.objects.get(consultant=consultant).status == "missing"
    ok = api.post(url, _api_body(form_type="W-8BEN", tin=""), format="json")
    assert ok.status_code == 200 and ok.json()["form_type"] == "W-8BEN"
    assert ok.json()["released_count"] == 2


def test_the_api_refuses_finance_without_totp(held):
    consultant, _payments = held
    client = Client()
    client.force_login(UserFactory(roles=["finance"]))
    response = client.post(
        f"/api/v1/consultants/{consultant.public_id}/tax-form/",
        _api_body(),
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["code"] == "mfa_required"
    assert TaxForm.objects.get(consultant=consultant).status == "missing"


def test_the_batch_and_the_staff_consultant_page_lead_finance_to_the_form(
    as_finance, held, coordinator
):
    consultant, payments = held
    target = reverse("payments:consultant", kwargs={"public_id": consultant.public_id})
    batch = as_finance.get(
        reverse("payments:batch", kwargs={"public_id": payments[0].batch.public_id})
    )
    assert target in batch.content.decode()
    staff_url = reverse("consultants:detail", kwargs={"public_id": consultant.public_id})
    assert target in as_finance.get(staff_url).content.decode()
    client = Client()
    client.force_login(coordinator)
    assert target not in client.get(staff_url).content.decode()
