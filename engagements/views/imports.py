"""Importing historical entries from a CSV: a dry run first, then all or nothing, once.

The page is thin: ``engagements.import_once`` holds the rule that a checked file
is imported once, and ``engagements.imports`` reads and checks the file.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.access import coordinator_required, get_visible_or_404
from core.csv import csv_response, wants_csv
from engagements import imports
from engagements.forms import ImportForm
from engagements.import_once import (
    BACKGROUND_IMPORT_BYTES,
    check_file,
    import_checked_file,
    run_apply_start,
    run_check_start,
)
from engagements.models import ImportRun


def _no_store(response):
    response["Cache-Control"] = "private, no-store"
    return response


def imported_message(count: int) -> str:
    return ngettext(
        "%(count)d entry was imported. It waits for approval by another "
        "coordinator on the Review page.",
        "%(count)d entries were imported. They wait for approval by another "
        "coordinator on the Review page.",
        count,
    ) % {"count": count}


class _ImportMemoryUploadHandler(MemoryFileUploadHandler):
    """Keeps an upload up to the import's largest file in memory, never on disk.

    The default keeps only FILE_UPLOAD_MAX_MEMORY_SIZE (2 MB) in memory and writes
    a larger one in plain text to the temporary directory; a large import is kept
    only encrypted (``import_once``), so its plain text stays in memory.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The multipart body is a little larger than the file (its headers, other fields).
        self.activated = content_length <= imports.MAX_IMPORT_BYTES + 64 * 1024


@csrf_exempt
def import_contributions(request):
    """Import historical entries from a CSV: a dry run first, then all or nothing."""
    # The upload handlers are set before anything reads the body: the CSRF check
    # reads it, so it runs inside (Django's documented pattern).
    request.upload_handlers = [_ImportMemoryUploadHandler(), TemporaryFileUploadHandler()]
    return _import_contributions(request)


@coordinator_required
@csrf_protect
def _import_contributions(request):
    if wants_csv(request):
        return csv_response(
            header=imports.IMPORT_TEMPLATE_HEADER, rows=[], filename="import-template.csv"
        )
    user = request.user
    form = ImportForm()
    report = None
    token = ""
    status = 200
    if request.method == "POST" and "token" in request.POST:
        attempt = import_checked_file(token=request.POST["token"], by=user, session=request.session)
        if attempt.outcome == "unchecked":
            messages.error(request, _("Check the file again before importing it."))
            return redirect("engagements:import")
        if attempt.outcome == "already_imported":
            messages.error(
                request,
                _(
                    "This file was already imported, or is being imported right now. "
                    "Look for its entries on the Review page before importing it again."
                ),
            )
            return redirect("engagements:import")
        report = attempt.report
        if attempt.outcome == "imported":
            messages.success(request, imported_message(report.imported))
            return redirect("engagements:import")
        # Something changed since the dry run: nothing was imported.
        status = 409
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > imports.MAX_IMPORT_BYTES:
                form.add_error("file", imports.too_large_message())
            elif upload.size > BACKGROUND_IMPORT_BYTES:
                # A large file is checked by a worker; its page shows how far it is.
                run = run_check_start(upload=upload, by=user)
                return redirect("engagements:import_run", public_id=run.public_id)
            else:
                report, token = check_file(content=upload.read(), by=user, session=request.session)
                if report.clean:
                    status = 200
    response = render(
        request,
        "engagements/import.html",
        {
            "form": form,
            "report": report,
            "token": token,
            "columns": imports.IMPORT_COLUMNS,
            "max_rows": imports.MAX_IMPORT_ROWS,
            "max_size": filesizeformat(imports.MAX_IMPORT_BYTES),
        },
        status=status,
    )
    return _no_store(response)


@coordinator_required
def import_run_page(request, public_id):
    """A large file checked, then imported, by a worker: its progress, then its report."""
    run = get_visible_or_404(ImportRun.objects.filter(by=request.user), public_id=public_id)
    if request.method == "POST":
        outcome = run_apply_start(run=run, by=request.user)
        if outcome == "unchecked":
            messages.error(request, _("Check the file again before importing it."))
            return redirect("engagements:import")
        if outcome == "already_imported":
            messages.error(
                request,
                _(
                    "This file was already imported, or is being imported right now. "
                    "Look for its entries on the Review page before importing it again."
                ),
            )
        return redirect("engagements:import_run", public_id=run.public_id)
    report = None
    if run.status == ImportRun.Status.DONE and run.result is not None:
        report = imports.ImportReport.from_json(run.result)
    response = render(
        request,
        "engagements/import_run.html",
        {
            "run": run,
            "report": report,
            "imported_message": imported_message(report.imported)
            if report and report.imported
            else "",
            "checked_clean": bool(
                report and report.clean and run.mode == ImportRun.Mode.CHECK and run.file
            ),
        },
    )
    return _no_store(response)
