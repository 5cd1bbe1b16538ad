"""What every audit-history row carries beside django-simple-history's fields.

simple-history records which fields changed, by whom and with which reason; a
short named action ("contribution.approved") says what the person did. Services
set both on the instance before saving; a signal copies the action over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, connection, connections, models, router
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from simple_history.signals import pre_create_historical_record
from simple_history.utils import get_history_model_for_model

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


def history_row(
    instance: models.Model,
    *,
    by: AbstractBaseUser | None,
    action: str,
    when: datetime,
    reason: str = "",
    created: bool = False,
) -> Any:
    """The history row a ``stamp``-ed save of ``instance``, as it is now, would write
    (unsaved): its tracked fields, the actor, the reason and the named action, dated
    ``when``; "+" for the save that ``created`` it, "~" for a change. Rows for many
    records are written together by ``write_history_rows``; nothing else differs from
    the row ``save()`` writes through simple-history and ``_copy_action``."""
    history_model = _history_model(type(instance))
    row = history_model(
        history_date=when,
        history_type="+" if created else "~",
        history_user=by,
        history_change_reason=reason or "",
        **{f.attname: getattr(instance, f.attname) for f in history_model.tracked_fields},
    )
    if hasattr(row, "history_action"):
        row.history_action = action or ""
    return row


def write_history_in_sql(
    rows: models.QuerySet,
    *,
    by: AbstractBaseUser | None,
    action: str,
    when: datetime,
    reason: str = "",
    created: bool = False,
) -> int:
    """``history_row`` for every record of ``rows``, as stored now, in one
    ``INSERT … SELECT`` (no row passes through Python), in primary-key order: for
    records just inserted or updated in bulk. Answers how many rows it wrote."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return 0
    model: Any = rows.model
    history_model = _history_model(model)
    meta = history_model._meta
    tracked = [f.attname for f in history_model.tracked_fields]
    extra: dict[str, tuple[object, models.Field]] = {
        "history_date": (when, models.DateTimeField()),
        "history_change_reason": (reason or "", models.TextField()),
        "history_type": ("+" if created else "~", models.CharField()),
        "history_user_id": (by.pk if by is not None else None, models.IntegerField()),
    }
    if any(f.name == "history_action" for f in meta.concrete_fields):
        extra["history_action"] = (action or "", models.CharField())
    select = rows.order_by("pk").values_list(
        *tracked, *(models.Value(value, output_field=kind) for value, kind in extra.values())
    )
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in tracked] + [
        meta.get_field(name).column for name in extra
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) {sql}",
            params,
        )
        return cursor.rowcount


@cache
def _history_model(model: type[models.Model]) -> Any:
    # simple-history builds a manager class on every ``Model.history`` access: once here.
    return get_history_model_for_model(model)


def write_history_rows(rows: list[Any], *, batch_size: int = 1000) -> None:
    """Insert ``history_row``s of one model in bulk, in their order (one INSERT per
    ``batch_size``), unless history is switched off as it is for a save."""
    if rows and getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        type(rows[0]).objects.bulk_create(rows, batch_size=batch_size)


def save_with_history(
    instance: models.Model,
    *,
    by: AbstractBaseUser | None,
    action: str,
    reason: str = "",
    update_fields: Sequence[str] | None = None,
    when: datetime | None = None,
) -> None:
    """What ``stamp`` then ``save`` do, in fewer steps, for the hot paths (paying).

    A new row is saved without simple-history's post_save (which builds its manager
    class again on every save and writes the history row through a full model save);
    a changed row with ``update_fields`` is written by one UPDATE of those fields (as
    ``save`` would, ``auto_now`` included). Its history row is then copied from the
    row as stored (``write_history``), with the same user, action and reason.
    """
    target: Any = instance
    model = type(instance)
    created = instance._state.adding
    if created or update_fields is None:
        target.skip_history_when_saving = True
        try:
            instance.save(update_fields=update_fields)
        finally:
            del target.skip_history_when_saving
    else:
        values = {}
        for name in update_fields:
            field: Any = model._meta.get_field(name)
            values[field.name] = field.pre_save(instance, False)  # auto_now: now
        if not model._base_manager.filter(pk=instance.pk).update(**values):
            raise DatabaseError("Save with update_fields did not affect any rows.")  # as save
    write_history(
        model, [instance.pk], by=by, action=action, reason=reason, when=when, created=created
    )


