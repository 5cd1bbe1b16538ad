"""Contact details, the identity vault and TOTP secrets are encrypted at rest."""

from __future__ import annotations

from datetime import date

import pytest
from allauth.mfa.models import Authenticator
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from consultants import services
from consultants.models import Consultant, IdentityVault
from core.keys import derive_fernet_key

pytestmark = pytest.mark.django_db

VAULT = {
    "legal_name": "Adelaide Quintero-Marsh",
    "mailing_address": "4417 Larkspur Terrace, Apt 9\nOakdale, MN 55128",
    "date_of_birth": date(1983, 7, 14),
    "taxpayer_id": "612-88-4093",
}
CONTACT = {
    "email": "adelaide.qm@example.net",
    "phone": "+1 651 555 0142",
    "safe_contact_notes": "Only call on Tuesdays after 6pm",
}
OLD_KEY = "old-field-encryption-secret-0123456789abcdef"
NEW_KEY = "new-field-encryption-secret-fedcba9876543210"


def raw_row(table: str, columns: list[str], **where) -> dict:
    (column, value), *_ = where.items()
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {table} WHERE {column} = %s", [value])
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(columns, row, strict=True))


def raw_rows(table: str, columns: list[str], **where) -> list[dict]:
    (column, value), *_ = where.items()
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {names} FROM {table} WHERE {column} = %s", [value])
        rows = cursor.fetchall()
    return [dict(zip(columns, row, strict=True)) for row in rows]


def plaintexts(values: dict) -> list[str]:
    texts = []
    for value in values.values():
        text = value.isoformat() if isinstance(value, date) else value
        texts.append(text)
        # Also any piece that would give the secret away on its own.
        texts.extend(part for part in text.replace("\n", " ").split() if len(part) > 4)
    return texts


def assert_not_in_clear(row: dict, secrets: list[str]) -> None:
    for column, stored in row.items():
        assert stored, f"{column} is empty"
        for secret in secrets:
            assert secret not in str(stored), f"{column} holds {secret!r} in clear"
        assert str(stored).startswith("gAAAAA"), f"{column} is not a Fernet token"


@pytest.fixture
def vaulted(consultant, finance):
    services.vault_update(consultant=consultant, by=finance, reason="", **VAULT)
    services.vault_update(
        consultant=consultant, by=finance, reason="moved", mailing_address="12 Other Rd"
    )
    return consultant


def test_vault_fields_are_not_stored_in_clear(vaulted):
    vault = IdentityVault.objects.get(consultant=vaulted)
    row = raw_row("consultants_identityvault", list(IdentityVault.FIELDS), id=vault.pk)
    assert_not_in_clear(row, [*plaintexts(VAULT), "12 Other Rd"])


def test_vault_history_is_not_stored_in_clear_either(vaulted):
    vault = IdentityVault.objects.get(consultant=vaulted)
    rows = raw_rows("consultants_historicalidentityvault", list(IdentityVault.FIELDS), id=vault.pk)
    assert len(rows) >= 2
    for row in rows:
        assert_not_in_clear(row, [*plaintexts(VAULT), "12 Other Rd"])
    # The history still reads back in clear for those allowed to see it.
    first = vault.history.earliest()
    assert first.legal_name == VAULT["legal_name"]
    assert first.mailing_address == VAULT["mailing_address"]


def test_the_model_reads_the_vault_back(vaulted):
    vault = IdentityVault.objects.get(consultant=vaulted)
    assert vault.legal_name == VAULT["legal_name"]
    assert vault.date_of_birth == VAULT["date_of_birth"]
    assert vault.taxpayer_id == VAULT["taxpayer_id"]
    assert vault.mailing_address == "12 Other Rd"


def test_contact_details_are_not_stored_in_clear(consultant):
    for name, value in CONTACT.items():
        setattr(consultant, name, value)
    consultant.save()
    row = raw_row("consultants_consultant", list(CONTACT), id=consultant.pk)
    assert_not_in_clear(row, plaintexts(CONTACT))
    for row in raw_rows("consultants_historicalconsultant", list(CONTACT), id=consultant.pk):
        assert_not_in_clear(row, plaintexts(CONTACT))
    fresh = Consultant.objects.get(pk=consultant.pk)
    assert {name: getattr(fresh, name) for name in CONTACT} == CONTACT


