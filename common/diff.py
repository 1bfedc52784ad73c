"""Field-level diffs between two versions of a record (proposals, record history; upstream §6.8).

Pure functions over JSON-shaped mappings: no database access, no Django imports, so the
queue views, the audit net-change view and the tests can all call them freely.

Paths
    A field is addressed by a dotted path of the keys leading to it (``config.download``,
    ``metadata.created_at``). Keys are escaped so that paths stay unambiguous: a backslash
    in a key is written ``\\\\`` and a dot ``\\.`` (the key ``"a.b"`` under ``"x"`` is the
    path ``x.a\\.b``; the key ``"x"`` holding ``"a"`` holding ``"b"`` is ``x.a.b``). Use
    :func:`join_path` and :func:`split_path` rather than ``str.split(".")``.

What is compared
    Objects are recursed into. Lists and scalars are compared as whole values, so a changed
    list is one ``modified`` entry at its path. A key present on one side only is one
    ``added`` or ``removed`` entry carrying the whole value, even when that value is an
    object. Equality is JSON equality: ``true`` differs from ``1`` (Python says they are
    equal, a reviewer would not), while ``1`` equals ``1.0`` (JSON has one number type).

Order
    Field diffs come depth first with the keys of every object sorted by code point, which
    is the same as sorting by the tuple of unescaped path components. The order therefore
    depends only on the values, never on the key order of the inputs: the current record
    may come back from a store that reorders keys (PostgreSQL ``jsonb``) while the proposal
    keeps the submitter's order, and the same change must always render the same diff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY

__all__ = [
    "CONFIG_DOWNLOAD_PATH",
    "LICENSING_PATH",
    "ChangeDiff",
    "ChangeType",
    "FieldDiff",
    "NetOperation",
    "apply_field_diffs",
    "change_diff",
    "critical_fields",
    "escape_key",
    "field_diffs",
    "is_critical_field_diff",
    "join_path",
    "split_path",
]

ChangeType = Literal["added", "removed", "modified"]
NetOperation = Literal["added", "modified", "deleted", "unchanged"]
_CHANGE_TYPES: frozenset[str] = frozenset(get_args(ChangeType))
_OPERATIONS: frozenset[str] = frozenset({"create", "update", "delete"})

#: Every category: the download list decides what workers fetch and run.
CONFIG_DOWNLOAD_PATH = "config.download"
_CONFIG_DOWNLOAD: tuple[str, ...] = ("config", "download")
#: Every category: a licensing conclusion tells users what they may do with a model
#: (the established service marks it critical everywhere too).
LICENSING_PATH = "licensing"
_LICENSING: tuple[str, ...] = ("licensing",)

_AUXILIARY_CRITICAL = frozenset({"style", "nsfw"})
_CRITICAL_FIELDS: dict[str, frozenset[str]] = {
    MODEL_REFERENCE_CATEGORY.image_generation: frozenset(
        {"baseline", "nsfw", "inpainting", "trigger", "homepage"}
    ),
    # DECISIONS #12: v2 says `parameters`, but input may still carry `parameters_count`.
    MODEL_REFERENCE_CATEGORY.text_generation: frozenset(
        {"baseline", "nsfw", "url", "parameters", "parameters_count"}
    ),
    # The legacy controlnet record names its style `controlnet_style`.
    MODEL_REFERENCE_CATEGORY.controlnet: _AUXILIARY_CRITICAL | {"controlnet_style"},
    MODEL_REFERENCE_CATEGORY.blip: _AUXILIARY_CRITICAL,
    MODEL_REFERENCE_CATEGORY.clip: _AUXILIARY_CRITICAL,
    MODEL_REFERENCE_CATEGORY.codeformer: _AUXILIARY_CRITICAL,
    MODEL_REFERENCE_CATEGORY.esrgan: _AUXILIARY_CRITICAL,
    MODEL_REFERENCE_CATEGORY.gfpgan: _AUXILIARY_CRITICAL,
    MODEL_REFERENCE_CATEGORY.safety_checker: _AUXILIARY_CRITICAL,
}
_KNOWN_CATEGORIES: frozenset[str] = frozenset(c.value for c in MODEL_REFERENCE_CATEGORY)


# --------------------------------------------------------------------------- paths


def escape_key(key: str) -> str:
    """One key as a path component (backslash first, or the dot's escape would be doubled)."""
    return key.replace("\\", "\\\\").replace(".", "\\.")


def join_path(parts: Iterable[str]) -> str:
    return ".".join(escape_key(part) for part in parts)


def split_path(path: str) -> tuple[str, ...]:
    """The unescaped keys of ``path``; the inverse of :func:`join_path`.

    Raises ``ValueError`` for an escape other than ``\\\\`` or ``\\.``: such a path was not
    produced by this module, and guessing at it could patch the wrong field.
    """
    parts: list[str] = []
    current: list[str] = []
    chars = iter(path)
    for char in chars:
        if char == "\\":
            escaped = next(chars, None)
            if escaped not in ("\\", "."):
                raise ValueError(f"invalid escape in field path {path!r}")
            current.append(escaped)
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return tuple(parts)


# --------------------------------------------------------------------------- values


def _json_copy(value: Any) -> Any:
    """A detached plain-JSON copy, so a diff never aliases (or is changed through) its inputs."""
    if isinstance(value, Mapping):
        copied: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings, got {key!r}")
            copied[key] = _json_copy(item)
        return copied
    if isinstance(value, list | tuple):
        return [_json_copy(item) for item in value]
    return value


def _json_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    a_map, b_map = isinstance(a, Mapping), isinstance(b, Mapping)
    if a_map or b_map:
        return a_map and b_map and a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    a_seq, b_seq = isinstance(a, list | tuple), isinstance(b, list | tuple)
    if a_seq or b_seq:
        return a_seq and b_seq and len(a) == len(b) and all(map(_json_equal, a, b))
    return bool(a == b)


# --------------------------------------------------------------------------- field diffs


@dataclass(frozen=True)
class FieldDiff:
    """One changed field. ``old_value`` is None when added, ``new_value`` None when removed."""

    field_path: str
    old_value: Any
    new_value: Any
    change_type: ChangeType

    def __post_init__(self) -> None:
        if self.change_type not in _CHANGE_TYPES:
            raise ValueError(f"unknown change_type {self.change_type!r}")

    @property
    def path_parts(self) -> tuple[str, ...]:
        return split_path(self.field_path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field_path": self.field_path,
            "old_value": _json_copy(self.old_value),
            "new_value": _json_copy(self.new_value),
            "change_type": self.change_type,
        }


def field_diffs(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[FieldDiff]:
    """The changes that turn ``old`` into ``new``; ``None`` stands for "no record" (``{}``)."""
    out: list[FieldDiff] = []
    _diff_into(old or {}, new or {}, (), out)
    return out


def _diff_into(
    old: Mapping[str, Any], new: Mapping[str, Any], prefix: tuple[str, ...], out: list[FieldDiff]
) -> None:
    for key in sorted(old.keys() | new.keys()):
        path = (*prefix, key)
        if key not in new:
            out.append(FieldDiff(join_path(path), _json_copy(old[key]), None, "removed"))
        elif key not in old:
            out.append(FieldDiff(join_path(path), None, _json_copy(new[key]), "added"))
        else:
            before, after = old[key], new[key]
            if isinstance(before, Mapping) and isinstance(after, Mapping):
                _diff_into(before, after, path, out)
            elif not _json_equal(before, after):
                out.append(FieldDiff(join_path(path), _json_copy(before), _json_copy(after), "modified"))


def apply_field_diffs(base: Mapping[str, Any] | None, diffs: Iterable[FieldDiff]) -> dict[str, Any]:
    """``base`` with ``diffs`` applied: ``apply_field_diffs(a, field_diffs(a, b)) == b``.

    ``base`` is not modified. Added keys land at the end of their object, so the result
    equals ``b`` as JSON but need not share its key order. Raises ``ValueError`` when a
    diff does not fit ``base`` (its parent is missing or not an object, an added key
    already exists, a removed or modified key does not): such diffs were computed
    against another record, and applying them anyway would corrupt this one.
    """
    result: dict[str, Any] = _json_copy(base) if base is not None else {}
    for diff in diffs:
        *parents, leaf = diff.path_parts
        target = result
        for depth, key in enumerate(parents):
            child = target.get(key)
            if not isinstance(child, dict):
                missing = join_path(parents[: depth + 1])
                raise ValueError(f"cannot apply {diff.field_path!r}: {missing!r} is not an object")
            target = child
        present = leaf in target
        if diff.change_type == "added" and present:
            raise ValueError(f"cannot add {diff.field_path!r}: it already exists")
        if diff.change_type != "added" and not present:
            raise ValueError(f"cannot {diff.change_type[:-1]} {diff.field_path!r}: it does not exist")
        if diff.change_type == "removed":
            del target[leaf]
        else:
            target[leaf] = _json_copy(diff.new_value)
    return result


# --------------------------------------------------------------------------- criticality


def critical_fields(category: str) -> frozenset[str]:
    """The top-level fields whose change needs extra care in ``category``.

    ``config.download`` (:data:`CONFIG_DOWNLOAD_PATH`) and ``licensing``
    (:data:`LICENSING_PATH`) are critical in every category on top of these. Categories
    without a row in the table have no extra fields. An unknown category raises
    ``ValueError``: a typo must not silently make every change look safe.
    """
    if category not in _KNOWN_CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    return _CRITICAL_FIELDS.get(category, frozenset())


def _contains_path(value: Any, parts: tuple[str, ...]) -> bool:
    for key in parts:
        if not isinstance(value, Mapping) or key not in value:
            return False
        value = value[key]
    return True


def _touches(diff: FieldDiff, parts: tuple[str, ...], critical: tuple[str, ...]) -> bool:
    if parts[: len(critical)] == critical:
        return True
    if critical[: len(parts)] == parts:
        # The diff replaces an ancestor (`config` as a whole): critical only when the
        # critical field actually exists on one side, not merely could have.
        rest = critical[len(parts) :]
        return _contains_path(diff.old_value, rest) or _contains_path(diff.new_value, rest)
    return False


def is_critical_field_diff(category: str, diff: FieldDiff) -> bool:
    """Whether ``diff`` touches a critical field of ``category``, ``config.download`` or ``licensing``."""
    parts = diff.path_parts
    targets: list[tuple[str, ...]] = [(name,) for name in critical_fields(category)]
    targets.extend((_CONFIG_DOWNLOAD, _LICENSING))
    return any(_touches(diff, parts, target) for target in targets)


# --------------------------------------------------------------------------- change diffs


@dataclass(frozen=True)
class ChangeDiff:
    """What applying one proposal would do to one record (upstream ``PendingChangeDiff``)."""

    category: str
    model_name: str
    operation: str
    current_state: dict[str, Any] | None
    proposed_state: dict[str, Any] | None
    net_operation: NetOperation
    field_diffs: tuple[FieldDiff, ...]
    is_critical: bool

    @property
    def fields_added(self) -> int:
        return sum(1 for d in self.field_diffs if d.change_type == "added")

    @property
    def fields_removed(self) -> int:
        return sum(1 for d in self.field_diffs if d.change_type == "removed")

    @property
    def fields_modified(self) -> int:
        return sum(1 for d in self.field_diffs if d.change_type == "modified")

    def as_dict(self, *, change_id: int | None = None) -> dict[str, Any]:
        """The established ``PendingChangeDiff`` JSON object, ``change_id`` first when given."""
        head: dict[str, Any] = {} if change_id is None else {"change_id": change_id}
        return head | {
            "category": self.category,
            "model_name": self.model_name,
            "operation": self.operation,
            # Copies: the dataclass is frozen, its dicts must not be mutable through here.
            "current_state": _json_copy(self.current_state),
            "proposed_state": _json_copy(self.proposed_state),
            "net_operation": self.net_operation,
            "field_diffs": [d.as_dict() for d in self.field_diffs],
            "is_critical": self.is_critical,
            "fields_added": self.fields_added,
            "fields_removed": self.fields_removed,
            "fields_modified": self.fields_modified,
        }


def change_diff(
    *,
    category: str,
    model_name: str,
    operation: str,
    current: Mapping[str, Any] | None,
    proposed: Mapping[str, Any] | None,
) -> ChangeDiff:
    """The diff of one proposal against the record as it is now (``current``, None if absent).

    ``net_operation`` follows §6.8: create gives ``modified`` when the model exists (even
    if identical: the apply will conflict, and the reviewer should see that it exists),
    else ``added``; update gives ``added`` when missing, ``unchanged`` when equal, else
    ``modified``; delete gives ``unchanged`` when missing, else ``deleted``.

    A delete is diffed against no record at all, so every top-level field shows as
    removed and ``proposed_state`` is None, whatever payload the change carries (the
    established service compared the record with itself and showed an empty diff).

    ``is_critical`` is true for every ``added`` and ``deleted`` outcome: a new or vanished
    record changes what workers can download and serve, and sets or clears every critical
    field at once. Otherwise it is true when a field diff touches a critical field.

    Raises ``ValueError`` for an unknown operation or category, or a create or update
    without a payload (it could never be applied, so it has no meaningful diff).
    """
    op = str(operation).lower()
    if op not in _OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}")
    critical_fields(category)  # validates the category before any work
    current_state = cast("dict[str, Any] | None", _json_copy(current))
    proposed_state = cast("dict[str, Any] | None", _json_copy(proposed))

    if op == "delete":
        proposed_state = None
    elif proposed_state is None:
        raise ValueError(f"a {op} change needs a proposed payload")
    diffs = tuple(field_diffs(current_state, proposed_state))

    net: NetOperation
    if op == "delete":
        net = "unchanged" if current_state is None else "deleted"
    elif current_state is None:
        net = "added"
    elif op == "create":
        net = "modified"
    else:
        net = "modified" if diffs else "unchanged"

    if net in ("added", "deleted"):
        critical = True
    else:
        critical = any(is_critical_field_diff(category, d) for d in diffs)
    return ChangeDiff(
        category=str(category),
        model_name=model_name,
        operation=op,
        current_state=current_state,
        proposed_state=proposed_state,
        net_operation=net,
        field_diffs=diffs,
        is_critical=critical,
    )
