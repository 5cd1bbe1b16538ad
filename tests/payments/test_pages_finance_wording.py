"""Finance pages in plain words: one method label (not wrapped around the rail's name),
statements counted with singular and plural, human dates rather than ISO dates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from consultants.models import PayoutMethod
from payments.models import StripeAccount
from tests.payments.payout_support import build, consultant_with_work, executed_batch

pytestmark = pytest.mark.django_db


def _progress(paid, have):
    text = render_to_string(
        "payments/_statement_progress.html",
        {"progress": SimpleNamespace(paid=paid, with_statement=have), "year": 2026},
    )
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("paid", "have", "sentence"),
    [
        (0, 0, "Nobody was paid in 2026."),
        (1, 0, "The one consultant paid in 2026 has no statement yet."),
        (1, 1, "The one consultant paid in 2026 has a statement."),
        (4, 1, "Statements ready for 1 of the 4 consultants paid in 2026."),
        (4, 4, "Statements ready for 4 of the 4 consultants paid in 2026."),
    ],
)
def test_statement_progress_reads_plainly_in_singular_and_plural(paid, have, sentence):
    assert _progress(paid, have) == sentence


def test_a_payment_names_its_method_once(client, finance, finance2, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.CHECK, name="Rowan")
    wren = consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")
    StripeAccount.objects.create(
        consultant=wren, account_id="acct_wren", payouts_enabled=True, transfers_active=True
    )
    batch = build(by=finance)
    client.force_login(finance)
    for method, label in (
        (PayoutMethod.CHECK, "Check"),
        (PayoutMethod.STRIPE, "Direct deposit (Stripe)"),
    ):
        payment = batch.payments.get(method=method)
        page = client.get(reverse("payments:payment", kwargs={"public_id": payment.public_id}))
        text = page.content.decode()
        assert f"<dt>Method</dt><dd>{label}</dd>" in text
        assert "Manual (check, card or cash)" not in text
        assert "Stripe Connect transfer" not in text


def test_the_batch_page_puts_summary_and_flags_before_the_actions(client, finance, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.STRIPE, name="Wren")  # held
    batch = build(by=finance)
    client.force_login(finance)
    text = client.get(reverse("payments:batch", kwargs={"public_id": batch.public_id})).content
    text = text.decode()
    summary, flags = text.index('id="summary-title"'), text.index('id="flags-title"')
    send, cancel = text.index("Send for approval</button>"), text.index("Cancel the batch")
    assert summary < flags < send < cancel
    # An "On this page" list links to every section, the flags counted.
    start = text.index('aria-label="On this page"')
    nav = text[start : text.index("</nav>", start)]
    assert start < summary
    for anchor in ("#summary-title", "#flags-title", "#actions-title", "#payments-title"):
        assert f'href="{anchor}"' in nav
    assert "Pre-flight flags (1)" in nav


def test_finance_pages_write_human_dates(client, finance, finance2, coordinator):
    consultant_with_work(approver=coordinator, method=PayoutMethod.CHECK, name="Rowan")
    batch = executed_batch(builder=finance, approver=finance2)
    client.force_login(finance)
    text = client.get(reverse("payments:batch", kwargs={"public_id": batch.public_id})).content
    # Only the machine-readable datetime attribute may carry an ISO date.
    visible = text.decode().replace('datetime="', "")
    assert "2026-03-31" not in visible and "31 March 2026" in visible
