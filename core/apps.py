from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # The signal that copies a history action onto its history row.
        from core import history  # noqa: F401

        # Each app's named actions (``<app>/actions.py``), so history can word them.
        autodiscover_modules("actions")
