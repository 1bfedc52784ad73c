"""Curation data of text model groups: aliases, families and naming schemas.

Group names are the ``text_model_group`` values of text records (derived from model
names, see ``horde_model_reference.text_model_parser``); they are not foreign keys
because a group exists only as long as some record carries its name. Every row here
changes through ``text_models.services`` only (audited).
"""

from __future__ import annotations

from django.db import models

from common.json_fields import OrderedJSONField

#: Group names, aliases and family names are short identifiers; anything longer is refused.
NAME_MAX_LENGTH = 200


class TextGroupAlias(models.Model):
    """One alternative name (``alias``) that resolves to the group ``canonical``.

    An alias names one canonical group at most (unique), and never its own canonical
    (check constraint), so resolution is unambiguous.
    """

    canonical = models.CharField(max_length=NAME_MAX_LENGTH, db_index=True)
    alias = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    # The order the curator gave the aliases in, kept for the API and the export.
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("canonical", "position", "alias")
        verbose_name = "text group alias"
        verbose_name_plural = "text group aliases"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(alias=models.F("canonical")), name="alias_not_canonical"
            ),
            models.CheckConstraint(condition=~models.Q(alias=""), name="alias_not_empty"),
            models.CheckConstraint(condition=~models.Q(canonical=""), name="alias_canonical_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.canonical}"


class TextModelFamily(models.Model):
    """A named set of related groups (``Llama`` for ``Llama-2``, ``Llama-3``...)."""

    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "text model family"
        verbose_name_plural = "text model families"
        constraints = [
            models.CheckConstraint(condition=~models.Q(name=""), name="family_name_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class TextModelFamilyMember(models.Model):
    """A group's membership of a family; a group belongs to one family at most (unique)."""

    family = models.ForeignKey(TextModelFamily, on_delete=models.CASCADE, related_name="members")
    group_name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)

    class Meta:
        ordering = ("family__name", "group_name")
        constraints = [
            models.CheckConstraint(condition=~models.Q(group_name=""), name="family_member_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.group_name} ∈ {self.family.name}"


class TextGroupNameSchema(models.Model):
    """A curated naming convention for one group (overrides the inferred one)."""

    group_name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    separator = models.CharField(max_length=8, default="-")
    part_order = OrderedJSONField(default=list)
    author_included = models.BooleanField(default=True)
    # None ("no common author", "no template") is a value of the API, distinct from "".
    common_author = models.CharField(max_length=NAME_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    template = models.CharField(max_length=1000, null=True, blank=True)  # noqa: DJ001
    extra_parts = OrderedJSONField(default=list)

    class Meta:
        ordering = ("group_name",)
        verbose_name = "text group naming schema"
        constraints = [
            models.CheckConstraint(condition=~models.Q(group_name=""), name="name_schema_group_not_empty"),
        ]

    def __str__(self) -> str:
        return f"naming schema of {self.group_name}"

    def as_dict(self) -> dict[str, object]:
        return {
            "separator": self.separator,
            "part_order": list(self.part_order),
            "author_included": self.author_included,
            "common_author": self.common_author,
            "template": self.template,
            "extra_parts": list(self.extra_parts),
        }
