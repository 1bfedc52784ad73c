"""Download-link health: the ``links`` run kind, its table, and a daily beat schedule.

The schedule is seeded once (idempotent); one that exists under its name, perhaps edited
or disabled in the admin, is left as it is. Nothing runs the check as a side effect of a
migration: beat enqueues it, or ``manage.py sync links`` runs it.
"""

import json

from django.db import migrations, models

NAME, TASK = "sync: check download links (daily)", "sync.check_download_links"

KINDS = [
    ("legacy_import", "Legacy import"),
    ("seed", "Seed"),
    ("export", "Export"),
    ("upstream", "Upstream import"),
    ("pull_requests", "Pull requests"),
    ("links", "Download-link check"),
]
CATEGORIES = [
    ("blip", "blip"),
    ("clip", "clip"),
    ("codeformer", "codeformer"),
    ("controlnet", "controlnet"),
    ("controlnet_annotator", "controlnet_annotator"),
    ("esrgan", "esrgan"),
    ("gfpgan", "gfpgan"),
    ("safety_checker", "safety_checker"),
    ("image_generation", "image_generation"),
    ("text_generation", "text_generation"),
    ("video_generation", "video_generation"),
    ("audio_generation", "audio_generation"),
    ("miscellaneous", "miscellaneous"),
    ("lora", "lora"),
    ("ti", "ti"),
]
LINK_STATUSES = [
    ("ok", "ok"),
    ("broken", "broken"),
    ("login_required", "login required"),
    ("slow", "slow"),
    ("unknown_host", "unknown host"),
]
STATUS_VALUES = [value for value, _ in LINK_STATUSES]


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    PeriodicTask.objects.create(
        name=NAME, task=TASK, interval=interval, kwargs=json.dumps({"trigger": "beat"})
    )


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0006_pull_requests_schedule"),
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
        migrations.CreateModel(
            name="DownloadLinkCheck",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("category", models.CharField(choices=CATEGORIES, max_length=32)),
                ("model_name", models.CharField(max_length=255)),
                ("url", models.TextField()),
                ("status", models.CharField(choices=LINK_STATUSES, max_length=16)),
                ("previous_status", models.CharField(blank=True, choices=LINK_STATUSES, max_length=16)),
                ("http_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("size_bytes", models.BigIntegerField(blank=True, null=True)),
                ("final_host", models.CharField(blank=True, max_length=255)),
                ("elapsed_ms", models.PositiveIntegerField(blank=True, null=True)),
                ("detail", models.CharField(blank=True, max_length=500)),
                ("checked_at", models.DateTimeField()),
            ],
            options={"ordering": ("category", "model_name", "url")},
        ),
        migrations.AddConstraint(
            model_name="downloadlinkcheck",
            constraint=models.UniqueConstraint(
                fields=("category", "model_name", "url"), name="linkcheck_unique_url"
            ),
        ),
        migrations.AddConstraint(
            model_name="downloadlinkcheck",
            constraint=models.CheckConstraint(
                condition=models.Q(status__in=STATUS_VALUES), name="linkcheck_status_valid"
            ),
        ),
        migrations.AddConstraint(
            model_name="downloadlinkcheck",
            constraint=models.CheckConstraint(
                condition=models.Q(previous_status__in=["", *STATUS_VALUES]),
                name="linkcheck_previous_status_valid",
            ),
        ),
        migrations.AddIndex(
            model_name="downloadlinkcheck", index=models.Index(fields=["status"], name="linkcheck_status_idx")
        ),
        migrations.RunPython(seed, unseed),
    ]
