"""What people do to accounts and API tokens, as history names and words it."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

USER_CREATED = Action("user.created", _("added this person"))
API_TOKEN_CREATED = Action("api_token.created", _("created this API token"))
API_TOKEN_REVOKED = Action("api_token.revoked", _("revoked this API token"))
