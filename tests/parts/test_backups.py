"""Backups that restore: the drill (back up, wipe, restore, check), and refusals.

The drill seeds a paid payment whose receipt the real task renders and stores, a
consultant with vault data, and the history every service writes; backs up with
``manage.py backup``; wipes the files; restores with ``manage.py restore`` (a separate
process) into a new, empty database and the emptied storage; then, in another process on
the restored database, checks that every row of every table is there with its ids,
every receipt verifies by its SHA-256 through Honora's own check, and the vault decrypts.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from core.storage import MAGIC
from tests.parts.conftest import ROOT, database_url
from tests.payments.documents_support import LEGAL_NAME, TIN, paid_with_receipt

pytestmark = pytest.mark.django_db(transaction=True)

CHECK_RESTORED = """
import hashlib, json
from django.apps import apps
from django.test import Client
from django.urls import reverse
from consultants.models import IdentityVault
from payments.documents.models import Receipt
from payments.documents.rendering import stored_pdf
ids = {
    m._meta.label: list(m._base_manager.order_by("pk").values_list("pk", flat=True))
    for m in apps.get_models(include_auto_created=True)
    if m._meta.managed and not m._meta.proxy
}
receipts = []
for receipt in Receipt.objects.order_by("pk"):
    try:
        pdf = stored_pdf(receipt)  # the downloads' own check: the stored file's SHA-256
        by_hash = pdf.startswith(b"%PDF-") and hashlib.sha256(pdf).hexdigest() == receipt.sha256
    except OSError as exc:
        by_hash = type(exc).__name__
    page = Client().get(reverse("receipt_verify", kwargs={"code": receipt.verification_code}))
    genuine = f"Receipt {receipt.number} is genuine" in page.content.decode()
    receipts.append({"number": receipt.number, "by_hash": by_hash, "genuine": genuine})
try:
    vault = [[v.legal_name, v.taxpayer_id] for v in IdentityVault.objects.order_by("pk")]
except Exception as exc:
    vault = type(exc).__name__
print(json.dumps({"ids": ids, "receipts": receipts, "vault": vault}, default=str))
"""


def all_ids() -> dict[str, list]:
    return {
        m._meta.label: [
            str(pk) if not isinstance(pk, int) else pk
            for pk in m._base_manager.order_by("pk").values_list("pk", flat=True)
        ]
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    }


def history_labels() -> list[str]:
    from core.append_only import AppendOnlyModel

    return [
        m._meta.label
        for m in apps.get_models()
        if m.__name__.startswith("Historical") or issubclass(m, AppendOnlyModel)
    ]


@pytest.fixture
def empty_target(tmp_path):
    """A new, empty database of the same kind as the tests', and its settings."""
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = database_url().rsplit("/", 1)[0] + f"/{name}"
        yield url
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"


