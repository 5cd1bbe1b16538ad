"""What every audit-history row carries beside django-simple-history's fields.

simple-history records which fields changed, by whom and with which reason; a
short named action ("contribution.approved") says what the person did. Services
set both on the instance before saving; a signal copies the action over.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.dispatch import receiver
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from simple_history.signals import pre_create_historical_record

from core.money import format_money

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django_stubs_ext import StrOrPromise


class HistoryActionMixin(models.Model):
    history_action = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        abstract = True


def stamp(
    instance: models.Model, *, by: AbstractBaseUser | None, action: str, reason: str = ""
) -> None:
    """Prepare ``instance`` so its next save writes a history row with these facts."""
    # Attributes simple-history (and ``_copy_action``) read from the instance on save.
    target: Any = instance
    target._history_user = by
    target._history_action = action
    target._change_reason = reason or ""


@receiver(pre_create_historical_record)
def _copy_action(
    sender: type[models.Model], instance: models.Model, history_instance: Any, **kwargs: Any
) -> None:
    if hasattr(history_instance, "history_action"):
        history_instance.history_action = getattr(instance, "_history_action", "") or ""
    # One stamp per save: a later save must not inherit this one's facts.
    for attr in ("_history_action", "_change_reason", "_history_user"):
        if hasattr(instance, attr):
            delattr(instance, attr)


# --- Named actions ---------------------------------------------------------------


class Action(str):
    """A thing a person (or Honora) did, as stored in ``history_action``, and its words.

    Each app names its actions in one module, ``<app>/actions.py``; services pass
    them to ``stamp``. An ``Action`` is the string it stores ("payment.paid"), so
    rows written before and comparisons with plain strings keep working.
    ``lists_changes``: history says which fields changed rather than the phrase.
    """

    phrase: StrOrPromise
    lists_changes: bool

    def __new__(cls, name: str, phrase: StrOrPromise, *, lists_changes: bool = False) -> Action:
        action = super().__new__(cls, name)
        action.phrase = phrase
        action.lists_changes = lists_changes
        ACTIONS[name] = action
        return action


# Every action of every app, by name; filled when the apps' ``actions`` modules are
# imported (``core.apps`` imports them all at start-up).
ACTIONS: dict[str, Action] = {}

# Changes made in the admin (``core.admin``): "<model>.changed_in_admin".
ADMIN_SUFFIXES = ("_in_admin",)


def lists_changes(action: str) -> bool:
    """Whether history tells this action by the fields it changed."""
    known = ACTIONS.get(action)
    return action == "" or action.endswith(ADMIN_SUFFIXES) or bool(known and known.lists_changes)


def phrase_of(action: str, *, created: bool) -> StrOrPromise:
    known = ACTIONS.get(action)
    if known is not None:
        return known.phrase
    if action.endswith(ADMIN_SUFFIXES):
        return _("changed this in the admin")
    return _("created this record") if created else _("changed this record")


# --- Reading history back in plain words -------------------------------------

# Bookkeeping columns that say nothing to a reader.
QUIET_FIELDS = {
    "id",
    "public_id",
    "updated_at",
    "created_at",
    "logged_at",
    "submitted_at",
    "approved_at",
    "history_action",
}


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    role: str
    action: str
    phrase: str
    reason: str
    changes: list[Change] = field(default_factory=list)

    @property
    def actor(self) -> str:
        return f"{self.who} ({self.role})" if self.role else self.who

    @property
    def sentence(self) -> str:
        """'Maria (coordinator) changed hours from 2 to 2.5 on 12 March 2026: "prep time"'."""
        when = date_format(localtime(self.when), "j F Y")
        if self.changes and lists_changes(self.action):
            what = "; ".join(
                _("%(field)s from %(old)s to %(new)s")
                % {"field": c.label, "old": c.old or "—", "new": c.new or "—"}
                for c in self.changes
            )
            text = _("%(actor)s changed %(what)s on %(when)s") % {
                "actor": self.actor,
                "what": what,
                "when": when,
            }
        else:
            text = _("%(actor)s %(phrase)s on %(when)s") % {
                "actor": self.actor,
                "phrase": self.phrase,
                "when": when,
            }
        if self.reason:
            text += f': "{self.reason}"'
        return text


def plain_number(value: Decimal) -> str:
    """2.50 -> '2.5', 2.00 -> '2': how people write hours."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


