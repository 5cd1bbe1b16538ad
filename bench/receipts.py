"""Receipts per second per worker: Honora's whole path against bare WeasyPrint.

    uv run python bench/receipts.py [--n 1000]   (--size is the same)

Honora's path per receipt: read the row, build the HTML (template, QR code),
render with WeasyPrint, hash, store through Django's storage, record. The
baseline renders the very same HTML strings with WeasyPrint and nothing else.
The target: Honora's overhead stays under 20 %. The two are
timed interleaved, pair by pair, so load drift hits both. Runs on a throwaway SQLite
database and storage folder, in one process (one worker).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
WORKDIR = tempfile.mkdtemp(prefix="honora-bench-")
os.environ["HONORA_VAR_DIR"] = WORKDIR
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{WORKDIR}/bench.sqlite3")
os.environ["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"

import django  # noqa: E402

django.setup()

from datetime import date  # noqa: E402

from django.core.management import call_command  # noqa: E402
from weasyprint import HTML  # noqa: E402

from accounts.models import User  # noqa: E402
from demo.data import seed_demo  # noqa: E402
from payments.documents.models import Receipt  # noqa: E402
from payments.documents.receipts import _create_receipt, receipt_html, receipt_render  # noqa: E402
from payments.models import Payment  # noqa: E402
from payments.services.batches import batch_approve, batch_build, batch_execute, batch_submit  # noqa: E402
from payments.services.finance import payment_record_manual  # noqa: E402


def one_paid_payment() -> Payment:
    seed_demo()
    finance = User.objects.get(email="finance@example.org")
    finance2 = User.objects.get(email="finance2@example.org")
    batch = batch_build(by=finance, cutoff_date=date.today(), method="check")
    batch_submit(batch=batch, by=finance)
    batch_approve(batch=batch, by=finance2)
    batch_execute(batch=batch, by=finance2)
    payment = batch.payments.filter(status="processing").first()
    return payment_record_manual(
        payment=payment, by=finance, reference="1001", handed_over_on=date.today()
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", "--size", dest="n", type=int, default=1000, help="receipts (pairs)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    payment = one_paid_payment()
    receipts = [_create_receipt(payment) for _ in range(args.n)]
    print(f"{args.n} receipts of {len(receipts[0].lines)} items each; workdir {WORKDIR}")

    # Warm-up both paths (fonts, template loading) outside the timings.
    for html in [receipt_html(receipts[0])] * 3:
        HTML(string=html).write_pdf()

    # Interleaved pair by pair (bare 1, Honora 1, bare 2, Honora 2 ...), so load drift
    # on a shared machine lands on both sides alike.
    htmls = [receipt_html(r) for r in receipts]
    bare_times: list[float] = []
    honora_times: list[float] = []
    for html, r in zip(htmls, receipts, strict=True):
        start = time.perf_counter()
        HTML(string=html).write_pdf()
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        receipt_render(receipt_id=r.pk)
        honora_times.append(time.perf_counter() - start)
    bare, honora = sum(bare_times), sum(honora_times)

    assert Receipt.objects.filter(sha256="").count() == 0
    overhead = honora / bare - 1
    bare_median, honora_median = median(bare_times), median(honora_times)
    print(f"pairs (interleaved): {args.n}")
    print(
        f"WeasyPrint alone : {args.n / bare:7.2f} receipts/s per worker ({bare:.1f} s),"
        f" median {bare_median * 1000:.1f} ms"
    )
    print(
        f"Honora           : {args.n / honora:7.2f} receipts/s per worker ({honora:.1f} s),"
        f" median {honora_median * 1000:.1f} ms"
    )
    print(f"ratio of medians : {honora_median / bare_median:6.2f}x")
    print(f"Honora overhead  : {overhead * 100:6.1f} % of the totals (target under 20 %)")


if __name__ == "__main__":
    main()
