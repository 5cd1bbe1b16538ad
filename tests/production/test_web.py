"""The Procfile's ``web`` line with DEBUG=0: gunicorn serves pages with the strict CSP and
static files with hashed names (WhiteNoise), and stops gracefully on SIGTERM."""

from __future__ import annotations

import gzip
import html
import re
import signal
import socket
import urllib.parse

import pytest

from tests.processes import (
    START_SECONDS,
    STOP_SECONDS,
    alive,
    answers,
    descendants_of,
    free_port,
    http_get,
    server_side_inode,
    socket_inodes,
    wait_until,
)
from tests.production.conftest import HTTPS, Running, production_env

SIGN_IN = "/accounts/login/"
ONE_YEAR = 365 * 24 * 60 * 60


class Web:
    def __init__(self, running: Running, port: int):
        self.running = running
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def get(self, path: str, **headers: str):
        return http_get(self.base + path, {**HTTPS, **headers})

    def wait_until_ready(self) -> None:
        wait_until(
            lambda: answers(self.base + SIGN_IN, HTTPS),
            what=f"gunicorn to answer on {self.base}",
            still_running=self.running.running,
            details=self.running.tail,
        )


def start_web(directory, copy_database, static_root, **extra: str) -> Web:
    port = free_port()
    env = production_env(
        copy_database(directory),
        static_root,
        directory / "var",
        PORT=str(port),
        **extra,
    )
    web = Web(Running.line("web", env, directory / "web.log"), port)
    try:
        web.wait_until_ready()
    except BaseException:
        web.running.close()
        raise
    return web


@pytest.fixture(scope="module")
def web(tmp_path_factory, copy_database, static_root):
    web = start_web(tmp_path_factory.mktemp("web"), copy_database, static_root)
    yield web
    web.running.close()


def policy(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


def static_links(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', page)


def test_the_sign_in_page_carries_the_strict_policy_and_hashed_static_names(web):
    status, headers, body = web.get(SIGN_IN)
    assert status == 200
    assert headers["Server"].startswith("gunicorn")
    csp = policy(headers["Content-Security-Policy"])
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=")  # DEBUG is off

    links = static_links(body.decode())
    assert any(link.endswith(".css") for link in links), links
    assert any(link.endswith(".js") for link in links), links
    # Every static file the page names is hashed: stylesheets, scripts and the icons too.
    for link in links:
        assert re.search(r"\.[0-9a-f]{12}\.[a-z0-9]+$", link), link


def test_hashed_static_files_are_cached_for_a_year_and_sent_compressed(web):
    _, _, page = web.get(SIGN_IN)
    for link in static_links(page.decode()):
        status, headers, plain = web.get(link, **{"Accept-Encoding": "identity"})
        assert status == 200, link
        assert "Content-Encoding" not in headers
        cache_control = headers["Cache-Control"]
        max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
        assert max_age >= ONE_YEAR, cache_control
        assert "immutable" in cache_control
        assert "Content-Security-Policy" not in headers  # files, not pages
        if not link.endswith((".css", ".js")):
            continue  # icons: tiny, and WhiteNoise keeps no compressed copy that saves little

        status, headers, packed = web.get(link, **{"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in headers["Vary"]
        assert len(packed) < len(plain)
        assert gzip.decompress(packed) == plain


def test_brotli_is_sent_to_browsers_that_take_it(web):
    brotli = pytest.importorskip("brotli")
    _, _, page = web.get(SIGN_IN)
    link = next(link for link in static_links(page.decode()) if link.endswith(".css"))
    _, _, plain = web.get(link, **{"Accept-Encoding": "identity"})
    status, headers, packed = web.get(link, **{"Accept-Encoding": "br, gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed) == plain


def test_an_unknown_static_file_is_not_found(web):
    status, _, _ = web.get("/static/css/no-such-file.0123456789ab.css")
    assert status == 404
    status, _, _ = web.get("/static/../config/settings.py")
    assert status in (400, 404)


# --- SIGTERM --------------------------------------------------------------------------


def sign_in_form(web: Web) -> tuple[str, str]:
    """The CSRF cookie and the form's token, as a browser would have them."""
    status, headers, body = web.get(SIGN_IN)
    assert status == 200
    cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body.decode()).group(1)
    return cookie, html.unescape(token)


def read_response(sock: socket.socket) -> bytes:
    sock.settimeout(STOP_SECONDS)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_sigterm_lets_the_request_in_flight_finish_then_gunicorn_exits_0(
    tmp_path, copy_database, static_root
):
    # One process, and a grace period far longer than the test: only the request decides.
    web = start_web(
        tmp_path, copy_database, static_root, WEB_CONCURRENCY="1", WEB_GRACEFUL_TIMEOUT="900"
    )
    try:
        cookie, token = sign_in_form(web)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "login": "nobody@example.org", "password": "wrong"}
        ).encode()
        head = (
            f"POST {SIGN_IN} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{web.port}\r\n"
            f"Origin: https://127.0.0.1:{web.port}\r\n"
            "X-Forwarded-Proto: https\r\n"
            f"Cookie: csrftoken={cookie}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", web.port), timeout=STOP_SECONDS) as sock:
            # Half the form: the request is under way and waits for the rest.
            sock.sendall(head + body[:10])
            client_port = sock.getsockname()[1]

            def accepted_by_gunicorn() -> bool:
                inode = server_side_inode(web.port, client_port)
                return bool(inode) and any(
                    inode in socket_inodes(pid) for pid in descendants_of(web.running.pid)
                )

            wait_until(
                accepted_by_gunicorn,
                what="gunicorn to accept the connection",
                still_running=web.running.running,
                details=web.running.tail,
            )
            web.running.process.send_signal(signal.SIGTERM)
            wait_until(
                lambda: web.running.says("Handling signal: term"),
                seconds=STOP_SECONDS,
                what="gunicorn to take the signal",
                details=web.running.tail,
            )
            assert web.running.running(), "gunicorn stopped with a request in flight"

            sock.sendall(body[10:])
            response = read_response(sock)
        head_text, _, page = response.partition(b"\r\n\r\n")
        assert head_text.startswith(b"HTTP/1.1 200"), response[:500]
        length = int(re.search(rb"(?i)content-length: (\d+)", head_text).group(1))
        assert len(page) == length  # the whole page, not a cut-off one
        assert b"Content-Security-Policy" in head_text

        web.running.process.wait(timeout=STOP_SECONDS)
        assert web.running.process.returncode == 0, web.running.tail()
        assert not [pid for pid in descendants_of(web.running.pid) if alive(pid)]
        assert "Traceback" not in web.running.output()
        assert f'"POST {SIGN_IN} HTTP/1.1" 200' in web.running.output()
    finally:
        web.running.close()


def test_the_access_log_has_no_query_string(web):
    line = f'"GET {SIGN_IN} HTTP/1.1" 200'
    before = web.running.output().count(line)
    status, _, _ = web.get(f"{SIGN_IN}?next=/private-looking-query&email=someone%40example.org")
    assert status == 200
    wait_until(
        lambda: web.running.output().count(line) > before,
        seconds=START_SECONDS,
        what="the access log line",
        details=web.running.tail,
    )
    log = web.running.output()
    assert "someone" not in log
    assert "private-looking-query" not in log
