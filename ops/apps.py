from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running Honora: health checks, metrics, request ids, structured logs, error reporting."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from ops import tasks_context
        from ops.middleware import clear_request_id

        tasks_context.connect()
        request_finished.connect(clear_request_id, dispatch_uid="ops.clear_request_id")
