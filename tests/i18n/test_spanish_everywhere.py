"""In Spanish, no English source string is left where a consultant reads (issue 15).

Renders, for a consultant who chose Español and has data (entries, a dispute, a payment,
a receipt, a statement): every portal page of tests/pages_portal.py the consultant can
open (PDF downloads read with pypdf), the public pages (sign-in, the sign-in code pages,
the receipt check), and every e-mail a consultant can receive. Each is searched for the
English msgids of the committed catalog (locale/es/LC_MESSAGES/django.po): those whose
Spanish differs and that have at least two words once placeholders are stripped.

NOTE: this test uses the COMMITTED catalog. It fails until the Spanish catalog is merged
(and afterwards whenever a string is left untranslated): that is its purpose.
"""

from __future__ import annotations

import html
import io
import re
from functools import cache

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from core import translations
from tests.access_tables import PORTAL_PAGES as PAGES
from tests.income import records as income_records
from tests.test_url_access import people  # noqa: F401  (a consultant with every kind of record)

pytestmark = pytest.mark.django_db

# Placeholders (%(name)s, %s, {name}), tags and entities split a msgid into fragments.
_PLACEHOLDER = re.compile(
    r"%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[sd]|\{[^}]*\}|<[^>]*>|&[#\w]+;"
)
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")


def _fragments(msgid: str) -> list[str]:
    """The parts of a msgid a page shows verbatim, whitespace collapsed, ends trimmed."""
    found = []
    for part in _PLACEHOLDER.split(msgid.replace("%%", "%")):
        part = " ".join(part.split()).strip(" .,:;!?()\"'“”‘’—–-")
        words = _WORD.findall(part)
        if len(words) >= 2 and sum(len(w) for w in words) >= 6:
            found.append(part)
    return found


@cache
def english_strings() -> tuple[str, ...]:
    """English fragments of the committed Spanish catalog that Spanish pages must not show."""
    path = translations.po_path("es", "django")
    assert path.exists(), f"{path} is not committed yet: merge the Spanish catalog"
    needles: set[str] = set()
    for entry in polib.pofile(str(path)):
        if entry.obsolete:
            continue
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            spanish = list(entry.msgstr_plural.values())
            pairs = [
                (entry.msgid, spanish[0] if spanish else ""),
                (entry.msgid_plural, " ".join(spanish[1:])),
            ]
        for english, spanish in pairs:
            if english == spanish:
                continue  # the same in both languages (a name, a code)
            for fragment in _fragments(english):
                if fragment not in " ".join(spanish.split()):
                    needles.add(fragment)
    return tuple(sorted(needles, key=len, reverse=True))


def _text(content: bytes, content_type: str) -> str:
    if content_type.startswith("application/pdf"):
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(content))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
    else:
        text = html.unescape(content.decode())
    return " ".join(text.split())


def english_in(text: str) -> list[str]:
    # Word boundaries: "Sign in" must not match inside "Sign inside".
    return [
        needle
        for needle in english_strings()
        if re.search(rf"(?<![A-Za-z]){re.escape(needle)}(?![A-Za-z])", text)
    ]


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def spanish(consultant, request):
    """The standing consultant reads Spanish; their records are made (receipt and statement
    rendered) with Spanish active, as a worker serving them would."""
    consultant.preferred_language = "es"
    consultant.email_receipts = True  # so the document e-mails are sent
    consultant.save(update_fields=["preferred_language", "email_receipts"])
    with translation.override("es"):
        return request.getfixturevalue("people")


def _spanish_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    return client


def _collect(client, spanish) -> dict[str, str]:
    """{what: its text}: every page, PDF and e-mail a Spanish-reading consultant meets."""
    seen: dict[str, str] = {}
    records = spanish["records"]
    client = _spanish_client(client)

    # Public pages, signed out.
    public = {
        "sign-in": reverse("account_login"),
        "sign-in code request": reverse("account_request_login_code"),
        "receipt check": reverse(
            "receipt_verify", kwargs={"code": records["receipt"].verification_code}
        ),
        "receipt check, unknown code": reverse("receipt_verify", kwargs={"code": "ZZZZZZZZZZZZ"}),
        "income letter check": reverse(
            "receipt_verify", kwargs={"code": income_records.letter(records).verification_code}
        ),
    }
    for what, url in public.items():
        response = client.get(url)
        seen[f"{what} ({url})"] = _text(_body(response), response["Content-Type"])

    # The sign-in code: the e-mail and the page that asks for it; and the e-mail an
    # unknown address gets.
    mail.outbox.clear()
    response = client.post(
        reverse("account_request_login_code"), {"email": spanish["consultant"].email}, follow=True
    )
    seen["sign-in code entry page"] = _text(response.content, response["Content-Type"])
    client.post(reverse("account_request_login_code"), {"email": "nobody@example.org"})
    client.cookies.pop("sessionid", None)
    for n, message in enumerate(mail.outbox):
        seen[f"sign-in e-mail {n + 1} ({message.subject!r})"] = " ".join(
            f"{message.subject}\n{message.body}".split()
        )

    # The consultant's own pages and downloads.
    client.force_login(spanish["consultant"])
    for name, (builder, expected) in sorted(PAGES.items()):
        if expected["consultant"] != 200:
            continue  # POST-only actions
        url = reverse(name, kwargs=builder(records) if builder else {})
        response = client.get(url)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        seen[f"{name} ({url})"] = _text(_body(response), response["Content-Type"])

    # The e-mails Honora sends a consultant (notifications.py translates them itself).
    from payments.documents import notifications

    mail.outbox.clear()
    assert notifications.receipt_ready(records["receipt"].pk)
    assert notifications.payment_came_back(records["payment"].pk)
    for message in mail.outbox:
        seen[f"e-mail {message.subject!r}"] = " ".join(f"{message.subject}\n{message.body}".split())
    return seen


def test_fragments_skip_placeholders_and_one_word_strings():
    assert _fragments("Receipt %(number)s: %(status)s") == []  # one word, then none
    assert _fragments("Receipt %(number)s is genuine") == ["is genuine"]
    assert _fragments("Paid on %(date)s by direct deposit.") == ["Paid on", "by direct deposit"]
    assert _fragments("Stripe") == [] and _fragments("W-9") == []
    assert _fragments("<strong>Sign in</strong> with a code") == ["Sign in", "with a code"]


def test_every_page_email_and_pdf_is_free_of_english(client, spanish):
    seen = _collect(client, spanish)
    assert len(seen) >= 15, sorted(seen)  # the walk reached pages, PDFs and e-mails
    leftovers = {what: english_in(text) for what, text in seen.items()}
    leftovers = {what: found for what, found in leftovers.items() if found}
    report = "\n".join(
        f"{what}:\n" + "\n".join(f"    {needle!r}" for needle in found)
        for what, found in sorted(leftovers.items())
    )
    assert not leftovers, f"English left in Spanish pages:\n{report}"
