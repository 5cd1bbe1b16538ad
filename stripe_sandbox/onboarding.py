"""The sandbox's stand-in for Stripe's hosted Express onboarding: one small page."""

from __future__ import annotations

from html import escape


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
