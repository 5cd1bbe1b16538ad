"""The demo's child processes: each in its own process group, stopped together by the demo.

A terminal's Ctrl-C reaches its whole foreground process group; ``kill`` or a process
manager's SIGTERM reaches the demo alone. So that both end the same way, the children
sit in process groups of their own and hear only what the demo sends them: on Ctrl-C,
SIGTERM or SIGHUP the demo sends each child's group SIGTERM, waits (generously: a worker
finishes the task in hand), then kills whatever is left. Another stop signal while it
waits kills at once.
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


class Children:
    """The processes the demo started, by name, each the leader of its own process group.

    Within ``catching_signals()`` a stop signal never kills the demo itself: inside
    ``interruptible()`` the first raises ``Stopped``; anywhere else it is noted (``stop``
    runs anyway on the way out); once stopping, another one makes ``stop`` kill at once.
    """

    def __init__(self) -> None:
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self._interruptible = False
        self._starting = False
        self._stop_requested = False
        self._stopping = False
        self._hurry = False

    @contextlib.contextmanager
    def catching_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    def _on_signal(self, signum, frame) -> None:
        if self._stopping:
            self._hurry = True
            return
        self._stop_requested = True
        # Not between starting a child and noting it: start() raises once it is noted.
        if self._interruptible and not self._starting:
            self._interruptible = False
            raise Stopped(signal.Signals(signum).name)

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        self._starting = True
        try:
            process = subprocess.Popen(argv, start_new_session=True)  # noqa: S603 - our commands
            self.processes.append((name, process))
        finally:
            self._starting = False
        if self._stop_requested and self._interruptible:
            self._interruptible = False
            raise Stopped("a stop signal while starting a child")
        return process

    def exited(self) -> list[str]:
        """The names of children that have stopped."""
        return [name for name, process in self.processes if process.poll() is not None]

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM to every child's group, wait up to ``timeout`` seconds, then SIGKILL."""
        self._stopping = True
        for _name, process in self.processes:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for _name, process in self.processes:
            while process.poll() is None and not self._hurry and time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.2)
        for _name, process in self.processes:
            if process.poll() is None:
                _signal_group(process, signal.SIGKILL)
            process.wait()


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
            with _local.open(url, timeout=30):
                return True
        except urllib.error.HTTPError:  # an answer all the same
            return True
        except OSError:
            time.sleep(0.2)
    return False
