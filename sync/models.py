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
