"""The identity vault is finance-only, and every reveal is recorded for good."""

from __future__ import annotations

from datetime import date

import pytest

from consultants import services
from consultants.models import IdentityVault, TaxForm, VaultReveal
from core.append_only import AppendOnlyError
from core.errors import NotAllowed, ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def vault(consultant, finance):
    return services.vault_update(
        consultant=consultant,
        by=finance,
        reason="",
        legal_name="Adelaide Quintero",
        taxpayer_id="612-88-4093",
        date_of_birth=date(1983, 7, 14),
        mailing_address="4417 Larkspur Terrace",
    )


def test_finance_reveals_one_field_and_the_reveal_is_recorded(vault, consultant, finance):
    value = services.vault_reveal(
        consultant=consultant,
        field="taxpayer_id",
        by=finance,
        reason="Filing the 1099-NEC",
        context="test",
    )
    assert value == "612-88-4093"
    reveal = VaultReveal.objects.get()
    assert reveal.consultant == consultant
    assert reveal.field == "taxpayer_id"
    assert reveal.revealed_by == finance
    assert reveal.reason == "Filing the 1099-NEC"
    assert reveal.context == "test"
    assert reveal.revealed_at is not None

    assert services.vault_reveal(
        consultant=consultant, field="date_of_birth", by=finance, reason="Age check"
    ) == date(1983, 7, 14)
    assert VaultReveal.objects.count() == 2


@pytest.mark.parametrize("who", ["coordinator", "consultant_user", "admin_user"])
def test_nobody_but_finance_reveals(request, vault, consultant, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotAllowed):
        services.vault_reveal(
            consultant=consultant, field="legal_name", by=user, reason="Just curious"
        )
    assert VaultReveal.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reveal_needs_a_reason(vault, consultant, finance, reason):
    with pytest.raises(ValidationFailed) as exc:
        services.vault_reveal(consultant=consultant, field="legal_name", by=finance, reason=reason)
    assert exc.value.field == "reason"
    assert VaultReveal.objects.count() == 0


def test_only_vault_fields_can_be_revealed(vault, consultant, finance):
    with pytest.raises(ValidationFailed) as exc:
        services.vault_reveal(consultant=consultant, field="email", by=finance, reason="Why not")
    assert exc.value.field == "field"
    assert VaultReveal.objects.count() == 0


def test_reveal_rows_are_never_edited_or_deleted(vault, consultant, finance):
    services.vault_reveal(consultant=consultant, field="legal_name", by=finance, reason="1099")
    reveal = VaultReveal.objects.get()
    reveal.reason = "something nicer"
    with pytest.raises(AppendOnlyError):
        reveal.save()
    with pytest.raises(AppendOnlyError):
        reveal.delete()
    with pytest.raises(AppendOnlyError):
        VaultReveal.objects.filter(pk=reveal.pk).update(reason="rewritten")
    with pytest.raises(AppendOnlyError):
        VaultReveal.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        consultant.reveals.all().update(reason="rewritten")
    assert VaultReveal.objects.get().reason == "1099"


def test_vault_update_records_who_and_why_and_the_last_four(vault, consultant, finance):
    first = vault.history.get()
    assert first.history_user == finance
    assert first.history_action == "vault.created"
    assert TaxForm.objects.get(consultant=consultant).tin_last4 == "4093"

    with pytest.raises(ValidationFailed) as exc:
        services.vault_update(consultant=consultant, by=finance, reason=" ", taxpayer_id="1")
    assert exc.value.field == "reason"

    services.vault_update(
        consultant=consultant, by=finance, reason="Corrected W-9", taxpayer_id="612-88-5150"
    )
    latest = IdentityVault.objects.get(consultant=consultant).history.latest()
    assert latest.history_user == finance
    assert latest.history_change_reason == "Corrected W-9"
    assert latest.history_action == "vault.updated"
    form = TaxForm.objects.get(consultant=consultant)
    assert form.tin_last4 == "5150"
    tin_row = form.history.latest()
    assert (tin_row.history_user, tin_row.history_change_reason) == (finance, "Corrected W-9")


@pytest.mark.parametrize("who", ["coordinator", "consultant_user", "admin_user"])
def test_nobody_but_finance_changes_the_vault(request, consultant, who):
    with pytest.raises(NotAllowed):
        services.vault_update(
            consultant=consultant,
            by=request.getfixturevalue(who),
            reason="x",
            legal_name="Someone Else",
        )
    assert not IdentityVault.objects.filter(consultant=consultant).exists()


def test_vault_update_refuses_unknown_fields(consultant, finance):
    with pytest.raises(ValidationFailed):
        services.vault_update(consultant=consultant, by=finance, reason="x", email="a@b.org")
    assert not IdentityVault.objects.exists()


def test_a_w9_on_file_needs_the_date_it_was_received(consultant, finance):
    with pytest.raises(ValidationFailed) as exc:
        services.taxform_record(consultant=consultant, by=finance, status="received")
    assert exc.value.field == "received_on"
    assert TaxForm.objects.get(consultant=consultant).status == TaxForm.Status.MISSING

    form = services.taxform_record(
        consultant=consultant, by=finance, status="received", received_on=date(2026, 2, 1)
    )
    assert form.on_file and form.received_on == date(2026, 2, 1)
    row = form.history.latest()
    assert (row.history_user, row.history_action) == (finance, "taxform.received")


def test_only_finance_records_tax_forms(consultant, coordinator):
    with pytest.raises(NotAllowed):
        services.taxform_record(
            consultant=consultant, by=coordinator, status="received", received_on=date.today()
        )
