"""Receipts and annual statements: documents that never change once issued.

A receipt copies everything it states at the moment it is issued (the name as
the consultant chose it, the organisation, the items), like an invoice does. Its
PDF is stored with its SHA-256 and served as stored. A correction is a new
receipt that refers to the one it replaces, which stays available.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consultants.models import Consultant
from core.append_only import AppendOnlyError
from core.money import MONEY_FIELD as MONEY

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))


class ReceiptCounter(models.Model):
    """The last receipt number used in a year: numbers have no gaps."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


# A receipt is written once; its stored PDF (file, hash, time) is filled in once,
# after rendering. Nothing else about it ever changes (migration 0005 holds the same
# rule in the database).
RECEIPT_FILLED_ONCE = frozenset({"pdf", "sha256", "rendered_at"})


class ReceiptQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if not set(kwargs) <= RECEIPT_FILLED_ONCE:
            raise AppendOnlyError("receipts are never edited: issue a replacement")
        return super().update(**kwargs)

    def delete(self):
        raise AppendOnlyError("receipts are never deleted")


class Receipt(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    payment = models.ForeignKey(
        "payments.Payment", on_delete=models.PROTECT, related_name="receipts"
    )
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="receipts")
    year = models.PositiveIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=32, unique=True)
    verification_code = models.CharField(max_length=16, unique=True, default=new_verification_code)
    issued_at = models.DateTimeField(auto_now_add=True)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    reason = models.TextField(blank=True, help_text=_("Why a replacement was issued."))
    # What the receipt states, copied when it was issued.
    payee_name = models.CharField(max_length=200)
    organization_name = models.CharField(max_length=200)
    organization_contact = models.CharField(max_length=200)
    # The payer's address and tax id as printed; null on receipts issued before they were
    # recorded (those print what the settings say when they are drawn).
    organization_address = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001
    organization_tax_id = models.CharField(max_length=20, null=True, blank=True)  # noqa: DJ001
    description = models.CharField(max_length=200)
    # The method as the receipt states it, e.g. "Direct deposit (Stripe)", in any language.
    method = models.CharField(max_length=64)
    reference = models.CharField(max_length=120, blank=True)
    paid_on = models.DateField()
    total = models.DecimalField(**MONEY)
    pay_total = models.DecimalField(**MONEY)
    reimbursement_total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    lines = models.JSONField(help_text=_("The items as printed."))
    # The language it is written in: the consultant's when it was issued; a replacement
    # keeps its original's unless finance asks for another.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    # The stored document, written once after rendering.
    pdf = models.FileField(upload_to="receipts/%Y/", blank=True, max_length=255)
    sha256 = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = ReceiptQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "sequence"], name="receipt_number_once_per_year"
            ),
            models.CheckConstraint(
                name="receipt_replacement_has_reason",
                condition=Q(replaces__isnull=True) | ~Q(reason=""),
            ),
            models.CheckConstraint(
                name="receipt_rendered_together",
                condition=(Q(sha256="") & Q(rendered_at__isnull=True))
                | (~Q(sha256="") & Q(rendered_at__isnull=False)),
            ),
        ]

    def __str__(self):
        return self.number

    def save(self, *args, **kwargs):
        if not self._state.adding:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= RECEIPT_FILLED_ONCE:
                raise AppendOnlyError("receipts are never edited: issue a replacement")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("receipts are never deleted")

    @property
    def is_rendered(self) -> bool:
        return bool(self.sha256)


class AnnualStatement(models.Model):
    """A consultant's year, as a document; generating again stores a new version."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="statements")
    year = models.PositiveIntegerField()
    version = models.PositiveIntegerField()
    generated_at = models.DateTimeField(auto_now_add=True)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    pdf = models.FileField(upload_to="statements/%Y/", max_length=255)
    sha256 = models.CharField(max_length=64)
    pay_total = models.DecimalField(**MONEY)
    reimbursement_total = models.DecimalField(**MONEY)
    # The language it is written in: the consultant's when it was generated.
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )

    class Meta:
        ordering = ["consultant", "-year", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultant", "year", "version"], name="statement_version_once"
            ),
        ]

    def __str__(self):
        return f"Statement {self.year} v{self.version}"