def test_blank_values_stay_blank_not_null(consultant):
    consultant.phone = ""
    consultant.save()
    assert Consultant.objects.get(pk=consultant.pk).phone == ""


def test_rotation_keeps_old_rows_readable_and_re_saves_with_the_new_key(
    settings, consultant, finance
):
    settings.FIELD_ENCRYPTION_KEY = [OLD_KEY]
    vault = services.vault_update(consultant=consultant, by=finance, reason="", **VAULT)
    old_row = raw_row("consultants_identityvault", list(IdentityVault.FIELDS), id=vault.pk)
    old_fernet = Fernet(derive_fernet_key(OLD_KEY, "fields"))
    new_fernet = Fernet(derive_fernet_key(NEW_KEY, "fields"))
    assert old_fernet.decrypt(old_row["legal_name"].encode()).decode() == VAULT["legal_name"]

    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY, OLD_KEY]
    vault = IdentityVault.objects.get(pk=vault.pk)
    assert {f: getattr(vault, f) for f in IdentityVault.FIELDS} == VAULT  # old rows decrypt
    vault.save()
    new_row = raw_row("consultants_identityvault", list(IdentityVault.FIELDS), id=vault.pk)
    for field, token in new_row.items():
        assert token != old_row[field]
        with pytest.raises(InvalidToken):
            old_fernet.decrypt(token.encode())
    assert new_fernet.decrypt(new_row["taxpayer_id"].encode()).decode() == VAULT["taxpayer_id"]

    # Once every row is re-saved the old secret can go.
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]
    vault = IdentityVault.objects.get(pk=vault.pk)
    assert {f: getattr(vault, f) for f in IdentityVault.FIELDS} == VAULT


def test_a_missing_key_fails_loudly_instead_of_showing_ciphertext(settings, vaulted):
    settings.FIELD_ENCRYPTION_KEY = [NEW_KEY]
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        IdentityVault.objects.only("id", "legal_name").get(consultant=vaulted)
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        Consultant.objects.get(pk=vaulted.pk)


def test_text_that_merely_looks_odd_is_still_stored_and_read(consultant):
    consultant.safe_contact_notes = "gAAAAA is how my nickname starts"
    consultant.save()
    assert Consultant.objects.get(pk=consultant.pk).safe_contact_notes.startswith("gAAAAA is")


def test_the_totp_secret_is_encrypted(finance):
    from accounts.adapters import MFAAdapter

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the one tests/conftest.py enrols
    totp = Authenticator.objects.get(user=finance, type=Authenticator.Type.TOTP)
    assert totp.data["secret"] != secret
    assert MFAAdapter().decrypt(totp.data["secret"]) == secret
    for row in raw_rows("mfa_authenticator", ["data"], user_id=finance.pk):
        assert secret not in str(row["data"])
    codes = Authenticator.objects.get(user=finance, type=Authenticator.Type.RECOVERY_CODES)
    seed = codes.data["seed"]
    assert MFAAdapter().decrypt(seed) != seed


def test_cleaning_a_vault_does_not_blind_readers_in_other_threads(vaulted, monkeypatch):
    field = IdentityVault._meta.get_field("legal_name")
    token = raw_row("consultants_identityvault", ["legal_name"], consultant_id=vaulted.pk)[
        "legal_name"
    ]
    seen = []
    original = type(field).run_validators

    def read_meanwhile(self, value):
        # What another request loading a vault at this very moment would get.
        seen.append(self.from_db_value(token, None, connection))
        return original(self, value)

    monkeypatch.setattr(type(field), "run_validators", read_meanwhile)
    vault = IdentityVault.objects.get(consultant=vaulted)
    vault.full_clean()
    assert seen and set(seen) == {VAULT["legal_name"]}
