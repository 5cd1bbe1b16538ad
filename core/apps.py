from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # The signal that copies a history action onto its history row.
        from core import history  # noqa: F401
