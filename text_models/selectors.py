"""Reads of the text group curation data and of the text records grouped by it.

Replication: nothing here is cached in the process. Every read runs SQL on the
request (the curation tables hold a few hundred rows at most, and the text records
are read through ``references.selectors``), so a change committed by any process is
visible to the next read served by every other process, with no invalidation to get
wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.selectors import category_entries, record_get
from text_models.grouping import (
    backend_prefix_of,
    compose_name,
    detect_families,
    group_answer,
    health_issues,
    name_format_answer,
    parse_name_answer,
    record_group,
    size_sort_key,
)
from text_models.models import TextGroupAlias, TextGroupNameSchema, TextModelFamily, TextModelFamilyMember

TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value


# --- aliases ------------------------------------------------------------------------


def alias_entries() -> list[dict[str, Any]]:
    """Every canonical group with its aliases (in the curator's order), canonical names sorted."""
    entries: dict[str, list[str]] = {}
    for canonical, alias in TextGroupAlias.objects.order_by("canonical", "position", "alias").values_list(
        "canonical", "alias"
    ):
        entries.setdefault(canonical, []).append(alias)
    return [{"canonical": canonical, "aliases": aliases} for canonical, aliases in entries.items()]


def alias_entry(*, canonical: str) -> dict[str, Any] | None:
    aliases = list(
        TextGroupAlias.objects.filter(canonical=canonical)
        .order_by("position", "alias")
        .values_list("alias", flat=True)
    )
    return {"canonical": canonical, "aliases": aliases} if aliases else None


def alias_map() -> dict[str, str]:
    """``{alias: canonical}`` of every alias."""
    return dict(TextGroupAlias.objects.values_list("alias", "canonical"))


def alias_resolve(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """The canonical group ``name`` is an alias of, or ``name`` itself."""
    if aliases is not None:
        return aliases.get(name, name)
    canonical = TextGroupAlias.objects.filter(alias=name).values_list("canonical", flat=True).first()
    return canonical or name


# --- families -----------------------------------------------------------------------


def family_entries() -> list[dict[str, Any]]:
    """Every family with its member groups sorted, families sorted by name."""
    members: dict[str, list[str]] = {
        name: [] for name in TextModelFamily.objects.values_list("name", flat=True)
    }
    for family, group in TextModelFamilyMember.objects.values_list("family__name", "group_name"):
        members.setdefault(family, []).append(group)
    return [{"family_name": name, "members": sorted(groups)} for name, groups in sorted(members.items())]


def family_entry(*, family_name: str) -> dict[str, Any] | None:
    family = TextModelFamily.objects.filter(name=family_name).first()
    if family is None:
        return None
    groups = sorted(family.members.values_list("group_name", flat=True))
    return {"family_name": family.name, "members": groups}


def family_of_group(*, group_name: str) -> dict[str, Any] | None:
    family = (
        TextModelFamilyMember.objects.filter(group_name=group_name)
        .values_list("family__name", flat=True)
        .first()
    )
    return family_entry(family_name=family) if family is not None else None


# --- naming schemas -----------------------------------------------------------------


def name_schema_custom(*, group_name: str) -> dict[str, Any] | None:
    """The curated naming schema of a group, or None when it has none."""
    schema = TextGroupNameSchema.objects.filter(group_name=group_name).first()
    return schema.as_dict() if schema is not None else None


def name_schema_groups() -> set[str]:
    return set(TextGroupNameSchema.objects.values_list("group_name", flat=True))


# --- text records by group ----------------------------------------------------------


def text_records() -> list[tuple[str, dict[str, Any]]]:
    """Every text record ``(name, v2 payload)`` in document order."""
    return [(entry.name, entry.payload) for entry in category_entries(category=TEXT)]


def text_records_by_group() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Text records grouped by their ``text_model_group``, groups in first-seen order."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for name, payload in text_records():
        groups.setdefault(record_group(name, payload), []).append((name, payload))
    return groups


def text_record_exists(*, name: str) -> bool:
    return record_get(category=TEXT, name=name) is not None


def text_record_payload(*, name: str) -> dict[str, Any] | None:
    record = record_get(category=TEXT, name=name)
    return dict(record.payload) if record is not None else None


# --- the group tools' answers ------------------------------------------------------


def _canonical(members: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return [payload for name, payload in members if backend_prefix_of(name) is None]


def parse_name(*, name: str) -> dict[str, Any]:
    return parse_name_answer(name, lambda group: alias_resolve(group))


def group_members(*, group_name: str) -> dict[str, Any] | None:
    """``GET group``; None when no record belongs to the group."""
    members = text_records_by_group().get(group_name)
    if not members:
        return None
    return group_answer(
        group_name,
        members,
        custom_schema=name_schema_custom(group_name=group_name),
        family=family_of_group(group_name=group_name),
    )


def distinct_baselines() -> list[str]:
    values = {payload.get("baseline") for _, payload in text_records()}
    return sorted({value.strip() for value in values if isinstance(value, str) and value.strip()})


def composed_name(**parts: Any) -> dict[str, Any]:
    """``POST compose_name``: the name, whether a record has it, and its group."""
    name = compose_name(**parts)
    return {
        "composed_name": name,
        "already_exists": text_record_exists(name=name),
        "suggested_group": alias_resolve(record_group(name, {})),
    }


def group_names() -> list[str]:
    return sorted(text_records_by_group())


def groups_health() -> dict[str, Any]:
    groups = text_records_by_group()
    issues = [issue for group in sorted(groups) for issue in health_issues(group, _canonical(groups[group]))]
    counts: dict[str, int] = {}
    for issue in issues:
        counts[issue["issue_type"]] = counts.get(issue["issue_type"], 0) + 1
    return {
        "issues": issues,
        "total_groups_checked": len(groups),
        "groups_with_issues": len({issue["group_name"] for issue in issues}),
        "issue_counts_by_type": dict(sorted(counts.items())),
    }


def groups_summary() -> dict[str, Any]:
    """One line per group: counts, sizes, curation data and health."""
    from horde_model_reference.text_model_parser import get_model_size

    groups = text_records_by_group()
    aliases_of = {entry["canonical"]: entry["aliases"] for entry in alias_entries()}
    alias_to_canonical = {alias: canonical for canonical, aliases in aliases_of.items() for alias in aliases}
    families = {group: entry["family_name"] for entry in family_entries() for group in entry["members"]}
    custom = name_schema_groups()
    lines = []
    for group in sorted(groups):
        members = groups[group]
        canonical = _canonical(members)
        sizes = {
            size for name, _ in members if backend_prefix_of(name) is None and (size := get_model_size(name))
        }
        lines.append(
            {
                "group_name": group,
                "canonical_count": len(canonical),
                "backend_duplicate_count": len(members) - len(canonical),
                "has_custom_schema": group in custom,
                "family_name": families.get(group),
                "alias_canonical": alias_to_canonical.get(group),
                "aliases": aliases_of.get(group, []),
                "available_sizes": sorted(sizes, key=size_sort_key),
                "health_issues": health_issues(group, canonical),
            }
        )
    return {
        "groups": lines,
        "total_groups": len(lines),
        "total_models": sum(len(members) for members in groups.values()),
        "groups_with_families": sum(1 for line in lines if line["family_name"] is not None),
        "groups_with_aliases": sum(1 for line in lines if line["aliases"] or line["alias_canonical"]),
        "groups_with_issues": sum(1 for line in lines if line["health_issues"]),
    }


def name_schema_answer(*, group_name: str) -> dict[str, Any] | None:
    """``GET group/name_schema``: the curated schema, or the inferred one; None for an unknown group."""
    custom = name_schema_custom(group_name=group_name)
    members = text_records_by_group().get(group_name)
    if custom is None and not members:
        return None
    schema = name_format_answer([name for name, _ in members or []], custom)
    return {"group_name": group_name, "name_schema": schema, "is_custom": custom is not None}


def families_detect(*, min_prefix_length: int, min_family_size: int) -> dict[str, Any]:
    """Family suggestions over the current groups (not saved)."""
    names = group_names()
    suggestions = detect_families(names, min_prefix_length=min_prefix_length, min_family_size=min_family_size)
    in_families = sum(len(members) for members in suggestions.values())
    return {
        "suggestions": [{"family_name": name, "members": members} for name, members in suggestions.items()],
        "total_groups_analyzed": len(names),
        "groups_in_families": in_families,
        "standalone_groups": len(names) - in_families,
    }


# --- export -------------------------------------------------------------------------


def text_models_export_documents() -> dict[str, object]:
    """The curation data as export files (file name → JSON-able document), in a fixed order."""
    return {
        "text_group_aliases.json": {entry["canonical"]: entry["aliases"] for entry in alias_entries()},
        "text_model_families.json": {entry["family_name"]: entry["members"] for entry in family_entries()},
        "text_group_name_schemas.json": {
            schema.group_name: schema.as_dict()
            for schema in TextGroupNameSchema.objects.order_by("group_name")
        },
    }
