"""Honora scales out: every production process at once, a payout batch over HTTP, a worker killed.

    uv run python bench/cluster.py [--payments 30] [--keep]

Not a test, and not timed: a proof run by CI (`.ci/run`, small size). With DEBUG=0 on
a fresh PostgreSQL database (``honora_cluster``) it starts, as real OS processes:

- its own Redis (the cache: rate limits, used TOTP codes) and an S3-compatible
  server (moto), where receipts are stored, encrypted;
- the local Stripe server, delivering webhooks to the first web process;
- the release step (``migrate``, ``createcachetable``, ``collectstatic``);
- two web processes (gunicorn, two workers each) on two ports, three task workers
  (``db_worker``) and the sweeper (``payments_sweep --every``).

It then plays a load balancer in front of the two web processes (it adds
``X-Forwarded-Proto: https``, as a TLS-terminating balancer does, and spreads the
requests round-robin): two finance people sign in with password and TOTP; the first
builds the batch and sends it for approval through one web process, the second
approves and executes it through the other. While the batch pays, it SIGKILLs one
worker in the middle of a payment (once some are paid and some are not) and waits,
with the two workers left and the sweeper, until every payment is settled and every
receipt is rendered. Then it checks and prints: every payment paid exactly once
(one live Stripe transfer each, none twice), every receipt stored in S3 encrypted,
downloaded over HTTP and hashing to its recorded SHA-256, and ``stripe_reconcile``
clean. It exits non-zero with the reason on any failure, and always stops what it
started and drops its database (``--keep`` keeps both, and the logs, for debugging).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _processes import (
    PG,
    ROOT,
    BenchFailure,
    Processes,
    create_fresh_database,
    drop_database,
    free_port,
    sandbox_argv,
    sandbox_control,
    wait_for,
    worker_argv,
)
from _seed import CUTOFF, seed_payees

DB_NAME = "honora_cluster"
BUCKET = "honora-cluster-private"
WEBHOOK_SECRET = "whsec_honora_cluster"
PASSWORD = "a long cluster pass phrase 42"
# How long the whole batch may take to settle on a slow, busy machine.
SETTLE_SECONDS = 900.0


# --- the processes ---------------------------------------------------------------------------


def web_argv(port: int) -> list[str]:
    """The production web process: the Procfile's ``web`` line (config/gunicorn.py), on ``port``.

    Two processes per server here (a 2-core machine runs two servers); the config file
    already turns gunicorn's per-user control socket off, so two servers never collide.
    """
    return [
        sys.executable, "-m", "gunicorn", "--config", "config/gunicorn.py", "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", "2",
    ]  # fmt: skip


def sweep_argv(every: float) -> list[str]:
    return [sys.executable, "manage.py", "payments_sweep", "--every", str(every)]


def production_env(*, tmp: Path, ports: dict[str, int]) -> dict[str, str]:
    """Every process's environment: production settings, the parts on loopback."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "STRIPE_", "AWS_", "PAYMENTS_", "SENTRY_"))
        and k not in ("DATABASE_URL", "REDIS_URL", "STORAGE_BACKEND", "SITE_URL", "DEBUG")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # TLS ends at the load balancer (here: this script), which says so in
            # X-Forwarded-Proto; the sandbox's webhooks come in plain HTTP on loopback.
            "BEHIND_TLS_PROXY": "1",
            "SECURE_SSL_REDIRECT": "0",
            "SITE_URL": "https://honora.example.org",
            "DATABASE_URL": f"{PG}/{DB_NAME}",
            "DB_CONN_MAX_AGE": "60",
            "REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
            "STORAGE_BACKEND": "storages.backends.s3.S3Storage",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{ports['s3']}",
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "cluster-bench-key",
            "AWS_SECRET_ACCESS_KEY": "cluster-bench-secret",
            "STATIC_ROOT": str(tmp / "static"),
            "HONORA_VAR_DIR": str(tmp / "var"),
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "STRIPE_SECRET_KEY": "sk_test_honora_cluster",
            "STRIPE_API_BASE": f"http://127.0.0.1:{ports['stripe']}",
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            # A killed worker's claim on a payment runs out quickly (timeout x tries +
            # margin = 20 s); the sweeper looks every 2 s, and takes a payment never started,
            # or a paid one without its receipt, as stuck after 30 s (receipts queue up
            # behind payments on a busy machine: a shorter time only adds duplicate tasks).
            "STRIPE_TIMEOUT": "5",
            "STRIPE_MAX_NETWORK_RETRIES": "1",
            "PAYMENTS_CLAIM_MARGIN_SECONDS": "5",
            "PAYMENTS_SWEEP_AFTER_SECONDS": "30",
            "PAYMENTS_RETRY_BASE_SECONDS": "1",
            # The workers say when they are ready ("Starting worker") at INFO.
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",  # the sweeper's report reaches its log as it sweeps
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    return env


