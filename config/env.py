"""Small helpers that read settings from the environment and fail loudly.

Each helper raises ``ImproperlyConfigured`` naming the variable when its value
is malformed, so a typo stops start-up instead of silently falling back.
"""

from __future__ import annotations

import itertools
import os
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {value}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return value


def env_decimal(
    name: str,
    default: str,
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> Decimal:
    raw = os.environ.get(name)
    text = default if raw is None or raw.strip() == "" else raw.strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ImproperlyConfigured(
            f"{name} must be a decimal amount like 57.00; got {raw!r}"
        ) from None
    if not value.is_finite():
        raise ImproperlyConfigured(f"{name} must be a finite amount; got {raw!r}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}; got {value}")
    try:
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to hold in cents
        raise ImproperlyConfigured(f"{name} is too large; got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    raw = os.environ.get(name, default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_year_table(name: str, raw: str) -> dict[int, Decimal]:
    """Parse ``"2025:600,2026:2000"`` into ``{2025: Decimal("600.00"), ...}``."""
    table: dict[int, Decimal] = {}
    for chunk in raw.split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        year_text, sep, amount_text = chunk.partition(":")
        try:
            if not sep:
                raise ValueError
            year = int(year_text)
            amount = Decimal(amount_text.strip())
            if not (1900 <= year <= 2200) or not amount.is_finite() or amount < 0:
                raise ValueError
            amount = amount.quantize(Decimal("0.01"))
        except (ValueError, InvalidOperation):
            raise ImproperlyConfigured(
                f"{name} must look like 2025:600,2026:2000 (year:amount, amounts not negative); "
                f"could not read {chunk!r}"
            ) from None
        table[year] = amount
    if not table:
        raise ImproperlyConfigured(f"{name} must name at least one year, like 2026:2000")
    return table


def parse_encryption_secrets(name: str, raw: str) -> list[str]:
    secrets = [item.strip() for item in raw.split(",") if item.strip()]
    if not secrets:
        raise ImproperlyConfigured(f"{name} must hold at least one secret of 32 or more characters")
    for position, secret in enumerate(secrets, start=1):
        if len(secret) < 32:
            raise ImproperlyConfigured(
                f"{name}: secret number {position} is {len(secret)} characters long; "
                "each must have 32 or more"
            )
    return secrets


def parse_address(name: str, raw: str, *, max_lines: int = 6, max_length: int = 300) -> str:
    """A postal address as printed lines: a real line break or a written ``\\n`` between
    lines (an env file keeps one line per variable); blank lines and edge spaces dropped."""
    lines = [line.strip() for line in raw.replace("\\n", "\n").splitlines() if line.strip()]
    text = "\n".join(lines)
    if len(lines) > max_lines or len(text) > max_length:
        raise ImproperlyConfigured(
            f"{name} must be at most {max_lines} lines and {max_length} characters"
        )
    if any(ord(ch) < 32 and ch != "\n" for ch in text):
        raise ImproperlyConfigured(f"{name} must not contain control characters")
    return text


def parse_printed_line(name: str, raw: str, *, max_length: int = 200) -> str:
    """One printed line (a name, a title): not empty, no control characters, bounded."""
    value = raw.strip()
    if not value or len(value) > max_length:
        raise ImproperlyConfigured(f"{name} must be 1 to {max_length} characters")
    if any(ord(ch) < 32 for ch in value):
        raise ImproperlyConfigured(f"{name} must not contain control characters")
    return value


def parse_tax_id(name: str, raw: str) -> str:
    """An organisation's tax id, such as a U.S. EIN (12-3456789) or another country's
    number: 4 to 20 letters and digits with single spaces, dots, dashes or slashes."""
    value = raw.strip()
    if not value:
        return ""
    digits = sum(ch.isdigit() for ch in value)
    ok = (
        len(value) <= 20
        and digits >= 4
        and all(ch.isascii() and (ch.isalnum() or ch in " .-/") for ch in value)
        and value[0].isalnum()
        and value[-1].isalnum()
        and not any(a in " .-/" and b in " .-/" for a, b in itertools.pairwise(value))
    )
    if not ok:
        raise ImproperlyConfigured(
            f"{name} must be a tax id such as 12-3456789 (up to 20 letters, digits, "
            f"spaces, dots, dashes or slashes); got {raw!r}"
        )
    return value
