"""The import reads a file as a stream, in chunks, with a constant number of queries per chunk.

Large files are checked and imported by a worker (``engagements.tasks.import_run``)
with the same report and the same entries as the synchronous path.
"""

from __future__ import annotations

import io
import math
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.storage import MAGIC
from engagements import imports
from engagements.imports import MAX_REPORTED_ROWS, run_import
from engagements.models import Contribution, ImportRun
from engagements.services.contributions import contribution_create
from tests.engagements.test_pages_import import HEADER, clean_file

pytestmark = pytest.mark.django_db
IMPORT = reverse("engagements:import")


def hours_file(engagement, rows: int, *, per_day: int = 90) -> str:
    """``rows`` rows of a quarter hour for ``engagement``, ``per_day`` rows a day, in the past."""
    first = date.today() - timedelta(days=1)
    lines = [HEADER]
    for i in range(rows):
        day = first - timedelta(days=i // per_day)
        lines.append(
            f"{engagement.consultant.public_id},{engagement.phase.name},Advisor,"
            f"{day.isoformat()},hours,work,0.25,,row {i},\n"
        )
    return "".join(lines)


def queries(engagement, coordinator, rows: int, chunk_rows: int, *, commit: bool):
    """The statements an import of ``rows`` rows runs: (inserts, every other statement)."""
    content = hours_file(engagement, rows).encode()
    with CaptureQueriesContext(connection) as captured:
        report = run_import(content=content, by=coordinator, commit=commit, chunk_rows=chunk_rows)
    assert report.clean, report.error_rows[:1] or report.header_errors
    assert report.imported == (rows if commit else 0)
    # Each measure starts from the same empty table (the tables are the test's own).
    Contribution.history.model.objects.all().delete()
    Contribution.objects.all().delete()
    inserts = [q for q in captured if q["sql"].lstrip().upper().startswith("INSERT")]
    return len(inserts), len(captured) - len(inserts)


def most_inserts(rows: int) -> int:
    """Two bulk inserts per chunk (entries, history), in batches on SQLite.

    SQLite caps the parameters of one statement (``max_query_params``), so
    Django splits a bulk insert into batches of that many values (a row has
    fewer than 30 columns).
    """
    if connection.vendor == "postgresql":
        return 2
    return 2 * math.ceil(rows * 30 / connection.features.max_query_params)


@pytest.mark.parametrize("commit", [False, True])
def test_the_queries_of_a_chunk_do_not_grow_with_its_rows(engagement, coordinator, commit):
    queries(engagement, coordinator, 5, chunk_rows=1000, commit=commit)  # permissions cached
    few_inserts, few = queries(engagement, coordinator, 50, chunk_rows=1000, commit=commit)
    many_inserts, many = queries(engagement, coordinator, 500, chunk_rows=1000, commit=commit)
    assert many == few
    assert few_inserts <= most_inserts(50) and many_inserts <= most_inserts(500)
    # Ten chunks of 50 rows: ten times what one chunk costs, give or take the set-up.
    chunked_inserts, chunked = queries(engagement, coordinator, 500, chunk_rows=50, commit=commit)
    assert chunked <= 10 * few
    assert chunked_inserts <= 10 * most_inserts(50)


def test_a_file_above_the_old_cap_is_imported_with_every_history_row(engagement, coordinator):
    rows = 5100  # the import stopped at 5,000 rows before it streamed
    report = run_import(content=hours_file(engagement, rows).encode(), by=coordinator, commit=True)
    assert report.header_errors == []
    assert report.row_count == rows and report.imported == rows
    # A large file keeps only the rows with something to say: none here.
    assert report.rows == []
    assert Contribution.objects.filter(status="submitted", logged_by=coordinator).count() == rows
    history = Contribution.history.model.objects
    assert history.count() == rows
    assert set(history.values_list("history_action", "history_user_id", "history_type")) == {
        ("contribution.imported", coordinator.pk, "+")
    }
    assert history.filter(history_change_reason="Imported from a spreadsheet, row 5100").exists()


def test_the_row_limit_is_still_a_file_error(engagement, coordinator, monkeypatch):
    monkeypatch.setattr(imports, "MAX_IMPORT_ROWS", 3)
    report = run_import(content=hours_file(engagement, 4).encode(), by=coordinator, commit=True)
    assert report.header_errors == ["The file has more than 3 rows. Split it into smaller files."]
    assert report.rows == [] and not Contribution.objects.exists()


def test_a_large_file_reports_only_its_rows_with_problems(engagement, coordinator, monkeypatch):
    monkeypatch.setattr(imports, "MAX_REPORTED_ROWS", 3)
    content = hours_file(engagement, 6) + (
        f"Nobody,{engagement.phase.name},Advisor,2026-01-05,hours,work,1,,,\n" * 5
    )
    report = run_import(content=content.encode(), by=coordinator, commit=False)
    assert report.row_count == 11 and report.error_count == 5
    assert [r.number for r in report.rows] == [7, 8, 9]
    assert report.unreported == 2
    assert not report.clean


def test_an_imported_history_row_says_what_a_single_import_says(engagement, coordinator):
    content = HEADER + (
        f"River,{engagement.phase.name},Advisor,2026-01-05,hours,work,2.5,,Kick-off,approved\n"
    )
    assert run_import(content=content.encode(), by=coordinator, commit=True).imported == 1
    bulk = Contribution.objects.get().history.get()
    single = contribution_create(
        engagement=engagement,
        by=coordinator,
        kind="hours",
        activity="work",
        date=date(2026, 1, 6),
        quantity=Decimal("2.5"),
        submit=True,
        import_note="Imported from a spreadsheet, row 1; marked approved in the spreadsheet",
    ).history.get()
    fields = ["history_type", "history_user_id", "history_action", "history_change_reason"]
    assert [getattr(bulk, f) for f in fields] == [getattr(single, f) for f in fields]
    for f in ["status", "logged_by_id", "kind", "activity", "quantity", "claimed_amount"]:
        assert getattr(bulk, f) == getattr(single, f), f


def test_rows_in_a_later_chunk_count_the_hours_of_the_earlier_ones(engagement, coordinator):
    # Two rows of 20 hours on one day, one per chunk: the second goes over the day.
    row = f"River,{engagement.phase.name},Advisor,2026-01-05,hours,work,20,,,\n"
    content = HEADER + row + row
    report = run_import(content=content.encode(), by=coordinator, commit=True, chunk_rows=1)
    assert report.imported == 0
    assert [r.number for r in report.error_rows] == [2]
    assert "a day holds at most 24 hours" in report.error_rows[0].errors[0]
    assert not Contribution.objects.exists()


def test_rows_of_the_same_file_are_not_duplicates_of_each_other(engagement, coordinator):
    row = f"River,{engagement.phase.name},Advisor,2026-01-05,hours,work,1,,,\n"
    report = run_import(
        content=(HEADER + row + row).encode(), by=coordinator, commit=False, chunk_rows=1
    )
    assert report.clean and report.warning_rows == []


# --- the background path ----------------------------------------------------------


@pytest.fixture
def background(settings, monkeypatch, django_capture_on_commit_callbacks):
    """Every file goes to a worker, which runs at once (after the request's commit)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    monkeypatch.setattr("engagements.views.imports.BACKGROUND_IMPORT_BYTES", 10)

    def post(client, data):
        with django_capture_on_commit_callbacks(execute=True):
            return (
                client.post(reverse("engagements:import"), data)
                if "file" in data
                else (client.post(data.pop("url"), data))
            )

    return post


def send(client, background, content: str):
    return background(
        client, {"file": SimpleUploadedFile("big.csv", content.encode(), content_type="text/csv")}
    )


def test_the_worker_reports_what_the_request_reports(client, coordinator, engagement, background):
    phase = engagement.phase.name
    content = clean_file(engagement) + (
        f"Nobody,{phase},Advisor,2026-01-05,hours,work,1,,,\n"
        f"River,{phase},Advisor,2099-01-05,hours,work,1,,,\n"
    )
    expected = run_import(content=content.encode(), by=coordinator, commit=False).as_json()
    client.force_login(coordinator)
    response = send(client, background, content)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert response["Location"] == reverse(
        "engagements:import_run", kwargs={"public_id": run.public_id}
    )
    assert run.status == "done" and run.result == expected
    assert not run.file  # not importable: the kept file is gone
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert (
        "Row 4 (line 5)" in page.content.decode()
        and 'type="submit"'
        not in (page.content.decode().split('id="import-run"')[1].split("Check another file")[0])
    )
    assert not Contribution.objects.exists()


def test_a_large_file_is_checked_then_imported_once_as_the_request_would(
    client, coordinator, engagement, background
):
    content = clean_file(engagement)
    # What the synchronous import creates, rolled back.
    with transaction.atomic():
        run_import(content=content.encode(), by=coordinator, commit=True)
        fields = ("engagement_id", "date", "kind", "activity", "quantity", "claimed_amount")
        synchronous = sorted(Contribution.objects.values_list(*fields, "description", "status"))
        reasons = sorted(Contribution.history.model.objects.values_list("history_change_reason"))
        transaction.set_rollback(True)

    client.force_login(coordinator)
    location = send(client, background, content)["Location"]
    run = ImportRun.objects.get()
    assert run.status == "done" and run.result["error_count"] == 0
    # Kept for the import, encrypted at rest; the storage serves no URL for it.
    with run.file.storage.inner.open(run.file.name, "rb") as raw:
        assert raw.read().startswith(MAGIC)
    page = client.get(location).content.decode()
    assert "The file is clean" in page and "Import 3 entries" in page
    assert not Contribution.objects.exists()

    response = background(client, {"url": location})
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.mode, run.status, run.result["imported"]) == ("apply", "done", 3)
    assert not run.file
    assert sorted(Contribution.objects.values_list(*fields, "description", "status")) == (
        synchronous
    )
    assert (
        sorted(Contribution.history.model.objects.values_list("history_change_reason")) == reasons
    )
    assert "3 entries were imported." in client.get(location).content.decode()

    # Sent again (a second click, another tab): nothing more.
    background(client, {"url": location})
    assert Contribution.objects.count() == 3


def test_another_persons_import_page_is_not_found(
    client, coordinator, coordinator2, engagement, background
):
    client.force_login(coordinator)
    location = send(client, background, clean_file(engagement))["Location"]
    client.force_login(coordinator2)
    assert client.get(location).status_code == 404
    assert client.post(location).status_code == 404
    assert not Contribution.objects.exists()


def test_a_waiting_import_shows_its_progress_and_a_refresh_link(client, coordinator):
    run = ImportRun.objects.create(
        by=coordinator, digest="0" * 64, size=200, bytes_done=50, status="running"
    )
    client.force_login(coordinator)
    page = client.get(reverse("engagements:import_run", kwargs={"public_id": run.public_id}))
    text = page.content.decode()
    assert '<progress id="import-progress-bar" max="100" value="25">' in text
    assert "25% of the file read." in text and "data-still-waiting" in text
    assert ">Refresh</a>" in text and "live-refresh.js" in text


def test_max_reported_rows_is_the_old_cap():
    # Files the import accepted before it streamed are reported row for row as before.
    assert MAX_REPORTED_ROWS == 5000


def test_a_check_older_than_an_hour_is_not_imported_and_its_file_goes(
    client, coordinator, engagement, background
):
    client.force_login(coordinator)
    location = send(client, background, clean_file(engagement))["Location"]
    run = ImportRun.objects.get()
    name = run.file.name
    ImportRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=2))
    response = background(client, {"url": location})
    assert response["Location"] == reverse("engagements:import")
    run.refresh_from_db()
    assert run.mode == "check" and not run.file
    assert not run.file.storage.exists(name)
    assert not Contribution.objects.exists()


def test_a_file_imported_over_an_hour_ago_is_not_imported_again(
    client, coordinator, coordinator2, engagement, background, monkeypatch
):
    # Two coordinators check the same file; the first imports it.
    content = clean_file(engagement)
    client.force_login(coordinator2)
    other = send(client, background, content)["Location"]
    client.force_login(coordinator)
    first = send(client, background, content)["Location"]
    background(client, {"url": first})
    assert Contribution.objects.count() == 3
    # An hour on, the cache mark is gone; the second check was made just now.
    cache.clear()
    client.force_login(coordinator2)
    response = background(client, {"url": other})
    assert response["Location"] == other
    assert Contribution.objects.count() == 3
    assert ImportRun.objects.filter(mode="apply").count() == 1
    # Nor through the small file's path.
    monkeypatch.setattr("engagements.views.imports.BACKGROUND_IMPORT_BYTES", 1024 * 1024)
    client.force_login(coordinator)
    checked = client.post(
        IMPORT, {"file": SimpleUploadedFile("h.csv", content.encode(), content_type="text/csv")}
    )
    response = client.post(IMPORT, {"token": checked.context["token"]})
    assert "This file was already imported" in str(list(get_messages(response.wsgi_request)))
    assert Contribution.objects.count() == 3


def test_two_imports_of_the_same_file_cannot_both_hold_it(coordinator):
    ImportRun.objects.create(by=coordinator, digest="a" * 64, size=1, mode="apply", applied=True)
    # A run that failed, or imported nothing, does not hold the digest.
    ImportRun.objects.create(by=coordinator, digest="a" * 64, size=1, mode="apply", status="failed")
    ImportRun.objects.create(by=coordinator, digest="a" * 64, size=1, mode="apply", status="done")
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportRun.objects.create(by=coordinator, digest="a" * 64, size=1, mode="apply")


def test_a_run_that_fails_does_not_keep_its_file(
    client, coordinator, engagement, background, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("the worker broke")

    monkeypatch.setattr("engagements.import_once.run_import", broken)
    client.force_login(coordinator)
    send(client, background, clean_file(engagement))  # the task's error is logged
    run = ImportRun.objects.get()
    assert run.status == "failed" and not run.file
    assert not run.file.storage.listdir("imports")[1]


def test_the_sweeper_deletes_import_files_kept_past_the_hour(
    client, coordinator, engagement, background, caplog, monkeypatch
):
    client.force_login(coordinator)
    send(client, background, clean_file(engagement))  # checked clean, never imported
    old = ImportRun.objects.get()
    stuck = ImportRun.objects.create(by=coordinator, digest="b" * 64, size=1, mode="apply")
    stuck.file.save("stuck.csv", ContentFile(b"x"))  # left queued by a killed worker
    fresh = ImportRun.objects.create(by=coordinator, digest="c" * 64, size=1)
    fresh.file.save("fresh.csv", ContentFile(b"x"))
    names = [old.file.name, stuck.file.name]
    two_hours_ago = timezone.now() - timedelta(hours=2)
    ImportRun.objects.filter(pk__in=[old.pk, stuck.pk]).update(created_at=two_hours_ago)

    out = io.StringIO()
    call_command("payments_sweep", stdout=out)
    assert "2 import file(s) deleted." in out.getvalue()
    for run in (old, stuck, fresh):
        run.refresh_from_db()
    assert not old.file and not stuck.file and fresh.file
    assert not any(fresh.file.storage.exists(name) for name in names)
    assert fresh.file.storage.exists(fresh.file.name)

    # A failure is logged by its class and the sweep goes on.
    def broken():
        raise DatabaseError("secret value")

    monkeypatch.setattr("payments.management.commands.payments_sweep.forget_stale_files", broken)
    call_command("payments_sweep", stdout=io.StringIO())
    assert "import file cleanup failed (DatabaseError)" in caplog.text
    assert "secret value" not in caplog.text


def test_a_check_takes_no_row_locks_and_an_import_waits_its_turn(engagement, coordinator):
    content = clean_file(engagement).encode()
    with CaptureQueriesContext(connection) as check:
        assert run_import(content=content, by=coordinator, commit=False).clean
    assert not any("FOR UPDATE" in q["sql"].upper() for q in check)
    with CaptureQueriesContext(connection) as apply:
        assert run_import(content=content, by=coordinator, commit=True).imported == 3
    sql = " ".join(q["sql"] for q in apply)
    if connection.vendor == "postgresql":
        assert "FOR UPDATE" in sql.upper()
        assert sql.index("pg_advisory_xact_lock") < sql.upper().index("FOR UPDATE")


def test_a_deadlock_during_an_import_is_a_file_error_not_a_server_error(
    client, coordinator, engagement, monkeypatch
):
    real = imports.contributions_import_chunk

    def deadlocked(*, by, rows, lock):
        if lock:
            raise OperationalError("deadlock detected")
        return real(by=by, rows=rows, lock=lock)

    monkeypatch.setattr("engagements.imports.contributions_import_chunk", deadlocked)
    client.force_login(coordinator)
    content = clean_file(engagement).encode()
    checked = client.post(
        IMPORT, {"file": SimpleUploadedFile("h.csv", content, content_type="text/csv")}
    )
    response = client.post(IMPORT, {"token": checked.context["token"]})
    assert response.status_code == 409
    assert "The database was busy and nothing was imported." in response.content.decode()
    assert not Contribution.objects.exists()


def test_an_upload_above_the_memory_limit_never_touches_the_disk(
    client, coordinator, engagement, settings, tmp_path, monkeypatch
):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(uploads)
    made = []
    real_init = TemporaryUploadedFile.__init__

    def spy(self, *args, **kwargs):
        made.append(args)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", spy)
    content = clean_file(engagement) + "\n" * (3 * 1024 * 1024)  # blank lines: 3 MB
    assert len(content) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    client.force_login(coordinator)
    response = client.post(
        IMPORT, {"file": SimpleUploadedFile("big.csv", content.encode(), content_type="text/csv")}
    )
    assert response.status_code == 302  # a large file goes to a worker
    assert not made and not list(uploads.iterdir())


def test_the_import_form_still_needs_its_csrf_token(coordinator, engagement):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    content = clean_file(engagement).encode()
    response = client.post(
        IMPORT, {"file": SimpleUploadedFile("h.csv", content, content_type="text/csv")}
    )
    assert response.status_code == 403


def test_a_small_file_imported_over_an_hour_ago_is_not_imported_again_as_a_large_one(
    client, coordinator, engagement, background, monkeypatch
):
    content = clean_file(engagement)
    client.force_login(coordinator)
    with monkeypatch.context() as small:
        small.setattr("engagements.views.imports.BACKGROUND_IMPORT_BYTES", 1024 * 1024)
        checked = client.post(
            IMPORT,
            {"file": SimpleUploadedFile("h.csv", content.encode(), content_type="text/csv")},
        )
        client.post(IMPORT, {"token": checked.context["token"]})
    assert Contribution.objects.count() == 3
    cache.clear()  # an hour on
    location = send(client, background, content)["Location"]
    background(client, {"url": location})
    assert Contribution.objects.count() == 3