@dataclass
class Cluster:
    processes: Processes
    env: dict[str, str]
    web_ports: list[int]
    workers: dict[str, subprocess.Popen]
    sandbox: object
    s3_url: str
    redis_port: int


def start_cluster(args, tmp: Path, processes: Processes) -> Cluster:
    ports = {name: free_port() for name in ("redis", "s3", "stripe")}
    web_ports = [free_port() for _ in range(args.web)]
    env = production_env(tmp=tmp, ports=ports)

    step("starting Redis, the S3 server and the Stripe sandbox")
    redis = processes.start(
        "redis",
        ["redis-server", "--port", str(ports["redis"]), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no"],
    )  # fmt: skip
    s3 = processes.start(
        "s3", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(ports["s3"])],
        env=env,
    )  # fmt: skip
    stripe = processes.start(
        "stripe",
        sandbox_argv(
            ports["stripe"],
            latency_ms=args.latency_ms,
            webhook_url=f"http://127.0.0.1:{web_ports[0]}/webhooks/stripe/",
            webhook_secret=WEBHOOK_SECRET,
        ),
        env=env,
    )
    import redis as redis_client

    wait_for(
        "Redis",
        lambda: redis_client.Redis(port=ports["redis"], socket_timeout=2).ping(),
        alive=lambda: redis.poll() is None,
    )
    s3_url = env["AWS_S3_ENDPOINT_URL"]
    s3_client = boto3_client(env)
    wait_for("the S3 server", s3_client.list_buckets, alive=lambda: s3.poll() is None)
    s3_client.create_bucket(Bucket=BUCKET)
    sandbox = sandbox_control(ports["stripe"], alive=lambda: stripe.poll() is None)

    step(f"release: a fresh database {DB_NAME}, migrate, createcachetable, collectstatic")
    create_fresh_database(DB_NAME)
    for command in (
        ["migrate", "--noinput"],
        ["createcachetable"],
        ["collectstatic", "--noinput"],
    ):
        code = processes.run(f"release-{command[0]}", manage(*command), env=env)
        if code != 0:
            raise BenchFailure(f"manage.py {' '.join(command)} failed (exit {code})")

    # This script reads and seeds the database through the ORM, with the same settings.
    os.environ.clear()
    os.environ.update(env)
    import django

    django.setup()
    step(f"seeding {args.payments} consultants onboarded in the Stripe sandbox")
    seed_payees(sandbox, args.payments, password=PASSWORD, totp_secrets=TOTP_SECRETS)

    step(f"starting {args.web} web processes (gunicorn), {args.workers} workers and the sweeper")
    webs = [processes.start(f"web-{port}", web_argv(port), env=env) for port in web_ports]
    workers = {}
    for i in range(1, args.workers + 1):
        name = f"worker-{i}"
        workers[name] = processes.start(
            name, worker_argv(f"cluster-{name}", interval=0.1, verbosity=1), env=env
        )
    processes.start("sweeper", sweep_argv(args.sweep_every), env=env)
    for port, web in zip(web_ports, webs, strict=True):
        wait_for(
            f"the web process on port {port}",
            lambda port=port: lb_get(port, "/accounts/login/").status_code == 200,
            alive=lambda web=web: web.poll() is None,
        )
    for name, worker in workers.items():
        wait_for(
            f"{name}",
            lambda name=name: f"worker_id=cluster-{name}" in processes.log_of(name),
            alive=lambda worker=worker: worker.poll() is None,
        )
    if processes.exited():
        raise BenchFailure(f"stopped at start: {', '.join(processes.exited())}")
    return Cluster(processes, env, web_ports, workers, sandbox, s3_url, ports["redis"])


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def boto3_client(env: dict[str, str]):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["AWS_S3_ENDPOINT_URL"],
        region_name=env["AWS_S3_REGION_NAME"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


# --- HTTP: this script as the load balancer ---------------------------------------------------

TOTP_SECRETS = ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class TlsEndsHere(DefaultCookiePolicy):
    """The balancer talks HTTPS to browsers: secure cookies go to the web processes too."""

    def return_ok_secure(self, cookie, request):
        return True


def lb_get(port: int, path: str):
    import requests

    return requests.get(
        f"http://127.0.0.1:{port}{path}",
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
        timeout=30,
    )


@dataclass
class Browser:
    """One person's browser behind the balancer: one cookie jar, requests spread round-robin
    over the web processes unless ``via`` pins one."""

    ports: list[int]
    sent: Counter = field(default_factory=Counter)

    def __post_init__(self):
        import requests

        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: never a proxy from the environment
        self.session.cookies.set_policy(TlsEndsHere())
        self._next = itertools.cycle(self.ports)

    def request(self, method: str, path: str, *, via: int | None = None, data=None,
                expect=(200,)):  # fmt: skip
        port = via or next(self._next)
        headers = {"X-Forwarded-Proto": "https"}
        if method == "POST":
            # What a browser sends with a form from this site (Django's CSRF checks it).
            headers["Origin"] = f"https://127.0.0.1:{port}"
            headers["Referer"] = f"https://127.0.0.1:{port}{path}"
        import requests
        from requests.cookies import get_cookie_header

        prepared = self.session.prepare_request(
            requests.Request(method, f"http://127.0.0.1:{port}{path}", data=data, headers=headers)
        )
        # prepare_request copies the jar without its policy: send the secure cookies here.
        cookie = get_cookie_header(self.session.cookies, prepared)
        if cookie:
            prepared.headers["Cookie"] = cookie
        response = self.session.send(prepared, allow_redirects=False, timeout=120)
        self.sent[(port, method)] += 1
        if response.status_code not in expect:
            raise BenchFailure(
                f"{method} {path} through :{port} answered {response.status_code}, "
                f"expected {' or '.join(map(str, expect))}"
            )
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: dict, *, form_page: str | None = None,
                  via: int | None = None, expect=(302,)):  # fmt: skip
        """GET the page with the form (any web process), then POST it (through ``via``)."""
        page = self.get(form_page or path)
        token = CSRF.search(page.text)
        if not token:
            raise BenchFailure(f"no CSRF token on {form_page or path}")
        return self.request(
            "POST", path, via=via, data={"csrfmiddlewaretoken": token.group(1), **data},
            expect=expect,
        )  # fmt: skip

    def sign_in(self, email: str, totp_secret: str) -> None:
        """Password on one web process, the TOTP code on the other: one shared session."""
        r = self.post_form(
            "/accounts/login/", {"login": email, "password": PASSWORD}, via=self.ports[0]
        )
        if not r.headers["Location"].endswith("/accounts/2fa/authenticate/"):
            raise BenchFailure(f"signing in {email}: sent to {r.headers['Location']}, not the code")
        r = self.post_form(
            "/accounts/2fa/authenticate/", {"code": totp_code(totp_secret)}, via=self.ports[-1]
        )
        if "/accounts/" in r.headers["Location"]:
            raise BenchFailure(f"signing in {email}: the TOTP code was refused")
        self.get("/finance/")  # a finance page, through the next process: signed in there too


