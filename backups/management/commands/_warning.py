KEEP_SAFE = (
    "The archive holds personal data (the identity vault, receipts, uploaded proofs and "
    "signed tax forms), encrypted with FIELD_ENCRYPTION_KEY as it is at rest. Store the "
    "archive itself encrypted and off this machine. FIELD_ENCRYPTION_KEY is NOT in the "
    "archive: keep it in a separate secret store; without it the archive's vault fields, "
    "files and two-step secrets cannot be read (the database rows still restore)."
)
