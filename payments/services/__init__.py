"""Every write about paying people, one action per function, in rooms by job.

``access`` (who may act), ``locks`` (the one lock order), ``lifecycle`` (a
payment's state changes, shared by finance, the engine and the webhooks),
``batches`` (a batch's life) and ``finance`` (what finance does to one payment).
Stripe's side (the engine, events, accounts) is in ``payments.stripe``.
"""
