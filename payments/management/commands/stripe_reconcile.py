"""Compare Honora's Stripe payments with Stripe's transfers; report every mismatch.

Reads only: it changes nothing here or at Stripe. Exits 1 when there is a mismatch,
so a scheduler can alert on it. Prints ids and amounts, never a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError

from payments.models import Payment, Rail, StripeAccount
from payments.stripe.client import StripeNotConfigured, stripe_client
from payments.stripe.provider import to_cents

PS = Payment.Status
CHECKED = (PS.PAID, PS.PROCESSING, PS.RETURNED, PS.FAILED)


@dataclass(frozen=True)
class Mismatch:
    kind: str
    payment: str  # the payment's public id, or "-"
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: payment {self.payment}: {self.detail}"


def _live(t) -> bool:
    return not t["reversed"] and (t.get("amount_reversed") or 0) < t["amount"]


def reconcile(*, since: date | None = None, client=None) -> list[Mismatch]:
    client = client or stripe_client()
    found: list[Mismatch] = []
    accounts = dict(StripeAccount.objects.values_list("consultant_id", "account_id"))
    payments = Payment.objects.filter(rail=Rail.STRIPE, status__in=CHECKED).order_by("id")
    if since is not None:
        payments = payments.filter(created_at__date__gte=since)
    for p in payments.iterator():
        group = str(p.public_id)
        transfers = [
            t.to_dict()
            for t in client.v1.transfers.list(
                params={"transfer_group": group, "limit": 100}
            ).auto_paging_iter()
        ]
        live = [t for t in transfers if _live(t)]
        live_ids = sorted(t["id"] for t in live)
        if p.status == PS.PAID and not live:
            found.append(
                Mismatch("paid_without_live_transfer", group, f"recorded {p.transfer_id or '-'}")
            )
        elif p.status == PS.PAID and p.transfer_id not in live_ids:
            found.append(
                Mismatch(
                    "recorded_transfer_not_live",
                    group,
                    f"recorded {p.transfer_id or '-'}, live {', '.join(live_ids)}",
                )
            )
        elif p.status in (PS.PROCESSING, PS.FAILED) and live:
            found.append(
                Mismatch(
                    "live_transfer_not_paid_locally",
                    group,
                    f"payment is {p.status}, live {', '.join(live_ids)}",
                )
            )
        elif p.status == PS.RETURNED and live:
            found.append(
                Mismatch("live_transfer_for_returned_payment", group, f"live {', '.join(live_ids)}")
            )
        if len(live) > 1:
            found.append(Mismatch("two_live_transfers", group, ", ".join(live_ids)))
        cents = to_cents(p.amount, p.currency)
        destination = accounts.get(p.consultant_id)
        for t in live:
            problems = []
            if t["amount"] != cents:
                problems.append(f"amount {t['amount']} cents, expected {cents}")
            if str(t["currency"]).lower() != p.currency.lower():
                problems.append(f"currency {t['currency']}, expected {p.currency.lower()}")
            if t["destination"] != destination:
                problems.append(f"destination {t['destination']}, expected {destination or '-'}")
            if problems:
                found.append(
                    Mismatch("transfer_differs", group, f"{t['id']}: {'; '.join(problems)}")
                )

    # Every transfer Stripe holds (since the date): each must belong to a payment.
    statuses = dict(
        (str(public_id), status)
        for public_id, status in Payment.objects.filter(rail=Rail.STRIPE).values_list(
            "public_id", "status"
        )
    )
    params: dict = {"limit": 100}
    if since is not None:
        params["created"] = {
            "gte": int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp())
        }
    for t in client.v1.transfers.list(params=params).auto_paging_iter():
        t = t.to_dict()
        group = t.get("transfer_group") or ""
        if group not in statuses:
            found.append(
                Mismatch(
                    "transfer_without_payment",
                    "-",
                    f"{t['id']} ({t['amount']} cents, group {group or '-'}, "
                    f"{'live' if _live(t) else 'reversed'})",
                )
            )
        elif statuses[group] not in CHECKED and _live(t):
            found.append(
                Mismatch(
                    "live_transfer_for_closed_payment",
                    group,
                    f"payment is {statuses[group]}, live {t['id']}",
                )
            )
    return found


class Command(BaseCommand):
    help = (
        "Compare local Stripe payments (paid, processing, returned, failed) with Stripe's "
        "transfers and report every mismatch. Changes nothing; exits 1 on a mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=date.fromisoformat,
            help="only payments created on or after this date (YYYY-MM-DD), and transfers "
            "created since then",
        )

    def handle(self, *args, since=None, **options):
        try:
            mismatches = reconcile(since=since)
        except StripeNotConfigured as exc:
            raise CommandError(str(exc)) from None
        for mismatch in mismatches:
            self.stdout.write(str(mismatch))
        if mismatches:
            raise CommandError(f"{len(mismatches)} mismatch(es) with Stripe", returncode=1)
        self.stdout.write(self.style.SUCCESS("Honora and Stripe agree."))
