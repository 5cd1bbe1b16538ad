"""Everything that talks to Stripe: the SDK client, the provider (the only place that
knows integer cents and raw Stripe objects), the engine that pays, the webhooks and
the events they apply, and consultants' connected accounts.

``import stripe`` inside this package is the SDK (absolute imports), not this package.
"""
