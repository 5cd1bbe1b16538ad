"""One archive holding the database and the private files together, and putting it back.

The archive is a tar file: ``manifest.json`` (when, Honora's migration state, row counts
per table, the SHA-256 and size of every member), the database dump, and every private
file under ``files/`` exactly as stored, still encrypted at rest (``core.storage``).
``FIELD_ENCRYPTION_KEY`` is never in it: without that key the vault fields and the files
cannot be read, so the key is kept apart from the archives (README, "Keys").
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from backups import database
from core.errors import StateConflict, ValidationFailed

FORMAT = "honora-backup/1"
MANIFEST = "manifest.json"
FILES_PREFIX = "files/"
CHUNK = 1024 * 1024


@dataclass
class Summary:
    path: Path
    database_bytes: int = 0
    files: int = 0
    file_bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def stored_files_storage() -> Storage:
    """The storage holding the bytes as stored: under the encryption, not through it."""
    return getattr(default_storage, "inner", default_storage)


def _walk(storage: Storage, path: str = "") -> list[str]:
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:
        return []
    names = [f"{path}{name}" for name in files]
    for directory in directories:
        names += _walk(storage, f"{path}{directory}/")
    return sorted(names)


def _sha256(handle: IO[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def table_counts() -> dict[str, int]:
    """Rows in every table Honora's models know, history and audit tables included."""
    known = set(database.tables())
    return {
        model._meta.label: model._base_manager.count()
        for model in sorted(apps.get_models(include_auto_created=True), key=lambda m: m._meta.label)
        if model._meta.db_table in known and model._meta.managed
    }


def applied_migrations() -> list[list[str]]:
    return sorted([app, name] for app, name in MigrationRecorder(connection).applied_migrations())


def backup_create(*, path: Path) -> Summary:
    """Write the archive to ``path`` (through a temporary file, so never half an archive)."""
    path = Path(path)
    if path.exists():
        raise ValidationFailed(f"{path} already exists; choose a new name", field="path")
    if not path.parent.is_dir():
        raise ValidationFailed(f"the folder {path.parent} does not exist", field="path")
    vendor = database.vendor()
    summary = Summary(path=path)
    storage = stored_files_storage()
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": timezone.now().isoformat(),
        "database": {"vendor": vendor, "member": database.DUMP_MEMBER[vendor]},
        "migrations": applied_migrations(),
        "counts": table_counts(),
        "files": [],
        "key_note": "FIELD_ENCRYPTION_KEY is not in this archive; without it the files "
        "and the vault fields in it cannot be read.",
    }
    summary.counts = manifest["counts"]
    partial = path.with_name(f".{path.name}.partial")
    with tempfile.TemporaryDirectory() as scratch:
        dump_path = Path(scratch) / "database"
        database.dump(dump_path)
        with dump_path.open("rb") as handle:
            manifest["database"]["sha256"], manifest["database"]["size"] = _sha256(handle)
        summary.database_bytes = manifest["database"]["size"]
        try:
            with tarfile.open(partial, "w") as archive:
                archive.add(dump_path, arcname=manifest["database"]["member"])
                for name in _walk(storage):
                    with storage.open(name, "rb") as handle:
                        data = handle.read()
                    member = FILES_PREFIX + name
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    info.mtime = int(timezone.now().timestamp())
                    archive.addfile(info, io.BytesIO(data))
                    manifest["files"].append(
                        {
                            "name": name,
                            "member": member,
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                        }
                    )
                    summary.files += 1
                    summary.file_bytes += len(data)
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(body)
                info.mtime = int(timezone.now().timestamp())
                archive.addfile(info, io.BytesIO(body))
            os.chmod(partial, 0o600)  # personal data: readable by the owner only
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return summary


def _safe_name(name: str) -> str:
    parts = PurePosixPath(name).parts
    if not name or name.startswith("/") or ".." in parts or "\\" in name:
        raise StateConflict(f"the archive names a file outside the storage: {name!r}")
    return name


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        handle = archive.extractfile(MANIFEST)
    except KeyError:
        handle = None
    if handle is None:
        raise StateConflict("this is not a Honora backup: it has no manifest.json")
    try:
        manifest = json.loads(handle.read())
    except ValueError:
        raise StateConflict("the archive's manifest.json is damaged") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StateConflict(f"unknown backup format (expected {FORMAT})")
    return manifest


