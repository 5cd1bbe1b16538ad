"""The demo study: realistic people, rates and a year of work, for demos and benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts import actions as accounts_actions
from accounts.models import User
from accounts.roles import ADMIN, CONSULTANT, COORDINATOR, FINANCE
from consultants import actions as consultants_actions
from consultants import services as consultant_services
from consultants.models import CapPeriod, Consultant, PayoutMethod, ReceiptName, TaxForm
from core.history import stamp
from core.money import round_money
from demo.accounts import enroll_totp
from demo.seed_agreements import seed_agreements, seed_scale_agreements
from demo.seed_consents import seed_consents
from demo.seed_expenses import seed_expenses
from demo.seed_meetings import seed_meetings
from demo.seed_transparency import seed_transparency
from engagements import actions as engagements_actions
from engagements.models import Activity, Contribution, Engagement, Phase, Rate, RateCard, Study
from engagements.paydates import promised_pay_date
from engagements.rates import RATE_KIND_FOR
from engagements.services.contributions import contribution_create
from engagements.services.engagements import rate_add, study_create
from engagements.services.reviews import contribution_approve, contribution_reject
from payments.stripe.accounts import stripe_account_save
from stripe_sandbox import SandboxControl

STUDY_NAME = "Community Voices Study"
DEMO_PASSWORD = "honora-demo"

DEMO_USERS = [
    ("coordinator@example.org", "Maria", [COORDINATOR]),
    ("coordinator2@example.org", "Dev", [COORDINATOR]),
    ("finance@example.org", "Grace", [FINANCE]),
    ("finance2@example.org", "Tomás", [FINANCE]),
    ("admin@example.org", "Alex", [ADMIN]),
    ("consultant@example.org", "River", [CONSULTANT]),
    ("consultant2@example.org", "Sol", [CONSULTANT]),
]

# display name, pseudonym, payout method, W-9 on file, benefits cap, language, store
CONSULTANTS = [
    ("River", "River", PayoutMethod.STRIPE, True, None, "en", ""),
    ("Sol", "Sol M.", PayoutMethod.CHECK, False, (Decimal("900.00"), CapPeriod.MONTHLY), "es", ""),
    ("Marisol", "", PayoutMethod.GIFT_CARD, False, None, "es", "Grocery Outlet"),
    ("Jade", "Jade", PayoutMethod.PREPAID_CARD, True, None, "en", ""),
    ("Nova", "", PayoutMethod.STRIPE, True, None, "en", ""),
    ("Wren", "Wren", PayoutMethod.CASH, False, None, "en", ""),
    ("Amani", "", PayoutMethod.CHECK, True, None, "en", ""),
    ("Kai", "K.", PayoutMethod.STRIPE, False, None, "en", ""),
    ("Luz", "", PayoutMethod.PREPAID_CARD, True, (Decimal("6000.00"), CapPeriod.YEARLY), "es", ""),
    ("Sage", "", PayoutMethod.GIFT_CARD, False, None, "en", "Target"),
    ("Rowan", "Rowan", PayoutMethod.CHECK, True, None, "en", ""),
    ("Ivy", "", PayoutMethod.STRIPE, False, None, "en", ""),
]

ROLES_BY_PHASE = [
    "Study design advisor",
    "Recruitment lead",
    "Instrument reviewer",
    "Analysis partner",
    "Dissemination speaker",
]


@dataclass
class SeedResult:
    study: Study
    users: dict[str, User]
    totp: dict[str, tuple[str, list[str]]]
    created: bool


def _fake_secret(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return "".join(rng.choice(alphabet) for _ in range(32))


def _user(email: str, name: str, roles: list[str], password: str) -> User:
    user = User(email=email, name=name, is_staff=bool(set(roles) & {COORDINATOR, FINANCE, ADMIN}))
    user.set_password(password)
    # Nobody signs in to make the demo people: the history names the action, not a user.
    stamp(user, by=None, action=accounts_actions.USER_CREATED, reason="Demo data")
    user.save()
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


def demo_loaded() -> bool:
    return Study.objects.filter(name=STUDY_NAME).exists()


@transaction.atomic
def seed_demo(*, password: str = DEMO_PASSWORD, seed: int = 2026) -> SeedResult:
    rng = random.Random(seed)
    if demo_loaded():
        study = Study.objects.get(name=STUDY_NAME)
        users = {u.email: u for u in User.objects.filter(email__in=[e for e, *_ in DEMO_USERS])}
        return SeedResult(study=study, users=users, totp={}, created=False)

    users = {email: _user(email, name, roles, password) for email, name, roles in DEMO_USERS}
    admin = users["admin@example.org"]
    coordinator = users["coordinator@example.org"]
    coordinator2 = users["coordinator2@example.org"]
    finance = users["finance@example.org"]

    totp = {}
    for email in ("finance@example.org", "finance2@example.org", "admin@example.org"):
        secret = _fake_secret(rng)
        totp[email] = (secret, enroll_totp(users[email], secret))

    today = timezone.localdate()
    start = today - timedelta(days=330)
    # Rates cover the whole past year, so --scale data (a year back) has a rate every day.
    rates_from = today - timedelta(days=365)
    study = study_create(
        name=STUDY_NAME,
        by=admin,
        budget=Decimal("250000.00"),
        description="A national, survivor-led research study.",
    )
    cards = {}
    for name, hourly, later, flat in (
        ("Consultant", "60.00", "65.00", "150.00"),
        ("Lead consultant", "75.00", "80.00", "200.00"),
    ):
        card = RateCard(study=study, name=name)
        stamp(card, by=admin, action=engagements_actions.RATECARD_CREATED)
        card.save()
        rate_add(
            rate_card=card,
            by=admin,
            kind=Rate.Kind.HOURLY,
            amount=hourly,
            effective_from=rates_from,
        )
        rate_add(
            rate_card=card,
            by=admin,
            kind=Rate.Kind.HOURLY,
            amount=later,
            effective_from=today - timedelta(days=120),
        )
        rate_add(
            rate_card=card, by=admin, kind=Rate.Kind.FLAT, amount=flat, effective_from=rates_from
        )
        cards[name] = card

    phases = list(study.phases.order_by("position"))
    linked = {"River": users["consultant@example.org"], "Sol": users["consultant2@example.org"]}
    consultants = []
    for index, (display, pseudonym, method, w9, cap, language, store) in enumerate(CONSULTANTS):
        consultant = consultant_services.consultant_create(
            by=coordinator,
            display_name=display,
            user=linked.get(display),
            pseudonym=pseudonym,
            payout_method=method,
            gift_card_store=store,
            preferred_language=language,
            email=f"{display.lower()}@example.net",
            phone=f"555-01{index:02d}",
            receipt_name=ReceiptName.PSEUDONYM if pseudonym else ReceiptName.DISPLAY_NAME,
            benefits_cap_amount=cap[0] if cap else None,
            benefits_cap_period=cap[1] if cap else "",
        )
        consultant_services.vault_update(
            consultant=consultant,
            by=finance,
            reason="",
            legal_name=f"{display} Example-{index + 1}",
            mailing_address=f"{100 + index} Demo Street\nSpringfield, IL 6270{index % 10}",
            date_of_birth=date(1975 + index, 1 + index % 12, 1 + index),
            taxpayer_id=f"900-70-{1000 + index:04d}",
        )
        if w9:
            consultant_services.taxform_record(
                consultant=consultant,
                by=finance,
                status=TaxForm.Status.RECEIVED,
                received_on=start + timedelta(days=index),
            )
        consultants.append(consultant)

    for index, consultant in enumerate(consultants):
        card = cards["Lead consultant" if index % 4 == 0 else "Consultant"]
        chosen = rng.sample(phases, k=2 + index % 2)
        for phase in chosen:
            engagement = Engagement(
                consultant=consultant,
                phase=phase,
                role=ROLES_BY_PHASE[phase.position - 1],
                rate_card=card,
                hours_cap=Decimal("120.00"),
                budget=Decimal("9000.00"),
            )
            stamp(engagement, by=coordinator, action=engagements_actions.ENGAGEMENT_CREATED)
            engagement.save()
            _seed_contributions(rng, engagement, start, today, coordinator, coordinator2)
    seed_agreements(study=study, coordinator=coordinator, coordinator2=coordinator2)
    seed_expenses(users)
    seed_consents(study=study, coordinator=coordinator)
    seed_meetings(coordinator=coordinator, river=consultants[0])
    seed_transparency(
        study=study,
        coordinator=coordinator,
        finance=finance,
        finance2=users["finance2@example.org"],
    )
    return SeedResult(study=study, users=users, totp=totp, created=True)


def _seed_contributions(rng, engagement, start, today, coordinator, coordinator2):
    consultant_user = engagement.consultant.user
    days = (today - start).days
    for _n in range(10 + rng.randrange(6)):
        day = start + timedelta(days=rng.randrange(days))
        age = (today - day).days
        roll = rng.random()
        by_consultant = consultant_user is not None and roll < 0.3
        logger = consultant_user if by_consultant else coordinator
        kind_roll = rng.random()
        if kind_roll < 0.75:
            fields = {
                "kind": Contribution.Kind.HOURS,
                "activity": rng.choice(
                    [
                        Activity.WORK,
                        Activity.WORK,
                        Activity.PREPARATION,
                        Activity.MEETING,
                        Activity.TRAINING,
                        Activity.PAPERWORK,
                        Activity.TRAVEL,
                    ]
                ),
                "quantity": Decimal(rng.randrange(2, 16)) / 4,
                "description": rng.choice(
                    [
                        "Advisory call",
                        "Reviewed draft items",
                        "Recruitment outreach",
                        "Coding session",
                        "Community presentation",
                        "",
                    ]
                ),
            }
        elif kind_roll < 0.9:
            fields = {
                "kind": Contribution.Kind.HONORARIUM,
                "activity": Activity.MEETING,
                "quantity": Decimal("1"),
                "description": "Advisory board meeting",
            }
        else:
            fields = {
                "kind": Contribution.Kind.REIMBURSEMENT,
                "activity": rng.choice([Activity.TRAVEL, Activity.MEETING]),
                "claimed_amount": Decimal(rng.randrange(1500, 9000)) / 100,
                "description": rng.choice(
                    ["Mileage", "Childcare during meeting", "Bus fare", "Parking"]
                ),
            }
        contribution = contribution_create(
            engagement=engagement, by=logger, date=day, submit=by_consultant or age > 3, **fields
        )
        if contribution.status == Contribution.Status.DRAFT:
            continue
        if age > 30 and rng.random() < 0.93:
            approver = coordinator2 if logger == coordinator else coordinator
            contribution_approve(contribution=contribution, by=approver)
        elif age > 30:
            approver = coordinator2 if logger == coordinator else coordinator
            contribution_reject(
                contribution=contribution,
                by=approver,
                reason="Please split preparation and meeting time into separate entries.",
            )


def seed_scale(*, consultants: int, seed: int = 7) -> int:
    """Add ``consultants`` consultants with a year of approved work each, by bulk inserts."""
    rng = random.Random(seed)
    base = seed_demo()
    study = base.study
    coordinator = base.users["coordinator@example.org"]
    coordinator2 = base.users["coordinator2@example.org"]
    card = study.rate_cards.get(name="Consultant")
    rates = list(card.rates.all())
    phases = list(Phase.objects.filter(study=study).order_by("position"))
    today = timezone.localdate()
    start = today - timedelta(days=364)
    offset = Consultant.objects.count()
    people = [
        Consultant(
            display_name=f"Consultant {offset + i:05d}",
            payout_method=rng.choice(PayoutMethod.values),
        )
        for i in range(consultants)
    ]
    # Bulk rows get the same history facts a service would stamp: who, and a named action.
    people = bulk_create_with_history(
        people,
        Consultant,
        batch_size=500,
        default_user=coordinator,
        custom_historical_attrs={"history_action": consultants_actions.CONSULTANT_CREATED},
    )
    bulk_create_with_history(
        [TaxForm(consultant=c) for c in people],
        TaxForm,
        batch_size=500,
        default_user=coordinator,
        custom_historical_attrs={"history_action": consultants_actions.TAXFORM_CREATED},
    )
    engagements = bulk_create_with_history(
        [
            Engagement(
                consultant=c, phase=phases[i % len(phases)], role="Consultant", rate_card=card
            )
            for i, c in enumerate(people)
        ],
        Engagement,
        batch_size=500,
        default_user=coordinator,
        custom_historical_attrs={"history_action": engagements_actions.ENGAGEMENT_CREATED},
    )

    seed_scale_agreements(engagements, coordinator=coordinator)

    def rate_on(kind: str, day: date) -> Decimal:
        # Only rates of this kind: an hour is never priced at the flat honorarium.
        of_kind = sorted(
            (r for r in rates if r.kind == kind and not r.activity), key=lambda r: r.effective_from
        )
        in_force = [r for r in of_kind if r.effective_from <= day]
        # A day before the first rate (a demo seeded by an older version) takes the first.
        return (in_force[-1] if in_force else of_kind[0]).amount

    now = timezone.now()
    promised = promised_pay_date(study=study, approved_on=timezone.localdate(now))
    rows = []
    for engagement in engagements:
        for week in range(52):
            day = start + timedelta(days=7 * week + rng.randrange(5))
            quantity = Decimal(rng.randrange(2, 17)) / 4
            rate = rate_on(RATE_KIND_FOR[Contribution.Kind.HOURS], day)
            rows.append(
                Contribution(
                    engagement=engagement,
                    kind=Contribution.Kind.HOURS,
                    activity=Activity.WORK,
                    date=day,
                    quantity=quantity,
                    status=Contribution.Status.APPROVED,
                    rate=rate,
                    amount=round_money(quantity * rate),
                    logged_by=coordinator,
                    submitted_at=now,
                    approved_by=coordinator2,
                    approved_at=now,
                    promised_pay_date=promised,
                )
            )
    bulk_create_with_history(
        rows,
        Contribution,
        batch_size=2000,
        default_user=coordinator,
        custom_historical_attrs={"history_action": engagements_actions.CONTRIBUTION_IMPORTED},
    )
    analyze()
    return len(rows)


def analyze() -> None:
    """Fresh planner statistics after a bulk seed (PostgreSQL): with autovacuum off or
    behind, a table just grown a thousandfold is planned as if empty (issue 18 saw the
    dashboard's unpaid-work list take 4.5 s on such a plan)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def connect_demo_stripe_accounts(sandbox_url: str) -> int:
    """Give the demo's direct-deposit consultants onboarded sandbox accounts.

    Everyone except the signed-in demo consultant (consultant@example.org), who
    onboards through the portal to show that journey. Runs only against the local
    Stripe-compatible server; returns how many accounts it connected.
    """
    control = SandboxControl(sandbox_url)
    system = User.objects.filter(email="admin@example.org").first()
    connected = 0
    waiting = (
        Consultant.objects.filter(payout_method=PayoutMethod.STRIPE, stripe_account__isnull=True)
        .exclude(user__email="consultant@example.org")
        .order_by("pk")
    )
    for consultant in waiting:
        account = control.create_account(onboarded=True)
        stripe_account_save(consultant=consultant, account=account, by=system)
        connected += 1
    return connected