def totp_code(secret: str) -> str:
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    # Not a code about to expire: it could reach the server in the next period.
    while period - time.time() % period < 3:
        time.sleep(0.2)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


BATCH_PATH = re.compile(r"/finance/batches/([0-9a-f-]{36})/$")


def pay_a_batch_over_http(cluster: Cluster) -> tuple[str, Browser, Browser]:
    a, b = cluster.web_ports[0], cluster.web_ports[-1]
    step(f"finance 1 signs in and builds the batch through :{a}")
    builder = Browser(cluster.web_ports)
    builder.sign_in("f1@bench.invalid", TOTP_SECRETS[0])
    r = builder.post_form(
        "/finance/batches/new/",
        {"cutoff_date": CUTOFF.isoformat(), "method": "", "note": "cluster bench"},
        via=a,
    )
    found = BATCH_PATH.search(r.headers["Location"])
    if not found:
        raise BenchFailure(f"building the batch led to {r.headers['Location']}")
    batch = found.group(1)
    builder.post_form(
        f"/finance/batches/{batch}/submit/", {}, form_page=f"/finance/batches/{batch}/", via=a
    )
    step(f"finance 2 signs in, approves and executes it through :{b}")
    approver = Browser(cluster.web_ports)
    approver.sign_in("f2@bench.invalid", TOTP_SECRETS[1])
    for action in ("approve", "execute"):
        approver.post_form(
            f"/finance/batches/{batch}/{action}/", {}, form_page=f"/finance/batches/{batch}/", via=b
        )
    return batch, builder, approver


