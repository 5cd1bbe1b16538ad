"""Finance pages, under /finance/: batches, payments, and documents (receipts,
statements, the tax summary)."""
