"""Change proposals and the review batches that decide them.

A proposal moves through an explicit state machine (``ALLOWED_TRANSITIONS``).
Every transition is a conditional UPDATE whose row count is checked (or a
``select_for_update`` inside a transaction), so a double approve or a double
apply is impossible even with many processes racing. The database enforces the
invariants of each state as well.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from common.json_fields import OrderedJSONField
from references.models import CATEGORY_CHOICES, CATEGORY_VALUES, NAME_MAX_LENGTH


class Operation(models.TextChoices):
    CREATE = "create", "create"
    UPDATE = "update", "update"
    DELETE = "delete", "delete"


class Status(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"
    APPLYING = "applying", "applying"
    APPLIED = "applied", "applied"
    REJECTED = "rejected", "rejected"
    WITHDRAWN = "withdrawn", "withdrawn"
    SUPERSEDED = "superseded", "superseded"


class SubmittedFormat(models.TextChoices):
    V1 = "v1", "v1 (legacy)"
    V2 = "v2", "v2"


#: The state machine. ``approved -> rejected`` lets an approver drop a stale
#: proposal; ``applying -> approved`` is the way back after a failed or crashed apply.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.SUPERSEDED}),
    Status.APPROVED: frozenset({Status.APPLYING, Status.REJECTED, Status.SUPERSEDED}),
    Status.APPLYING: frozenset({Status.APPLIED, Status.APPROVED}),
    Status.APPLIED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
    Status.SUPERSEDED: frozenset(),
}
OPEN_STATUSES = (Status.PENDING, Status.APPROVED, Status.APPLYING)
#: What purge may remove: proposals that never changed a record.
PURGEABLE_STATUSES = (Status.PENDING, Status.APPROVED, Status.REJECTED, Status.WITHDRAWN, Status.SUPERSEDED)


class Batch(models.Model):
    """One review decision of an approver: a title and the proposals it approved or rejected."""

    title = models.CharField(max_length=120)
    reviewed_by_kind = models.CharField(max_length=16)
    reviewed_by_id = models.CharField(max_length=255)
    reviewed_by_name = models.CharField(max_length=255)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("-id",)
        constraints = [models.CheckConstraint(condition=~Q(title=""), name="batch_title_not_empty")]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"batch {self.pk}: {self.title}"


class ChangeProposal(models.Model):
    """A requested create, update or delete of one record, and its review."""

    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    model_name = models.CharField(max_length=NAME_MAX_LENGTH)
    operation = models.CharField(max_length=8, choices=Operation.choices)
    # The canonical v2 record to store (for a delete: the record as it was).
    payload = OrderedJSONField(null=True)
    # Legacy-only data to store beside it; None keeps whatever the record has.
    legacy_residue = OrderedJSONField(null=True, blank=True)
    submitted_format = models.CharField(max_length=2, choices=SubmittedFormat.choices)
    # The record version the proposal was written against (None for a create).
    base_version = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    notes = models.TextField(blank=True)
    request_metadata = OrderedJSONField(default=dict)
    # Queued by the upstream import for a record changed both here and upstream: the
    # approver decides which side wins (DECISIONS 30).
    upstream_conflict = models.BooleanField(default=False)

    requested_by_kind = models.CharField(max_length=16)
    requested_by_id = models.CharField(max_length=255)
    requested_by_name = models.CharField(max_length=255)
    requested_at = models.DateTimeField()

    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals"
    )
    approved_by_kind = models.CharField(max_length=16, blank=True)
    approved_by_id = models.CharField(max_length=255, blank=True)
    approved_by_name = models.CharField(max_length=255, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by_kind = models.CharField(max_length=16, blank=True)
    rejected_by_id = models.CharField(max_length=255, blank=True)
    rejected_by_name = models.CharField(max_length=255, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.TextField(blank=True)
    applied_by_kind = models.CharField(max_length=16, blank=True)
    applied_by_id = models.CharField(max_length=255, blank=True)
    applied_by_name = models.CharField(max_length=255, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_job_id = models.CharField(max_length=120, blank=True)
    # When the current apply reservation was taken: a reservation older than the
    # lease belongs to a crashed apply and is returned to approved.
    applying_since = models.DateTimeField(null=True, blank=True)
    applied_version = models.BigIntegerField(null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("id",)
        permissions = [("approve_changeproposal", "Can approve, reject and apply change proposals")]
        indexes = [
            models.Index(fields=["status", "category"], name="proposal_status_category_idx"),
            models.Index(fields=["category", "model_name"], name="proposal_category_model_idx"),
            models.Index(fields=["requested_by_id"], name="proposal_requester_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=CATEGORY_VALUES), name="proposal_category_valid"),
            models.CheckConstraint(
                condition=Q(operation__in=Operation.values), name="proposal_operation_valid"
            ),
            models.CheckConstraint(condition=Q(status__in=Status.values), name="proposal_status_valid"),
            models.CheckConstraint(condition=~Q(model_name=""), name="proposal_name_not_empty"),
            models.CheckConstraint(
                condition=Q(operation=Operation.DELETE) | Q(payload__isnull=False),
                name="proposal_payload_for_create_update",
            ),
            models.CheckConstraint(
                condition=~Q(operation=Operation.CREATE) | Q(base_version__isnull=True),
                name="proposal_create_has_no_base",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[Status.APPROVED, Status.APPLYING, Status.APPLIED])
                | (Q(batch__isnull=False) & Q(approved_at__isnull=False)),
                name="proposal_approved_in_batch",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.REJECTED) | (~Q(reject_reason="") & Q(rejected_at__isnull=False)),
                name="proposal_rejected_with_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.APPLYING)
                | (~Q(applied_job_id="") & Q(applying_since__isnull=False)),
                name="proposal_applying_reserved",
            ),
            models.CheckConstraint(
                condition=~Q(status=Status.APPLIED) | Q(applied_at__isnull=False),
                name="proposal_applied_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.operation} {self.category}/{self.model_name} ({self.status})"
