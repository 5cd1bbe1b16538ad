"""A checked CSV file is imported once, however many times its form is sent.

The dry run (``check_file``) runs the import and rolls it back; a clean file's
hash goes in the person's session, and the file itself travels back with the
form as a signed, compressed token, so nothing is kept on the server between
the dry run and the import and nothing goes in a URL. ``import_checked_file``
imports it for real, once: a mark in the shared cache, set with ``cache.add``,
stops a second click or the same form sent again from another tab.

A large file (above ``BACKGROUND_IMPORT_BYTES``) is too big to travel with a
form and too slow to check within a request: it is kept in the private storage
(encrypted at rest, never served) and a worker checks it, then imports it once
the person asks (the same once-only mark), while its page shows the progress.
The kept file is deleted once it is imported or found not clean.
"""

from __future__ import annotations

import base64
import binascii
import uuid
import zlib
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.core.cache import cache
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tasks import enqueue_on_commit
from engagements.imports import ImportReport, content_hash, file_hash, run_import
from engagements.models import ImportRun

IMPORT_SESSION_KEY = "engagements.import"
IMPORT_SALT = "engagements.import"
IMPORT_MAX_AGE = 60 * 60
IMPORT_USED_PREFIX = "engagements.import-used:"


def import_token(content: bytes, user) -> str:
    # The checked file travels back with the form, signed: nothing is kept on
    # the server between the dry run and the import, and nothing goes in a URL.
    packed = base64.b64encode(zlib.compress(content)).decode("ascii")
    return signing.dumps({"u": user.pk, "f": packed}, salt=IMPORT_SALT)


def import_content(token: str, user) -> bytes | None:
    try:
        payload = signing.loads(token, salt=IMPORT_SALT, max_age=IMPORT_MAX_AGE)
        if payload.get("u") != user.pk:
            return None
        return zlib.decompress(base64.b64decode(payload["f"]))
    except (signing.BadSignature, KeyError, TypeError, binascii.Error, zlib.error):
        return None


def check_file(*, content: bytes, by, session) -> tuple[ImportReport, str]:
    """The dry run: the report, and for a clean file the token its import form sends back."""
    report = run_import(content=content, by=by, commit=False)
    if not report.clean:
        return report, ""
    session[IMPORT_SESSION_KEY] = content_hash(content)
    return report, import_token(content, by)


@dataclass
class ImportAttempt:
    """What came of sending a checked file's token.

    ``outcome`` is "unchecked" (no valid token, or not the file this session
    checked), "already_imported" (imported before, or being imported right now),
    "imported", or "changed" (something changed since the dry run: nothing was
    imported; ``report`` says what).
    """

    outcome: str
    report: ImportReport | None = None


def import_checked_file(*, token: str, by, session) -> ImportAttempt:
    """Import the file a dry run checked in this session, all or nothing, and once only."""
    content = import_content(token, by)
    expected = session.get(IMPORT_SESSION_KEY)
    digest = content_hash(content) if content is not None else None
    if content is None or expected != digest:
        return ImportAttempt("unchecked")
    # The checked file is imported once: a second click, or the same form sent
    # again from another tab, finds the mark and stops. cache.add is atomic on
    # the shared cache (database or Redis), so two requests at once cannot both
    # pass; the session alone cannot tell, as each request reads its own copy.
    # The cache mark lasts an hour; a large file's import (``ImportRun``) holds
    # its digest in the database for good, so that one is looked up too.
    used_key = f"{IMPORT_USED_PREFIX}{digest}"
    if not cache.add(used_key, by.pk, timeout=IMPORT_MAX_AGE):
        session.pop(IMPORT_SESSION_KEY, None)
        return ImportAttempt("already_imported")
    # The import holds the file's digest in the database as a large file's does
    # (an ``ImportRun`` with no file kept), so neither path imports it again later.
    try:
        with transaction.atomic():
            claim = ImportRun.objects.create(
                by=by,
                digest=digest,
                size=len(content),
                mode=ImportRun.Mode.APPLY,
                status=ImportRun.Status.RUNNING,
            )
    except IntegrityError:
        claim = None
    if claim is None:
        cache.delete(used_key)
        session.pop(IMPORT_SESSION_KEY, None)
        return ImportAttempt("already_imported")
    report = None
    try:
        report = run_import(content=content, by=by, commit=True)
    finally:
        if report is None or not report.imported:
            cache.delete(used_key)  # nothing was imported: it may be checked and tried again
        ImportRun.objects.filter(pk=claim.pk).update(
            status=ImportRun.Status.DONE if report is not None else ImportRun.Status.FAILED,
            applied=bool(report is not None and report.imported),
            result=report.as_json() if report is not None else None,
            bytes_done=claim.size,
            finished_at=timezone.now(),
        )
    session.pop(IMPORT_SESSION_KEY, None)
    return ImportAttempt("imported" if report.imported else "changed", report)


# --- large files: checked and imported by a background task -----------------------

# A file above this is checked and imported by a worker (``engagements.tasks.import_run``)
# while its page shows the progress; a smaller one is checked within the request.
BACKGROUND_IMPORT_BYTES = 1024 * 1024


