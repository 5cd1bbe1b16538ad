"""Helpers for tests that start real processes: ports, /proc, and waiting on readiness.

Nothing here waits a fixed time for something to happen: ``wait_until`` polls a
condition until a generous deadline, so a busy machine makes a test slower, never red.
"""

from __future__ import annotations

import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

# On a loaded 2-core machine a fresh Django process can take a long while to start.
START_SECONDS = 300
STOP_SECONDS = 120


def wait_until(
    condition: Callable[[], object],
    *,
    seconds: float = START_SECONDS,
    what: str = "the condition",
    still_running: Callable[[], object] | None = None,
    details: Callable[[], str] = lambda: "",
    poll: float = 0.1,
):
    """Poll ``condition`` until it returns something true, and return that.

    ``still_running`` (if given) must stay true meanwhile: a process that died will
    never become ready, so the test fails at once with ``details()``.
    """
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if still_running is not None and not still_running():
            raise AssertionError(f"stopped before {what}\n{details()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}\n{details()}")
        time.sleep(poll)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Whether ``pid`` is running (a zombie waiting to be reaped is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def descendants_of(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets ``pid`` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def server_side_inode(server_port: int, client_port: int) -> int:
    """The inode of the server's end of a loopback TCP connection (0 until accepted).

    The kernel finishes the handshake by itself and queues the connection; only
    ``accept()`` gives it a file, and so an inode, in the accepting process.
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.split(":")[1], 16) == server_port and (
            int(remote.split(":")[1], 16) == client_port
        ):
            return inode
    return 0


# Our own servers on loopback: never through a proxy from the environment.
_local = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 60):
    """``(status, headers, body)``; an HTTP error status is an answer, not an exception."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _local.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def answers(url: str, headers: dict[str, str] | None = None) -> bool:
    """Whether ``url`` answers 200 now (a server still starting does not)."""
    try:
        return http_get(url, headers, timeout=30)[0] == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False
