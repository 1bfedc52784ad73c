"""Pure functions over text model names and records: parse answers, composed names,
group members, health checks and family suggestions.

Nothing here reads the database; ``text_models.selectors`` feeds these with the
records and the curation data. Group identity (``text_model_group``) always comes
from the client package's parser (``get_base_model_name``), so every route agrees
with the served documents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from horde_model_reference.text_model_parser import (
    BACKEND_PREFIXES,
    ParsedTextModelName,
    get_base_model_name,
    infer_name_format,
    parse_text_model_name,
    split_author,
)

#: The record fields the group routes compare and ``common_fields`` may set.
COMMON_FIELD_NAMES: tuple[str, ...] = (
    "baseline",
    "description",
    "url",
    "nsfw",
    "tags",
    "style",
    "instruct_format",
)

#: The parts ``compose_name`` knows, in its default order.
COMPOSE_PARTS: tuple[str, ...] = ("base", "size", "variant", "version", "quant")

Resolver = Callable[[str], str]


def record_group(name: str, payload: Mapping[str, Any]) -> str:
    """A record's group: its stored ``text_model_group`` or the base model of its name."""
    stored = payload.get("text_model_group")
    return stored if isinstance(stored, str) and stored else get_base_model_name(name)


def backend_prefix_of(name: str) -> str | None:
    """``aphrodite`` or ``koboldcpp`` for a backend copy's name, else None."""
    for prefix in BACKEND_PREFIXES:
        if name.startswith(prefix):
            return prefix.rstrip("/")
    return None


def _model_parsed(name: str) -> ParsedTextModelName:
    return parse_text_model_name(split_author(name)[1])


def extras_answer(parsed: ParsedTextModelName) -> list[dict[str, Any]]:
    """Extras as the established API shows them: value, position among the parts, type."""
    return [
        {"value": extra.value, "position": extra.position, "inferred_type": extra.inferred_type}
        for extra in parsed.extras
    ]


def parse_name_answer(name: str, resolve: Resolver) -> dict[str, Any]:
    """``GET parse_name``: the parts of ``name`` and its group, resolved through the aliases."""
    parsed = _model_parsed(name)
    return {
        "original_name": name,
        "base_name": parsed.base_name,
        "size": parsed.size,
        "variant": parsed.variant,
        "quant": parsed.quant,
        "version": parsed.version,
        "suggested_group": resolve(get_base_model_name(name)),
        "extras": extras_answer(parsed),
    }


def compose_name(
    *,
    base_name: str,
    size: str,
    variant: str | None = None,
    version: str | None = None,
    quant: str | None = None,
    author: str | None = None,
    separator: str = "-",
    part_order: Sequence[str] | None = None,
) -> str:
    """Join the parts ``part_order`` names (default: all, in ``COMPOSE_PARTS`` order).

    Base and size are always written when named, even empty (they are required); the
    optional parts only when set; unknown labels are skipped. An empty ``part_order``
    means the default, as the established service treats it.
    """
    values = {"base": base_name, "size": size, "variant": variant, "version": version, "quant": quant}
    required = ("base", "size")
    order = part_order or COMPOSE_PARTS
    parts = [values[part] or "" for part in order if part in values and (part in required or values[part])]
    body = separator.join(parts)
    return f"{author}/{body}" if author else body


def size_sort_key(size: str) -> tuple[float, str]:
    """Sizes by magnitude: ``0.6B`` < ``8B`` < ``8x7B`` (56B) < ``70B``; unknown tokens last."""
    match = re.match(r"^(?:(\d+)[xX])?(\d+(?:\.\d+)?)([KMBT])", size.upper())
    if match is None:
        return math.inf, size
    units = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
    experts = int(match.group(1)) if match.group(1) else 1
    return experts * float(match.group(2)) * units[match.group(3)], size


def _sorted_with_none(values: Iterable[str | None]) -> list[str | None]:
    # None (a member without that part) sorts first, as the established service lists it.
    distinct = set(values)
    present = sorted(value for value in distinct if value is not None)
    return [None, *present] if None in distinct else list(present)


def name_format_answer(members: Sequence[str], custom: Mapping[str, Any] | None) -> dict[str, Any]:
    """The group's naming schema: the curated one when there is one, else inferred."""
    if custom is not None:
        return dict(custom)
    return infer_name_format(members).as_dict(include_extra_parts=True)


