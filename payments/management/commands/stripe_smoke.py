"""Run Honora's own Stripe code paths once against Stripe's test mode, for operators.

    manage.py stripe_smoke --api-key sk_test_...                 # a fresh account
    manage.py stripe_smoke --api-key sk_test_... --account acct_...  # an onboarded one

Each step is one line: ``ok`` or ``FAILED`` with Stripe's code and message (never
personal data: the account is created without any). The steps use the provider's own
functions (``payments.stripe.provider``), so what passes here is what Honora sends:

1. balance: the platform's available balance per source type;
2. account: a new Express connected account (``payments.stripe.accounts.stripe_account_params``,
   the parameters onboarding sends), unless
   ``--account`` names one;
3. account link: an onboarding link for it (printed: open it to onboard the account);
4. top-up: funds test mode from the bank (bank_account money), as a study's platform is;
5. transfer: to the account, from ``STRIPE_TRANSFER_SOURCE_TYPE``;
6. list: the transfer found again by its ``transfer_group``;
7. reversal: the transfer reversed in full.

A fresh Express account cannot receive transfers until it is onboarded (Stripe refuses
them), so without ``--account`` steps 5-7 are skipped and the command says how to go
on: open the link, finish onboarding with Stripe's test data, then run again with
``--account``. Exit status: 0 every step passed, 1 a step failed, 2 steps were skipped.
A live key (``sk_live_``/``rk_live_``) is refused before anything is sent.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.providers.base import ProviderError
from payments.stripe.accounts import stripe_account_params
from payments.stripe.client import stripe_client_for
from payments.stripe.provider import StripeProvider, transfer_params

STRIPE_API = "https://api.stripe.com"


def _amount(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise CommandError(f"--amount must be a decimal amount such as 1.00; got {raw!r}") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise CommandError(f"--amount must be a positive amount in cents such as 1.00; got {raw!r}")
    return value


class Step:
    """Prints each step's line and remembers whether any failed or was skipped."""

    def __init__(self, out) -> None:
        self.out = out
        self.failed = 0
        self.skipped = 0

    def ok(self, name: str, detail: str) -> None:
        self.out.write(f"ok       {name}: {detail}")

    def fail(self, name: str, exc: Exception) -> None:
        self.failed += 1
        cause = exc.__cause__ if isinstance(exc.__cause__, stripe.StripeError) else None
        if cause is not None:
            error = getattr(cause, "error", None)
            code = cause.code or getattr(error, "code", None) or type(cause).__name__
            message = (cause.user_message or str(cause)).strip()
        else:
            code = getattr(exc, "code", "") or type(exc).__name__
            message = getattr(exc, "message", "") or str(exc)
        self.out.write(f"FAILED   {name}: {code}: {message}")

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        self.out.write(f"skipped  {name}: {why}")


