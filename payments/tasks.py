"""Background work for payments (django-tasks). The Stripe path arrives with the provider."""

from django_tasks import task


@task()
def pay_payment(payment_id: int) -> None:
    """Pay one payment through its provider (filled in with the Stripe provider)."""
