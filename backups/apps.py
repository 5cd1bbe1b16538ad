from django.apps import AppConfig


class BackupsConfig(AppConfig):
    """``manage.py backup`` and ``restore``: the database and the private files, together."""

    name = "backups"
    verbose_name = "Backups"
