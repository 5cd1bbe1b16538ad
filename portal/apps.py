from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The consultant's own pages under /me/: views, their forms and the reads they make."""

    name = "portal"
    verbose_name = "Consultant portal"