def verify(archive: tarfile.TarFile, manifest: dict[str, Any]) -> None:
    """Every member is there and matches its SHA-256 and size; nothing else is in it."""
    expected = {manifest["database"]["member"]: manifest["database"]}
    for entry in manifest["files"]:
        _safe_name(entry["name"])
        if entry["member"] != FILES_PREFIX + entry["name"]:
            raise StateConflict(f"the manifest's entry for {entry['name']!r} is inconsistent")
        expected[entry["member"]] = entry
    present = {m.name for m in archive.getmembers() if m.isfile()} - {MANIFEST}
    if missing := sorted(set(expected) - present):
        raise StateConflict(f"the archive is missing {len(missing)} member(s), e.g. {missing[0]}")
    if extra := sorted(present - set(expected)):
        raise StateConflict(f"the archive holds {len(extra)} unlisted member(s), e.g. {extra[0]}")
    for member, entry in expected.items():
        handle = archive.extractfile(member)
        assert handle is not None
        digest, size = _sha256(handle)
        if digest != entry["sha256"] or size != entry["size"]:
            raise StateConflict(
                f"{member} does not match the SHA-256 in the manifest: the archive is damaged; "
                "nothing was restored"
            )


def check_migrations(manifest: dict[str, Any]) -> list[str]:
    """Refuse an archive from a newer Honora; note when this code is newer than the archive."""
    archived = {tuple(pair) for pair in manifest["migrations"]}
    known = set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    if unknown := sorted(archived - known):
        app, name = unknown[0]
        raise StateConflict(
            f"the archive was made by a newer Honora: {len(unknown)} migration(s) this code "
            f"does not have (e.g. {app}.{name}). Install the version that made it, restore, "
            "then upgrade."
        )
    if newer := sorted(known - archived):
        return [
            f"this code has {len(newer)} migration(s) the archive predates: "
            "run `manage.py migrate` after the restore"
        ]
    return []


def backup_restore(*, path: Path, replace: bool = False) -> Summary:
    """Check the whole archive, then load the database, then write the files back."""
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"{path} is not a file", field="path")
    summary = Summary(path=path)
    try:
        archive = tarfile.open(path, "r:")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise StateConflict(f"{path} is not a readable backup archive ({exc})") from None
    with archive:
        try:
            manifest = read_manifest(archive)
            verify(archive, manifest)
        except (tarfile.TarError, KeyError, TypeError, OSError) as exc:
            raise StateConflict(f"the archive is damaged ({exc}); nothing was restored") from None
        vendor = database.vendor()
        if manifest["database"]["vendor"] != vendor:
            raise StateConflict(
                f"the archive holds a {manifest['database']['vendor']} database; "
                f"this installation uses {vendor}"
            )
        summary.notes += check_migrations(manifest)
        storage = stored_files_storage()
        if not replace:
            if database.tables():
                raise StateConflict(
                    "the database is not empty; restore into a new, empty database "
                    "(or pass --force to replace what is there)"
                )
            if _walk(storage):
                raise StateConflict(
                    "the private file storage is not empty; restore into an empty one "
                    "(or pass --force to replace what is there)"
                )
        with tempfile.TemporaryDirectory() as scratch:
            dump_path = Path(scratch) / "database"
            source = archive.extractfile(manifest["database"]["member"])
            assert source is not None
            with dump_path.open("wb") as target:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
            with dump_path.open("rb") as handle:  # the copy on disk is the one we checked
                if _sha256(handle)[0] != manifest["database"]["sha256"]:
                    raise StateConflict("the database dump changed while it was read")
            database.load(dump_path, replace=replace)
            summary.database_bytes = manifest["database"]["size"]
        for entry in manifest["files"]:
            stored = archive.extractfile(entry["member"])
            assert stored is not None
            data = stored.read()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise StateConflict(f"{entry['member']} changed while it was read")
            name = entry["name"]
            if storage.exists(name):
                storage.delete(name)
            saved = storage.save(name, ContentFile(data))
            if saved != name:
                raise StateConflict(f"the storage stored {name!r} as {saved!r}")
            summary.files += 1
            summary.file_bytes += len(data)
    summary.counts = table_counts()
    differ = sorted(
        label for label, count in manifest["counts"].items() if summary.counts.get(label) != count
    )
    if differ:
        summary.notes.append(
            f"row counts differ from the manifest for {len(differ)} table(s): {', '.join(differ)}"
        )
    return summary
