"""Encrypted model fields (django-fernet-encrypted-fields) keyed by FIELD_ENCRYPTION_KEY.

The library derives its keys from SECRET_KEY; Honora keeps personal data under
its own rotating keys instead (``config.crypto``), so rotating the session
secret never touches stored data.
"""

from __future__ import annotations

from encrypted_fields import fields as ef

from config.crypto import fernet


class HonoraKeysMixin:
    @property
    def f(self):
        return fernet("fields")

    def get_prep_value(self, value):
        # The library stores "" as NULL; keep "" so NOT NULL text columns work.
        if value is None:
            return None
        value = super(ef.EncryptedFieldMixin, self).get_prep_value(value)
        if value is None:
            return None
        return self.f.encrypt(str(value).encode("utf-8")).decode("ascii")


class EncryptedCharField(HonoraKeysMixin, ef.EncryptedCharField):
    pass


class EncryptedTextField(HonoraKeysMixin, ef.EncryptedTextField):
    pass


class EncryptedEmailField(HonoraKeysMixin, ef.EncryptedEmailField):
    pass


class EncryptedDateField(HonoraKeysMixin, ef.EncryptedDateField):
    pass
