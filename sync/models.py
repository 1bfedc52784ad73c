"""Outcomes of imports and sync runs, visible in the admin, and the per-kind leases."""

from __future__ import annotations

from django.db import models

from common.json_fields import OrderedJSONField
from references.models import CATEGORY_CHOICES


class SyncRun(models.Model):
    class Kind(models.TextChoices):
        LEGACY_IMPORT = "legacy_import", "Legacy import"
        SEED = "seed", "Seed"
        EXPORT = "export", "Export"
        UPSTREAM = "upstream", "Upstream import"
        PULL_REQUESTS = "pull_requests", "Pull requests"
        LINKS = "links", "Download-link check"
        AUDIT_VERIFY = "audit_verify", "Audit chain verification"
        STATISTICS = "statistics", "AI Horde statistics"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with invalid records"
        FAILED = "failed", "Failed"
        # Another run of the same kind held the lease: recorded, never doubled.
        SKIPPED = "skipped", "Skipped (already running)"

    class Trigger(models.TextChoices):
        BEAT = "beat", "Schedule (beat)"
        ADMIN = "admin", "Admin"
        COMMAND = "command", "Command"
        ON_COMMIT = "on_commit", "After a change"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    source = models.CharField(max_length=1000, blank=True)
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ("-started_at",)
        # The heartbeat's "latest run of a kind" read.
        indexes = [models.Index(fields=["kind", "-started_at"], name="syncrun_kind_started_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["running", "succeeded", "partial", "failed", "skipped"]),
                name="syncrun_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(trigger__in=["beat", "admin", "command", "on_commit"]),
                name="syncrun_trigger_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    def summary(self) -> str:
        """One line for the command's output and the task's result."""
        took = f" in {self.duration_ms} ms" if self.duration_ms is not None else ""
        dry = " (dry run)" if self.dry_run else ""
        line = f"{self.kind} run {self.pk} ({self.trigger}){dry}: {self.status}{took}"
        return f"{line}: {self.error}" if self.error else line


class SyncLease(models.Model):
    """One row per run kind: who runs it now, until when, and whether a run is wanted.

    The lease is a row, not a Redis lock or a process lock, so it survives a worker
    crash: an expired lease is simply taken over by the next run.
    """

    kind = models.CharField(max_length=32, primary_key=True, choices=SyncRun.Kind.choices)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    # Set when a change asks for a run and one is enqueued; cleared when a run starts,
    # so a burst of changes enqueues one task (see sync.services.export_request).
    requested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} lease ({self.holder or 'free'})"


class UpstreamBase(models.Model):
    """A category's upstream file as last imported: the base of the three-way import.

    Upstream's own changes are what differs between this and the file fetched now;
    ``entries`` holds the file's canonical entries (``{name: {payload, legacy_residue}}``
    in file order), so a run compares records without re-converting the old file.
    Written only in the transaction that applied or queued those changes.
    """

    category = models.CharField(max_length=32, primary_key=True, choices=CATEGORY_CHOICES)
    filename = models.CharField(max_length=64)
    origin = models.CharField(max_length=1000)
    sha256 = models.CharField(max_length=64)
    entries = OrderedJSONField(default=dict)
    fetched_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"upstream base of {self.category} ({self.filename}, {self.sha256[:12]})"


class LinkStatus(models.TextChoices):
    OK = "ok", "ok"
    BROKEN = "broken", "broken"
    LOGIN_REQUIRED = "login_required", "login required"
    SLOW = "slow", "slow"
    UNKNOWN_HOST = "unknown_host", "unknown host"


LINK_STATUS_VALUES = [value for value, _ in LinkStatus.choices]


class DownloadLinkCheck(models.Model):
    """The latest check of one download URL of one record (sync.services.links).

    One row per (category, model, url): a run replaces the row's result and keeps the
    status it replaced in ``previous_status``, so "became broken" needs no history table.
    Rows of URLs a record no longer lists are removed by the next run.
    """

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    model_name = models.CharField(max_length=255)
    url = models.TextField()
    status = models.CharField(max_length=16, choices=LinkStatus.choices)
    previous_status = models.CharField(max_length=16, choices=LinkStatus.choices, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    final_host = models.CharField(max_length=255, blank=True)
    elapsed_ms = models.PositiveIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ("category", "model_name", "url")
        constraints = [
            models.UniqueConstraint(fields=["category", "model_name", "url"], name="linkcheck_unique_url"),
            models.CheckConstraint(
                condition=models.Q(status__in=LINK_STATUS_VALUES), name="linkcheck_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(previous_status__in=["", *LINK_STATUS_VALUES]),
                name="linkcheck_previous_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="linkcheck_status_idx")]

    def __str__(self) -> str:
        return f"{self.category}/{self.model_name}: {self.url} ({self.status})"

    @property
    def became_worse(self) -> bool:
        """True when the previous check was ok and this one is not."""
        return self.previous_status == LinkStatus.OK and self.status != LinkStatus.OK


class StatisticsSnapshot(models.Model):
    """One fetch of a category's AI Horde statistics (status, usage and workers).

    Only complete snapshots are served; a partial one (an endpoint failed or answered
    nonsense) is kept for the record, and the last complete one stays served.
    """

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    fetched_at = models.DateTimeField()
    complete = models.BooleanField()
    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    model_count = models.PositiveIntegerField(default=0)
    worker_count = models.PositiveIntegerField(default=0)
    problems = models.TextField(blank=True)

    class Meta:
        ordering = ("-fetched_at",)
        indexes = [models.Index(fields=["category", "complete", "-fetched_at"], name="statsnap_latest")]

    def __str__(self) -> str:
        state = "complete" if self.complete else "partial"
        return f"{self.category} statistics {self.fetched_at:%Y-%m-%d %H:%M} ({state})"


class ModelStatistics(models.Model):
    """One AI Horde model name in a snapshot, as the AI Horde spells it (backend prefixes,
    quant suffixes and all); the routes match reference names to these."""

    snapshot = models.ForeignKey(StatisticsSnapshot, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=1000)
    workers = models.PositiveIntegerField(default=0)
    queued = models.FloatField(default=0.0)
    jobs = models.FloatField(default=0.0)
    performance = models.FloatField(default=0.0)
    eta = models.BigIntegerField(default=0)
    # False for a name the usage statistics list but the status does not (no worker now).
    in_status = models.BooleanField(default=True)
    usage_day = models.BigIntegerField(default=0)
    usage_month = models.BigIntegerField(default=0)
    usage_total = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} ({self.workers} workers)"


class WorkerStatistics(models.Model):
    """A worker serving the snapshot's category: what the established service reports."""

    snapshot = models.ForeignKey(StatisticsSnapshot, on_delete=models.CASCADE, related_name="workers")
    worker_id = models.CharField(max_length=100)
    name = models.CharField(max_length=1000, blank=True)
    performance = models.CharField(max_length=200, blank=True)
    online = models.BooleanField(null=True)
    trusted = models.BooleanField(null=True)
    uptime = models.BigIntegerField(null=True)
    threads = models.BigIntegerField(null=True)
    model_names = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"worker {self.name or self.worker_id}"