# --- the run: kill a worker mid-payment, wait until everything is settled ---------------------


@dataclass
class Kill:
    name: str
    pid: int
    paid_before: int
    open_before: int
    mid_flight: list[str]
    claim_held: bool
    payment_id: int


def watch_and_kill(cluster: Cluster, batch_id: str, watcher: Browser, args) -> Kill | None:
    """Poll the batch's progress over HTTP until it is done; kill a worker on the way."""
    from payments.models import Payment

    victim_name = sorted(cluster.workers)[-1]
    victim = cluster.workers[victim_name]
    kill: Kill | None = None
    deadline = time.monotonic() + SETTLE_SECONDS
    last_print = 0.0
    step(f"paying; {victim_name} (pid {victim.pid}) is killed mid-payment")
    while True:
        progress = watcher.get(f"/finance/batches/{batch_id}/progress/").json()
        counts = {c["status"]: c["count"] for c in progress["counts"]}
        open_now = counts.get("pending", 0) + counts.get("processing", 0)
        paid = counts.get("paid", 0)
        if time.monotonic() - last_print > 3:
            print(f"    {paid} paid, {open_now} still open", flush=True)
            last_print = time.monotonic()
        if kill is None and paid >= 1 and open_now >= 1:
            kill = try_to_kill(cluster, victim_name, paid, open_now)
        task_failures()
        dead = cluster.processes.exited(ignore={victim.pid})
        if dead:
            raise BenchFailure(f"a process stopped during the run: {', '.join(dead)}")
        if progress["done"] and open_now == 0:
            break
        if time.monotonic() > deadline:
            raise BenchFailure(f"the batch did not settle within {SETTLE_SECONDS:.0f} s: {counts}")
        time.sleep(0.2)
    if kill is None:
        raise BenchFailure(
            "the batch was paid before a worker could be killed mid-payment; "
            "run with more --payments or --latency-ms"
        )
    step("every payment settled; waiting for every receipt to be rendered")
    batch_payments = Payment.objects.filter(batch__public_id=batch_id)

    def receipts_done():
        from payments.documents.models import Receipt

        task_failures()
        paid = batch_payments.filter(status=Payment.Status.PAID).count()
        rendered = Receipt.objects.filter(payment__batch__public_id=batch_id).exclude(sha256="")
        return paid and rendered.count() >= paid

    wait_for("every paid payment's receipt", receipts_done, seconds=SETTLE_SECONDS, every=0.5)
    return kill