class Command(BaseCommand):
    help = (
        "Check Honora's Stripe calls against Stripe's test mode (sk_test_ key): account, "
        "onboarding link, top-up, transfer, list by transfer_group, reversal."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--api-key", help="a test-mode secret key (sk_test_...); default STRIPE_SECRET_KEY"
        )
        parser.add_argument(
            "--base-url",
            default=STRIPE_API,
            help=f"Stripe's API address (default {STRIPE_API}; the local sandbox for a try)",
        )
        parser.add_argument(
            "--account", help="an onboarded Express account (acct_...) to transfer to"
        )
        parser.add_argument(
            "--amount", default="1.00", help="what the transfer carries (default 1.00)"
        )
        parser.add_argument("--currency", default=None, help="default the site's CURRENCY")

    def handle(self, *args, **options):
        key = (options.get("api_key") or settings.STRIPE_SECRET_KEY or "").strip()
        if key.startswith(("sk_live_", "rk_live_")):
            raise CommandError(
                "That is a live-mode key: stripe_smoke moves money, so it runs only with a "
                "test-mode key (sk_test_...). Nothing was sent."
            )
        if not key.startswith(("sk_test_", "rk_test_")):
            raise CommandError(
                "Give a test-mode secret key (sk_test_...) with --api-key or STRIPE_SECRET_KEY."
            )
        base = options["base_url"].rstrip("/")
        if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise CommandError("--base-url must be an https:// address (or the local sandbox).")
        amount = _amount(options["amount"])
        currency = (options.get("currency") or settings.CURRENCY).upper()
        account_id = (options.get("account") or "").strip()
        if account_id and not account_id.startswith("acct_"):
            raise CommandError("--account is a connected account's id (acct_...).")

        provider = StripeProvider(stripe_client_for(api_key=key, api_base=base))
        step = Step(self.stdout)
        run = uuid.uuid4().hex[:12]  # one smoke run: its keys and transfer group
        self.stdout.write(
            f"Stripe smoke test against {base}: {amount} {currency}, transfers from "
            f"{settings.STRIPE_TRANSFER_SOURCE_TYPE} (run {run})"
        )
        self._run(provider, step, run=run, account_id=account_id, amount=amount, currency=currency)
        if step.failed:
            raise CommandError(f"smoke test failed: {step.failed} step(s) failed.", returncode=1)
        if step.skipped:
            raise CommandError(
                f"smoke test incomplete: {step.skipped} step(s) skipped (see above).", returncode=2
            )
        self.stdout.write("smoke test passed: every step ok.")

    def _run(self, provider, step: Step, *, run, account_id, amount, currency) -> None:
        try:
            balances = provider.available_balance()
            pool = balances.get(currency, {})
            shown = ", ".join(f"{t} {v}" for t, v in sorted(pool.items())) or "nothing"
            step.ok("balance", f"{currency} available: {shown}")
        except ProviderError as exc:
            step.fail("balance", exc)
            return  # the key or the address is wrong: nothing else would pass

        fresh = not account_id
        if fresh:
            country = settings.STRIPE_PLATFORM_COUNTRY
            try:
                account = provider.create_account(
                    params=stripe_account_params(
                        country=country, metadata={"honora_consultant": f"smoke-{run}"}
                    ),
                    idempotency_key=f"smoke-{run}-acct",
                )
                account_id = account["id"]
                step.ok("account", f"{account_id} (Express, {country})")
            except ProviderError as exc:
                step.fail("account", exc)
                return
        else:
            step.ok("account", f"{account_id} (given)")

        site = settings.SITE_URL.rstrip("/")
        try:
            url = provider.onboarding_link(
                account_id,
                refresh_url=f"{site}/me/payments/?stripe=refresh",
                return_url=f"{site}/me/payments/?stripe=return",
            )
            step.ok("account link", url)
        except ProviderError as exc:
            step.fail("account link", exc)

        try:
            topup = provider.topup(
                amount,
                currency,
                description="Honora stripe_smoke",
                idempotency_key=f"smoke-{run}-topup",
            )
            step.ok("top-up", f"{topup} ({amount} {currency} of bank_account money)")
        except ProviderError as exc:
            step.fail("top-up", exc)

        if fresh:
            why = (
                "a new Express account cannot receive transfers until it is onboarded. Open "
                f"the link above, finish with Stripe's test data, then run again with --account "
                f"{account_id}"
            )
            for name in ("transfer", "list", "reversal"):
                step.skip(name, why)
            return

        group = f"honora-smoke-{run}"
        try:
            executed = provider.send_transfer(
                transfer_params(
                    amount=amount,
                    currency=currency,
                    destination=account_id,
                    group=group,
                    attempt_number=1,
                ),
                idempotency_key=f"smoke-{run}-transfer",
            )
            step.ok("transfer", f"{executed.reference} to {account_id}")
        except ProviderError as exc:
            step.fail("transfer", exc)
            return

        try:
            found = [t.reference for t in provider.transfers_in_group(group)]
            if found != [executed.reference]:
                raise ProviderError(
                    f"transfer_group {group} lists {found or 'nothing'}",
                    kind=ProviderError.BUG,
                    code="list_mismatch",
                )
            step.ok("list", f"{group}: {executed.reference}")
        except ProviderError as exc:
            step.fail("list", exc)

        try:
            reversal = provider.reverse_transfer(
                executed.reference, group=group, idempotency_key=f"smoke-{run}-reversal"
            )
            step.ok("reversal", f"{reversal} of {executed.reference}")
        except ProviderError as exc:
            step.fail("reversal", exc)