def run_check_start(*, upload: File, by) -> ImportRun:
    """Keep ``upload`` (encrypted at rest) and ask a worker to check it: the dry run."""
    # Files checked but never imported go: this person's earlier ones, and anyone's
    # older than a check stays valid (a small file's token lasts as long).
    stale = ImportRun.objects.filter(
        Q(by=by) | Q(created_at__lt=timezone.now() - timedelta(seconds=IMPORT_MAX_AGE)),
        mode=ImportRun.Mode.CHECK,
    ).exclude(file="")
    for old in stale:
        if not old.waiting:
            _forget_file(old)
    digest = file_hash(upload)  # type: ignore[arg-type]
    run = ImportRun(by=by, digest=digest, size=upload.size or 0)
    run.file.save(f"{uuid.uuid4().hex}.csv", upload, save=False)
    run.save()
    enqueue_on_commit("engagements.tasks.import_run", run.pk)
    return run


def run_apply_start(*, run: ImportRun, by) -> str:
    """Ask a worker to import a file its check found clean, once only.

    "queued"; "already_imported" (this file was imported, or is being imported,
    by this run or another); "unchecked" (not a clean check of this person's,
    or its file is gone).
    """
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.mode == ImportRun.Mode.APPLY:
            return "already_imported"
        report = ImportReport.from_json(run.result or {})
        if run.by_id != by.pk or run.status != ImportRun.Status.DONE or not report.clean:
            return "unchecked"
        if run.created_at < timezone.now() - timedelta(seconds=IMPORT_MAX_AGE):
            _forget_file(run)  # checked too long ago: check it again
            return "unchecked"
        if not run.file:
            return "unchecked"
        # A file is imported once. The database holds it for good: a run that
        # imports it, or imported it, holds its digest (a unique constraint, so
        # two runs of the same file cannot both pass, however long ago either
        # was checked); the cache mark is the one a small file's import sets.
        if ImportRun.objects.filter(ImportRun.HOLDS_DIGEST, digest=run.digest).exists():
            return "already_imported"
        if not cache.add(f"{IMPORT_USED_PREFIX}{run.digest}", by.pk, timeout=IMPORT_MAX_AGE):
            return "already_imported"
        run.mode = ImportRun.Mode.APPLY
        run.status = ImportRun.Status.QUEUED
        run.bytes_done = 0
        try:
            with transaction.atomic():
                run.save(update_fields=["mode", "status", "bytes_done"])
        except IntegrityError:
            return "already_imported"  # another run of the same file got there first
        enqueue_on_commit("engagements.tasks.import_run", run.pk)
    return "queued"


def forget_stale_files() -> int:
    """Delete the kept files of runs older than a check stays valid; how many went.

    A clean check never imported, or a run a killed worker left waiting or running,
    keeps its file: the payments sweeper calls this each turn, so no uploaded file
    outlives the hour it could be imported in (importing one that old asks for a
    new check anyway).
    """
    cutoff = timezone.now() - timedelta(seconds=IMPORT_MAX_AGE)
    gone = 0
    for run in ImportRun.objects.filter(created_at__lt=cutoff).exclude(file=""):
        _forget_file(run)
        gone += 1
    return gone


def _forget_file(run: ImportRun) -> None:
    if run.file:
        run.file.delete(save=False)
        ImportRun.objects.filter(pk=run.pk).update(file="")


class _Progress:
    """Writes how far a run has read, through a connection of its own.

    The import holds one transaction from the first row to the last; its own
    writes are seen by nobody until it ends. On PostgreSQL a second connection
    says how far it is; SQLite has one writer at a time, so there the page
    shows the progress only when the run ends.
    """

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.other = None
        if connection.vendor == "postgresql":
            self.other = connections.create_connection(DEFAULT_DB_ALIAS)

    def __call__(self, done: int, size: int) -> None:
        if self.other is None:
            return
        with self.other.cursor() as cursor:
            cursor.execute(
                "UPDATE engagements_importrun SET bytes_done = %s WHERE id = %s",
                [done, self.run_id],
            )

    def close(self) -> None:
        if self.other is not None:
            self.other.close()


def run_execute(run_id: int) -> None:
    """The task's work: check (or import) a kept file and record the report."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None or run.status != ImportRun.Status.QUEUED:
            return  # done already, or another worker has it
        run.status = ImportRun.Status.RUNNING
        run.save(update_fields=["status"])
    commit = run.mode == ImportRun.Mode.APPLY
    used_key = f"{IMPORT_USED_PREFIX}{run.digest}"
    progress = _Progress(run.pk)
    report = None
    try:
        if run.file:
            with run.file.open("rb") as stream:
                report = run_import(stream=stream, by=run.by, commit=commit, progress=progress)
        else:
            report = ImportReport()
            report.refuse(_("The file is no longer kept. Check it again."))
    finally:
        progress.close()
        if report is None:
            ImportRun.objects.filter(pk=run.pk).update(
                status=ImportRun.Status.FAILED, finished_at=timezone.now()
            )
            if commit:
                cache.delete(used_key)
            _forget_file(run)  # the run ended without a report: its file is not kept
    assert report is not None
    run.result = report.as_json()
    run.status = ImportRun.Status.DONE
    run.bytes_done = run.size
    run.finished_at = timezone.now()
    run.applied = commit and report.imported > 0
    run.save(update_fields=["result", "status", "bytes_done", "finished_at", "applied"])
    if commit and not report.imported:
        cache.delete(used_key)  # nothing was imported: it may be checked and tried again
    if commit or not report.clean:
        _forget_file(run)  # imported, or not importable: the file is not needed any more