def try_to_kill(cluster: Cluster, victim_name: str, paid: int, open_now: int) -> Kill | None:
    """SIGKILL the victim while it pays someone, best while it holds the claim on a Stripe
    call (it may have reached Stripe or not: the sweeper and the same key sort it out).

    Only while pay tasks still wait for each worker (they go first), so the victim is
    paying, not rendering a receipt. Watches for a few seconds; None if it did not kill.
    """
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from payments.models import PaymentAttempt

    victim = cluster.workers[victim_name]
    worker_id = f"cluster-{victim_name}"
    pay_task = "payments.tasks.pay_payment"
    mine = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, worker_ids__contains=[worker_id], task_path=pay_task
    )
    watch_until = time.monotonic() + 5
    while time.monotonic() < watch_until:
        waiting = DBTaskResult.objects.filter(
            status=TaskResultStatus.READY, task_path=pay_task
        ).count()
        if waiting < len(cluster.workers):
            return None  # too late to be sure what it runs; the next round decides
        running = list(mine)
        if running:
            payment_id = running[0].args_kwargs["args"][0]
            claim_held = (
                PaymentAttempt.objects.filter(
                    payment_id=payment_id, claimed_until__gt=timezone.now()
                )
                .exclude(claimed_by="")
                .exists()
            )
            # The last safe moment: kill even without a claim.
            if claim_held or waiting <= len(cluster.workers) + 1:
                os.killpg(victim.pid, signal.SIGKILL)
                victim.wait()
                stranded = DBTaskResult.objects.filter(
                    status=TaskResultStatus.RUNNING, worker_ids__contains=[worker_id]
                )
                mid_flight = [
                    f"{r.task_path}({', '.join(map(str, r.args_kwargs['args']))})" for r in stranded
                ]
                print(
                    f"    SIGKILL {victim_name} (pid {victim.pid}) with {paid} paid and "
                    f"{open_now} open; mid-flight: {', '.join(mid_flight) or 'nothing'}"
                    f"{' (holding the claim on a Stripe call)' if claim_held else ''}",
                    flush=True,
                )
                return Kill(
                    victim_name, victim.pid, paid, open_now, mid_flight, claim_held, payment_id
                )
        time.sleep(0.02)
    return None


