"""The sandbox's stand-in for Stripe's hosted Express onboarding: one small page."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import parse_qsl


def page(token: str, account_id: str) -> bytes:
    action = f"/onboarding/{escape(token)}/complete"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Payout account set-up (Stripe sandbox)</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem;
         color: #1a1a1a; }}
  .note {{ background: #fff7d6; border: 1px solid #e6d27a; padding: .75rem 1rem;
           border-radius: .5rem; }}
  button {{ font-size: 1rem; padding: .6rem 1.2rem; margin: .25rem .5rem .25rem 0;
            border-radius: .4rem; border: 1px solid #635bff; cursor: pointer; }}
  .primary {{ background: #635bff; color: white; }}
  .secondary {{ background: white; color: #635bff; }}
</style>
</head>
<body>
<h1>Set up your payout account</h1>
<p class="note">This is Honora's offline Stripe sandbox. No real bank details are needed and
no money moves.</p>
<p>Account <code>{escape(account_id)}</code></p>
<form method="post" action="{action}">
  <button class="primary" type="submit" name="result" value="complete">Complete onboarding</button>
  <button class="secondary" type="submit" name="result" value="exit">Leave without finishing</button>
</form>
</body>
</html>
""".encode()


def message(title: str, text: str) -> bytes:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title></head><body><h1>{escape(title)}</h1><p>{escape(text)}</p></body></html>"
    ).encode()


class OnboardingRoutes:
    """``/onboarding/<token>``: the hosted-onboarding stand-in, as part of ``SandboxServer``."""

    def _onboarding(self, h, method, path, query, raw, request_id) -> None:
        m = re.fullmatch(r"/onboarding/([A-Za-z0-9_-]+)(/complete)?", path)
        if not m:
            return self._send(
                h,
                404,
                message("Not found", "No such page."),
                request_id,
                content_type="text/html; charset=utf-8",
            )
        token, complete = m.group(1), bool(m.group(2))
        html = "text/html; charset=utf-8"
        if not complete and method == "GET":
            outcome, link = self.state.visit_link(token)
            auto = dict(parse_qsl(query)).get("auto")
            if outcome == "open" and auto in ("1", "exit"):
                outcome, link = self.state.finish_link(token, complete=auto == "1")
        elif complete and method == "POST":
            result = dict(parse_qsl(raw)).get("result", "complete")
            outcome, link = self.state.finish_link(token, complete=result == "complete")
        else:
            return self._send(
                h,
                405,
                message("Method not allowed", "Use the form."),
                request_id,
                content_type=html,
            )
        if outcome == "unknown" or link is None:
            return self._send(
                h,
                404,
                message("Link not found", "This set-up link does not exist."),
                request_id,
                content_type=html,
            )
        if outcome == "open":
            return self._send(h, 200, page(token, link["account"]), request_id, content_type=html)
        target = link["return_url"] if outcome == "return" else link["refresh_url"]
        self._send(h, 302, b"", request_id, content_type=html, headers={"Location": target})
