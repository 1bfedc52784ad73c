"""The append-only, hash-chained audit trail.

Every event carries the hash of the one before it, so editing or removing any
event breaks the chain from that point on (``audit.selectors.audit_chain_verify``
finds where). Rows refuse updates and deletes here, and on PostgreSQL a trigger
refuses them too.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.db import models

from common.json_fields import OrderedJSONField

GENESIS_HASH = "0" * 64


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class ActorKind(models.TextChoices):
    HORDE = "horde", "AI Horde user"
    DJANGO = "django", "Django user"
    SYSTEM = "system", "System"


class EventSource(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYNC = "sync", "Sync / import"
    SYSTEM = "system", "System"


class AuditAction(models.TextChoices):
    """Every action an audit event may record: the one registered list.

    ``audit_events_append`` refuses any other, so a misspelt action fails at once
    instead of writing an event that no history, replay or feed will recognise.
    (Not the column's ``choices``: the list is enforced where events are written, and
    the stored rows stay as they are.)
    """

    RECORD_CREATED = "record.created"
    RECORD_UPDATED = "record.updated"
    RECORD_DELETED = "record.deleted"
    RECORD_METADATA_CORRECTED = "record.metadata_corrected"
    CATEGORY_REORDERED = "category.reordered"
    PROPOSAL_CREATED = "proposal.created"
    PROPOSAL_APPROVED = "proposal.approved"
    PROPOSAL_REJECTED = "proposal.rejected"
    PROPOSAL_APPLIED = "proposal.applied"
    PROPOSAL_PURGED = "proposal.purged"
    PROPOSAL_WITHDRAWN = "proposal.withdrawn"
    PROPOSAL_SUPERSEDED = "proposal.superseded"
    PROPOSAL_APPLY_RECOVERED = "proposal.apply_recovered"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only: update refused")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("audit events are append-only: delete refused")


class AuditEvent(models.Model):
    sequence = models.BigIntegerField(unique=True, editable=False)
    occurred_at = models.DateTimeField(editable=False)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices, editable=False)
    actor_id = models.CharField(max_length=255, editable=False)
    actor_display = models.CharField(max_length=255, editable=False)
    source = models.CharField(max_length=16, choices=EventSource.choices, editable=False)
    action = models.CharField(max_length=64, editable=False)
    category = models.CharField(max_length=32, blank=True, editable=False)
    model_name = models.CharField(max_length=255, blank=True, editable=False)
    before = OrderedJSONField(null=True, editable=False)
    after = OrderedJSONField(null=True, editable=False)
    details = OrderedJSONField(default=dict, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, unique=True, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects: ClassVar[models.Manager[AuditEvent]] = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ("sequence",)
        indexes = [
            models.Index(fields=["category", "model_name"], name="audit_category_model_idx"),
            models.Index(fields=["action"], name="audit_action_idx"),
            # The change feed's range scan (audit.selectors.record_changes_after).
            models.Index(
                fields=["sequence"],
                condition=models.Q(
                    action__in=[
                        AuditAction.RECORD_CREATED,
                        AuditAction.RECORD_UPDATED,
                        AuditAction.RECORD_DELETED,
                    ]
                ),
                name="audit_record_change_seq_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="audit_sequence_positive"),
            models.CheckConstraint(
                condition=models.Q(source__in=EventSource.values), name="audit_source_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(actor_kind__in=ActorKind.values), name="audit_actor_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        target = f" {self.category}/{self.model_name}" if self.model_name else ""
        return f"#{self.sequence} {self.action}{target} by {self.actor_display}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only: update refused")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("audit events are append-only: delete refused")


class AuditChainHead(models.Model):
    """The one row that serialises appends: the last sequence number and hash.

    Appenders lock it (``select_for_update``) so that two transactions can never
    continue the chain from the same event.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    sequence = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton"),
        ]

    def __str__(self) -> str:
        return f"audit chain head #{self.sequence}"
