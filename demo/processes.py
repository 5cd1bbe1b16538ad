"""The demo's child processes: each in its own process group, stopped together by the demo.

A terminal's Ctrl-C reaches its whole foreground process group; ``kill`` or a process
manager's SIGTERM reaches the demo alone. So that both end the same way, the children
sit in process groups of their own and hear only what the demo sends them: on Ctrl-C,
SIGTERM or SIGHUP the demo sends each child's group SIGTERM, waits (generously: a worker
finishes the task in hand), then kills whatever is left. A second Ctrl-C or SIGTERM
while it waits kills at once.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(Exception):
    """A stop signal (Ctrl-C, SIGTERM, SIGHUP) reached the demo."""


@contextlib.contextmanager
def signals_raise(exception: type[BaseException]) -> Iterator[None]:
    """Within the block, every stop signal raises ``exception`` in the main thread."""

    def handler(signum, frame):
        raise exception(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Hurry(Exception):
    """Another stop signal while stopping: kill now."""


class Children:
    """The processes the demo started, by name, each the leader of its own process group."""

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        # A stop signal between starting the child and noting it would leave it behind:
        # hold it until the child is noted. (Not by blocking signals: a child inherits that.)
        held: list[int] = []
        previous = {sig: signal.signal(sig, lambda n, f: held.append(n)) for sig in STOP_SIGNALS}
        try:
            process = subprocess.Popen(argv, start_new_session=True)  # noqa: S603 - our commands
            self.processes.append((name, process))
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
        if held:
            signal.raise_signal(held[0])
        return process

    def exited(self) -> list[str]:
        """The names of children that have stopped."""
        return [name for name, process in self.processes if process.poll() is not None]

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM to every child's group, wait up to ``timeout`` seconds, then SIGKILL."""
        try:
            with signals_raise(_Hurry):
                for _name, process in self.processes:
                    if process.poll() is None:
                        _signal_group(process, signal.SIGTERM)
                deadline = time.monotonic() + timeout
                for _name, process in self.processes:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except _Hurry:
            pass
        # Nothing may interrupt the last step, or a child would outlive the demo.
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}
        try:
            for _name, process in self.processes:
                if process.poll() is None:
                    _signal_group(process, signal.SIGKILL)
                process.wait()
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    # The child leads its own group (start_new_session), so its pid is the group's id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def port_taken(host: str, port: int) -> bool:
    """Whether a server could not listen on ``host:port`` now (as the demo's servers do)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As Django's and the sandbox's servers do: a closed socket in TIME_WAIT is no owner.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


# Our own servers on loopback: never through a proxy from the environment.
_local = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until_up(url: str, *, seconds: float, alive: Callable[[], bool]) -> bool:
    """Poll ``url`` until it answers, ``alive()`` turns false, or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and alive():
        try:
            with _local.open(url, timeout=2):
                return True
        except urllib.error.HTTPError:  # an answer all the same
            return True
        except OSError:
            time.sleep(0.2)
    return False
