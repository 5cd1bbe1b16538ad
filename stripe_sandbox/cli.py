"""Run the sandbox in the foreground: ``python -m stripe_sandbox`` or ``manage.py stripe_sandbox``."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from .server import SandboxServer
from .state import SOURCE_TYPES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=12111, help="port on 127.0.0.1 (default 12111)")
    parser.add_argument("--webhook-url", help="deliver events to this URL")
    parser.add_argument(
        "--webhook-secret",
        action="append",
        help="signing secret (repeat to sign with several, as during a rotation)",
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every API call")
    parser.add_argument("--rate-limit", type=int, default=None, help="requests/second before 429")
    parser.add_argument("--seed", type=int, default=0, help="seed for probabilistic faults")
    parser.add_argument(
        "--balance",
        type=int,
        default=0,
        help="platform balance in cents (usd) to start with; 0, as in Stripe's test mode",
    )
    parser.add_argument(
        "--balance-source-type",
        choices=SOURCE_TYPES,
        default="bank_account",
        help="the source type that balance is held as (default bank_account: top-up money)",
    )
    parser.add_argument(
        "--platform-country",
        default="US",
        help="the platform account's country (decides which service agreements it may use)",
    )
    parser.add_argument(
        "--state-file", help="keep accounts, transfers and keys in this JSON file across restarts"
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")


def build(options: dict) -> SandboxServer:
    return SandboxServer(
        port=options["port"],
        webhook_url=options.get("webhook_url"),
        webhook_secret=options.get("webhook_secret"),
        latency_ms=options.get("latency_ms") or 0,
        rate_limit=options.get("rate_limit"),
        seed=options.get("seed") or 0,
        balance=options.get("balance") or 0,
        balance_source_type=options.get("balance_source_type") or "bank_account",
        state_file=options.get("state_file"),
        platform_country=options.get("platform_country") or "US",
        verbose=bool(options.get("verbose")),
    )


def run(server: SandboxServer, out: TextIO = sys.stdout) -> None:
    # The server's threads keep the process alive: a Ctrl-C that lands anywhere after
    # start() (on a busy machine it can come before the wait below begins) must still
    # stop them, or the process never exits.
    try:
        server.start()
        out.write(f"Stripe sandbox listening on {server.url} (Ctrl-C stops it)\n")
        for endpoint in server.webhooks.endpoints:
            out.write(f"  webhooks -> {endpoint.url}, secrets {', '.join(endpoint.secrets)}\n")
        out.write(f"  control API: {server.url}/_sandbox/state\n")
        out.flush()
        # Ctrl-C and SIGTERM (``kill``, the demo, a process manager) stop it cleanly,
        # with its state saved.
        server.serve_until_interrupted()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stripe_sandbox", description=__doc__)
    add_arguments(parser)
    run(build(vars(parser.parse_args(argv))))
