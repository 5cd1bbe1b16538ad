"""factory_boy factories for the domain; services are used where rules live."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.models import User
from consultants.models import Consultant, TaxForm
from engagements.models import Contribution, Engagement, Phase, Rate, RateCard, Study


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.set(Group.objects.filter(name__in=extracted))
            if set(extracted) & {"coordinator", "finance", "admin"}:
                self.is_staff = True
                self.save(update_fields=["is_staff"])


class ConsultantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultant
        skip_postgeneration_save = True

    display_name = factory.Sequence(lambda n: f"Pseudonym {n}")
    email = factory.Sequence(lambda n: f"consultant{n}@example.net")

    @factory.post_generation
    def tax_form(self, create, extracted, **kwargs):
        if create:
            TaxForm.objects.get_or_create(consultant=self)


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    name = factory.Sequence(lambda n: f"Study {n}")
    hourly_rate_floor = Decimal("57.00")


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    study = factory.SubFactory(StudyFactory)
    name = factory.Sequence(lambda n: f"Phase {n}")
    position = factory.Sequence(lambda n: n + 1)


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateCard
        skip_postgeneration_save = True

    study = factory.SubFactory(StudyFactory)
    name = factory.Sequence(lambda n: f"Card {n}")

    @factory.post_generation
    def default_rates(self, create, extracted, **kwargs):
        if create and extracted is not False:
            Rate.objects.create(
                rate_card=self,
                kind=Rate.Kind.HOURLY,
                amount=Decimal("60.00"),
                floor=self.study.hourly_rate_floor,
                effective_from=date(2020, 1, 1),
            )
            Rate.objects.create(
                rate_card=self,
                kind=Rate.Kind.FLAT,
                amount=Decimal("150.00"),
                floor=Decimal("0"),
                effective_from=date(2020, 1, 1),
            )


class EngagementFactory(factory.django.DjangoModelFactory):
    consultant = factory.SubFactory(ConsultantFactory)
    phase = factory.SubFactory(PhaseFactory)
    role = "Advisor"
    rate_card = factory.LazyAttribute(lambda o: RateCardFactory(study=o.phase.study))

    class Meta:
        model = Engagement
        skip_postgeneration_save = True

    @factory.post_generation
    def agreed(self, create, extracted, **kwargs):
        """Version 1 of the agreement, issued and accepted (``agreed=False``: issued only)."""
        if create:
            from agreements.services import agreements_refresh
            from tests.agreements_helpers import accept_latest

            agreements_refresh(engagements=[self], by=None)
            if extracted is not False:
                accept_latest(self)


class ContributionFactory(factory.django.DjangoModelFactory):
    """A draft contribution written straight to the table (use services for actions)."""

    class Meta:
        model = Contribution

    engagement = factory.SubFactory(EngagementFactory)
    kind = Contribution.Kind.HOURS
    activity = "work"
    date = date(2026, 3, 12)
    quantity = Decimal("2.00")
    logged_by = factory.SubFactory(UserFactory, roles=["coordinator"])
