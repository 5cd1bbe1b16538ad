# Approved, unpaid entries approved before promises existed get one: the approval date
# plus the organisation's target (studies had no calendar then). Paid entries keep none.

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def fill(apps, schema_editor):
    Contribution = apps.get_model("engagements", "Contribution")
    target = timedelta(days=max(1, min(settings.TIME_TO_PAY_TARGET_DAYS, 60)))
    rows = Contribution.objects.filter(
        status="approved", promised_pay_date__isnull=True, approved_at__isnull=False
    ).only("pk", "approved_at")
    batch = []
    for row in rows.iterator(chunk_size=2000):
        row.promised_pay_date = timezone.localdate(row.approved_at) + target
        batch.append(row)
        if len(batch) >= 2000:
            Contribution.objects.bulk_update(batch, ["promised_pay_date"])
            batch = []
    if batch:
        Contribution.objects.bulk_update(batch, ["promised_pay_date"])


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0005_pay_calendar_and_promise"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
