"""What every audit-history row carries beside django-simple-history's fields.

simple-history records which fields changed, by whom and with which reason; a
short named action ("contribution.approved") says what the person did. Services
set both on the instance before saving; a signal copies the action over.
"""

from __future__ import annotations

from django.db import models
from django.dispatch import receiver
from simple_history.signals import pre_create_historical_record


class HistoryActionMixin(models.Model):
    history_action = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


def stamp(instance, *, by, action: str, reason: str = "") -> None:
    """Prepare ``instance`` so its next save writes a history row with these facts."""
    instance._history_user = by
    instance._history_action = action
    instance._change_reason = reason or ""


@receiver(pre_create_historical_record)
def _copy_action(sender, instance, history_instance, **kwargs):
    if hasattr(history_instance, "history_action"):
        history_instance.history_action = getattr(instance, "_history_action", "") or ""
    # One stamp per save: a later save must not inherit this one's facts.
    for attr in ("_history_action", "_change_reason", "_history_user"):
        if hasattr(instance, attr):
            delattr(instance, attr)
