"""Every page, every role: who gets in, who gets 403, who gets 404.

The table below must name every URL pattern the project serves outside the
admin and allauth; a new page without a row fails ``test_every_page_is_in_the_table``.
Pages about one record are requested as the owner, as a teammate (another
staff member) and as an outsider (another consultant), following STYLE.md.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.access_tables import PAGES

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "consultant", "outsider", "coordinator", "finance", "admin")

# The admin and allauth test themselves; the API has its own tables in tests/api/.
SKIP_PREFIXES = ("admin:", "account_", "mfa_", "usersessions_", "socialaccount_", "api:")


def _named_patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _named_patterns(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def test_every_page_is_in_the_table():
    names = {n for n in _named_patterns() if not n.startswith(SKIP_PREFIXES)}
    names = {n for n in names if not any(n.startswith(p) for p in ("admin", "account", "mfa"))}
    missing = sorted(names - set(PAGES))
    assert not missing, f"add these pages to PAGES with the status each role gets: {missing}"


@pytest.fixture
def people(consultant, outsider, coordinator, finance, admin_user, engagement):
    from datetime import date
    from decimal import Decimal

    from engagements.services.contributions import contribution_create
    from engagements.services.disputes import dispute_open
    from engagements.services.reviews import contribution_approve

    contribution = contribution_create(
        engagement=engagement,
        by=consultant.user,
        kind="hours",
        activity="work",
        date=date(2026, 3, 12),
        quantity=Decimal("2"),
    )
    dispute = dispute_open(contribution=contribution, by=consultant.user, comment="Was 3 hours")
    from django.core.files.uploadedfile import SimpleUploadedFile

    receipt_contribution = contribution_create(
        engagement=engagement,
        by=consultant.user,
        kind="reimbursement",
        activity="travel",
        date=date(2026, 3, 12),
        claimed_amount=Decimal("12.50"),
        attachment=SimpleUploadedFile("r.pdf", b"%PDF-1.4\n", content_type="application/pdf"),
    )
    # Payouts: approved work, built into a batch by finance, approved by a second
    # finance person, executed, and the check's hand-over recorded with proof.
    from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit
    from payments.services.finance import payment_record_manual
    from tests.factories import UserFactory

    paid_work = contribution_create(
        engagement=engagement,
        by=consultant.user,
        kind="hours",
        activity="meeting",
        date=date(2026, 3, 10),
        quantity=Decimal("1"),
    )
    contribution_approve(contribution=paid_work, by=coordinator)
    batch = batch_build(by=finance, cutoff_date=date(2026, 3, 31))
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=UserFactory(roles=["finance"]))
    batch_execute(batch=batch, by=finance)
    payment = payment_record_manual(
        payment=batch.payments.get(),
        by=finance,
        reference="1001",
        handed_over_on=date(2026, 4, 1),
        proof=SimpleUploadedFile("proof.pdf", b"%PDF-1.4\n", content_type="application/pdf"),
    )
    # Its receipt and the owner's statement for the year, rendered as a worker would.
    from payments.documents.receipts import receipt_issue
    from payments.documents.statements import statement_generate

    receipt = receipt_issue(payment_id=payment.pk)
    statement = statement_generate(consultant=consultant, year=receipt.year, by=consultant.user)
    records = {
        "batch": batch,
        "payment": payment,
        "receipt": receipt,
        "statement": statement,
        "receipt_contribution": receipt_contribution,
        "engagement": engagement,
        "consultant": consultant,
        "contribution": contribution,
        "dispute": dispute,
        "study": engagement.phase.study,
        "agreement": engagement.agreement_versions.order_by("-number").first(),
    }
    from engagements.models import ImportRun

    # A large file's import page: only the coordinator who uploaded it sees it.
    records["import_run"] = ImportRun.objects.create(
        by=coordinator, digest="0" * 64, size=1, status=ImportRun.Status.DONE
    )
    from consents.services import consent_request

    records["consent_request"] = consent_request(
        engagement=engagement,
        by=coordinator,
        use="words",
        purpose="A quote in the final report",
        audience="public_report",
        duration="publication",
        publication="The final report",
        attribution="anonymous",
        honoraria=1,
    )
    return {
        "anonymous": None,
        "consultant": consultant.user,
        "outsider": outsider.user,
        "coordinator": coordinator,
        "finance": finance,
        "admin": admin_user,
        "records": records,
    }


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_role_gets_what_the_table_says(client, people, name):
    from django.urls import reverse

    builder, expected = PAGES[name]
    kwargs = builder(people["records"]) if builder else {}
    url = reverse(name, kwargs=kwargs)
    for role in ROLES:
        client.logout()
        user = people[role]
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == expected[role], f"{name} as {role}: {response.status_code}"
        if response.get("Content-Type", "").startswith("text/html"):
            policy = response.get("Content-Security-Policy", "")
            assert "script-src 'self'" in policy and "unsafe" not in policy, f"{name}: {policy}"
