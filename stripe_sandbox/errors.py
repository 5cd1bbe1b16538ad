"""Stripe's error shape, and decoding of Stripe's form-encoded parameters."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl


class ApiError(Exception):
    """An error answered in Stripe's shape: ``{"error": {type, code, message, param}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing(resource: str, ident: str, *, param: str | None = "id") -> ApiError:
    return ApiError(
        404 if param == "id" else 400,
        f"No such {resource}: '{ident}'",
        code="resource_missing",
        param=param,
    )


# -- form decoding ---------------------------------------------------------------------

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(raw: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Decode ``a[b][c]=v`` / ``expand[0]=x`` pairs the way Stripe does.

    Returns the nested parameters and the raw pairs (the raw pairs, sorted, are what an
    idempotency key is compared against).
    """
    pairs = parse_qsl(raw, keep_blank_values=True)
    root: dict[str, Any] = {}
    for key, value in pairs:
        m = _KEY.match(key)
        if not m:
            raise invalid(f"Invalid parameter name: {key}", param=key)
        parts = [m.group(1), *re.findall(r"\[([^\[\]]*)\]", m.group(2))]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # "expand[]=x": append
                part = str(len(node))
            if last:
                if isinstance(node.get(part), dict):
                    raise invalid(f"Invalid value for {key}", param=key)
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid(f"Invalid parameter: {key}", param=key)
                node = child
    return _listify(root), sorted(pairs)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _listify(v) for k, v in node.items()}
    if out and all(k.isdigit() for k in out):
        return [out[k] for k in sorted(out, key=int)]
    return out


# -- parameter checks (raise before work starts, so they are never stored) --------------


def check_known(params: dict[str, Any], allowed: set[str]) -> None:
    allowed = allowed | {"expand"}
    for name in params:
        if name not in allowed:
            raise invalid(f"Received unknown parameter: {name}", param=name)


def get_str(
    params: dict[str, Any], name: str, *, required: bool = False, max_length: int = 5000
) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {name}", param=name)
    if len(value) > max_length:
        raise invalid(
            f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            param=name,
        )
    return value


def get_int(
    params: dict[str, Any],
    name: str,
    *,
    required: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing required param: {name}.", param=name, code="parameter_missing")
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value):
        raise invalid(f"Invalid integer: {value}", param=name, code="parameter_invalid_integer")
    number = int(value)
    if minimum is not None and number < minimum:
        raise invalid(
            f"This value must be greater than or equal to {minimum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    if maximum is not None and number > maximum:
        raise invalid(
            f"This value must be less than or equal to {maximum}.",
            param=name,
            code="parameter_invalid_integer",
        )
    return number


def get_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value not in ("true", "false"):
        raise invalid(f"Invalid boolean: {value}", param=name)
    return value == "true"


def get_currency(params: dict[str, Any], name: str = "currency", *, required: bool = True) -> str:
    value = get_str(params, name, required=required)
    if value is None:
        return ""
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise invalid(f"Invalid currency: {value}.", param=name)
    return value.lower()


def get_id(params: dict[str, Any], name: str, prefix: str, *, required: bool = True) -> str | None:
    value = get_str(params, name, required=required)
    if value is not None and not value.startswith(prefix):
        raise invalid(f"Invalid {name}: '{value}'", param=name)
    return value


def get_metadata(params: dict[str, Any], name: str = "metadata") -> dict[str, str] | None:
    """Stripe's metadata: up to 50 keys of 40 characters, values of 500; '' unsets."""
    value = params.get(name)
    if value is None:
        return None
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid object", param=name)
    if len(value) > 50:
        raise invalid("You can specify up to 50 metadata keys.", param=name)
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid(f"Invalid metadata value for {key}", param=f"{name}[{key}]")
        if len(key) > 40:
            raise invalid(
                "Metadata keys must be at most 40 characters long.", param=f"{name}[{key}]"
            )
        if len(item) > 500:
            raise invalid(
                "Metadata values must be at most 500 characters long.", param=f"{name}[{key}]"
            )
    return dict(value)


def get_url(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = get_str(params, name, required=required, max_length=2048)
    if value is not None and not re.match(r"^https?://", value):
        raise invalid("Not a valid URL", param=name, code="url_invalid")
    return value


def get_list_limit(params: dict[str, Any]) -> int:
    limit = get_int(params, "limit", minimum=1, maximum=100)
    return 10 if limit is None else limit
