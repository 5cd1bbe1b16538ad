"""What people do with the public report, in history's words."""

from django.utils.translation import gettext_lazy as _

from core.history import Action

REPORT_PUBLISHED = Action("transparency.published", _("published a transparency report"))
