"""Writes to consultants, their vault and their tax form."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consultants import actions
from consultants.models import Consultant, IdentityVault, TaxForm, VaultReveal
from core.errors import DomainError, NotAllowed, ValidationFailed
from core.files import check_upload
from core.history import stamp

if TYPE_CHECKING:
    from accounts.models import User
    from payments.models import Payment


def _require(user: User, perm: str, message: str) -> None:
    if not user.has_perm(perm):
        raise NotAllowed(message)


@transaction.atomic
def consultant_create(
    *, by: User, display_name: str, user: User | None = None, **fields: Any
) -> Consultant:
    _require(by, "consultants.add_consultant", _("You cannot add consultants."))
    display_name = (display_name or "").strip()
    if not display_name:
        raise ValidationFailed(
            _("Enter a display name (a pseudonym is fine)."), field="display_name"
        )
    consultant = Consultant(display_name=display_name, user=user, **fields)
    consultant.full_clean()
    stamp(consultant, by=by, action=actions.CONSULTANT_CREATED)
    consultant.save()
    form = TaxForm(consultant=consultant)
    stamp(form, by=by, action=actions.TAXFORM_CREATED)
    form.save()
    return consultant


@transaction.atomic
def vault_update(*, consultant: Consultant, by: User, reason: str, **values: Any) -> IdentityVault:
    _require(by, "consultants.change_identityvault", _("Only finance can change identity details."))
    unknown = set(values) - set(IdentityVault.FIELDS)
    if unknown:
        raise ValidationFailed(_("Unknown identity fields: %s") % ", ".join(sorted(unknown)))
    reason = (reason or "").strip()
    # Built here rather than by get_or_create, so the first history row carries the values,
    # the actor and the action instead of an anonymous empty row.
    vault = IdentityVault.objects.select_for_update().filter(consultant=consultant).first()
    created = vault is None
    if vault is None:
        vault = IdentityVault(consultant=consultant)
    elif not reason:
        raise ValidationFailed(_("Say why the identity details are changing."), field="reason")
    for field, value in values.items():
        setattr(vault, field, value)
    vault.full_clean(exclude=["consultant"])
    stamp(
        vault,
        by=by,
        action=actions.VAULT_CREATED if created else actions.VAULT_UPDATED,
        reason=reason,
    )
    vault.save()
    tin = values.get("taxpayer_id")
    if tin:
        digits = "".join(ch for ch in tin if ch.isdigit())
        # A consultant made without a tax form (an older row, a bulk import) gets one here.
        form, _created = TaxForm.objects.select_for_update().get_or_create(consultant=consultant)
        if len(digits) >= 4 and form.tin_last4 != digits[-4:]:
            form.tin_last4 = digits[-4:]
            stamp(form, by=by, action=actions.TAXFORM_TIN_RECORDED, reason=reason)
            form.save()
    return vault


def vault_reveal(
    *, consultant: Consultant, field: str, by: User, reason: str, context: str = ""
) -> str | date | None:
    """Return one vault value in clear, after recording who asked, for what and why."""
    _require(by, "consultants.reveal_vault", _("Only finance can see identity details."))
    if field not in IdentityVault.FIELDS:
        raise ValidationFailed(_("Unknown identity field."), field="field")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why you need to see this."), field="reason")
    with transaction.atomic():
        VaultReveal.objects.create(
            consultant=consultant, field=field, revealed_by=by, reason=reason, context=context
        )
        vault = IdentityVault.objects.filter(consultant=consultant).first()
    return getattr(vault, field) if vault else None


@transaction.atomic
def taxform_record(
    *,
    consultant: Consultant,
    by: User,
    status: str,
    received_on: date | None = None,
    reason: str = "",
) -> TaxForm:
    _require(by, "consultants.change_taxform", _("Only finance can record tax forms."))
    if status not in TaxForm.Status.values:
        raise ValidationFailed(_("Unknown tax form status."), field="status")
    if status == TaxForm.Status.RECEIVED and received_on is None:
        raise ValidationFailed(_("Enter the date the W-9 was received."), field="received_on")
    form, _created = TaxForm.objects.select_for_update().get_or_create(consultant=consultant)
    form.status = status
    form.received_on = received_on
    stamp(form, by=by, action=actions.TAXFORM_STATUS[TaxForm.Status(status)], reason=reason)
    form.save()
    return form


# The earliest date a received tax form may carry (a typo guard, not a rule of law).
EARLIEST_TAX_FORM = date(2000, 1, 1)
# A foreign taxpayer id on a W-8BEN: letters, digits, spaces and dashes.
_FOREIGN_TIN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -")


@dataclass
class TaxFormReceived:
    """What ``taxform_receive`` did: the form, and the held payments it let go."""

    form: TaxForm
    released: list[Payment] = dataclass_field(default_factory=list)
    # Payments held for the tax form that stay held, with why (another hold, say).
    still_held: list[tuple[Payment, str]] = dataclass_field(default_factory=list)


def _clean_tin(form_type: str, tin: str) -> str:
    """The taxpayer id as it goes to the vault; the message never repeats it."""
    tin = (tin or "").strip().upper()
    if not tin:
        return ""
    if form_type == TaxForm.FormType.W9:
        digits = "".join(ch for ch in tin if ch.isdigit())
        if (
            len(digits) != 9
            or not tin.isascii()
            or any(not (ch.isdigit() or ch in "- ") for ch in tin)
        ):
            raise ValidationFailed(
                _("A W-9 taxpayer id (SSN, ITIN or EIN) has nine digits."), field="tin"
            )
        return digits
    if len(tin) > 20 or not set(tin) <= _FOREIGN_TIN_CHARS or len(tin.replace(" ", "")) < 4:
        raise ValidationFailed(
            _("A foreign taxpayer id has 4 to 20 letters, digits, spaces or dashes."),
            field="tin",
        )
    return tin


def _release_tax_form_holds(
    *, consultant: Consultant, by: User, reason: str, result: TaxFormReceived
) -> None:
    """Check again every payment of ``consultant`` held for a missing W-9; release those
    whose hold is resolved, each through the payments service (one savepoint each)."""
    from payments.models import Payment
    from payments.services.finance import payment_release_hold

    held = Payment.objects.filter(
        consultant=consultant, status=Payment.Status.HELD, hold_reason=Payment.Hold.W9_MISSING
    ).order_by("id")
    for payment in held:
        try:
            with transaction.atomic():
                released = payment_release_hold(payment=payment, by=by, reason=reason)
        except DomainError as exc:
            result.still_held.append((payment, exc.message))
        else:
            result.released.append(released)


@transaction.atomic
def taxform_receive(
    *,
    consultant: Consultant,
    by: User,
    form_type: str,
    received_on: date | None,
    reason: str,
    tin: str = "",
    upload: UploadedFile | None = None,
    today: date | None = None,
) -> TaxFormReceived:
    """Finance records a W-9 (or, for a non-US person, a W-8BEN) it has received.

    The taxpayer id goes to the encrypted identity vault (only its last four digits
    are kept beside the form); the signed copy, if any, is stored as a private file.
    Then every payment of the consultant held for the missing form is checked again
    and released when nothing else holds it.
    """
    _require(by, "consultants.change_taxform", _("Only finance can record tax forms."))
    if consultant.user_id is not None and consultant.user_id == by.pk:
        raise NotAllowed(_("Nobody records their own tax form."), code="own_record")
    if form_type not in TaxForm.FormType.values:
        raise ValidationFailed(_("Choose a W-9 or a W-8BEN."), field="form_type")
    if not isinstance(received_on, date):
        raise ValidationFailed(_("Enter the date the form was received."), field="received_on")
    if received_on > (today or timezone.localdate()):
        raise ValidationFailed(_("The date received cannot be in the future."), field="received_on")
    if received_on < EARLIEST_TAX_FORM:
        raise ValidationFailed(
            _("Check the date received: it is before %(year)s.") % {"year": EARLIEST_TAX_FORM.year},
            field="received_on",
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say why you are recording this tax form."), field="reason")
    clean_tin = _clean_tin(form_type, tin)
    if upload is not None:
        try:
            upload = check_upload(upload, what=_("signed tax forms"))
        except DjangoValidationError as exc:
            raise ValidationFailed(exc.messages[0], field="upload") from None
    form, _created = TaxForm.objects.select_for_update().get_or_create(consultant=consultant)
    if form_type == TaxForm.FormType.W9 and not clean_tin and not form.tin_last4:
        raise ValidationFailed(_("Enter the taxpayer id from the W-9."), field="tin")
    if clean_tin:
        vault_update(consultant=consultant, by=by, reason=reason, taxpayer_id=clean_tin)
        form.refresh_from_db()
    form.form_type = form_type
    form.status = TaxForm.Status.RECEIVED
    form.received_on = received_on
    action = (
        actions.TAXFORM_W9_RECEIVED
        if form_type == TaxForm.FormType.W9
        else actions.TAXFORM_W8BEN_RECEIVED
    )
    stamp(form, by=by, action=action, reason=reason)
    form.save()
    if upload is not None:
        # Stored through the default storage, which encrypts every file at rest.
        form.signed_copy.save(upload.name or "signed-form", upload, save=False)
        stamp(form, by=by, action=actions.TAXFORM_FILE_ATTACHED, reason=reason)
        form.save()
    result = TaxFormReceived(form=form)
    _release_tax_form_holds(consultant=consultant, by=by, reason=reason, result=result)
    return result


# Fields a consultant controls themselves (the preferences page and the API).
PREFERENCE_FIELDS = (
    "display_name",
    "pseudonym",
    "preferred_language",
    "email",
    "phone",
    "safe_contact_method",
    "safe_to_leave_message",
    "safe_contact_notes",
    "payout_method",
    "gift_card_store",
    "credit_preference",
    "receipt_name",
    "email_receipts",
    "benefits_cap_amount",
    "benefits_cap_period",
)


@transaction.atomic
def consultant_update_preferences(
    *, consultant: Consultant, by: User, reason: str = "", **changes: Any
) -> Consultant:
    """Change what a consultant controls: by themselves, or by staff on their behalf."""
    own = getattr(by, "consultant", None) is not None and by.consultant.pk == consultant.pk
    if not (own or by.has_perm("consultants.change_consultant")):
        raise NotAllowed(_("You cannot change these preferences."))
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValidationFailed(_("These cannot be changed here: %s") % ", ".join(sorted(unknown)))
    c = Consultant.objects.select_for_update().get(pk=consultant.pk)
    changed = []
    for name, value in changes.items():
        if isinstance(value, str):
            value = value.strip()
        if getattr(c, name) != value:
            setattr(c, name, value)
            changed.append(name)
    if not changed:
        return c
    if c.benefits_cap_amount is None:
        c.benefits_cap_period = ""
    elif not c.benefits_cap_period:
        raise ValidationFailed(
            _("Choose whether your limit is per month or per year."), field="benefits_cap_period"
        )
    if c.payout_method == "gift_card" and not c.gift_card_store:
        raise ValidationFailed(
            _("Tell us which store's gift card you would like."), field="gift_card_store"
        )
    if "pseudonym" in (c.receipt_name, c.credit_preference) and not (c.pseudonym or "").strip():
        raise ValidationFailed(
            _("Enter the pseudonym you would like us to use."), field="pseudonym"
        )
    try:
        c.full_clean(exclude=["user"])
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ValidationFailed(messages[0], field=None if field == "__all__" else field) from None
    stamp(c, by=by, action=actions.CONSULTANT_PREFERENCES_CHANGED, reason=reason)
    c.save()
    if "payout_method" in changed:
        # A new way of being paid is a new version of each agreement to accept.
        from agreements.services import agreements_refresh

        agreements_refresh(engagements=c.engagements.filter(status="active"), by=None)
    return c
