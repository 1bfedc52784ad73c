"""Search over stored v2 payloads: the semantics of ``/v2/{category}/search`` and ``/v2/search``.

Pure functions over ``(name, payload)`` pairs, so the view decides where the
records come from. Payloads are never validated here: a search touches every
record of a category on every request, and pydantic validation of ~900 records
would dominate the response time. Instead the record type's ``model_fields``
say which fields exist, under which payload key (text stores
``parameters_count`` as ``parameters``) and what a missing key means (the
image payload is stored in its compact shape, with defaults left out).

Only :class:`~common.errors.DomainError` escapes: 400 for unsupported filters
and sort fields, 422 for an unknown category or out-of-range paging.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from common.errors import DomainError
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY, TEXT_BACKENDS
from horde_model_reference.model_reference_records import GenericModelRecord, get_record_type_for_category
from horde_model_reference.text_model_parser import has_backend_prefix, is_quantized_variant

MAX_SEARCH_LIMIT = 500
DEFAULT_SEARCH_LIMIT = 50
NESTED_PATH_SEPARATOR = "__"

#: The fields ``/v2/search`` may sort by: those every category shares.
GENERIC_SORT_FIELDS: tuple[str, ...] = tuple(GenericModelRecord.model_fields)

_TEXT = MODEL_REFERENCE_CATEGORY.text_generation.value
_VALID_BACKENDS: tuple[str, ...] = tuple(backend.value for backend in TEXT_BACKENDS)


@dataclass(frozen=True)
class SearchParams:
    """The query parameters of a search; ``None`` and empty tuples mean "not given"."""

    nsfw: bool | None = None
    baseline: str | None = None
    inpainting: bool | None = None
    tags_any: tuple[str, ...] = ()
    tags_all: tuple[str, ...] = ()
    tags_none: tuple[str, ...] = ()
    name_contains: str | None = None
    sort_by: str | None = None
    sort_desc: bool = False
    limit: int = DEFAULT_SEARCH_LIMIT
    offset: int = 0
    backend: str | None = None
    exclude_backend_variations: bool = False
    quantized: bool | None = None


@dataclass(frozen=True)
class SearchResult:
    """One page of matches; ``total`` counts every match, before paging."""

    results: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        """True when a later page has results (``offset + limit < total``)."""
        return self.offset + self.limit < self.total

    def as_dict(self) -> dict[str, Any]:
        """The SearchResponse body."""
        return {
            "results": self.results,
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class _TypeSpec:
    """What search needs to know about a record type, derived once per type."""

    type_name: str
    # Field name or alias -> the key the payload stores the field under.
    payload_keys: Mapping[str, str]
    # Payload key -> the JSON value a missing key stands for.
    defaults: Mapping[str, Any]
    valid_fields: tuple[str, ...]

    def has_field(self, name: str) -> bool:
        return name in self.payload_keys

    def value(self, payload: Mapping[str, Any], name: str) -> Any:
        """The field's value in ``payload``, its type default when missing, else None."""
        key = self.payload_keys.get(name)
        if key is None:
            return None
        if key in payload:
            return payload[key]
        return self.defaults.get(key)

    def missing_field_message(self, name: str) -> str:
        return f"Field {name!r} does not exist on {self.type_name}. Valid fields: {list(self.valid_fields)}"


def _jsonable(value: Any) -> Any:
    # Defaults are Python objects (enums, nested models); payloads are JSON, and
    # a default must compare and sort exactly as the stored value would.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


@lru_cache(maxsize=64)
def _type_spec(record_type: type[GenericModelRecord]) -> _TypeSpec:
    payload_keys: dict[str, str] = {}
    defaults: dict[str, Any] = {}
    for name, info in record_type.model_fields.items():
        key = info.alias or name
        payload_keys[name] = key
        payload_keys[key] = key
        if info.is_required():
            continue
        try:
            defaults[key] = _jsonable(info.get_default(call_default_factory=True))
        except Exception:  # e.g. a third-party factory that needs validated data
            # Without a usable default a missing key reads as null, which only
            # moves that record to the end of a sort; search must not fail on it.
            continue
    return _TypeSpec(
        type_name=record_type.__name__,
        payload_keys=payload_keys,
        defaults=defaults,
        valid_fields=tuple(sorted(payload_keys)),
    )


def _spec_for_category(category: str) -> _TypeSpec:
    return _type_spec(get_record_type_for_category(category))


def _check_paging(params: SearchParams) -> None:
    errors: list[dict[str, Any]] = []
    limit, offset = params.limit, params.offset
    if not isinstance(limit, int) or isinstance(limit, bool):
        errors.append(_paging_error("limit", "Input should be a valid integer", "int_type"))
    elif limit < 1:
        errors.append(
            _paging_error("limit", "Input should be greater than or equal to 1", "greater_than_equal")
        )
    elif limit > MAX_SEARCH_LIMIT:
        errors.append(
            _paging_error(
                "limit", f"Input should be less than or equal to {MAX_SEARCH_LIMIT}", "less_than_equal"
            )
        )
    if not isinstance(offset, int) or isinstance(offset, bool):
        errors.append(_paging_error("offset", "Input should be a valid integer", "int_type"))
    elif offset < 0:
        errors.append(
            _paging_error("offset", "Input should be greater than or equal to 0", "greater_than_equal")
        )
    if errors:
        raise DomainError(errors, status=422)


