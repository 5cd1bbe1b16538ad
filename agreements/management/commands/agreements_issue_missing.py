"""Issue a first agreement to every active engagement that has none.

Engagements made before agreements existed have no version, so their work is held
("the engagement has no agreement yet") until one is issued and accepted. This issues
version 1 for each of them at once, from their terms as they are now, with the named
contact given (a member of staff); each consultant then accepts it in the portal, or a
coordinator records a paper acceptance. Running it again issues nothing twice.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from agreements.services import ISSUE_PERM, agreements_refresh
from engagements.models import Engagement


class Command(BaseCommand):
    help = "Issue version 1 of the agreement to every active engagement that has none."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contact",
            required=True,
            help="e-mail of the staff member named as the consultants' contact (who issues them)",
        )

    def handle(self, *args, contact, **options):
        user = User.objects.filter(email__iexact=contact.strip(), is_active=True).first()
        if user is None or not user.is_staff_member or not user.has_perm(ISSUE_PERM):
            raise CommandError(
                "--contact must be the e-mail of an active member of staff who may issue "
                "agreements (a coordinator)"
            )
        missing = Engagement.objects.filter(
            status=Engagement.Status.ACTIVE, agreement_versions__isnull=True
        ).order_by("pk")
        issued = agreements_refresh(engagements=list(missing), by=user)
        self.stdout.write(f"{len(issued)} agreement(s) issued.")
