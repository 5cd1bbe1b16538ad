"""Payment providers: one per rail (see ``base.PaymentProvider``).

``base`` says what every provider offers, ``manual`` is the check/card/cash rail;
Stripe's provider lives with the rest of Stripe, in ``payments.stripe.provider``.
"""
