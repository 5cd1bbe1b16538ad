"""Connected accounts, account links and the hosted onboarding they lead to."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from ..errors import (
    check_known,
    get_bool,
    get_id,
    get_metadata,
    get_str,
    get_url,
    invalid,
)
from .base import RequestContext, StateBase, merge_metadata, new_id

LINK_TTL_SECONDS = 300

# Stripe's rules on which account a platform may open (RULES.md, "Accounts and service
# agreements"). Service agreements: https://docs.stripe.com/connect/service-agreement-types
# ("cross-border payouts only work with accounts under the recipient service agreement";
# a recipient account cannot request card_payments). Cross-border payouts:
# https://docs.stripe.com/connect/cross-border-payouts ("platforms based in the US, UK,
# EEA, Canada, or Switzerland can transfer funds to connected accounts in any of those
# regions").
_EEA = {
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE",
    "SI", "SK",
}  # fmt: skip
CROSS_BORDER_COUNTRIES = frozenset({"US", "GB", "CA", "CH", *_EEA})
# What a recipient account may ask for: it takes no payments, it is only paid.
RECIPIENT_CAPABILITIES = frozenset({"transfers"})

# What a fresh Express account still owes before it can be paid.
INITIAL_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "external_account",
    "individual.address.city",
    "individual.address.line1",
    "individual.address.postal_code",
    "individual.address.state",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.ssn_last_4",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]


class AccountsMixin(StateBase):
    """Accounts and account links."""

    # Where the platform's own Stripe account is; the server sets it (``platform_country``).
    platform_country = "US"

    def check_service_agreement(
        self, *, country: str, agreement: str, capabilities: list[str]
    ) -> None:
        """Refuse, as Stripe does, an account this platform may not open (400)."""
        platform = self.platform_country
        param = "tos_acceptance[service_agreement]"
        if agreement == "recipient":
            if country == platform or country == "US":
                raise invalid(
                    f"Connected accounts in {country} cannot be created with the `recipient` "
                    f"service agreement by a platform in {platform}: the `recipient` service "
                    "agreement is only for cross-border payouts. Use the `full` service "
                    "agreement.",
                    param=param,
                )
            if platform not in CROSS_BORDER_COUNTRIES or country not in CROSS_BORDER_COUNTRIES:
                raise invalid(
                    f"Cross-border payouts from a platform in {platform} to connected accounts "
                    f"in {country} are not supported.",
                    param="country",
                )
            refused = sorted(set(capabilities) - RECIPIENT_CAPABILITIES)
            if refused:
                raise invalid(
                    "Accounts under the `recipient` service agreement cannot request the "
                    f"`{refused[0]}` capability.",
                    param=f"capabilities[{refused[0]}]",
                )
        elif country != platform:
            raise invalid(
                f"Connected accounts in {country} cannot be created with the `full` service "
                f"agreement by a platform in {platform}. Cross-border payouts need the "
                "`recipient` service agreement.",
                param=param,
            )

    def build_account(
        self,
        *,
        type_: str = "express",
        country: str = "US",
        email: str | None = None,
        metadata: dict[str, str] | None = None,
        capabilities: list[str] | None = None,
        service_agreement: str | None = None,
        business_type: str | None = None,
    ) -> dict[str, Any]:
        acct_id = new_id("acct", 16)
        return {
            "id": acct_id,
            "object": "account",
            "business_profile": {"mcc": None, "name": None, "url": None},
            "business_type": business_type,
            "capabilities": {name: "inactive" for name in (capabilities or ["transfers"])},
            "charges_enabled": False,
            "controller": {
                "fees": {"payer": "application"},
                "is_controller": True,
                "losses": {"payments": "application"},
                "requirement_collection": "stripe",
                "stripe_dashboard": {"type": "express"},
                "type": "application",
            },
            "country": country,
            "created": self._now(),
            "default_currency": "usd",
            "details_submitted": False,
            "email": email,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": False,
                "total_count": 0,
                "url": f"/v1/accounts/{acct_id}/external_accounts",
            },
            "future_requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": [],
                "disabled_reason": None,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "livemode": False,
            "metadata": metadata or {},
            "payouts_enabled": False,
            "requirements": {
                "alternatives": [],
                "current_deadline": None,
                "currently_due": list(INITIAL_REQUIREMENTS),
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": list(INITIAL_REQUIREMENTS),
                "past_due": list(INITIAL_REQUIREMENTS),
                "pending_verification": [],
            },
            "settings": {
                "payouts": {
                    "debit_negative_balances": True,
                    "schedule": {"delay_days": 2, "interval": "daily"},
                    "statement_descriptor": None,
                }
            },
            "tos_acceptance": {"service_agreement": service_agreement or "full"},
            "type": type_,
        }

    def add_account(self, account: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.accounts[account["id"]] = account
            self.account_balance[account["id"]] = {}
            return copy.deepcopy(account)

    def create_account(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(
            params,
            {
                "type",
                "country",
                "email",
                "metadata",
                "capabilities",
                "tos_acceptance",
                "business_type",
                "business_profile",
                "controller",
                "settings",
                "default_currency",
            },
        )
        type_ = get_str(params, "type") or "express"
        if type_ not in ("express", "custom", "standard"):
            raise invalid("Invalid type: must be one of express, custom, or standard", param="type")
        # Stripe's default is the platform's own country.
        country = (get_str(params, "country") or self.platform_country).upper()
        if len(country) != 2 or not country.isalpha():
            raise invalid(f"Invalid country: {country}", param="country")
        email = get_str(params, "email")
        metadata = get_metadata(params)
        requested = []
        caps = params.get("capabilities") or {}
        if not isinstance(caps, dict):
            raise invalid("Invalid object", param="capabilities")
        for name, spec in caps.items():
            if not isinstance(spec, dict) or set(spec) - {"requested"}:
                raise invalid("Invalid object", param=f"capabilities[{name}]")
            if get_bool(spec, "requested"):
                requested.append(name)
        tos = params.get("tos_acceptance") or {}
        if not isinstance(tos, dict):
            raise invalid("Invalid object", param="tos_acceptance")
        agreement = get_str(tos, "service_agreement")
        if agreement not in (None, "full", "recipient"):
            raise invalid(
                "Invalid tos_acceptance[service_agreement]: must be one of full or recipient",
                param="tos_acceptance[service_agreement]",
            )
        business_type = get_str(params, "business_type")
        self.check_service_agreement(
            country=country,
            agreement=agreement or "full",
            capabilities=requested or ["transfers"],
        )
        ctx.begin()
        account = self.build_account(
            type_=type_,
            country=country,
            email=email,
            metadata=metadata,
            capabilities=requested or ["transfers"],
            service_agreement=agreement,
            business_type=business_type,
        )
        return self.add_account(account)

    def list_accounts(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        check_known(params, {"limit", "starting_after", "ending_before", "created"})
        keep = self._created_filter(params)
        with self.lock:
            items = [a for a in reversed(self.accounts.values()) if keep(a)]
            return self._page(items, params, "/v1/accounts")

    def retrieve_account(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, set())
        with self.lock:
            return copy.deepcopy(self._account(id))

    def update_account(self, ctx: RequestContext, params: dict[str, Any], id: str) -> dict:
        check_known(params, {"email", "metadata", "business_profile", "settings"})
        email = get_str(params, "email")
        metadata = get_metadata(params)
        ctx.begin()
        with self.lock:
            acct = self._account(id)
            previous: dict[str, Any] = {}
            if email is not None and email != acct["email"]:
                previous["email"] = acct["email"]
                acct["email"] = email
            if metadata is not None:
                previous["metadata"] = copy.deepcopy(acct["metadata"])
                merge_metadata(acct["metadata"], metadata)
            if previous:
                self.emit("account.updated", acct, account=id, previous=previous, ctx=ctx)
            return copy.deepcopy(acct)

    def complete_onboarding(self, account_id: str) -> dict[str, Any]:
        """What finishing the hosted onboarding does: the account can be paid and paid out."""
        with self.lock:
            acct = self._account(account_id)
            previous = {
                "capabilities": copy.deepcopy(acct["capabilities"]),
                "charges_enabled": acct["charges_enabled"],
                "details_submitted": acct["details_submitted"],
                "payouts_enabled": acct["payouts_enabled"],
                "requirements": copy.deepcopy(acct["requirements"]),
            }
            acct["capabilities"] = {name: "active" for name in acct["capabilities"]}
            acct["charges_enabled"] = "card_payments" in acct["capabilities"]
            acct["details_submitted"] = True
            acct["payouts_enabled"] = True
            acct["requirements"].update(
                currently_due=[], eventually_due=[], past_due=[], disabled_reason=None, errors=[]
            )
            acct["tos_acceptance"].update(date=self._now(), ip="127.0.0.1")
            if not acct["external_accounts"]["data"]:
                acct["external_accounts"]["data"].append(
                    {
                        "id": new_id("ba"),
                        "object": "bank_account",
                        "account": account_id,
                        "account_holder_type": "individual",
                        "bank_name": "STRIPE TEST BANK",
                        "country": acct["country"],
                        "currency": acct["default_currency"],
                        "default_for_currency": True,
                        "last4": "6789",
                        "routing_number": "110000000",
                        "status": "new",
                    }
                )
                acct["external_accounts"]["total_count"] = 1
            self.emit("account.updated", acct, account=account_id, previous=previous)
            return copy.deepcopy(acct)

    def restrict_account(
        self, account_id: str, *, requirement: str = "individual.verification.document"
    ) -> dict[str, Any]:
        """The account can no longer receive transfers or payouts until it provides more."""
        with self.lock:
            acct = self._account(account_id)
            previous = {
                "capabilities": copy.deepcopy(acct["capabilities"]),
                "payouts_enabled": acct["payouts_enabled"],
                "requirements": copy.deepcopy(acct["requirements"]),
            }
            acct["capabilities"] = {name: "inactive" for name in acct["capabilities"]}
            acct["payouts_enabled"] = False
            acct["requirements"].update(
                currently_due=[requirement],
                eventually_due=[requirement],
                past_due=[requirement],
                disabled_reason="requirements.past_due",
            )
            self.emit("account.updated", acct, account=account_id, previous=previous)
            return copy.deepcopy(acct)

    def create_account_link(self, ctx: RequestContext, params: dict[str, Any]) -> dict:
        check_known(
            params,
            {"account", "type", "refresh_url", "return_url", "collect", "collection_options"},
        )
        account_id = get_id(params, "account", "acct_")
        type_ = get_str(params, "type", required=True)
        if type_ not in ("account_onboarding", "account_update"):
            raise invalid(
                "Invalid type: must be one of account_onboarding or account_update", param="type"
            )
        refresh_url = get_url(params, "refresh_url")
        return_url = get_url(params, "return_url")
        ctx.begin()
        with self.lock:
            self._account(account_id, param="account")
            token = secrets.token_urlsafe(24)
            created = self._now()
            link = {
                "object": "account_link",
                "created": created,
                "expires_at": created + LINK_TTL_SECONDS,
                "url": f"{self._base_url()}/onboarding/{token}",
            }
            self.links[token] = {
                "account": account_id,
                "type": type_,
                "refresh_url": refresh_url,
                "return_url": return_url,
                "expires_at": created + LINK_TTL_SECONDS,
                "visited": False,
                "completed": False,
            }
            return link

    def visit_link(self, token: str) -> tuple[str, dict[str, Any] | None]:
        """First visit opens the onboarding session; any later or late visit is refused.

        Returns ("open", link), ("refresh", link) or ("unknown", None).
        """
        with self.lock:
            link = self.links.get(token)
            if link is None:
                return "unknown", None
            if link["visited"] or self._now() >= link["expires_at"]:
                return "refresh", dict(link)
            link["visited"] = True
            return "open", dict(link)

    def finish_link(self, token: str, *, complete: bool) -> tuple[str, dict[str, Any] | None]:
        """The onboarding session's form posts here; ends at the link's return_url."""
        with self.lock:
            link = self.links.get(token)
            if link is None:
                return "unknown", None
            if not link["visited"]:
                return "refresh", dict(link)
            if complete and not link["completed"]:
                link["completed"] = True
                self.complete_onboarding(link["account"])
            return "return", dict(link)
