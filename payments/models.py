"""Payout batches, payments, receipts: see the payments issue. Empty for now."""

from django.db import models


class FinanceAccess(models.Model):
    """Holds the permission that opens the finance pages; no rows are stored."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("access_finance", "Can use the finance pages")]

    def __str__(self):
        return "finance access"
