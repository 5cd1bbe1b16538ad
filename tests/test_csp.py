"""A strict Content-Security-Policy on every HTML page, and templates that keep to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# PDFs are rendered by WeasyPrint, never served as HTML: their <style> is theirs.
SERVED = [p for p in TEMPLATES.rglob("*.html") if "pdf" not in p.relative_to(TEMPLATES).parts]

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
HANDLER = re.compile(r"\son[a-z]+=", re.I)


@pytest.mark.parametrize("path", SERVED, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_needs_inline_script_or_style(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to static/js/"
    assert not INLINE_STYLE.search(text), "inline style: use a class in static/css/"
    assert not HANDLER.search(text), "inline event handler: attach it from static/js/"


@pytest.mark.parametrize(
    "path",
    ["/accounts/login/", "/verify/NOPE-NOPE/", "/api/v1/docs/", "/admin/login/", "/transparency/"],
)
def test_public_pages_carry_the_policy(client, db, path):
    response = client.get(path, follow=True)
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
