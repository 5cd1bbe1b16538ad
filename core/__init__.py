"""The shared kernel: what every app needs and no app owns.

Domain errors, private files, key derivation and encrypted fields, append-only
rows, the audit-history plumbing, money, CSV and the small helpers that pages
share. Nothing here imports an app; every app may import from here.
"""
