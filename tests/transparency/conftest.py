from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.factories import UserFactory
from tests.transparency.build import at, consultants, pay, study_with_phases

NAMES = [
    ("Zephyrine Quillfeather", "Nube Alta"),
    ("Octavia Brightwater", "Río Claro"),
    ("Lisandro Vantablack", "Piedra Luna"),
    ("Hortensia Marblewood", "Sol de Mayo"),
    ("Evander Coppersmith", "Viento Sur"),
    ("Philippa Thistledown", "Mar Abierto"),
]


@pytest.fixture
def paid_study(db):
    """A study whose six consultants, named distinctively, were paid in two phases."""
    logger = UserFactory(roles=["coordinator"])
    approver = UserFactory(roles=["coordinator"])
    study = study_with_phases("Estudio de transparencia", 2)
    people = consultants(6, prefix="Persona")
    for c, (display, pseudonym) in zip(people, NAMES, strict=True):
        c.display_name = display
        c.pseudonym = pseudonym
        c.save(update_fields=["display_name", "pseudonym"])
    phases = list(study.phases.order_by("position"))
    for i, c in enumerate(people):
        pay(
            consultant=c,
            lines=[
                {
                    "phase": phases[0],
                    "quantity": Decimal("4"),
                    "amount": Decimal("240.00"),
                    "approved_at": at(2026, 1, 5 + i),
                }
            ],
            method="check",
            paid_at=at(2026, 1, 20),
            logger=logger,
            approver=approver,
        )
    # One person alone in the second phase: a cell of one, never shown.
    pay(
        consultant=people[0],
        lines=[
            {
                "phase": phases[1],
                "kind": "honorarium",
                "activity": "meeting",
                "amount": Decimal("150.00"),
                "approved_at": at(2026, 2, 1),
            }
        ],
        method="cash",
        paid_at=at(2026, 2, 3),
        logger=logger,
        approver=approver,
    )
    study.people = people
    return study


END = dt.date(2026, 3, 31)
