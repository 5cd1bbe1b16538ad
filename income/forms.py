"""The consultant's pay plan and income letter forms: they shape what was typed; the rules
(bounds, what fits) live in ``income.services``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from core.money import format_money
from core.numbers import AsciiDecimalField
from income.models import MAX_DEFER_MONTHS_AHEAD, MAX_SPLIT_MONTHS, MIN_SPLIT_MONTHS, PayPlan
from income.plans import split_layout
from income.schedule import add_months, month_start

LETTER_MONTHS_BACK = 60


def month_value(month: date) -> str:
    return month.strftime("%Y-%m")


def month_choices(first: date, count: int) -> list[tuple[str, str]]:
    return [
        (month_value(m), formats.date_format(m, "YEAR_MONTH_FORMAT"))
        for m in (add_months(first, n) for n in range(count))
    ]


def parse_month(value: str) -> date:
    year, month = (int(part) for part in value.split("-"))
    return date(year, month, 1)


class PayPlanForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("What would you like?"),
        choices=[
            (PayPlan.Kind.DEFER, _("Be paid later, in a month I choose")),
            (PayPlan.Kind.SPLIT, _("Spread the pay over several months")),
        ],
        widget=forms.RadioSelect,
    )
    entries = forms.TypedMultipleChoiceField(
        label=_("Which approved work?"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    start_month = forms.ChoiceField(label=_("From which month?"))
    months = forms.TypedChoiceField(
        label=_("Over how many months? (split only)"),
        coerce=int,
        required=False,
        empty_value=None,
        choices=[(n, str(n)) for n in range(MIN_SPLIT_MONTHS, MAX_SPLIT_MONTHS + 1)],
    )
    month_limit = AsciiDecimalField(
        label=_("At most this much a month, in dollars (split only)"),
        required=False,
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={
            "invalid": _("Enter an amount, for example 300 or 300.00."),
            "max_digits": _("That amount is too large."),
            "max_whole_digits": _("That amount is too large."),
            "max_decimal_places": _("Enter the amount in dollars and cents."),
        },
    )

    def __init__(self, *args, work, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.work = {c.pk: c for c in work}
        self.fields["entries"].choices = [
            (
                c.pk,
                f"{formats.date_format(c.date, 'DATE_FORMAT')} · {c.engagement.phase.name} · "
                f"{format_money(c.amount or 0)}",
            )
            for c in work
        ]
        self.fields["start_month"].choices = month_choices(
            month_start(today), MAX_DEFER_MONTHS_AHEAD + 1
        )

    def clean_start_month(self) -> date:
        return parse_month(self.cleaned_data["start_month"])

    def clean(self):
        """A split needs both its months and its monthly limit, and the chosen entries must
        fit them: said here, on the first step, not as "over None months" on the confirm."""
        cleaned = super().clean()
        if cleaned.get("kind") != PayPlan.Kind.SPLIT:
            return cleaned
        months, limit = cleaned.get("months"), cleaned.get("month_limit")
        if months is None and "months" not in self.errors:
            self.add_error("months", _("Choose over how many months to spread the pay."))
        if limit is None and "month_limit" not in self.errors:
            self.add_error("month_limit", _("Enter the most you want paid a month."))
        start, entries = cleaned.get("start_month"), cleaned.get("entries")
        if months is None or limit is None or start is None or not entries:
            return cleaned
        amounts = [self.work[pk].amount or Decimal("0.00") for pk in entries if pk in self.work]
        if (
            split_layout(start_month=start, months=months, month_limit=limit, amounts=amounts)
            is None
        ):
            self.add_error(
                "month_limit",
                _(
                    "These entries (%(total)s) do not fit in %(months)s months of at most "
                    "%(limit)s, paying whole entries. Choose a higher amount or more months."
                )
                % {
                    "total": format_money(sum(amounts, Decimal("0.00"))),
                    "months": months,
                    "limit": format_money(limit),
                },
            )
        return cleaned

    def chosen(self):
        return [self.work[pk] for pk in self.cleaned_data["entries"]]


class LetterForm(forms.Form):
    first_month = forms.ChoiceField(label=_("From month"))
    last_month = forms.ChoiceField(label=_("To month"))

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        this_month = month_start(today)
        first = add_months(this_month, -(LETTER_MONTHS_BACK - 1))
        choices = list(reversed(month_choices(first, LETTER_MONTHS_BACK)))
        self.fields["first_month"].choices = choices
        self.fields["last_month"].choices = choices
        self.fields["first_month"].initial = month_value(add_months(this_month, -2))
        self.fields["last_month"].initial = month_value(this_month)

    def clean_first_month(self) -> date:
        return parse_month(self.cleaned_data["first_month"])

    def clean_last_month(self) -> date:
        return parse_month(self.cleaned_data["last_month"])
