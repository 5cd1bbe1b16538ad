"""gunicorn's settings for Honora's ``web`` process: ``gunicorn -c config/gunicorn.py config.wsgi``.

Each value can be changed from the environment (below); a flag on gunicorn's command
line, or in ``GUNICORN_CMD_ARGS``, wins over this file.

- Where it listens: ``WEB_BIND`` (one or more addresses, comma-separated, e.g.
  ``127.0.0.1:8000`` or ``unix:/run/honora/web.sock``); else ``0.0.0.0:$PORT`` when
  ``PORT`` is set (container platforms and honcho set it and route to it from outside
  the process); else ``127.0.0.1:8000``, for a reverse proxy on the same host.
- How many: ``WEB_CONCURRENCY`` processes (default: one per CPU, at least 2, at most 8)
  with ``WEB_THREADS`` threads each (default 4). A process holds one database
  connection per thread while it answers.
- ``WEB_TIMEOUT`` (default 60 s): a process silent that long is killed and replaced.
- ``WEB_GRACEFUL_TIMEOUT`` (default 25 s): on SIGTERM gunicorn stops accepting
  connections and lets requests in flight finish for this long. Keep it under the
  platform's own grace period (Heroku and Kubernetes give 30 s by default).
- ``WEB_MAX_REQUESTS`` (default 1000, ``0`` never): a process is replaced, gracefully,
  after about that many requests, which bounds slow memory growth (PDF rendering).
- ``FORWARDED_ALLOW_IPS`` (gunicorn's own variable, default ``127.0.0.1,::1``): the
  proxies gunicorn believes about ``X-Forwarded-Proto``. Honora does not depend on it:
  Django decides whether a request came over TLS (``BEHIND_TLS_PROXY``) and which
  address a client has (``TRUSTED_PROXY_COUNT``). Leave it at loopback, so that a
  client reaching gunicorn directly cannot claim https.

The access log (stdout) holds the method, the path without its query string, the
status, the size and the time taken: no query strings, referrers, user agents or client
addresses, so no personal data.
"""

from __future__ import annotations

import os


def _whole_number(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}; got {value}")
    return value


def _default_bind() -> list[str]:
    explicit = [item.strip() for item in os.environ.get("WEB_BIND", "").split(",")]
    if any(explicit):
        return [item for item in explicit if item]
    if os.environ.get("PORT", "").strip():
        return [f"0.0.0.0:{_whole_number('PORT', 8000, 1)}"]
    return ["127.0.0.1:8000"]


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = _default_bind()
worker_class = "gthread"
workers = _whole_number("WEB_CONCURRENCY", min(max(_cpus(), 2), 8), 1)
threads = _whole_number("WEB_THREADS", 4, 1)
timeout = _whole_number("WEB_TIMEOUT", 60, 1)
graceful_timeout = _whole_number("WEB_GRACEFUL_TIMEOUT", 25, 1)
keepalive = 5
max_requests = _whole_number("WEB_MAX_REQUESTS", 1000, 0)
max_requests_jitter = max_requests // 10
# Each process imports the application itself: a restart of one process (max_requests,
# timeout) never shares state loaded before the fork, and the master stays small.
preload_app = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl):
# two servers on one host would take it from each other. Honora does not use it.
control_socket_disable = True
# The workers' heartbeat files (made with mkstemp): in memory, not on a container's
# overlay disk, where a slow write can make a busy worker look dead.
_SHM = "/dev/shm"  # noqa: S108
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM
proc_name = "honora-web"

accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
