"""Seed the default beat schedules (django-celery-beat), once; the admin edits them after.

Idempotent: a schedule that exists under its name (perhaps edited or disabled in the
admin) is left as it is. Later jobs add their own entries in their own migrations.
"""

import json

from django.db import migrations

# (name, task, every, period)
SCHEDULES = [
    ("sync: publish export (hourly)", "sync.publish_export", 1, "hours"),
]


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.create(
            name=name, task=task, interval=interval, kwargs=json.dumps({"trigger": "beat"})
        )


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0002_run_trigger_timings_lease"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
