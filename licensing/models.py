"""The licensing catalog in SQL: reusable license definitions and non-model licensed assets.

Model assets are not stored here: a model's licensing is the ``licensing`` block of its
record (``references``), resolved against these definitions when read. Each row keeps
its 8.6.2 body (less ``metadata``) as ordered JSON plus the lifecycle metadata in
columns; ``LicensingDataset`` is the one row holding the catalog's revision, which
every write bumps while holding its lock (so writes are serialised, and two editors
cannot both create the same id: the unique constraints say so too).
"""

from __future__ import annotations

from django.db import models

from common.json_fields import OrderedJSONField

ASSET_KINDS = ("software_component", "custom_node", "other")


class LicensingDataset(models.Model):
    """The catalog's revision metadata (a single row, id 1)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    schema_version = models.PositiveIntegerField(default=1)
    revision = models.BigIntegerField(default=1)
    updated_at = models.BigIntegerField(null=True, blank=True, help_text="unix seconds")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="licensing_dataset_single_row"),
            models.CheckConstraint(
                condition=models.Q(revision__gte=1), name="licensing_dataset_revision_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Licensing catalog, revision {self.revision}"


class _Lifecycle(models.Model):
    revision = models.BigIntegerField(default=1)
    created_at = models.BigIntegerField(null=True, blank=True, help_text="unix seconds")
    # Null (never set, as imported data has it) and "" are different values on the wire.
    created_by = models.TextField(null=True, blank=True)  # noqa: DJ001
    updated_at = models.BigIntegerField(null=True, blank=True, help_text="unix seconds")
    updated_by = models.TextField(null=True, blank=True)  # noqa: DJ001

    class Meta:
        abstract = True

    def metadata(self) -> dict[str, object]:
        return {
            "revision": self.revision,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


class LicenseDefinition(_Lifecycle):
    """One reusable license (an SPDX identifier or a ``LicenseRef-``), as 8.6.2's ``LicenseDefinition``."""

    license_id = models.CharField(max_length=200, unique=True)
    deprecated = models.BooleanField(default=False)
    body = OrderedJSONField(help_text="The definition's fields, without metadata.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(revision__gte=1), name="license_definition_revision_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(license_id=""), name="license_definition_id_not_empty"
            ),
        ]
        permissions = [("edit_licensing", "Can edit the licensing catalog")]

    def __str__(self) -> str:
        return self.license_id


class LicensedAsset(_Lifecycle):
    """A licensed non-model asset (custom node, software component, other), as 8.6.2's ``LicensedAsset``."""

    asset_kind = models.CharField(max_length=32, choices=[(kind, kind) for kind in ASSET_KINDS])
    asset_identifier = models.CharField(max_length=500)
    body = OrderedJSONField(help_text="The asset's fields, without metadata.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["asset_kind", "asset_identifier"], name="licensed_asset_identity"
            ),
            models.CheckConstraint(
                condition=models.Q(asset_kind__in=ASSET_KINDS), name="licensed_asset_kind_known"
            ),
            models.CheckConstraint(
                condition=models.Q(revision__gte=1), name="licensed_asset_revision_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(asset_identifier=""), name="licensed_asset_identifier_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.asset_key

    @property
    def asset_key(self) -> str:
        return f"{self.asset_kind}:{self.asset_identifier}"


class LicensingAction(models.TextChoices):
    """The audit actions of the licensing catalog (registered with audit at start-up)."""

    ASSET_CREATED = "licensing.asset_created"
    ASSET_DELETED = "licensing.asset_deleted"
    ASSET_UPDATED = "licensing.asset_updated"
    CATALOG_IMPORTED = "licensing.catalog_imported"
    LICENSE_CREATED = "licensing.license_created"
    LICENSE_DELETED = "licensing.license_deleted"
    LICENSE_UPDATED = "licensing.license_updated"