def common_fields(canonical: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The fields whose value is the same, and set, on every canonical member."""
    if not canonical:
        return {}
    shared: dict[str, Any] = {}
    for field in COMMON_FIELD_NAMES:
        values = [record.get(field) for record in canonical]
        if all(value is not None and value == values[0] for value in values):
            shared[field] = values[0]
    return shared


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def health_issues(group: str, canonical: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """What a curator should look at in a group; ``missing_description`` and singletons are info."""
    if not canonical:
        return []
    issues: list[dict[str, str]] = []

    def issue(kind: str, message: str, severity: str = "warning") -> None:
        issues.append({"group_name": group, "issue_type": kind, "message": message, "severity": severity})

    if len(canonical) == 1:
        issue("singleton_group", "Group currently contains one canonical model", "info")
    baselines = sorted({str(r["baseline"]) for r in canonical if not _blank(r.get("baseline"))})
    if len(baselines) > 1:
        issue("inconsistent_baseline", "Members have different baselines: " + ", ".join(baselines))
    if len({r["nsfw"] for r in canonical if isinstance(r.get("nsfw"), bool)}) > 1:
        issue("inconsistent_nsfw", "Members have different NSFW flags")
    missing_baseline = sum(1 for r in canonical if _blank(r.get("baseline")))
    if missing_baseline:
        issue("missing_baseline", f"{missing_baseline} member(s) missing baseline")
    missing_description = sum(1 for r in canonical if _blank(r.get("description")))
    if missing_description:
        issue("missing_description", f"{missing_description} member(s) missing description", "info")
    return issues


def member_answer(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """One member of ``GET group``."""
    parsed = _model_parsed(name)
    parameters = record.get("parameters", record.get("parameters_count"))
    prefix = backend_prefix_of(name)
    return {
        "name": name,
        "parsed": {
            "base_name": parsed.base_name,
            "size": parsed.size,
            "variant": parsed.variant,
            "quant": parsed.quant,
            "version": parsed.version,
            "extras": extras_answer(parsed),
        },
        "parameters": parameters if isinstance(parameters, int) else None,
        **{field: record.get(field) for field in ("baseline", "nsfw", "description", "url", "style", "tags")},
        "display_name": record.get("display_name"),
        "instruct_format": record.get("instruct_format"),
        "is_backend_duplicate": prefix is not None,
        "backend_prefix": prefix,
    }


def group_answer(
    group: str,
    members: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    custom_schema: Mapping[str, Any] | None,
    family: dict[str, Any] | None,
) -> dict[str, Any]:
    """``GET group``: the members of one group and what they share."""
    canonical = [(name, record) for name, record in members if backend_prefix_of(name) is None]
    parsed = [_model_parsed(name) for name, _ in canonical]
    sizes = {p.size for p in parsed if p.size}
    return {
        "group_name": group,
        "members": [member_answer(name, record) for name, record in members],
        "common_fields": common_fields([record for _, record in canonical]),
        "available_sizes": sorted(sizes, key=size_sort_key),
        "available_variants": _sorted_with_none(p.variant for p in parsed),
        "available_quants": _sorted_with_none(p.quant for p in parsed),
        "available_versions": _sorted_with_none(p.version for p in parsed),
        "size_usage": dict(sorted(Counter(p.size for p in parsed if p.size).items())),
        "variant_usage": dict(sorted(Counter(p.variant for p in parsed if p.variant).items())),
        "quant_usage": dict(sorted(Counter(p.quant for p in parsed if p.quant).items())),
        "name_format": name_format_answer([name for name, _ in members], custom_schema),
        "canonical_count": len(canonical),
        "backend_duplicate_count": len(members) - len(canonical),
        "name_schema_is_custom": custom_schema is not None,
        "exception_members": [
            {"name": name, "reason": record["name_schema_exception"]}
            for name, record in canonical
            if isinstance(record.get("name_schema_exception"), str) and record["name_schema_exception"]
        ],
        "related_family": family,
    }


def detect_families(
    group_names: Iterable[str], *, min_prefix_length: int = 3, min_family_size: int = 2
) -> dict[str, list[str]]:
    """Suggest families: groups sharing a ``-``-separated leading prefix.

    The longest prefixes claim their groups first, so ``Big-Tiger-Gemma`` and
    ``Big-Tiger-X`` form ``Big-Tiger`` rather than joining a wider ``Big``. A group
    that equals the prefix itself is not a member (it is the family's namesake).
    """
    names = sorted(set(group_names))
    candidates: set[str] = set()
    for name in names:
        parts = name.split("-")
        for end in range(1, len(parts)):
            prefix = "-".join(parts[:end])
            if len(prefix) >= min_prefix_length:
                candidates.add(prefix)
    claimed: set[str] = set()
    families: dict[str, list[str]] = {}
    for prefix in sorted(candidates, key=lambda p: (-len(p), p)):
        members = [n for n in names if n not in claimed and n.startswith(prefix + "-")]
        if len(members) >= min_family_size:
            families[prefix] = members
            claimed.update(members)
    return dict(sorted(families.items()))
