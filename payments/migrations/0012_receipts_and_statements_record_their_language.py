# Receipts and annual statements record the language they are written in.

from django.conf import settings
from django.db import migrations, models

# SQLite rebuilds a table to add a column with a default, and a rebuilt table loses its
# triggers: 0005's receipt guard is put back, now naming every column a receipt keeps
# (PostgreSQL's guard compares whole rows, so it covers a new column as it is).
RECEIPT_KEPT = [
    "id", "public_id", "payment_id", "consultant_id", "year", "sequence", "number",
    "verification_code", "issued_at", "replaces_id", "reason", "payee_name",
    "organization_name", "organization_contact", "organization_address",
    "organization_tax_id", "description", "method", "reference", "paid_on", "total",
    "pay_total", "reimbursement_total", "currency", "lines", "language", "issued_by_id",
]  # fmt: skip

SQLITE_RECEIPT_GUARD = """
    CREATE TRIGGER receipt_guard BEFORE UPDATE ON payments_receipt
    WHEN {kept}
         OR (OLD.sha256 <> '' AND (NEW.sha256 IS NOT OLD.sha256 OR NEW.pdf IS NOT OLD.pdf
                                   OR NEW.rendered_at IS NOT OLD.rendered_at))
    BEGIN
        SELECT RAISE(ABORT, 'receipts are never edited; a stored receipt PDF is never replaced');
    END
""".format(kept="\n         OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in RECEIPT_KEPT))


def put_back_guard(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS receipt_guard")
        schema_editor.execute(SQLITE_RECEIPT_GUARD)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0011_receipt_records_payer_address_and_tax_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="annualstatement",
            name="language",
            field=models.CharField(
                choices=settings.LANGUAGES, default="en", max_length=8, verbose_name="language"
            ),
        ),
        migrations.AddField(
            model_name="receipt",
            name="language",
            field=models.CharField(
                choices=settings.LANGUAGES, default="en", max_length=8, verbose_name="language"
            ),
        ),
        migrations.RunPython(put_back_guard, migrations.RunPython.noop),
    ]
