"""The audit-verification run kind, the index behind "latest run of a kind", and the daily
beat schedule of ``audit.verify_chain`` (seeded once, idempotent).

A schedule that exists under its name (perhaps edited or disabled in the admin) is left
as it is.
"""

import json

from django.db import migrations, models

NAME, TASK = "audit: verify the chain (daily)", "audit.verify_chain"


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.create(name=NAME, task=TASK, interval=interval, kwargs=json.dumps({"trigger": "beat"}))


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


KINDS = [
    ("legacy_import", "Legacy import"),
    ("seed", "Seed"),
    ("export", "Export"),
    ("upstream", "Upstream import"),
    ("pull_requests", "Pull requests"),
    ("links", "Download-link check"),
    ("audit_verify", "Audit chain verification"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0007_download_link_checks"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="syncrun", name="kind", field=models.CharField(choices=KINDS, max_length=32)
        ),
        migrations.AlterField(
            model_name="synclease",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=32, primary_key=True, serialize=False),
        ),
        migrations.AddIndex(
            model_name="syncrun",
            index=models.Index(fields=["kind", "-started_at"], name="syncrun_kind_started_idx"),
        ),
        migrations.RunPython(seed, unseed),
    ]