def task_failures() -> None:
    """A task that raised is a failure of the run (a worker killed mid-task is not one)."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    failed = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED)
    if failed.exists():
        raise BenchFailure(
            "tasks failed: "
            + "; ".join(
                f"{r.task_path}: {r.traceback.strip().splitlines()[-1]}" for r in failed[:5]
            )
        )


# --- the checks ----------------------------------------------------------------------------


def check(cluster: Cluster, batch_id: str, kill: Kill, browsers: list[Browser]) -> list[tuple]:
    from core.storage import MAGIC
    from payments.documents.models import Receipt
    from payments.models import Payment, PaymentAttempt, PayoutBatch

    failures: list[str] = []
    batch = PayoutBatch.objects.get(public_id=batch_id)
    payments = list(Payment.objects.filter(batch=batch))
    statuses = Counter(p.status for p in payments)
    if statuses != {Payment.Status.PAID: len(payments)}:
        failures.append(f"not every payment is paid: {dict(statuses)}")
    if batch.status != PayoutBatch.Status.COMPLETED:
        failures.append(f"the batch is {batch.status}, not completed")

    # Stripe's side: one live transfer per payment, for its amount, the one Honora recorded.
    sandbox = cluster.sandbox
    transfers = sandbox.transfers()
    live = [t for t in transfers if not t["reversed"]]
    by_group: dict[str, list[dict]] = {}
    for t in live:
        by_group.setdefault(t["transfer_group"], []).append(t)
    duplicates = sandbox.duplicate_live_transfers()
    twice = [g for g, ts in by_group.items() if len(ts) > 1]
    wrong = [
        str(p.public_id)
        for p in payments
        if len(by_group.get(str(p.public_id), [])) != 1
        or by_group[str(p.public_id)][0]["id"] != p.transfer_id
        or by_group[str(p.public_id)][0]["amount"] != int(p.amount * 100)
    ]
    if duplicates or twice:
        failures.append(f"payments paid twice: {sorted(set(duplicates) | set(twice))[:5]}")
    if wrong:
        failures.append(f"payments without exactly their one transfer: {wrong[:5]}")
    if len(live) != len(payments):
        failures.append(f"{len(live)} live transfers for {len(payments)} payments")

    # Receipts: one per payment, stored in S3 encrypted, served over HTTP as recorded.
    receipts = list(Receipt.objects.filter(payment__batch=batch).order_by("pk"))
    per_payment = Counter(r.payment_id for r in receipts)
    if len(per_payment) != len(payments) or any(n != 1 for n in per_payment.values()):
        failures.append(f"{len(receipts)} receipts for {len(payments)} payments")
    s3 = boto3_client(cluster.env)
    keys = [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for obj in page.get("Contents", [])
    ]
    encrypted = 0
    for r in receipts:
        if r.pdf.name not in keys:
            failures.append(f"receipt {r.number}: {r.pdf.name} is not in the bucket")
            continue
        head = s3.get_object(Bucket=BUCKET, Key=r.pdf.name)["Body"].read()
        if head.startswith(MAGIC) and b"%PDF" not in head[:64]:
            encrypted += 1
        else:
            failures.append(f"receipt {r.number}: stored in the clear")
    verified = 0
    downloader = browsers[0]
    for r in receipts:
        response = downloader.get(f"/finance/receipts/{r.public_id}/pdf/")
        body = response.content
        if body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == r.sha256:
            verified += 1
        else:
            failures.append(f"receipt {r.number}: the download does not hash to its SHA-256")
    # The public check anyone holding a receipt can make (rate-limited: a few only).
    public = Browser(cluster.web_ports)
    checked_publicly = 0
    for r in receipts[:5]:
        page = public.get(f"/verify/{r.verification_code}/")
        if r.number in page.text:
            checked_publicly += 1
        else:
            failures.append(f"receipt {r.number}: the public check does not show it")

    # The killed worker's payment: settled once like every other.
    if not kill.mid_flight:
        failures.append("the killed worker had no task in flight")

    step("manage.py stripe_reconcile")
    reconcile = subprocess.run(
        manage("stripe_reconcile"), cwd=ROOT, env=cluster.env, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip
    reconcile_out = (reconcile.stdout + reconcile.stderr).strip()
    print("    " + reconcile_out.replace("\n", "\n    "))
    if reconcile.returncode != 0:
        failures.append(f"stripe_reconcile exited {reconcile.returncode}")

    import redis as redis_client

    redis_keys = redis_client.Redis(port=cluster.redis_port).dbsize()
    if not redis_keys:
        failures.append("nothing in Redis: the web processes did not use it as their cache")
    sent = Counter()
    for browser in [*browsers, public]:
        sent.update(browser.sent)
    by_port = {
        port: sum(n for (p, _m), n in sent.items() if p == port) for port in cluster.web_ports
    }
    posts = {port: sent[(port, "POST")] for port in cluster.web_ports}
    if not all(posts.values()):
        failures.append(f"a web process took no form posts: {posts}")
    webhooks = sandbox.deliveries()
    events = {d["event_id"] for d in webhooks}
    events_ok = {d["event_id"] for d in webhooks if d["ok"]}
    if events != events_ok:
        failures.append(f"{len(events - events_ok)} webhook events never delivered")
    killed = Payment.objects.get(pk=kill.payment_id)
    killed_attempts = list(PaymentAttempt.objects.filter(payment=killed))
    killed_live = by_group.get(str(killed.public_id), [])
    paid_row = killed.history.filter(history_action="payment.paid").first()
    settled_by = {
        "transfer.created event": "Stripe's transfer.created webhook",
        "Stripe transfer": "a worker's retry (same key)",
    }.get(paid_row.history_change_reason if paid_row else "", "?")
    sweeper_log = cluster.processes.log_of("sweeper")

    def swept(what: str) -> int:
        return sum(int(n) for n in re.findall(rf"(\d+) {re.escape(what)} again", sweeper_log))

    requeued, reissued = swept("payment(s) enqueued"), swept("receipt(s) issued")

    if killed.status != Payment.Status.PAID or len(killed_live) != 1:
        failures.append(f"the killed worker's payment is {killed.status}, {len(killed_live)} live")

    amount = sum(p.amount for p in payments)
    rows = [
        ("payments", f"{len(payments)} ({', '.join(f'{n} {s}' for s, n in statuses.items())}), "
                     f"${amount:,}"),
        ("payment attempts", PaymentAttempt.objects.filter(payment__batch=batch).count()),
        ("Stripe transfers", f"{len(transfers)} ({len(live)} live)"),
        ("duplicates", len(set(duplicates) | set(twice))),
        ("receipts in S3", f"{encrypted} of {len(receipts)} encrypted ({len(keys)} objects)"),
        ("receipts verified", f"{verified} by SHA-256 over HTTP, {checked_publicly} on /verify/"),
        ("worker killed", f"{kill.name} pid {kill.pid} (SIGKILL) at {kill.paid_before} paid / "
                          f"{kill.open_before} open; {len(kill.mid_flight)} task(s) mid-flight: "
                          f"{', '.join(kill.mid_flight)}; claim on Stripe call "
                          f"{'held' if kill.claim_held else 'not yet taken'}"),
        ("stripe_reconcile", f"exit {reconcile.returncode}: {reconcile_out.splitlines()[-1]}"),
        ("HTTP requests", ", ".join(f":{p} {n} ({posts[p]} POST)" for p, n in by_port.items())),
        ("killed payment", f"{killed.status}, {len(killed_live)} live transfer, "
                           f"{len(killed_attempts)} attempt(s) (idempotency keys), "
                           f"{sum(a.tries for a in killed_attempts)} call(s) to Stripe; "
                           f"recorded paid by {settled_by}"),
        ("sweeper", f"{requeued} payment(s) enqueued again, {reissued} receipt(s) issued again"),
        ("webhooks", f"{len(events_ok)} of {len(events)} events delivered "
                     f"({len(webhooks)} deliveries, with retries)"),
        ("Redis keys", redis_keys),
    ]  # fmt: skip
    if failures:
        print_table(rows)
        raise BenchFailure("\n  ".join(["the cluster run found problems:", *failures]))
    return rows


def print_table(rows) -> None:
    width = max(len(name) for name, _value in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()


def step(message: str) -> None:
    print(f"--> {message}", flush=True)


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=30, help="consultants paid (default 30)")
    parser.add_argument("--workers", type=int, default=3, help="db_worker processes (default 3)")
    parser.add_argument("--web", type=int, default=2, help="web processes (default 2)")
    parser.add_argument(
        "--latency-ms", type=int, default=150, help="the Stripe sandbox's delay per call"
    )
    parser.add_argument("--sweep-every", type=float, default=2.0, help="payments_sweep --every")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database, files and logs (not the processes)"
    )
    args = parser.parse_args(argv)
    if args.payments < 2 or args.workers < 2 or args.web < 2:
        parser.error("at least 2 payments, 2 workers and 2 web processes")

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    tmp = Path(tempfile.mkdtemp(prefix="honora-cluster-"))
    (tmp / "logs").mkdir()
    processes = Processes(tmp / "logs")
    started = time.monotonic()
    ok = False
    try:
        cluster = start_cluster(args, tmp, processes)
        batch_id, builder, approver = pay_a_batch_over_http(cluster)
        kill = watch_and_kill(cluster, batch_id, builder, args)
        rows = check(cluster, batch_id, kill, [builder, approver])
        rows.append(("elapsed", f"{time.monotonic() - started:.0f} s in all"))
        print_table(rows)
        ok = True
        print("Honora ran as a cluster: every payment paid exactly once.")
        return 0
    except BenchFailure as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        if not ok:
            print(processes.tails(), file=sys.stderr)
        step("stopping every process")
        processes.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django was never set up
            pass
        if args.keep:
            print(f"kept: database {DB_NAME}, files and logs in {tmp}")
        else:
            drop_database(DB_NAME)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
