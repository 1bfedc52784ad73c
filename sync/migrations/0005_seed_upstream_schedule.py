"""Seed the upstream import's beat schedule (every 15 minutes), once; the admin edits it after.

Idempotent, as 0003: a schedule that exists under its name is left as it is.
"""

import json

from django.db import migrations

NAME = "sync: import upstream (every 15 min)"


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.create(
        name=NAME, task="sync.import_upstream", interval=interval, kwargs=json.dumps({"trigger": "beat"})
    )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0004_upstream_base"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
