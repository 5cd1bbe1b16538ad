"""Consultants, their identity vault and tax-form status.

Staff work with the display name. Contact details and everything in the vault
are encrypted at rest; the vault is for finance only and every reveal is logged.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.append_only import AppendOnlyModel
from core.fields import (
    EncryptedCharField,
    EncryptedDateField,
    EncryptedEmailField,
    EncryptedTextField,
)
from core.history import HistoryActionMixin


class PayoutMethod(models.TextChoices):
    STRIPE = "stripe", _("Direct deposit (Stripe)")
    CHECK = "check", _("Check")
    PREPAID_CARD = "prepaid_card", _("Prepaid card")
    GIFT_CARD = "gift_card", _("Gift card")
    CASH = "cash", _("Cash")


class ContactMethod(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")
    TEXT = "text", _("Text message")
    NONE = "none", _("Do not contact me directly")


class CreditPreference(models.TextChoices):
    LEGAL_NAME = "legal_name", _("My legal name")
    PSEUDONYM = "pseudonym", _("My pseudonym")
    ANONYMOUS = "anonymous", _("Anonymous")


class ReceiptName(models.TextChoices):
    LEGAL_NAME = "legal_name", _("My legal name")
    PSEUDONYM = "pseudonym", _("My pseudonym")
    DISPLAY_NAME = "display_name", _("My display name")


class CapPeriod(models.TextChoices):
    MONTHLY = "monthly", _("Per month")
    YEARLY = "yearly", _("Per year")


class Consultant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        INACTIVE = "inactive", _("Inactive")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(
        _("display name"),
        max_length=80,
        help_text=_("What staff see. A pseudonym is fine."),
    )
    pseudonym = models.CharField(
        _("pseudonym"),
        max_length=80,
        blank=True,
        help_text=_("Used where the consultant chose it."),
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    email = EncryptedEmailField(_("e-mail"), max_length=254, blank=True)
    phone = EncryptedCharField(_("phone"), max_length=40, blank=True)
    safe_contact_method = models.CharField(
        _("safest way to reach me"),
        max_length=16,
        choices=ContactMethod.choices,
        default=ContactMethod.EMAIL,
    )
    safe_to_leave_message = models.BooleanField(_("safe to leave a message"), default=False)
    safe_contact_notes = EncryptedTextField(
        _("contact notes"), blank=True, help_text=_("For example: only weekdays, 9 to 5.")
    )
    payout_method = models.CharField(
        _("preferred payout method"),
        max_length=16,
        choices=PayoutMethod.choices,
        default=PayoutMethod.CHECK,
    )
    gift_card_store = models.CharField(_("gift card store"), max_length=80, blank=True)
    credit_preference = models.CharField(
        _("credit in publications"),
        max_length=16,
        choices=CreditPreference.choices,
        default=CreditPreference.ANONYMOUS,
    )
    receipt_name = models.CharField(
        _("name on receipts"),
        max_length=16,
        choices=ReceiptName.choices,
        default=ReceiptName.DISPLAY_NAME,
    )
    email_receipts = models.BooleanField(_("e-mail me when a receipt is ready"), default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    benefits_cap_amount = models.DecimalField(
        _("my benefits limit"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Optional. Honora warns before a payment would go over it."),
    )
    benefits_cap_period = models.CharField(
        _("limit period"), max_length=8, choices=CapPeriod.choices, blank=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consultant",
        help_text=_("Empty for consultants who work on paper."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.CheckConstraint(
                name="consultant_cap_positive_with_period",
                condition=(
                    Q(benefits_cap_amount__isnull=True, benefits_cap_period="")
                    | Q(
                        benefits_cap_amount__gt=Decimal("0"),
                        benefits_cap_period__in=CapPeriod.values,
                    )
                ),
                violation_error_message=_("A benefits limit needs a positive amount and a period."),
            ),
            models.CheckConstraint(
                name="consultant_display_name_not_blank",
                condition=~Q(display_name=""),
            ),
        ]

    def __str__(self):
        return self.display_name


class IdentityVault(models.Model):
    """Legal identity, for tax reporting only. Finance-only; every reveal is logged."""

    consultant = models.OneToOneField(Consultant, on_delete=models.PROTECT, related_name="vault")
    legal_name = EncryptedCharField(_("legal name"), max_length=200, blank=True)
    mailing_address = EncryptedTextField(_("mailing address"), blank=True)
    date_of_birth = EncryptedDateField(_("date of birth"), null=True, blank=True)
    taxpayer_id = EncryptedCharField(_("taxpayer id"), max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        verbose_name = _("identity vault")
        verbose_name_plural = _("identity vaults")
        permissions = [("reveal_vault", "Can reveal identity vault fields (logged)")]

    def __str__(self):
        return f"Identity vault #{self.pk}"

    FIELDS = ("legal_name", "mailing_address", "date_of_birth", "taxpayer_id")


class VaultReveal(AppendOnlyModel):
    """One row per reveal of one vault field: who, when, which field, why."""

    class Field(models.TextChoices):
        LEGAL_NAME = "legal_name", _("legal name")
        MAILING_ADDRESS = "mailing_address", _("mailing address")
        DATE_OF_BIRTH = "date_of_birth", _("date of birth")
        TAXPAYER_ID = "taxpayer_id", _("taxpayer id")

    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="reveals")
    field = models.CharField(max_length=32, choices=Field.choices)
    revealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    revealed_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()
    context = models.CharField(max_length=64, blank=True, help_text=_("Where it was revealed."))

    class Meta:
        ordering = ["-revealed_at", "-id"]
        constraints = [
            models.CheckConstraint(name="vaultreveal_reason_required", condition=~Q(reason="")),
        ]

    def __str__(self):
        return f"{self.get_field_display()} revealed by {self.revealed_by_id} at {self.revealed_at:%Y-%m-%d %H:%M}"


class TaxForm(models.Model):
    class FormType(models.TextChoices):
        W9 = "W-9", _("W-9 (US person)")
        W8BEN = "W-8BEN", _("W-8BEN (non-US person)")

    class Status(models.TextChoices):
        MISSING = "missing", _("Not on file")
        REQUESTED = "requested", _("Requested")
        RECEIVED = "received", _("On file")
        INVALID = "invalid", _("Needs correction")

    consultant = models.OneToOneField(Consultant, on_delete=models.PROTECT, related_name="tax_form")
    # Which form is (or is expected to be) on file; set by ``taxform_receive`` only.
    form_type = models.CharField(
        _("form"), max_length=8, choices=FormType.choices, default=FormType.W9, editable=False
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.MISSING)
    received_on = models.DateField(null=True, blank=True)
    tin_last4 = models.CharField(_("last four digits of taxpayer id"), max_length=4, blank=True)
    # The signed form, a private file (encrypted at rest by the default storage), served
    # to finance only.
    signed_copy = models.FileField(
        _("signed form"),
        upload_to="consultants/taxforms/%Y/%m/",
        blank=True,
        max_length=255,
        editable=False,
    )

    history = HistoricalRecords(bases=[HistoryActionMixin])

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="taxform_received_has_date",
                condition=~Q(status="received") | Q(received_on__isnull=False),
                violation_error_message=_("A W-9 on file needs the date it was received."),
            ),
            models.CheckConstraint(
                name="taxform_form_type_known",
                condition=Q(form_type__in=["W-9", "W-8BEN"]),
            ),
            models.CheckConstraint(
                name="taxform_last4_digits",
                condition=Q(tin_last4="") | Q(tin_last4__regex=r"^[0-9]{4}$"),
            ),
        ]

    def __str__(self):
        return f"{self.form_type}: {self.get_status_display()}"

    @property
    def on_file(self) -> bool:
        return self.status == self.Status.RECEIVED
