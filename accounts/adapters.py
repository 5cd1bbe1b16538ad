from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter

from core.keys import fernet


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff invite people; nobody signs themselves up.
        return False


class MFAAdapter(DefaultMFAAdapter):
    """Keeps TOTP secrets and recovery seeds encrypted with the field keys."""

    def encrypt(self, text: str) -> str:
        return fernet("mfa").encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        return fernet("mfa").decrypt(encrypted_text.encode("ascii")).decode("utf-8")
