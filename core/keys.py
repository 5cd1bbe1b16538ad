"""Key material for data encrypted at rest.

``FIELD_ENCRYPTION_KEY`` holds one or more secrets, newest first. Each secret is
stretched with HKDF into a Fernet key; the first encrypts, all of them decrypt,
so a key can be rotated by putting the new secret in front and re-saving rows.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


def derive_fernet_key(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"honora:{purpose}".encode())
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8")))


@lru_cache(maxsize=16)
def _fernet_for(secrets: tuple[str, ...], purpose: str) -> MultiFernet:
    return MultiFernet([Fernet(derive_fernet_key(s, purpose)) for s in secrets])


def fernet(purpose: str = "fields") -> MultiFernet:
    """The MultiFernet for the configured secrets (follows override_settings)."""
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEY), purpose)