def _paging_error(name: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["query", name], "msg": msg, "type": kind}


def _unsupported_filter(spec: _TypeSpec, name: str) -> DomainError:
    return DomainError(f"Filter not supported for this category: {spec.missing_field_message(name)}")


def _invalid_sort(reason: str) -> DomainError:
    return DomainError(f"Invalid sort_by field: {reason}")


def _tag_set(value: Any) -> frozenset[str]:
    if isinstance(value, list | tuple):
        return frozenset(tag for tag in value if isinstance(tag, str))
    return frozenset()


class _Entry:
    """A record being searched: its type spec, key and payload."""

    __slots__ = ("name", "payload", "spec")

    def __init__(self, spec: _TypeSpec, name: str, payload: dict[str, Any]) -> None:
        self.spec = spec
        self.name = name
        self.payload = payload

    def value(self, field_name: str) -> Any:
        return self.spec.value(self.payload, field_name)

    def tags(self) -> frozenset[str]:
        # A type without ``tags`` counts as untagged (only reachable cross-category).
        return _tag_set(self.value("tags")) if self.spec.has_field("tags") else frozenset()


_Predicate = Callable[[_Entry], bool]


def _field_equals(field_name: str, wanted: Any) -> _Predicate:
    # A record whose type lacks the field never matches (cross-category nsfw);
    # per category, the field's presence was checked before this is built.
    return lambda entry: entry.spec.has_field(field_name) and _equals(entry.value(field_name), wanted)


def _equals(value: Any, wanted: Any) -> bool:
    # Booleans compare by identity so that JSON ``1`` is not ``true`` (and ``0``
    # not ``false``); anything else is plain equality.
    if isinstance(wanted, bool) or isinstance(value, bool):
        return value is wanted
    return bool(value == wanted)


def _wanted_tags(value: Iterable[str] | str) -> frozenset[str]:
    # A lone string is one tag, not a set of characters.
    return frozenset((value,) if isinstance(value, str) else value)


def _tag_predicates(params: SearchParams) -> list[_Predicate]:
    predicates: list[_Predicate] = []
    if params.tags_any:
        wanted_any = _wanted_tags(params.tags_any)
        predicates.append(lambda entry: not wanted_any.isdisjoint(entry.tags()))
    if params.tags_all:
        wanted_all = _wanted_tags(params.tags_all)
        predicates.append(lambda entry: wanted_all <= entry.tags())
    if params.tags_none:
        unwanted = _wanted_tags(params.tags_none)
        predicates.append(lambda entry: unwanted.isdisjoint(entry.tags()))
    return predicates


def _has_tag_filter(params: SearchParams) -> bool:
    return bool(params.tags_any or params.tags_all or params.tags_none)


def _name_predicate(params: SearchParams) -> _Predicate | None:
    if params.name_contains is None:
        return None
    needle = str(params.name_contains).lower()

    def matches(entry: _Entry) -> bool:
        # The key is the record's identity and the inner ``name`` is data
        # (controlnet's control_qr_sdxl holds "control_qr_xl"); either may be
        # what the caller knows the model by.
        if needle in entry.name.lower():
            return True
        inner = entry.payload.get("name")
        return isinstance(inner, str) and needle in inner.lower()

    return matches


def _text_predicates(params: SearchParams) -> list[_Predicate]:
    predicates: list[_Predicate] = []
    if params.backend is not None:
        if params.backend not in _VALID_BACKENDS:
            raise DomainError(f"Unknown backend: {params.backend!r}. Valid: {list(_VALID_BACKENDS)}")
        prefix = f"{params.backend}/"
        predicates.append(lambda entry: entry.name.startswith(prefix))
    if params.exclude_backend_variations:
        predicates.append(lambda entry: not has_backend_prefix(entry.name))
    if params.quantized is not None:
        wanted = bool(params.quantized)
        predicates.append(lambda entry: is_quantized_variant(entry.name) is wanted)
    return predicates


def _sort_path(sort_by: str, *, allowed: Callable[[str], bool], spec: _TypeSpec) -> tuple[str, ...]:
    parts = tuple(sort_by.split(NESTED_PATH_SEPARATOR))
    if not allowed(parts[0]):
        raise _invalid_sort(spec.missing_field_message(parts[0]))
    if not all(parts[1:]):
        raise _invalid_sort(f"Empty path segment in {sort_by!r}")
    return parts


def _sort_value(entry: _Entry, path: tuple[str, ...], sort_by: str) -> Any:
    value = entry.value(path[0])
    for segment in path[1:]:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise _invalid_sort(
                f"Cannot look up {segment!r} in a {type(value).__name__} value of {sort_by!r}"
            )
        value = value.get(segment)
    return value


