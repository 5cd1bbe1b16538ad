from django.apps import apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from accounts.roles import sync_roles
from core.history import _copy_action  # noqa: F401  (connects the history signal)


@receiver(post_migrate)
def _sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs):
    # post_migrate fires once per app; act after the last one, when every
    # app's permissions exist.
    with_models = [c for c in apps.get_app_configs() if c.models_module is not None]
    if app_config is not None and app_config is with_models[-1]:
        sync_roles(using=using)
