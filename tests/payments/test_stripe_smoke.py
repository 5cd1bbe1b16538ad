"""``manage.py stripe_smoke`` end to end against the sandbox (never real Stripe in CI)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.stripe_sandbox.fixtures import API_KEY


def smoke(*args: str) -> tuple[int, list[str]]:
    out = StringIO()
    try:
        call_command("stripe_smoke", *args, stdout=out)
    except CommandError as exc:
        out.write(f"error: {exc}\n")
        return exc.returncode, out.getvalue().splitlines()
    return 0, out.getvalue().splitlines()


def step_lines(lines: list[str]) -> dict[str, str]:
    """``{step: status}`` from the lines ``ok  step: ...``."""
    found = {}
    for line in lines:
        status, _, rest = line.partition(" ")
        if status in ("ok", "FAILED", "skipped"):
            found[rest.strip().split(":")[0]] = status
    return found


def test_a_fresh_account_gets_a_link_and_the_transfer_waits_for_onboarding(stripe_sandbox):
    code, lines = smoke("--api-key", API_KEY, "--base-url", stripe_sandbox.url)
    assert code == 2, lines
    assert step_lines(lines) == {
        "balance": "ok",
        "account": "ok",
        "account link": "ok",
        "top-up": "ok",
        "transfer": "skipped",
        "list": "skipped",
        "reversal": "skipped",
    }
    [account] = stripe_sandbox.state.accounts.values()
    assert account["tos_acceptance"]["service_agreement"] == "full"  # US platform, US account
    assert account["email"] is None  # nothing personal
    assert any(f"--account {account['id']}" in line for line in lines)
    [link_line] = [line for line in lines if line.startswith("ok       account link:")]
    assert f"{stripe_sandbox.url}/onboarding/" in link_line
    [topup] = stripe_sandbox.topups()
    assert topup["amount"] == 100
    assert stripe_sandbox.transfers() == []
    assert "incomplete" in lines[-1]


def test_an_onboarded_account_goes_through_every_step(stripe_sandbox, settings):
    settings.STRIPE_TRANSFER_SOURCE_TYPE = "bank_account"
    stripe_sandbox.set_balance(0)  # the smoke's own top-up funds its transfer
    account = stripe_sandbox.create_account(onboarded=True)
    code, lines = smoke(
        "--api-key", API_KEY, "--base-url", stripe_sandbox.url, "--account", account["id"]
    )
    assert code == 0, lines
    assert step_lines(lines) == {
        "balance": "ok",
        "account": "ok",
        "account link": "ok",
        "top-up": "ok",
        "transfer": "ok",
        "list": "ok",
        "reversal": "ok",
    }
    [transfer] = stripe_sandbox.transfers()
    assert transfer["destination"] == account["id"]
    assert transfer["amount"] == 100
    assert transfer["source_type"] == "bank_account"
    assert transfer["transfer_group"].startswith("honora-smoke-")
    assert transfer["reversed"] is True
    assert any(f"list: {transfer['transfer_group']}: {transfer['id']}" in line for line in lines)
    # Transfer, list and reversal went through the provider's own calls.
    paths = [(r["method"], r["path"]) for r in stripe_sandbox.requests]
    assert ("GET", "/v1/transfers") in paths
    assert ("POST", f"/v1/transfers/{transfer['id']}/reversals") in paths
    assert stripe_sandbox.balance(source_type="bank_account") == 100  # back after reversal
    assert lines[-1] == "smoke test passed: every step ok."


def test_a_failing_step_prints_stripes_code_and_message_and_exits_1(stripe_sandbox, settings):
    settings.STRIPE_TRANSFER_SOURCE_TYPE = "card"  # nothing there: Stripe refuses
    account = stripe_sandbox.create_account(onboarded=True)
    code, lines = smoke(
        "--api-key", API_KEY, "--base-url", stripe_sandbox.url, "--account", account["id"]
    )
    assert code == 1, lines
    [failed] = [line for line in lines if line.startswith("FAILED")]
    assert failed.startswith("FAILED   transfer: balance_insufficient: You have insufficient")
    assert stripe_sandbox.transfers() == []


@pytest.mark.parametrize("key", ["sk_live_abc123", "rk_live_abc123"])
def test_a_live_key_is_refused_before_anything_is_sent(stripe_sandbox, key):
    code, lines = smoke("--api-key", key, "--base-url", stripe_sandbox.url)
    assert code == 1
    assert "live-mode key" in lines[-1]
    assert stripe_sandbox.requests == []


def test_an_unknown_key_fails_at_the_first_step(stripe_sandbox):
    stripe_sandbox.api_keys = {API_KEY}
    code, lines = smoke("--api-key", "sk_test_not_ours", "--base-url", stripe_sandbox.url)
    assert code == 1
    assert step_lines(lines) == {"balance": "FAILED"}
    assert "api_key_invalid" in next(line for line in lines if line.startswith("FAILED"))
