"""Every history action is named in its app's ``actions`` module, with its words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

from core.history import ACTIONS, Action, lists_changes, phrase_of

APPS_WITH_ACTIONS = ("accounts", "consultants", "engagements", "payments")
# A plain string where an action belongs: stamp(..., action="x.y") or the bulk form.
PLAIN_ACTION = re.compile(r'action=f?"|"history_action": f?"')


def test_each_app_names_its_actions_in_one_module():
    for app in APPS_WITH_ACTIONS:
        module = __import__(f"{app}.actions", fromlist=["*"])
        names = [v for v in vars(module).values() if isinstance(v, Action)]
        assert names, app
        for action in names:
            assert ACTIONS[action] is action
            assert re.fullmatch(r"[a-z_]+\.[a-z_]+", action), action
            assert str(action.phrase).strip(), action


def test_no_service_stamps_a_plain_string():
    root = Path(settings.BASE_DIR)
    offenders = []
    for app in (*APPS_WITH_ACTIONS, "portal", "demo"):
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "actions.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PLAIN_ACTION.search(line):
                    offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert not offenders, "name these in the app's actions.py:\n" + "\n".join(offenders)


def test_changes_in_the_admin_are_worded_and_list_their_changes():
    assert lists_changes("engagement.changed_in_admin")
    assert str(phrase_of("engagement.changed_in_admin", created=False)) == (
        "changed this in the admin"
    )
    assert str(phrase_of("nobody.knows", created=True)) == "created this record"


@pytest.mark.django_db
def test_every_row_the_demo_writes_carries_a_named_action(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=None)
    seen = set()
    for model in apps.get_models():
        if model._meta.app_label in APPS_WITH_ACTIONS and hasattr(model, "history"):
            history = model.history.model
            if "history_action" not in {f.name for f in history._meta.fields}:
                continue
            seen |= set(history.objects.values_list("history_action", flat=True).distinct())
    unknown = {a for a in seen if a and a not in ACTIONS}
    assert not unknown, f"actions without a name in an actions.py: {sorted(unknown)}"
    assert len(seen) > 10
