"""Importing historical entries: a dry run that changes nothing, then all or nothing."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from engagements.models import Contribution
from tests.engagements.pages_support import text
from tests.factories import ConsultantFactory

pytestmark = pytest.mark.django_db
IMPORT = "/import/"
HEADER = "consultant,phase,role,date,kind,activity,quantity,amount,description,status\n"


def upload(client, content: str, name="hours.csv"):
    return client.post(
        reverse("engagements:import"),
        {"file": SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")},
    )


def clean_file(engagement) -> str:
    phase = engagement.phase.name
    return HEADER + (
        f"River,{phase},Advisor,2026-01-05,hours,work,2.5,,Kick-off,approved\n"
        f"river,{phase},,01/06/2026,honorarium,meeting,1,150.00,Panel,submitted\n"
        f"{engagement.consultant.public_id},{phase},Advisor,2026-01-07,reimbursement,travel,,23.40,Bus,\n"
    )


def test_dry_run_lists_every_rows_errors_by_number_and_changes_nothing(
    client, coordinator, engagement
):
    phase = engagement.phase.name
    content = HEADER + (
        f"River,{phase},Advisor,2026-01-05,hours,work,2.5,,ok,\n"
        f"Nobody,{phase},Advisor,2026-01-05,hours,work,1,,,\n"
        f"River,{phase},Advisor,yesterday,hours,dancing,1.1,,,\n"
        "\n"
        f"River,{phase},Advisor,2026-01-05,reimbursement,travel,,,,\n"
        f"River,{phase},Advisor,2026-01-05,hours,work,2,999.00,,paid\n"
        f"River,{phase},Advisor,2099-01-05,hours,work,1,,,\n"
    )
    client.force_login(coordinator)
    response = upload(client, content)
    assert response.status_code == 400
    report = response.context["report"]
    errors = {r.number: r.errors for r in report.error_rows}
    assert sorted(errors) == [2, 3, 5, 6, 7]
    assert errors[2] == ["No consultant is called “Nobody”."]
    assert len(errors[3]) == 2  # the date and the activity, reported together
    assert any("not a date" in e for e in errors[3])
    assert any("activity must be one of" in e for e in errors[3])
    assert errors[5] == ["A reimbursement needs the amount spent."]
    assert any("rate card gives 120.00" in e for e in errors[6])
    assert any("status must be approved or submitted" in e for e in errors[6])
    assert errors[7] == ["The date of the work cannot be in the future."]  # from the service
    page = text(response)
    assert "Row 2 (line 3)" in page and "Row 7 (line 8)" in page
    assert 'name="token"' not in page  # no import button for a file with errors
    assert Contribution.objects.count() == 0
    assert not Contribution.history.model.objects.exists()


def test_header_errors_are_listed(client, coordinator, engagement):
    client.force_login(coordinator)
    response = upload(client, "consultant,when,kind\nRiver,2026-01-01,hours\n")
    errors = response.context["report"].header_errors
    assert any("Unknown column “when”" in e for e in errors)
    assert any("“date” is missing" in e for e in errors)
    assert any("“activity” is missing" in e for e in errors)
    assert any("phase" in e for e in errors)
    assert Contribution.objects.count() == 0


def test_a_clean_file_imports_every_row_in_one_go(client, coordinator, engagement):
    client.force_login(coordinator)
    dry = upload(client, clean_file(engagement))
    assert dry.status_code == 200
    assert dry.context["report"].clean
    assert Contribution.objects.count() == 0  # the dry run kept nothing
    token = dry.context["token"]
    assert token and "no-store" in dry["Cache-Control"]

    response = client.post(reverse("engagements:import"), {"token": token})
    assert response.status_code == 302
    rows = list(Contribution.objects.order_by("date"))
    assert [(r.kind, r.quantity, r.claimed_amount) for r in rows] == [
        ("hours", Decimal("2.50"), None),
        ("honorarium", Decimal("1.00"), None),
        ("reimbursement", Decimal("1.00"), Decimal("23.40")),
    ]
    # Imported entries wait for someone other than the importer to approve them.
    assert {r.status for r in rows} == {Contribution.Status.SUBMITTED}
    assert {r.logged_by_id for r in rows} == {coordinator.pk}
    first = rows[0].history.latest()
    assert first.history_action == "contribution.imported"
    assert first.history_change_reason == (
        "Imported from a spreadsheet, row 1; marked approved in the spreadsheet"
    )
    # The token is single use.
    again = client.post(reverse("engagements:import"), {"token": token})
    assert again.status_code == 302
    assert Contribution.objects.count() == 3


def test_a_row_that_fails_at_import_time_imports_nothing(client, coordinator, engagement):
    client.force_login(coordinator)
    dry = upload(client, clean_file(engagement))
    # Between the dry run and the import the engagement ends.
    engagement.status = "ended"
    engagement.save()
    response = client.post(reverse("engagements:import"), {"token": dry.context["token"]})
    assert response.status_code == 409
    assert Contribution.objects.count() == 0
    assert len(response.context["report"].error_rows) == 3


def test_a_file_with_one_bad_row_imports_nothing(client, coordinator, engagement):
    content = (
        clean_file(engagement)
        + f"River,{engagement.phase.name},Advisor,2026-01-08,hours,work,0.1,,,\n"
    )
    client.force_login(coordinator)
    response = upload(client, content)
    assert response.status_code == 400
    assert [r.number for r in response.context["report"].error_rows] == [4]
    assert response.context["token"] == ""
    assert Contribution.objects.count() == 0


def test_a_tampered_or_foreign_token_is_refused(client, coordinator, coordinator2, engagement):
    client.force_login(coordinator)
    token = upload(client, clean_file(engagement)).context["token"]
    response = client.post(reverse("engagements:import"), {"token": token[:-3] + "abc"})
    assert response.status_code == 302
    assert Contribution.objects.count() == 0
    client.force_login(coordinator2)  # another person, another session
    response = client.post(reverse("engagements:import"), {"token": token})
    assert response.status_code == 302
    assert Contribution.objects.count() == 0


def test_an_ambiguous_display_name_must_use_the_id(client, coordinator, engagement):
    ConsultantFactory(display_name="River")
    client.force_login(coordinator)
    response = upload(
        client, HEADER + f"River,{engagement.phase.name},,2026-01-05,hours,work,1,,,\n"
    )
    assert response.context["report"].error_rows[0].errors == [
        "More than one consultant is called “River”; use their id instead."
    ]


def test_duplicates_of_existing_entries_are_flagged_but_allowed(client, coordinator, engagement):
    client.force_login(coordinator)
    dry = upload(client, clean_file(engagement))
    client.post(reverse("engagements:import"), {"token": dry.context["token"]})
    again = upload(client, clean_file(engagement))
    assert again.status_code == 200
    assert len(again.context["report"].warning_rows) == 3


def test_a_file_that_is_not_utf8_is_explained(client, coordinator, engagement):
    client.force_login(coordinator)
    response = client.post(
        reverse("engagements:import"),
        {"file": SimpleUploadedFile("x.csv", "consultant\nJosé\n".encode("cp1252"))},
    )
    assert "CSV UTF-8" in text(response)


def test_template_download(client, coordinator):
    client.force_login(coordinator)
    response = client.get(IMPORT + "?format=csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.strip() == (
        "consultant,study,phase,role,engagement,date,kind,activity,quantity,amount,"
        "description,status"
    )
