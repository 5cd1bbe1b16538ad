"""Encrypted model fields (django-fernet-encrypted-fields) keyed by FIELD_ENCRYPTION_KEY.

The library derives its keys from SECRET_KEY; Honora keeps personal data under
its own rotating keys instead (``core.keys``), so rotating the session
secret never touches stored data.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from cryptography.fernet import InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from encrypted_fields import fields as ef

from core.keys import fernet

# The shortest Fernet token (version, timestamp, IV, one block, HMAC), in base64.
_MIN_TOKEN_LENGTH = 100


def _looks_like_token(value: str) -> bool:
    if len(value) < _MIN_TOKEN_LENGTH or not value.startswith("gAAAAA"):
        return False
    try:
        return base64.urlsafe_b64decode(value.encode("ascii"))[0] == 0x80
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


if TYPE_CHECKING:
    # What the mixin extends: a model field (the library itself is untyped).
    _FieldBase = models.Field[Any, Any]
else:
    _FieldBase = object


class HonoraKeysMixin(_FieldBase):
    @property
    def f(self) -> MultiFernet:
        return fernet("fields")

    def get_prep_value(self, value: Any) -> Any:
        # The library stores "" as NULL; keep "" so NOT NULL text columns work.
        if value is None:
            return None
        value = super(ef.EncryptedFieldMixin, self).get_prep_value(value)
        if value is None:
            return None
        return self.f.encrypt(str(value).encode("utf-8")).decode("ascii")

    def clean(self, value: Any, model_instance: models.Model | None) -> Any:
        # The library marks the field object, shared by every thread, as "already
        # decrypted" while it cleans; a read in another thread at that moment would
        # get ciphertext back (and a save would encrypt it twice). Plain values are
        # never mistaken for tokens here, so no mark is needed.
        return super(ef.EncryptedFieldMixin, self).clean(value, model_instance)

    def to_python(self, value: Any) -> Any:
        # The library hands back the ciphertext itself when no key fits; a legal
        # name that reads "gAAAAA..." (and is re-encrypted on the next save) is
        # worse than stopping, so a stored token that cannot be read is an error.
        if isinstance(value, str) and _looks_like_token(value):
            try:
                plain = self.f.decrypt(value.encode("ascii")).decode("utf-8")
            except InvalidToken:
                raise ImproperlyConfigured(
                    "Encrypted data could not be read with any FIELD_ENCRYPTION_KEY secret; "
                    "keep retired secrets after the new one until every row is re-saved."
                ) from None
            return super(ef.EncryptedFieldMixin, self).to_python(plain)
        return super().to_python(value)


class EncryptedCharField(HonoraKeysMixin, ef.EncryptedCharField):
    pass


class EncryptedTextField(HonoraKeysMixin, ef.EncryptedTextField):
    pass


class EncryptedEmailField(HonoraKeysMixin, ef.EncryptedEmailField):
    pass


class EncryptedDateField(HonoraKeysMixin, ef.EncryptedDateField):
    pass
