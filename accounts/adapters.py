from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib.auth import get_user_model
from django.utils import translation

from accounts.middleware import consultant_language
from core.keys import fernet


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Staff invite people; nobody signs themselves up.
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """Allauth's e-mails (sign-in codes, password resets) to a consultant are in the
        consultant's language, even before sign-in; anyone else's in the page's."""
        language = None
        if email:
            user = get_user_model().objects.filter(email__iexact=email).first()
            language = consultant_language(user) if user is not None else None
        with translation.override(language or translation.get_language()):
            super().send_mail(template_prefix, email, context)


class MFAAdapter(DefaultMFAAdapter):
    """Keeps TOTP secrets and recovery seeds encrypted with the field keys."""

    def encrypt(self, text: str) -> str:
        return fernet("mfa").encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, encrypted_text: str) -> str:
        return fernet("mfa").decrypt(encrypted_text.encode("ascii")).decode("utf-8")
