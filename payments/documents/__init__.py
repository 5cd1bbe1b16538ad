"""Receipts and annual statements: their models, issuing, rendering, the tasks that
render them outside requests, and the neutral e-mails that say one is ready."""
