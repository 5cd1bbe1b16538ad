"""Importing historical entries from a CSV: a dry run first, then all or nothing, once.

The page is thin: ``engagements.import_once`` holds the rule that a checked file
is imported once, and ``engagements.imports`` reads and checks the file.
"""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.access import coordinator_required
from core.csv import csv_response, wants_csv
from engagements import imports
from engagements.forms import ImportForm
from engagements.import_once import check_file, import_checked_file


def _no_store(response):
    response["Cache-Control"] = "private, no-store"
    return response


@coordinator_required
def import_contributions(request):
    """Import historical entries from a CSV: a dry run first, then all or nothing."""
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
            messages.success(
                request,
                ngettext(
                    "%(count)d entry was imported. It waits for approval by another "
                    "coordinator on the Review page.",
                    "%(count)d entries were imported. They wait for approval by another "
                    "coordinator on the Review page.",
                    report.imported,
                )
                % {"count": report.imported},
            )
            return redirect("engagements:import")
        # Something changed since the dry run: nothing was imported.
        status = 409
    elif request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > imports.MAX_IMPORT_BYTES:
                form.add_error(
                    "file", _("The file is larger than 1 MB. Split it into smaller files.")
                )
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
        },
        status=status,
    )
    return _no_store(response)