def manage(*args: str, database: str, media, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": database,
            "PRIVATE_MEDIA_ROOT": str(media),
            "LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def target_tables(database: str, media) -> list[str]:
    script = (
        "import json; from django.db import connection; "
        "print(json.dumps(connection.introspection.table_names()))"
    )
    result = manage("shell", "--no-imports", "-c", script, database=database, media=media)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def seeded(engagement, coordinator, coordinator2, finance, finance2):
    return paid_with_receipt(
        engagement,
        coordinator=coordinator,
        coordinator2=coordinator2,
        finance=finance,
        finance2=finance2,
        by_task=True,
    )


@pytest.fixture
def archive(seeded, tmp_path, settings):
    path = tmp_path / "honora-backup.tar"
    out = io.StringIO()
    call_command("backup", str(path), stdout=out)
    assert "Backup written to" in out.getvalue() and "1 private files" in out.getvalue()
    return path


def test_the_archive_holds_the_database_the_files_as_stored_and_a_manifest(archive, seeded):
    _payment, receipt = seeded
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        stored = tar.extractfile(f"files/{receipt.pdf.name}").read()
        names = sorted(tar.getnames())
    assert stored.startswith(MAGIC) and LEGAL_NAME.encode() not in stored  # still encrypted
    assert names == sorted(
        ["manifest.json", manifest["database"]["member"], *[f["member"] for f in manifest["files"]]]
    )
    assert [f["name"] for f in manifest["files"]] == [receipt.pdf.name]
    assert len(manifest["database"]["sha256"]) == 64
    assert manifest["counts"]["payments.Receipt"] == 1
    assert ["payments", "0001_initial"] in manifest["migrations"]
    assert "FIELD_ENCRYPTION_KEY is not in this archive" in manifest["key_note"]
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def test_the_restore_drill(archive, seeded, settings, empty_target):
    before = all_ids()
    labels = history_labels()
    assert sum(len(before[label]) for label in labels) > 10  # the seeding wrote history
    shutil.rmtree(settings.MEDIA_ROOT)  # the files are gone

    restored = manage("restore", str(archive), database=empty_target, media=settings.MEDIA_ROOT)
    assert restored.returncode == 0, restored.stderr
    assert "1 private files" in restored.stdout

    result = manage(
        "shell",
        "--no-imports",
        "-c",
        CHECK_RESTORED,
        database=empty_target,
        media=settings.MEDIA_ROOT,
    )
    assert result.returncode == 0, result.stderr
    after = json.loads(result.stdout.strip().splitlines()[-1])
    for label, ids in before.items():
        assert after["ids"][label] == ids, label  # history and audit tables included
    assert after["receipts"] == [{"number": seeded[1].number, "by_hash": True, "genuine": True}]
    assert after["vault"] == [[LEGAL_NAME, TIN]]


def test_restored_under_another_key_the_rows_return_but_the_vault_and_files_do_not(
    archive, seeded, settings, empty_target
):
    shutil.rmtree(settings.MEDIA_ROOT)
    other_key = {"FIELD_ENCRYPTION_KEY": "a-different-key-than-the-one-the-backup-was-made-under"}
    restored = manage(
        "restore", str(archive), database=empty_target, media=settings.MEDIA_ROOT, **other_key
    )
    assert restored.returncode == 0, restored.stderr
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        CHECK_RESTORED,
        database=empty_target,
        media=settings.MEDIA_ROOT,
        **other_key,
    )
    after = json.loads(result.stdout.strip().splitlines()[-1])
    # The public check reads only rows; the file itself no longer decrypts, nor the vault.
    assert after["receipts"] == [
        {"number": seeded[1].number, "by_hash": "UnreadableFile", "genuine": True}
    ]
    assert after["vault"] == "ImproperlyConfigured"  # "could not be read with any ... secret"


def _rewrite(archive, change) -> None:
    """Rewrite the archive, passing each member's bytes through ``change(name, data)``."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w") as tar:
        for member, data in members:
            data = change(member.name, data)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


def test_a_damaged_archive_is_refused_before_anything_is_written(
    archive, seeded, settings, empty_target, tmp_path
):
    receipt = seeded[1]

    def flip(name, data):
        if name == f"files/{receipt.pdf.name}":
            middle = len(data) // 2
            return data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :]
        return data

    _rewrite(archive, flip)
    media = tmp_path / "empty-media"
    result = manage("restore", str(archive), database=empty_target, media=media)
    assert result.returncode != 0
    assert "does not match the SHA-256" in result.stderr and "nothing was restored" in result.stderr
    assert target_tables(empty_target, media) == []  # not a single table
    assert not media.exists() or not any(media.rglob("*"))


def test_a_restore_into_a_database_that_is_not_empty_is_refused(archive):
    with pytest.raises(CommandError, match="the database is not empty"):
        call_command("restore", str(archive))


def test_an_archive_from_a_newer_honora_is_refused(archive):
    def future(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["migrations"].append(["payments", "9999_from_the_future"])
        return json.dumps(manifest).encode()

    _rewrite(archive, future)
    with pytest.raises(
        CommandError, match=r"made by a newer Honora.*payments\.9999_from_the_future"
    ):
        call_command("restore", str(archive))


@pytest.mark.parametrize(
    "content", [b"", b"not a tar file at all", b"\x00" * 2048], ids=["empty", "text", "zeros"]
)
def test_what_is_not_a_backup_gets_a_clear_error(tmp_path, content):
    path = tmp_path / "x.tar"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=r"not a readable backup archive|has no manifest"):
        call_command("restore", str(path))


def test_backup_will_not_overwrite_an_archive(tmp_path):
    path = tmp_path / "exists.tar"
    path.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", str(path))
    assert path.read_bytes() == b"keep me"


def test_force_replaces_what_is_there_with_the_archive(archive, seeded, settings):
    from accounts.models import User
    from payments.documents.models import Receipt

    users_before = set(User.objects.values_list("pk", flat=True))
    User.objects.create(email="added-after-the-backup@example.org")
    (settings.MEDIA_ROOT / seeded[1].pdf.name).write_bytes(b"overwritten")

    out = io.StringIO()
    call_command("restore", str(archive), "--force", stdout=out)
    assert "Restored" in out.getvalue()
    assert set(User.objects.values_list("pk", flat=True)) == users_before
    receipt = Receipt.objects.get()
    from payments.documents.rendering import stored_pdf

    assert stored_pdf(receipt).startswith(b"%PDF-")  # the file is the archived one again