def _sorted(entries: list[_Entry], path: tuple[str, ...], *, sort_by: str, descending: bool) -> list[_Entry]:
    keyed: list[tuple[tuple[int, Any], _Entry]] = []
    for entry in entries:
        value = _sort_value(entry, path, sort_by)
        # Nulls sort after every value ascending and so before them descending
        # (the established behaviour).
        keyed.append(((1, 0) if value is None else (0, value), entry))
    try:
        # ``reverse=True`` keeps the sort stable: tied records stay in document
        # order in both directions, as the established service's ``sorted`` does
        # (reversing afterwards would flip them, and with them every later page).
        keyed.sort(key=lambda item: item[0], reverse=descending)
    except (TypeError, ValueError) as exc:
        raise _invalid_sort(f"Values of {sort_by!r} cannot be compared with each other ({exc})") from None
    return [entry for _, entry in keyed]


def _run(
    entries: Iterable[_Entry],
    predicates: Sequence[_Predicate],
    path: tuple[str, ...] | None,
    params: SearchParams,
) -> SearchResult:
    matched = [entry for entry in entries if all(check(entry) for check in predicates)]
    if path is not None:
        matched = _sorted(matched, path, sort_by=str(params.sort_by), descending=bool(params.sort_desc))
    window = matched[params.offset : params.offset + params.limit]
    return SearchResult(
        results=[entry.payload for entry in window],
        total=len(matched),
        offset=params.offset,
        limit=params.limit,
    )


def search_category(
    category: str, records: Sequence[tuple[str, dict[str, Any]]], params: SearchParams
) -> SearchResult:
    """Filter, sort and page the records of one category.

    ``records`` are ``(name, payload)`` pairs in stored order, payloads in the
    v2 shape as stored. Field filters (``nsfw``, ``baseline``, ``inpainting``)
    and tag filters need the field on the category's record type (400
    otherwise); text-only filters are ignored for other categories. The
    results are the given payload objects themselves, unchanged.
    """
    try:
        key = MODEL_REFERENCE_CATEGORY(category)
    except ValueError:
        valid = [member.value for member in MODEL_REFERENCE_CATEGORY]
        raise DomainError(f"Unknown category '{category}'. Valid: {valid}", status=422) from None
    _check_paging(params)
    spec = _spec_for_category(key.value)

    predicates: list[_Predicate] = []
    for field_name, wanted in (
        ("nsfw", params.nsfw),
        ("baseline", params.baseline),
        ("inpainting", params.inpainting),
    ):
        if wanted is None:
            continue
        if not spec.has_field(field_name):
            raise _unsupported_filter(spec, field_name)
        predicates.append(_field_equals(field_name, wanted))
    if _has_tag_filter(params):
        if not spec.has_field("tags"):
            raise _unsupported_filter(spec, "tags")
        predicates.extend(_tag_predicates(params))
    name_check = _name_predicate(params)
    if name_check is not None:
        predicates.append(name_check)
    if key.value == _TEXT:
        predicates.extend(_text_predicates(params))

    path = None
    if params.sort_by is not None:
        path = _sort_path(str(params.sort_by), allowed=spec.has_field, spec=spec)

    return _run((_Entry(spec, name, payload) for name, payload in records), predicates, path, params)


def search_all(records: Sequence[tuple[str, str, dict[str, Any]]], params: SearchParams) -> SearchResult:
    """Filter, sort and page records of every category (``/v2/search``).

    ``records`` are ``(category, name, payload)`` in category order, then
    stored order. Records are treated as the generic record: ``nsfw``,
    ``baseline`` and ``inpainting`` keep only records whose type has that field
    with that value, records of types without ``tags`` count as untagged, and
    ``sort_by`` accepts only the generic fields (a field a compact payload leaves
    out sorts as its category's default). The text-only filters are not part of
    this route (the view refuses them with 422).
    """
    _check_paging(params)
    path = None
    if params.sort_by is not None:
        path = _sort_path(
            str(params.sort_by),
            allowed=lambda name: name in GENERIC_SORT_FIELDS,
            spec=_type_spec(GenericModelRecord),
        )

    predicates: list[_Predicate] = [
        _field_equals(field_name, wanted)
        for field_name, wanted in (
            ("nsfw", params.nsfw),
            ("baseline", params.baseline),
            ("inpainting", params.inpainting),
        )
        if wanted is not None
    ]
    predicates.extend(_tag_predicates(params))
    name_check = _name_predicate(params)
    if name_check is not None:
        predicates.append(name_check)

    specs: dict[str, _TypeSpec] = {}
    entries: list[_Entry] = []
    for category, name, payload in records:
        spec = specs.get(category)
        if spec is None:
            spec = specs[category] = _spec_for_category(category)
        entries.append(_Entry(spec, name, payload))
    return _run(entries, predicates, path, params)


__all__ = [
    "DEFAULT_SEARCH_LIMIT",
    "GENERIC_SORT_FIELDS",
    "MAX_SEARCH_LIMIT",
    "SearchParams",
    "SearchResult",
    "search_all",
    "search_category",
]
