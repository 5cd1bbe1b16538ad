# The check runs in a migration of its own: on PostgreSQL a table cannot be altered in
# the transaction that just updated its rows (0003 records the last editors).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("engagements", "0003_approval_separation"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='contribution',
            constraint=models.CheckConstraint(condition=models.Q(('approved_by__isnull', True), ('last_edited_by__isnull', True), models.Q(('approved_by', models.F('last_edited_by')), _negated=True), _connector='OR'), name='contribution_approver_is_not_last_editor', violation_error_message='Nobody approves an entry they changed.'),
        ),
    ]
