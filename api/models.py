"""Idempotency records: the first answer to a client's key, replayed on retries."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.fields import EncryptedTextField


class IdempotencyRecord(models.Model):
    """One row per (user, Idempotency-Key): the request it was used for and its answer.

    The row is written in the same transaction as the request's effect, so a
    retry either finds the committed answer or runs the request afresh.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=512)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # The answer may carry personal data (a consultant's contact details), so it is
    # kept encrypted like every other personal field: JSON text under FIELD_ENCRYPTION_KEY.
    response_json = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} ({self.status_code})"
