"""Forms for the coordinator pages.

Forms check the shape of what was typed; the rules (caps, dates, who may act)
live in the services, whose errors the views put back on the matching field.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consultants.models import Consultant
from core.files import PrivateUploadField
from core.forms import PhaseChoiceField
from core.money import CENT
from engagements.models import Activity, Contribution, Engagement, Phase, RateCard, Study
from engagements.rates import QUARTER

# --- receipts ---------------------------------------------------------------------


class ReceiptField(PrivateUploadField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Receipt or proof (optional)"))
        super().__init__(what=gettext_lazy("receipts"), **kwargs)


# --- one entry ----------------------------------------------------------------------


class EngagementChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, e):
        return f"{e.consultant.display_name} · {e.phase.study.name} · {e.phase.name} · {e.role}"


class ContributionFieldsMixin(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What is it?"),
        choices=Contribution.Kind.choices,
        widget=forms.RadioSelect,
        initial=Contribution.Kind.HOURS,
    )
    activity = forms.ChoiceField(label=gettext_lazy("Activity"), choices=Activity.choices)
    date = forms.DateField(
        label=gettext_lazy("Date of the work"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    quantity = forms.DecimalField(
        label=gettext_lazy("Hours, or number of honoraria"),
        help_text=gettext_lazy("Hours in quarter hours (1.25 is an hour and a quarter)."),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    claimed_amount = forms.DecimalField(
        label=gettext_lazy("Amount spent (reimbursements)"),
        help_text=gettext_lazy("In dollars and cents, for example 23.40."),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    description = forms.CharField(
        label=gettext_lazy("Description (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachment = ReceiptField()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Contribution.Kind.REIMBURSEMENT:
            if data.get("claimed_amount") is None and "claimed_amount" not in self.errors:
                self.add_error("claimed_amount", _("Enter the amount spent."))
            data["quantity"] = None
        elif kind in (Contribution.Kind.HOURS, Contribution.Kind.HONORARIUM):
            if data.get("quantity") is None and "quantity" not in self.errors:
                self.add_error(
                    "quantity",
                    _("Enter the hours.")
                    if kind == Contribution.Kind.HOURS
                    else _("Enter how many honoraria (usually 1)."),
                )
            data["claimed_amount"] = None
        return data


class ContributionForm(ContributionFieldsMixin):
    """A single entry: hours, an honorarium or a reimbursement, with a receipt."""

    engagement = EngagementChoiceField(
        label=gettext_lazy("Engagement"),
        queryset=Engagement.objects.none(),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose an engagement"),
    )

    field_order = ["engagement", "kind", "activity", "date", "quantity", "claimed_amount"]

    def __init__(self, *args, engagements=None, **kwargs):
        super().__init__(*args, **kwargs)
        if engagements is not None:
            self.fields["engagement"].queryset = engagements


class ContributionEditForm(ContributionFieldsMixin):
    reason = forms.CharField(
        label=gettext_lazy("Why are you changing it?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, contribution: Contribution, **kwargs):
        self.contribution = contribution
        initial = {
            "kind": contribution.kind,
            "activity": contribution.activity,
            "date": contribution.date,
            "quantity": None
            if contribution.kind == Contribution.Kind.REIMBURSEMENT
            else contribution.quantity,
            "claimed_amount": contribution.claimed_amount,
            "description": contribution.description,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["attachment"].label = _("Replace the receipt (optional)")
        if contribution.status == Contribution.Status.SUBMITTED:
            self.fields["reason"].required = True
            self.fields["reason"].help_text = _(
                "This entry is already waiting for approval, so the history keeps your reason."
            )
            self.fields["reason"].error_messages["required"] = _(
                "Say why you are changing an entry that was already submitted."
            )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it being returned?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why the entry is being returned.")},
    )


class AdjustmentForm(forms.Form):
    quantity_delta = forms.DecimalField(
        label=gettext_lazy("Change in hours or count"),
        help_text=gettext_lazy("For example 0.5 to add half an hour, -1 to take one away."),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    amount_delta = forms.DecimalField(
        label=gettext_lazy("Change in the amount"),
        help_text=gettext_lazy("For example 5.00 to add five dollars, -2.50 to take some away."),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=gettext_lazy("Why is it being adjusted?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": gettext_lazy("Say why the entry is being adjusted.")},
    )

    def __init__(self, *args, contribution: Contribution, **kwargs):
        super().__init__(*args, **kwargs)
        # Hours and honoraria change by a quantity; reimbursements by an amount.
        if contribution.kind == Contribution.Kind.REIMBURSEMENT:
            del self.fields["quantity_delta"]
            self.fields["amount_delta"].required = True
            self.fields["amount_delta"].error_messages["required"] = _(
                "Enter the change in the amount."
            )
        else:
            del self.fields["amount_delta"]
            self.fields["quantity_delta"].required = True
            self.fields["quantity_delta"].error_messages["required"] = _(
                "Enter the change in the quantity."
            )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=gettext_lazy("How was it resolved?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("Say how the dispute was resolved.")},
    )


# --- engagements --------------------------------------------------------------------


class RateCardChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, card):
        return f"{card.study.name} · {card.name}"


class EngagementForm(forms.Form):
    consultant = forms.ModelChoiceField(
        label=gettext_lazy("Consultant"),
        queryset=Consultant.objects.none(),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose a consultant"),
    )
    phase = PhaseChoiceField(
        label=gettext_lazy("Study and phase"),
        queryset=Phase.objects.select_related("study").order_by("study__name", "position"),
        empty_label=gettext_lazy("Choose a phase"),
    )
    role = forms.CharField(label=gettext_lazy("Role"), max_length=120)
    rate_card = RateCardChoiceField(
        label=gettext_lazy("Rate card"),
        help_text=gettext_lazy("It must belong to the same study as the phase."),
        queryset=RateCard.objects.select_related("study").order_by("study__name", "name"),
        to_field_name="public_id",
        empty_label=gettext_lazy("Choose a rate card"),
    )
    hours_cap = forms.DecimalField(
        label=gettext_lazy("Hours cap (optional)"),
        required=False,
        max_digits=7,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    budget = forms.DecimalField(
        label=gettext_lazy("Budget (optional)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args, consultants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consultant"].queryset = consultants

    def clean(self):
        data = super().clean()
        phase, card = data.get("phase"), data.get("rate_card")
        if phase and card and phase.study_id != card.study_id:
            self.add_error("rate_card", _("Choose a rate card of the study this phase belongs to."))
        return data


# --- filters --------------------------------------------------------------------------


class ConsultantChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, consultant):
        return consultant.display_name


class ReviewFilterForm(forms.Form):
    study = forms.ModelChoiceField(
        label=gettext_lazy("Study"),
        queryset=Study.objects.order_by("name"),
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("All studies"),
    )
    phase = PhaseChoiceField(
        label=gettext_lazy("Phase"),
        queryset=Phase.objects.select_related("study").order_by("study__name", "position"),
        required=False,
        empty_label=gettext_lazy("All phases"),
    )
    consultant = ConsultantChoiceField(
        label=gettext_lazy("Consultant"),
        queryset=Consultant.objects.only("public_id", "display_name").order_by("display_name"),
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("Everyone"),
    )

    def filters(self) -> dict:
        """The valid filters only: a bad one is reported and left out."""
        if not self.is_bound:
            return {}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {k: v for k, v in cleaned.items() if v not in (None, "")}


class ContributionFilterForm(ReviewFilterForm):
    engagement = forms.ModelChoiceField(
        queryset=Engagement.objects.all(),
        to_field_name="public_id",
        required=False,
        widget=forms.HiddenInput,
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Contribution.Status.choices],
        required=False,
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=[("", gettext_lazy("Any kind")), *Contribution.Kind.choices],
        required=False,
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class ConsultantFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[("", gettext_lazy("Any status")), *Consultant.Status.choices],
        required=False,
    )


class ReviewDecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"

    selected = forms.TypedMultipleChoiceField(
        coerce=uuid.UUID,
        error_messages={"required": gettext_lazy("Choose at least one entry.")},
    )
    decision = forms.ChoiceField(choices=[(APPROVE, APPROVE), (REJECT, REJECT)])
    reason = forms.CharField(
        label=gettext_lazy("Reason for returning (needed to return entries)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be posted; the view looks them up among what the person may see.
        raw = self.data.getlist("selected") if self.is_bound else []
        self.fields["selected"].choices = [(v, v) for v in raw]

    def clean_selected(self):
        values = self.cleaned_data["selected"]
        if len(values) > 200:
            raise forms.ValidationError(_("Choose at most 200 entries at a time."))
        return values

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the entries are being returned."))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet saved as CSV"),
        help_text=gettext_lazy("In your spreadsheet choose File, Save as, CSV UTF-8."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


# --- the week grid ------------------------------------------------------------------

WEEK_RE = re.compile(r"^(\d{4})-W(\d{1,2})$")
# The page reaches a week before and after the one shown; dates stop at year 1 and 9999.
WEEK_YEARS = (1900, 9998)


def parse_week(value: str | None) -> date | None:
    """The Monday of an ISO week written 2026-W11 (what <input type=week> sends).

    None for anything else, including years outside WEEK_YEARS.
    """
    match = WEEK_RE.match((value or "").strip())
    if not match:
        return None
    year = int(match[1])
    if not WEEK_YEARS[0] <= year <= WEEK_YEARS[1]:
        return None
    try:
        return date.fromisocalendar(year, int(match[2]), 1)
    except ValueError:
        return None


def week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class GridCell:
    name: str
    engagement: Engagement
    activity: str
    activity_label: str
    day: date
    future: bool
    raw: str = ""
    value: Decimal | None = None
    error: str = ""

    @property
    def label(self) -> str:
        return _("%(activity)s hours on %(day)s") % {
            "activity": self.activity_label,
            "day": date_format(self.day, "l j F"),
        }


@dataclass
class GridRow:
    activity: str
    label: str
    cells: list[GridCell]


@dataclass
class GridBlock:
    """One engagement: an activity per row, a day per column, and one note."""

    engagement: Engagement
    rows: list[GridRow]
    logged: list[Decimal | None]  # hours already logged per day
    note_name: str
    note: str = ""
    note_error: str = ""

    @property
    def cells(self) -> list[GridCell]:
        return [cell for row in self.rows for cell in row.cells]


@dataclass
class WeekGrid:
    """Hours for one consultant, across their engagements, for seven days.

    Each non-empty cell becomes one entry. Parsing keeps what was typed so a
    page with errors shows it again.
    """

    monday: date
    blocks: list[GridBlock]
    days: list[date]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, *, engagements, monday: date, today: date, logged: dict, data=None):
        days = [monday + timedelta(days=i) for i in range(7)]
        blocks = []
        for e in engagements:
            key = e.public_id.hex
            rows = []
            for activity, label in Activity.choices:
                cells = [
                    GridCell(
                        name=f"h-{key}-{activity}-{i}",
                        engagement=e,
                        activity=activity,
                        activity_label=str(label),
                        day=day,
                        future=day > today,
                    )
                    for i, day in enumerate(days)
                ]
                rows.append(GridRow(activity=activity, label=str(label), cells=cells))
            blocks.append(
                GridBlock(
                    engagement=e,
                    rows=rows,
                    logged=[logged.get((e.pk, day)) for day in days],
                    note_name=f"note-{key}",
                )
            )
        grid = cls(monday=monday, blocks=blocks, days=days)
        if data is not None:
            grid._read(data)
        return grid

    def _read(self, data) -> None:
        for block in self.blocks:
            block.note = (data.get(block.note_name) or "").strip()
            if len(block.note) > 2000:
                block.note_error = _("Keep the note under 2000 characters.")
            for cell in block.cells:
                cell.raw = (data.get(cell.name) or "").strip()
                if not cell.raw:
                    continue
                cell.value, cell.error = self._parse(cell)

    @staticmethod
    def _parse(cell: GridCell) -> tuple[Decimal | None, str]:
        text = cell.raw.replace(",", ".")
        if ":" in text:  # 1:30 means an hour and a half
            hours, _sep, minutes = text.partition(":")
            try:
                value = Decimal(hours or "0") + Decimal(minutes or "0") / 60
            except ArithmeticError:  # InvalidOperation, or Overflow for "1e999999999:00"
                value = None
        else:
            try:
                value = Decimal(text)
            except ArithmeticError:
                value = None
        if value is None or not value.is_finite():
            return None, _("Enter hours as a number, like 1.5 or 1:30.")
        if value <= 0:
            return None, _("Enter more than zero hours, or leave the cell empty.")
        if value > 24:
            return None, _("A day has at most 24 hours.")
        # The second test stops a value so small (1e-999999999) that it reads as zero.
        if value % QUARTER != 0 or value != value.quantize(CENT):
            return None, _("Use quarter hours: 0.25, 0.5, 0.75.")
        if cell.future:
            return None, _("This day has not happened yet.")
        return value, ""

    @property
    def filled(self) -> list[GridCell]:
        return [c for b in self.blocks for c in b.cells if c.raw]

    @property
    def has_errors(self) -> bool:
        return (
            bool(self.errors)
            or any(c.error for b in self.blocks for c in b.cells)
            or any(b.note_error for b in self.blocks)
        )

    @property
    def error_cells(self) -> list[GridCell]:
        return [c for b in self.blocks for c in b.cells if c.error]

    def note_for(self, engagement: Engagement) -> str:
        for block in self.blocks:
            if block.engagement.pk == engagement.pk:
                return block.note
        return ""
