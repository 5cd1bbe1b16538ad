"""The admin for records with history: every change asks why, and says what was done.

A change made in the admin is a change like any other: its history row names the
person, a named action (``engagement.changed_in_admin``) and the reason they gave.
Records are still added through the services (which stamp their own action), so
the reason is asked on change forms; inline rows saved with a change carry the
same reason.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Model
from django.forms import BaseModelFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.history import stamp

REASON = "change_reason"


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Why are you making this change?"),
        help_text=_("Kept in this record's history, with your name."),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why you are making this change.")},
    )


def _actor(request: HttpRequest) -> AbstractBaseUser | None:
    user = request.user
    return user if isinstance(user, AbstractBaseUser) else None


class ReasonedHistoryAdmin(SimpleHistoryAdmin):
    def _asks_reason(self, request: HttpRequest, obj: Model | None) -> bool:
        # On change forms only (a view-only page changes nothing).
        return obj is not None and self.has_change_permission(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm]:
        if self._asks_reason(request, obj):
            base = kwargs.get("form") or self.form
            kwargs["form"] = type(base.__name__, (base,), {REASON: _reason_field()})
        elif kwargs.get("fields"):
            kwargs["fields"] = [name for name in kwargs["fields"] if name != REASON]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Model | None = None) -> list[Any]:
        fieldsets = [
            (name, {**options, "fields": [f for f in options["fields"] if f != REASON]})
            for name, options in super().get_fieldsets(request, obj)
        ]
        if self._asks_reason(request, obj):
            fieldsets.append((_("Reason"), {"fields": [REASON]}))
        return fieldsets

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        if change:
            action = f"{obj._meta.model_name}.changed_in_admin"
            stamp(obj, by=_actor(request), action=action, reason=form.cleaned_data[REASON])
        super().save_model(request, obj, form, change)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        reason = form.cleaned_data.get(REASON, "")
        for row in formset.save(commit=False):
            verb = "changed" if row.pk else "added"
            stamp(
                row,
                by=_actor(request),
                action=f"{row._meta.model_name}.{verb}_in_admin",
                reason=reason,
            )
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        formset.save_m2m()