def write_history(
    model: type[models.Model],
    pks: Sequence[Any],
    *,
    by: AbstractBaseUser | None,
    action: str,
    reason: str = "",
    when: datetime | None = None,
    created: bool = False,
) -> None:
    """The history rows of the rows ``pks`` of ``model``, as they are stored now, with
    the user, the action and the reason: the rows ``stamp`` and a save would have
    written, copied by one ``INSERT … SELECT`` (per thousand rows) rather than one
    model save each. For rows changed in bulk (a queryset ``update``) or saved by
    ``save_with_history``."""
    if not pks or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    connection = connections[router.db_for_write(model)]
    when = when or timezone.now()
    facts = [
        connection.ops.adapt_datetimefield_value(when),
        reason or "",
        "+" if created else "~",
        by.pk if by is not None else None,
        str(action),
    ]
    head, tail = _history_insert_sql(model)
    with connection.cursor() as cursor:
        for start in range(0, len(pks), 1000):
            part = list(pks[start : start + 1000])
            cursor.execute(f"{head}{', '.join(['%s'] * len(part))}{tail}", [*facts, *part])


@cache
def _history_insert_sql(model: type[models.Model]) -> tuple[str, str]:
    """``INSERT INTO <history> (<tracked columns>, <history facts>) SELECT <the same
    columns>, %s … FROM <table> WHERE <pk> IN (`` and ``) ORDER BY <pk>``: the ids'
    placeholders go between. Only names from the models' own metadata, quoted; every
    value is a parameter."""
    history: Any = model.history.model  # type: ignore[attr-defined]
    meta: Any = model._meta
    qn = connections[router.db_for_write(model)].ops.quote_name
    tracked = list(history.tracked_fields)
    targets = [qn(history._meta.get_field(f.name).column) for f in tracked]
    targets += [
        qn(history._meta.get_field(name).column)
        for name in (
            "history_date",
            "history_change_reason",
            "history_type",
            "history_user",
            "history_action",
        )
    ]
    sources = [qn(f.column) for f in tracked] + ["%s"] * 5
    head = (
        f"INSERT INTO {qn(history._meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
        f"SELECT {', '.join(sources)} FROM {qn(meta.db_table)} WHERE {qn(meta.pk.column)} IN ("
    )
    return head, f") ORDER BY {qn(meta.pk.column)}"


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
        when = date_format(localtime(self.when), "DATE_FORMAT")
        if self.changes and lists_changes(self.action):
            what = "; ".join(
                _("%(field)s from %(old)s to %(new)s")
                % {"field": c.label, "old": c.old, "new": c.new}
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


# What history says for a field with no value: words, never a blank.
NOT_SET = _("not set")
NOBODY = _("nobody")

# People who work for the study: a consultant reading history sees them by name.
STAFF_ROLES = ("admin", "finance", "coordinator")


def _display(model: type[models.Model], name: str, value: object) -> str:
    if value is None or value == "":
        return str(NOT_SET)
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


def _role_names(user: Any) -> set[str]:
    # ``groups`` is prefetched by every reader here: no query per person.
    return {g.name for g in user.groups.all()}


def _role_label(user: Any) -> str:
    if user is None:
        return ""
    names = _role_names(user)
    for role in ("admin", "finance", "coordinator", "consultant"):
        if role in names:
            return str(_(role))
    return ""


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or bool(
        _role_names(user).intersection(STAFF_ROLES)
    )


def _viewer_is_staff(viewer: Any) -> bool:
    return viewer is None or bool(getattr(viewer, "is_staff_member", False))


def person(user: Any, *, viewer: Any = None) -> tuple[str, str]:
    """(name, role) of a person in history: by display name and role, never an id.

    The viewer is "You". A consultant reading history sees staff by name, and any
    other consultant only as "another consultant" (staff readers see everyone).
    """
    if viewer is not None and user.pk == viewer.pk:
        return str(_("You")), ""
    if not _viewer_is_staff(viewer) and not _is_staff(user):
        return str(_("another consultant")), ""
    return user.get_short_name(), _role_label(user)


def _person_text(user: Any, *, viewer: Any) -> str:
    name, role = person(user, viewer=viewer)
    return f"{name} ({role})" if role else name


def _foreign_key(model: type[models.Model], name: str) -> Any:
    """The field if ``name`` points at another record (a foreign key), else None."""
    model_field: Any = model._meta.get_field(name)
    if model_field.is_relation and (model_field.many_to_one or model_field.one_to_one):
        return model_field
    return None


def _is_user_model(related: Any) -> bool:
    from django.contrib.auth import get_user_model

    return related is get_user_model()


def _load_related(
    model: type[models.Model], wanted: dict[str, set[object]], *, viewer: Any
) -> dict[tuple[str, object], str]:
    """What to show for each (field, id) a change names: a person, or the record's name.

    One query per related model named (two for people, with their roles), however
    long the history.
    """
    shown: dict[tuple[str, object], str] = {}
    by_model: dict[Any, dict[str, set[object]]] = {}
    for name, ids in wanted.items():
        related = _foreign_key(model, name).related_model
        by_model.setdefault(related, {})[name] = ids
    for related, fields in by_model.items():
        ids = set().union(*fields.values())
        query = related._default_manager.filter(pk__in=ids)
        if _is_user_model(related):
            objects = {obj.pk: obj for obj in query.prefetch_related("groups")}
        else:
            objects = {obj.pk: obj for obj in query}
        for name, field_ids in fields.items():
            for pk in field_ids:
                obj = objects.get(pk)
                if obj is None:
                    text = str(_("a removed record"))
                elif _is_user_model(related):
                    text = _person_text(obj, viewer=viewer)
                else:
                    text = str(obj)
                shown[name, pk] = text
    return shown


def _tracked(model: type[models.Model], hidden_fields: tuple[str, ...]) -> list[tuple[str, str]]:
    # (attname, name): a foreign key's column is "batch_id", its field "batch"; a
    # plain field that merely ends in "_id" ("transfer_id") is its own name.
    return [
        (f.attname, f.name)
        for f in model._meta.concrete_fields
        if f.attname not in QUIET_FIELDS and f.name not in hidden_fields
    ]


def _raw_changes(
    model: type[models.Model], rows: list[Any], tracked: list[tuple[str, str]]
) -> list[list[tuple[str, object, object]]]:
    """For each row, the (field, old, new) it changed from the row before, as stored."""
    result: list[list[tuple[str, object, object]]] = []
    previous = None
    for row in rows:
        changed: list[tuple[str, object, object]] = []
        if previous is not None:
            for attname, name in tracked:
                old, new = getattr(previous, attname, None), getattr(row, attname, None)
                if old != new:
                    changed.append((name, old, new))
        result.append(changed)
        previous = row
    return result


def _related_wanted(
    model: type[models.Model], changes: Iterable[list[tuple[str, object, object]]]
) -> dict[str, set[object]]:
    wanted: dict[str, set[object]] = {}
    for changed in changes:
        for name, old, new in changed:
            if _foreign_key(model, name) is None:
                continue
            for value in (old, new):
                if value is not None:
                    wanted.setdefault(name, set()).add(value)
    return wanted


def _label(model: type[models.Model], name: str) -> str:
    model_field: Any = model._meta.get_field(name)
    return str(model_field.verbose_name)


def _entries(
    model: type[models.Model],
    rows: list[Any],
    raw: list[list[tuple[str, object, object]]],
    related: dict[tuple[str, object], str],
    *,
    viewer: Any,
) -> list[HistoryEntry]:
    def shown(name: str, value: object) -> str:
        if _foreign_key(model, name) is None:
            return _display(model, name, value)
        if value is None:
            fk = _foreign_key(model, name)
            return str(NOBODY if _is_user_model(fk.related_model) else NOT_SET)
        return related[name, value]

    entries = []
    for row, changed in zip(rows, raw, strict=True):
        changes = [
            Change(
                field=name,
                label=_label(model, name),
                old=shown(name, old),
                new=shown(name, new),
            )
            for name, old, new in changed
        ]
        user = row.history_user
        if user is None:
            who, role = str(_("Honora")), ""
        else:
            who, role = person(user, viewer=viewer)
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
    return entries


def history_entries(
    instance: Any, *, viewer: AbstractBaseUser | None = None, hidden_fields: tuple[str, ...] = ()
) -> list[HistoryEntry]:
    """The change history of ``instance``, oldest first, in words a person reads.

    People are named by display name and role, other records by their name, never
    by an id; a field with no value reads "not set" (a person "nobody"). Runs a
    fixed number of queries whatever the length of the history.
    """
    model = type(instance)
    rows = list(
        instance.history.select_related("history_user")
        .prefetch_related("history_user__groups")
        .order_by("history_date", "history_id")
    )
    raw = _raw_changes(model, rows, _tracked(model, hidden_fields))
    related = _load_related(model, _related_wanted(model, raw), viewer=viewer)
    return _entries(model, rows, raw, related, viewer=viewer)


def history_entries_many(
    instances: Iterable[Any],
    *,
    viewer: AbstractBaseUser | None = None,
    hidden_fields: tuple[str, ...] = (),
) -> dict[object, list[HistoryEntry]]:
    """``history_entries`` for many records of one model, by primary key.

    The rows of every record are read at once (with their users and roles), and the
    people and records their changes name at once too: a fixed number of queries
    however many records; each record's entries are built from its own rows by the
    same code as ``history_entries``, so both read history in the same words.
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
    tracked = _tracked(model, hidden_fields)
    raw_of = {pk: _raw_changes(model, rows_of[pk], tracked) for pk in rows_of}
    related = _load_related(
        model,
        _related_wanted(model, (changed for raw in raw_of.values() for changed in raw)),
        viewer=viewer,
    )
    return {
        instance.pk: _entries(
            model, rows_of[instance.pk], raw_of[instance.pk], related, viewer=viewer
        )
        for instance in instances
    }
