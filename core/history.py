"""What every audit-history row carries beside django-simple-history's fields.

simple-history records which fields changed, by whom and with which reason; a
short named action ("contribution.approved") says what the person did. Services
set both on the instance before saving; a signal copies the action over.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


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


# --- Reading history back in plain words -------------------------------------

ACTION_PHRASES = {
    "contribution.logged": _("logged this entry"),
    "contribution.submitted": _("submitted this entry for approval"),
    "contribution.edited": _("changed this entry"),
    "contribution.edited_after_return": _("changed this entry after it was returned"),
    "contribution.approved": _("approved this entry"),
    "contribution.rejected": _("returned this entry"),
    "contribution.adjustment_added": _("added an adjustment"),
    "contribution.paid": _("marked this entry paid"),
    "contribution.released": _("released this entry for a later payment"),
    "contribution.imported": _("imported this entry"),
    "dispute.opened": _("disputed this entry"),
    "dispute.resolved": _("resolved the dispute"),
    "consultant.created": _("added this consultant"),
    "consultant.updated": _("updated the details"),
    "consultant.preferences_changed": _("changed preferences"),
    "engagement.created": _("created this engagement"),
    "engagement.updated": _("changed this engagement"),
}

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
        if self.changes and (
            self.action
            in (
                "",
                "contribution.edited",
                "consultant.updated",
                "consultant.preferences_changed",
                "engagement.updated",
                "contribution.edited_after_return",
            )
            or self.action.endswith("_in_admin")
        ):
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
        # Hours read as people write them (2.5); money keeps its cents (150.00).
        return plain_number(value) if name in PLAIN_NUMBER_FIELDS else f"{value:.2f}"
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
        phrase = ACTION_PHRASES.get(action) or (
            _("created this record") if row.history_type == "+" else _("changed this record")
        )
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
    import copy

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
