"""The catalogs' SQL rows. Each row keeps its whole published document (key order kept).

Identity columns (``profile_id``, ``model_name``, ``name``) repeat the document's own key so
the database holds uniqueness; the services keep the two equal. ``position`` keeps the
catalog's document order, so an export gives back the order an import brought in.
"""

from __future__ import annotations

from django.db import models

from common.json_fields import OrderedJSONField


class Catalog(models.TextChoices):
    TEXT_GUIDANCE = "text_guidance", "Text guidance"
    IMAGE_BASELINES = "image_baselines", "Image baselines"


class CatalogAction(models.TextChoices):
    """The audit actions of the catalogs (registered with audit at start-up)."""

    GUIDANCE_CHANGE_SET_APPLIED = "catalogs.guidance_change_set_applied"
    GUIDANCE_CATALOG_IMPORTED = "catalogs.guidance_catalog_imported"
    BASELINE_CHANGE_SET_APPLIED = "catalogs.baseline_change_set_applied"
    BASELINE_CATALOG_IMPORTED = "catalogs.baseline_catalog_imported"


class ProfileKind(models.TextChoices):
    PROMPT_CONTRACT = "prompt_contract", "Prompt contract"
    USAGE_RECIPE = "usage_recipe", "Usage recipe"


class CatalogState(models.Model):
    """The catalog-wide metadata block: one row per catalog, its revision moves on every change."""

    catalog = models.CharField(max_length=32, choices=Catalog.choices, primary_key=True)
    schema_version = models.IntegerField(default=1)
    revision = models.PositiveIntegerField(default=1)
    #: Unix seconds, as on the wire; null until the first change.
    updated_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(catalog__in=Catalog.values), name="catalogs_state_catalog_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(revision__gte=1), name="catalogs_state_revision_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_catalog_display()} (revision {self.revision})"


class GuidanceProfile(models.Model):
    profile_id = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=ProfileKind.choices)
    deprecated = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    document = OrderedJSONField()

    class Meta:
        ordering = ("position", "profile_id")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ProfileKind.values), name="catalogs_profile_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.profile_id} ({self.kind})"


class GuidanceAssignment(models.Model):
    model_name = models.CharField(max_length=255, unique=True)
    primary_profile = models.ForeignKey(
        GuidanceProfile, on_delete=models.PROTECT, to_field="profile_id", related_name="primary_assignments"
    )
    position = models.PositiveIntegerField(default=0)
    document = OrderedJSONField()

    class Meta:
        ordering = ("position", "model_name")

    def __str__(self) -> str:
        return f"{self.model_name} -> {self.primary_profile_id}"


class ImageBaseline(models.Model):
    name = models.CharField(max_length=200, unique=True)
    position = models.PositiveIntegerField(default=0)
    document = OrderedJSONField()

    class Meta:
        ordering = ("position", "name")

    def __str__(self) -> str:
        return self.name
