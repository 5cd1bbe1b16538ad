"""The staff page that previews and publishes, and the public pages that show reports.

Public pages need no sign-in and set nothing: they read a published row and show
it. A report never changes, so its downloads may be cached anywhere; the HTML pages
are cached by the browser only (the language switch carries a CSRF cookie).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from accounts.access import coordinator_required, get_visible_or_404
from core.csv import csv_response
from core.errors import DomainError
from core.forms import show_error
from engagements.models import Study
from transparency import selectors, services
from transparency.display import csv_rows, for_reading
from transparency.forms import PeriodForm, PublishForm
from transparency.report import canonical, report_for, sha256

PUBLIC_MAX_AGE = 300
DOWNLOAD_MAX_AGE = 86400


@coordinator_required
def study(request, public_id):
    study = get_visible_or_404(Study.objects.all(), public_id=public_id)
    status = 200
    if request.method == "POST":
        publish = PublishForm(request.POST, prefix="publish")
        period = PeriodForm({"period_end": request.POST.get("publish-period_end", "")})
        if publish.is_valid():
            try:
                publication = services.publication_publish(
                    study=study,
                    period_end=publish.cleaned_data["period_end"],
                    by=request.user,
                    reason=publish.cleaned_data["reason"],
                    previewed=publish.cleaned_data["previewed"],
                )
            except DomainError as exc:
                status = show_error(publish, exc)
            else:
                messages.success(request, _("The report is published. Anyone can now read it."))
                return redirect("transparency:report", public_id=publication.public_id)
        else:
            status = 400
    else:
        period = PeriodForm(request.GET or {"period_end": timezone.localdate()})
        publish = None
    doc = None
    if period.is_valid():
        end = period.cleaned_data["period_end"]
        doc = report_for(study, end, start=services.next_period_start(study))
        if publish is None:
            publish = PublishForm(
                prefix="publish",
                initial={"period_end": end, "previewed": sha256(canonical(doc))},
            )
    elif status == 200:
        status = 400
    return render(
        request,
        "transparency/study.html",
        {
            "study": study,
            "period": period,
            "publish": publish,
            "doc": for_reading(doc) if doc else None,
            "publications": selectors.publications_of(study),
            "period_start": services.next_period_start(study),
        },
        status=status,
    )


def _public(response: HttpResponse, max_age: int = PUBLIC_MAX_AGE) -> HttpResponse:
    patch_cache_control(response, private=True, max_age=max_age)
    return response


@require_safe
def index(request):
    return _public(
        render(request, "transparency/index.html", {"studies": selectors.studies_published()})
    )


def _publication(public_id):
    return get_visible_or_404(selectors.publications_public(), public_id=public_id)


@require_safe
def report(request, public_id):
    publication = _publication(public_id)
    doc = selectors.document_of(publication)
    return _public(
        render(
            request,
            "transparency/report.html",
            {"publication": publication, "doc": for_reading(doc), "study": publication.study},
        )
    )


def _download(response: HttpResponse) -> HttpResponse:
    # The bytes of a publication never change.
    response["Cache-Control"] = f"public, max-age={DOWNLOAD_MAX_AGE}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
def report_json(request, public_id):
    publication = _publication(public_id)
    response = HttpResponse(
        publication.document.encode(), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="transparency-{publication.period_end.isoformat()}.json"'
    )
    return _download(response)


@require_safe
def report_csv(request, public_id):
    publication = _publication(public_id)
    response = csv_response(
        header=["table", "row", "measure", "value", "not_shown"],
        rows=csv_rows(selectors.document_of(publication)),
        filename=f"transparency-{publication.period_end.isoformat()}.csv",
    )
    return _download(response)