PLAIN_NUMBER_FIELDS = {"quantity", "hours_cap"}


def _display(model: type[models.Model], name: str, value: object) -> str:
    if value is None or value == "":
        return ""
    try:
        # Only concrete fields are named here; a reverse relation never is.
        model_field: Any = model._meta.get_field(name)
    except Exception:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, Decimal):
        # Hours read as people write them (2.5); money as every page writes it ($150.00).
        return plain_number(value) if name in PLAIN_NUMBER_FIELDS else format_money(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    return str(value)


def _role_label(user: Any) -> str:
    if user is None:
        return ""
    names = {g.name for g in user.groups.all()}
    for role in ("admin", "finance", "coordinator", "consultant"):
        if role in names:
            return str(_(role))
    return ""


def history_entries(
    instance: Any, *, viewer: AbstractBaseUser | None = None, hidden_fields: tuple[str, ...] = ()
) -> list[HistoryEntry]:
    """The change history of ``instance``, oldest first, in words a person reads.

    Runs a fixed number of queries whatever the length of the history.
    """
    model = type(instance)
    rows = list(
        instance.history.select_related("history_user")
        .prefetch_related("history_user__groups")
        .order_by("history_date", "history_id")
    )
    # (attname, name): a foreign key's column is "batch_id", its field "batch"; a
    # plain field that merely ends in "_id" ("transfer_id") is its own name.
    tracked = [
        (f.attname, f.name)
        for f in model._meta.concrete_fields
        if f.attname not in QUIET_FIELDS and f.name not in hidden_fields
    ]
    entries = []
    previous = None
    for row in rows:
        changes: list[Change] = []
        if previous is not None:
            for attname, name in tracked:
                old, new = getattr(previous, attname, None), getattr(row, attname, None)
                if old != new:
                    label = str(model._meta.get_field(name).verbose_name)
                    changes.append(
                        Change(
                            field=name,
                            label=label,
                            old=_display(model, name, old),
                            new=_display(model, name, new),
                        )
                    )
        user = row.history_user
        if viewer is not None and user is not None and user.pk == viewer.pk:
            who, role = str(_("You")), ""
        elif user is None:
            who, role = str(_("Honora")), ""
        else:
            who, role = user.get_short_name(), _role_label(user)
        action = row.history_action or ("" if row.history_type == "~" else "created")
        phrase = phrase_of(action, created=row.history_type == "+")
        entries.append(
            HistoryEntry(
                when=row.history_date,
                who=who,
                role=role,
                action=action,
                phrase=str(phrase),
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
        previous = row
    return entries


def history_entries_many(
    instances: Iterable[Any],
    *,
    viewer: AbstractBaseUser | None = None,
    hidden_fields: tuple[str, ...] = (),
) -> dict[object, list[HistoryEntry]]:
    """``history_entries`` for many records of one model, by primary key, in two queries.

    The rows of every record are read at once (with their users and roles);
    each record's entries are then built by ``history_entries`` itself, from
    its own rows, so both read history in the same words.
    """
    instances = list(instances)
    if not instances:
        return {}
    model = type(instances[0])
    pk_name = model._meta.pk.attname
    rows_of: dict[object, list] = {instance.pk: [] for instance in instances}
    rows = (
        model.history.filter(**{f"{pk_name}__in": list(rows_of)})
        .select_related("history_user")
        .prefetch_related("history_user__groups")
        .order_by("history_date", "history_id")
    )
    for row in rows:
        rows_of[getattr(row, pk_name)].append(row)

    class _Loaded(list):
        """Rows already read, answering the queryset calls ``history_entries`` makes."""

        def select_related(self, *fields: str) -> _Loaded:
            return self

        prefetch_related = order_by = select_related

    entries = {}
    for instance in instances:
        # A copy, so the caller's instance keeps its own ``history`` manager.
        view = copy.copy(instance)
        view.history = _Loaded(rows_of[instance.pk])
        entries[instance.pk] = history_entries(view, viewer=viewer, hidden_fields=hidden_fields)
    return entries
