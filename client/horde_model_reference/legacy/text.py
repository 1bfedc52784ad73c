"""Text generation: canonical records <-> the legacy ``models.csv`` and ``db.json``.

The canonical text record holds the curated values exactly as ``models.csv`` has
them (no injected defaults, only the explicit tags). ``db.json`` is *generated*
from those records by the public ``convert.py`` rules:

* ``tags`` = sorted set of the CSV tags + the style + a size tag (``"7B"``);
* an empty ``display_name`` is derived from the model name;
* the defaults (``defaults.json``) come first, then the row's truthy values in
  CSV column order, ``parameters`` last; falsy values are dropped;
* three entries per model: ``name``, ``aphrodite/name``, ``koboldcpp/model_name``.

Whatever a legacy file carries that these rules (or the CSV's default spelling)
would not reproduce is kept in the entry's ``legacy_residue``::

    {
      "csv": {                       # raw CSV spellings, each used on output only
        "parameters_bn": " 12",      # while it still parses to the payload value
        "tags": "roleplay, story",
        "settings": "{\\"top_k\\": 40}"
      },
      "db": {
        "keys": ["koboldcpp/X"],     # the model's legacy keys, when not the default three
        "entries": {                 # deviations from the generated entries
          "*": {"set": {...}, "drop": [...], "order": [...]},   # applies to every key
          "koboldcpp/X": {...}       # replaces "*" for that key ({} cancels it)
        }
      }
    }

An overlay is applied to a generated entry as: delete ``drop`` keys, assign
``set`` values (new keys are appended), then reorder by ``order`` when given.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from horde_model_reference.legacy.types import (
    CanonicalEntry,
    ConversionIssue,
    JSONDict,
    LegacyFormatError,
    LegacyImportResult,
)
from horde_model_reference.meta_consts import (
    MODEL_CLASSIFICATION_LOOKUP,
    MODEL_REFERENCE_CATEGORY,
    TEXT_BACKENDS,
)
from horde_model_reference.model_reference_records import SCHEMA_VERSION, record_to_payload, validate_payload

APHRODITE_PREFIX = f"{TEXT_BACKENDS.aphrodite.value}/"
KOBOLDCPP_PREFIX = f"{TEXT_BACKENDS.koboldcpp.value}/"
BACKEND_PREFIXES: tuple[str, ...] = (APHRODITE_PREFIX, KOBOLDCPP_PREFIX)

#: The column layout of the upstream ``models.csv``.
CSV_COLUMNS: tuple[str, ...] = (
    "name",
    "parameters_bn",
    "display_name",
    "url",
    "baseline",
    "description",
    "style",
    "tags",
    "instruct_format",
    "settings",
)
#: An older layout still found in docs and tests; accepted on input only.
OLD_CSV_COLUMNS: tuple[str, ...] = (
    "name",
    "parameters_bn",
    "description",
    "version",
    "style",
    "nsfw",
    "baseline",
    "url",
    "tags",
    "settings",
    "display_name",
)
_KNOWN_COLUMNS = frozenset(CSV_COLUMNS) | frozenset(OLD_CSV_COLUMNS)

_CATEGORY = MODEL_REFERENCE_CATEGORY.text_generation
_SCHEMA_VERSION = SCHEMA_VERSION
_RESIDUE_CSV = "csv"
_RESIDUE_DB = "db"
_ALL_KEYS = "*"

#: Keys a v1 (db.json-shaped) write may carry. ``model_name`` is derived from the
#: key and ``text_model_group`` is added by grouped reads, so both are ignored.
_V1_RECORD_KEYS = frozenset(
    {
        "name",
        "model_name",
        "baseline",
        "parameters",
        "description",
        "version",
        "style",
        "nsfw",
        "display_name",
        "url",
        "tags",
        "instruct_format",
        "settings",
        "text_model_group",
    }
)


# --------------------------------------------------------------------------- data


def _load_bundled_json(filename: str) -> Any:
    text = resources.files("horde_model_reference").joinpath("data", filename).read_text("utf-8")
    return json.loads(text)


#: The values every generated ``db.json`` entry starts from, in this key order (the
#: text repository's ``defaults.json``: its keys come first in every entry).
TEXT_DEFAULTS: Final[dict[str, Any]] = {
    "baseline": "",
    "parameters": None,
    "description": "",
    "version": "1",
    "style": "generalist",
    "nsfw": False,
}


def text_defaults() -> dict[str, Any]:
    """A copy of the defaults every ``db.json`` entry starts from (key order kept)."""
    return dict(TEXT_DEFAULTS)


@lru_cache(maxsize=1)
def valid_settings_keys() -> frozenset[str]:
    """The keys allowed in a text model's ``settings`` (from ``generation_params.json``)."""
    loaded = _load_bundled_json("generation_params.json")
    if not isinstance(loaded, dict):  # pragma: no cover - guards the bundled file
        raise RuntimeError("data/generation_params.json is not an object")
    return frozenset(loaded)


# ------------------------------------------------------------------ small helpers


def model_name_of(name: str) -> str:
    """The ``model_name`` convert.py derives: the second ``/`` segment, else the name."""
    return name.split("/")[1] if "/" in name else name


def has_backend_prefix(name: str) -> bool:
    """True when ``name`` starts with ``aphrodite/`` or ``koboldcpp/``."""
    return name.startswith(BACKEND_PREFIXES)


def _size_tag_from_bn(billions: float) -> str:
    # round() is banker's rounding, as in convert.py: 0.5 -> "0B", 2.5 -> "2B".
    return f"{round(billions, 0):.0f}B"


def size_tag(parameters: int) -> str:
    """The size tag convert.py adds to ``tags`` (``"7B"``; banker's rounding of billions)."""
    return _size_tag_from_bn(parameters / 1e9)


def derive_display_name(model_name: str) -> str:
    """The display name convert.py derives when the CSV cell is empty."""
    spaced = model_name.replace("-", " ").replace("_", " ")
    return re.sub(r" +", " ", spaced).strip()


def _bn_to_parameters(billions: float) -> int:
    return int(billions * 1e9)


def _parse_bn(text: str) -> int:
    """Parse a ``parameters_bn`` cell the way convert.py does; ValueError when unusable."""
    if not text.strip():
        raise ValueError("parameters_bn is empty")
    try:
        billions = float(text)
    except ValueError:
        raise ValueError(f"parameters_bn {text!r} is not a number") from None
    if not math.isfinite(billions) or billions < 0:
        raise ValueError(f"parameters_bn {text!r} is not a finite, non-negative number")
    return _bn_to_parameters(billions)


def format_parameters_bn(parameters: int) -> str:
    """The minimal ``parameters_bn`` spelling of a count: ``3``, ``0.56``, ``0.125``.

    The shortest decimal that parses back to the same count is chosen, because a
    fixed precision either loses digits or writes float noise.
    """
    if parameters % 1_000_000_000 == 0:
        return str(parameters // 1_000_000_000)
    billions = parameters / 1e9
    fallback = f"{billions:.10f}".rstrip("0").rstrip(".")
    for digits in range(1, 13):
        candidate = f"{billions:.{digits}f}".rstrip("0").rstrip(".")
        if _bn_to_parameters(float(candidate)) == parameters:
            return candidate
    return fallback


def _split_tags(cell: str) -> list[str]:
    return [piece.strip() for piece in cell.split(",") if piece.strip()]


def _convert_tag_set(cell: str) -> set[str]:
    # convert.py keeps empty pieces ("a,,b" gives ""), unlike the payload's tag list.
    return {piece.strip() for piece in cell.split(",")} if cell else set()


def _payload_parameters(payload: Mapping[str, Any]) -> int:
    # Queue payloads may spell the count ``parameters_count`` (DECISIONS 12).
    value = payload.get("parameters", payload.get("parameters_count"))
    return int(value or 0)


def _json_same(left: Any, right: Any) -> bool:
    """Equality that also distinguishes key order, ``1``/``1.0``/``true``."""
    return json.dumps(left) == json.dumps(right)


def _str_field(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {type(value).__name__}")
    return value


def _validated(payload: JSONDict) -> JSONDict:
    """Validate a payload as a text record and return it in the stored shape."""
    return record_to_payload(validate_payload(_CATEGORY, payload))


def _build_payload(
    *,
    name: str,
    parameters: int,
    description: str = "",
    version: str = "",
    baseline: str = "",
    nsfw: bool = False,
    style: str = "",
    display_name: str = "",
    url: str = "",
    tags: list[str] | None = None,
    instruct_format: str = "",
    settings: dict[str, Any] | None = None,
) -> JSONDict:
    payload: JSONDict = {
        "record_type": _CATEGORY.value,
        "name": name,
        "description": description,
        "version": version,
        "metadata": {"schema_version": _SCHEMA_VERSION},
        "config": {"download": []},
        "model_classification": dict(MODEL_CLASSIFICATION_LOOKUP[_CATEGORY]),
        "baseline": baseline,
        "parameters": parameters,
        "nsfw": nsfw,
        "style": style,
        "display_name": display_name,
        "url": url,
        "tags": list(tags or []),
    }
    if instruct_format:
        payload["instruct_format"] = instruct_format
    if settings:
        payload["settings"] = settings
    return _validated(payload)


def _check_settings_keys(settings: Mapping[str, Any]) -> None:
    unknown = sorted(str(key) for key in settings if key not in valid_settings_keys())
    if unknown:
        raise ValueError(
            f"settings has unknown key(s) {', '.join(unknown)}; "
            f"valid keys: {', '.join(sorted(valid_settings_keys()))}"
        )


# ------------------------------------------------------------- residue helpers


def _csv_residue(residue: Mapping[str, Any]) -> Mapping[str, Any]:
    value = residue.get(_RESIDUE_CSV)
    return value if isinstance(value, Mapping) else {}


def _db_residue(residue: Mapping[str, Any]) -> Mapping[str, Any]:
    value = residue.get(_RESIDUE_DB)
    return value if isinstance(value, Mapping) else {}


def _raw_bn(payload: Mapping[str, Any], residue: Mapping[str, Any]) -> str | None:
    raw = _csv_residue(residue).get("parameters_bn")
    if not isinstance(raw, str):
        return None
    try:
        return raw if _parse_bn(raw) == _payload_parameters(payload) else None
    except ValueError:
        return None


def _raw_tags(payload: Mapping[str, Any], residue: Mapping[str, Any]) -> str | None:
    raw = _csv_residue(residue).get("tags")
    if isinstance(raw, str) and _split_tags(raw) == list(payload.get("tags") or []):
        return raw
    return None


def _raw_settings(payload: Mapping[str, Any], residue: Mapping[str, Any]) -> str | None:
    raw = _csv_residue(residue).get("settings")
    if not isinstance(raw, str):
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return raw if _json_same(parsed or None, payload.get("settings")) else None


def _surviving_csv_spellings(residue: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for column, raw in (
        ("parameters_bn", _raw_bn(payload, residue)),
        ("tags", _raw_tags(payload, residue)),
        ("settings", _raw_settings(payload, residue)),
    ):
        if raw is not None:
            kept[column] = raw
    return kept


def _apply_overlay(entry: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    for key in overlay.get("drop", ()):
        entry.pop(key, None)
    for key, value in dict(overlay.get("set", {})).items():
        entry[key] = copy.deepcopy(value)
    order = overlay.get("order")
    if order:
        ranked = {key: index for index, key in enumerate(order)}
        entry = dict(sorted(entry.items(), key=lambda item: ranked.get(item[0], len(ranked))))
    return entry


def _overlay_between(generated: Mapping[str, Any], actual: Mapping[str, Any]) -> JSONDict:
    """The smallest overlay turning ``generated`` into ``actual`` (``{}`` when equal)."""
    overlay: JSONDict = {}
    drop = [key for key in generated if key not in actual]
    changed = {
        key: copy.deepcopy(value)
        for key, value in actual.items()
        if key not in generated or not _json_same(generated[key], value)
    }
    if drop:
        overlay["drop"] = drop
    if changed:
        overlay["set"] = changed
    result = _apply_overlay(dict(generated), overlay)
    if list(result) != list(actual):
        overlay["order"] = list(actual)
    return overlay


# ------------------------------------------------------------ forward (db.json)


def default_legacy_keys(name: str) -> list[str]:
    """The db.json keys convert.py writes for a model: base, aphrodite, koboldcpp."""
    keys = [name, APHRODITE_PREFIX + name, KOBOLDCPP_PREFIX + model_name_of(name)]
    return list(dict.fromkeys(keys))


def _convert_row(name: str, payload: Mapping[str, Any], residue: Mapping[str, Any]) -> dict[str, Any]:
    """The row convert.py would build (before dropping falsy values), in its key order."""
    parameters = _payload_parameters(payload)
    raw_bn = _raw_bn(payload, residue)
    billions = float(raw_bn) if raw_bn is not None else parameters / 1e9
    raw_tags = _raw_tags(payload, residue)
    tags = _convert_tag_set(raw_tags) if raw_tags is not None else set(payload.get("tags") or [])
    style = payload.get("style") or ""
    if style:
        tags.add(style)
    tags.add(_size_tag_from_bn(billions))
    # Older CSV layouts carried version/nsfw; both are defaults keys, so their
    # position in the entry is fixed whatever the row order.
    return {
        "version": payload.get("version") or "",
        "nsfw": bool(payload.get("nsfw")),
        "display_name": payload.get("display_name") or derive_display_name(model_name_of(name)),
        "url": payload.get("url") or "",
        "baseline": payload.get("baseline") or "",
        "description": payload.get("description") or "",
        "style": style,
        "tags": sorted(tags),
        "instruct_format": payload.get("instruct_format") or "",
        "settings": copy.deepcopy(payload.get("settings") or {}),
        "parameters": parameters,
    }


def _generated_entry(key: str, name: str, row: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": key, "model_name": model_name_of(name)}
    entry.update(text_defaults())
    for column, value in row.items():
        if value:
            entry[column] = copy.deepcopy(value)
    return entry


def canonical_to_text_db_records(entry: CanonicalEntry) -> dict[str, dict[str, Any]]:
    """The legacy db.json entries of one model, ``{key: record}`` in file order."""
    name = entry.name
    row = _convert_row(name, entry.payload, entry.legacy_residue)
    db = _db_residue(entry.legacy_residue)
    keys = db.get("keys")
    if not isinstance(keys, list) or not keys:
        keys = default_legacy_keys(name)
    overlays = db.get("entries")
    overlays = overlays if isinstance(overlays, Mapping) else {}
    records: dict[str, dict[str, Any]] = {}
    for key in keys:
        generated = _generated_entry(str(key), name, row)
        overlay = overlays.get(key, overlays.get(_ALL_KEYS, {}))
        records[str(key)] = _apply_overlay(generated, overlay) if overlay else generated
    return records


def canonical_to_text_db(entries: Iterable[CanonicalEntry]) -> dict[str, dict[str, Any]]:
    """The whole db.json object for ``entries`` (in the given order).

    As in convert.py, a key written twice (two models sharing a koboldcpp name)
    keeps the position of its first write and the value of its last.
    """
    document: dict[str, dict[str, Any]] = {}
    for entry in entries:
        document.update(canonical_to_text_db_records(entry))
    return document


# --------------------------------------------------------------- forward (CSV)


def _csv_cells(entry: CanonicalEntry) -> list[str]:
    payload = entry.payload
    residue = entry.legacy_residue
    parameters = _payload_parameters(payload)
    settings = payload.get("settings")
    raw_bn = _raw_bn(payload, residue)
    raw_tags = _raw_tags(payload, residue)
    raw_settings = _raw_settings(payload, residue)
    return [
        entry.name,
        raw_bn if raw_bn is not None else format_parameters_bn(parameters),
        payload.get("display_name") or "",
        payload.get("url") or "",
        payload.get("baseline") or "",
        payload.get("description") or "",
        payload.get("style") or "",
        raw_tags if raw_tags is not None else ",".join(payload.get("tags") or []),
        payload.get("instruct_format") or "",
        raw_settings
        if raw_settings is not None
        else (json.dumps(settings, ensure_ascii=False) if settings else ""),
    ]


def canonical_to_text_csv(entries: Iterable[CanonicalEntry]) -> str:
    """``models.csv`` text: the 10 upstream columns, minimal quoting, CRLF line endings."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        writer.writerow(_csv_cells(entry))
    return buffer.getvalue()


# ------------------------------------------------------------- reverse (CSV)


def _header_columns(header: list[str]) -> list[str]:
    columns = [cell.strip().lower() for cell in header]
    unknown = [column for column in columns if column not in _KNOWN_COLUMNS]
    if unknown or "name" not in columns or "parameters_bn" not in columns:
        raise LegacyFormatError(
            f"not a text models.csv header: {header!r} (expected {', '.join(CSV_COLUMNS)})"
        )
    if len(set(columns)) != len(columns):
        raise LegacyFormatError(f"models.csv header repeats a column: {header!r}")
    return columns


def _csv_row_to_entry(cells: Mapping[str, str]) -> CanonicalEntry:
    name = cells.get("name", "").strip()
    if not name:
        raise ValueError("name is empty")
    if has_backend_prefix(name):
        raise ValueError("name has a backend prefix (aphrodite/ or koboldcpp/)")
    bn_cell = cells.get("parameters_bn", "")
    parameters = _parse_bn(bn_cell)
    settings_cell = cells.get("settings", "")
    settings: dict[str, Any] | None = None
    if settings_cell.strip():
        try:
            parsed = json.loads(settings_cell)
        except ValueError as error:
            raise ValueError(f"settings is not valid JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise ValueError("settings is not a JSON object")
        _check_settings_keys(parsed)
        settings = parsed or None
    tags_cell = cells.get("tags", "")
    payload = _build_payload(
        name=name,
        parameters=parameters,
        description=cells.get("description", ""),
        version=cells.get("version", ""),
        baseline=cells.get("baseline", ""),
        nsfw=cells.get("nsfw", "").strip().lower() == "true",
        style=cells.get("style", ""),
        display_name=cells.get("display_name", ""),
        url=cells.get("url", ""),
        tags=_split_tags(tags_cell),
        instruct_format=cells.get("instruct_format", ""),
        settings=settings,
    )
    spellings: dict[str, str] = {}
    if bn_cell != format_parameters_bn(parameters):
        spellings["parameters_bn"] = bn_cell
    if tags_cell != ",".join(payload["tags"]):
        spellings["tags"] = tags_cell
    if settings_cell and settings_cell != json.dumps(settings, ensure_ascii=False):
        spellings["settings"] = settings_cell
    residue: JSONDict = {_RESIDUE_CSV: spellings} if spellings else {}
    return CanonicalEntry(name=name, payload=payload, legacy_residue=residue)


def text_csv_to_canonical(csv_text: str) -> LegacyImportResult:
    """Parse ``models.csv`` into canonical records (one per model name).

    Invalid rows are reported in ``invalid`` and skipped. A name that occurs
    twice keeps the position of its first row and the values of its last, as
    convert.py does. Raises LegacyFormatError when the text is not such a CSV.
    """
    if not isinstance(csv_text, str):
        raise LegacyFormatError("models.csv must be text")
    reader = csv.reader(io.StringIO(csv_text.removeprefix("\ufeff"), newline=""))
    result = LegacyImportResult()
    try:
        header = next(reader, None)
        if header is None:
            raise LegacyFormatError("models.csv is empty")
        columns = _header_columns(header)
        by_name: dict[str, CanonicalEntry] = {}
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            name_index = columns.index("name")
            label = (row[name_index].strip() if name_index < len(row) else "") or None
            if len(row) != len(columns):
                result.invalid.append(
                    ConversionIssue(label, f"line {line}: expected {len(columns)} cells, found {len(row)}")
                )
                continue
            cells = dict(zip(columns, row, strict=True))
            try:
                entry = _csv_row_to_entry(cells)
            except ValueError as error:
                result.invalid.append(ConversionIssue(label, f"line {line}: {_readable(error)}"))
                continue
            if entry.name in by_name:
                result.notices.append(f"line {line}: {entry.name!r} is listed again; the later row wins")
            if cells["name"] != entry.name:
                result.notices.append(f"line {line}: surrounding whitespace stripped from name")
            by_name[entry.name] = entry
    except csv.Error as error:
        raise LegacyFormatError(f"models.csv is not valid CSV: {error}") from None
    result.entries.extend(by_name.values())
    return result


# --------------------------------------------------------- reverse (db.json)


def _parameters_from_legacy(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("parameters must be a number, not a boolean")
    if isinstance(value, int):
        number: float = value
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"parameters {value!r} is not a number") from None
    else:
        raise ValueError(f"parameters must be a number, not {type(value).__name__}")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"parameters {value!r} is not a finite, non-negative number")
    return int(number)


def _tags_from_legacy(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return _split_tags(value)
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ValueError("tags must be a list of strings")
    return list(value)


def _settings_from_legacy(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValueError(f"settings is not valid JSON: {error}") from None
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("settings must be an object")
    return value or None


def _payload_from_legacy(name: str, record: Mapping[str, Any]) -> JSONDict:
    """Undo the convert.py derivations on one db.json-shaped record."""
    parameters = _parameters_from_legacy(record.get("parameters"))
    legacy_style = _str_field(record, "style")
    legacy_tags = _tags_from_legacy(record.get("tags"))
    # "generalist" missing from the tags can only have come from defaults.json.
    default_style = TEXT_DEFAULTS.get("style")
    style = "" if legacy_style == default_style and legacy_style not in legacy_tags else legacy_style
    derived = {size_tag(parameters)}
    if style:
        derived.add(style)
    tags = [tag.strip() for tag in legacy_tags if tag not in derived and tag.strip()]
    version = _str_field(record, "version")
    if version == TEXT_DEFAULTS.get("version"):
        version = ""
    nsfw = record.get("nsfw", False)
    if not isinstance(nsfw, bool):
        raise ValueError("nsfw must be a boolean")
    display_name = _str_field(record, "display_name")
    if display_name == derive_display_name(model_name_of(name)):
        display_name = ""
    return _build_payload(
        name=name,
        parameters=parameters,
        description=_str_field(record, "description"),
        version=version,
        baseline=_str_field(record, "baseline"),
        nsfw=nsfw,
        style=style,
        display_name=display_name,
        url=_str_field(record, "url"),
        tags=tags,
        instruct_format=_str_field(record, "instruct_format"),
        settings=_settings_from_legacy(record.get("settings")),
    )


def _check_v1_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise ValueError("the model name is empty")
    if has_backend_prefix(key):
        raise ValueError(
            f"{key!r} has a backend prefix; write the un-prefixed name, the aphrodite/ and "
            "koboldcpp/ entries are generated from it"
        )
    if "://" in key:
        raise ValueError(f"{key!r} looks like a URL, not a model name")


def text_legacy_record_to_canonical(key: str, record: object) -> CanonicalEntry:
    """Convert one db.json-shaped record (a v1 write) to a canonical entry.

    The derivations (size/style tags, derived display name, defaults) are undone
    so that the three legacy entries are regenerated by the rules; the residue
    is therefore empty. Raises ValueError with a readable reason on a prefixed
    key or an invalid record.
    """
    _check_v1_key(key)
    if not isinstance(record, Mapping):
        raise ValueError("the record must be a JSON object")
    unknown = sorted(str(field) for field in record if field not in _V1_RECORD_KEYS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    inner_name = record.get("name", key)
    if inner_name != key:
        raise ValueError(f"the record's name {inner_name!r} does not match its key {key!r}")
    if record.get("parameters") in (None, ""):
        raise ValueError("parameters is required")
    if _parameters_from_legacy(record["parameters"]) <= 0:
        raise ValueError("parameters must be greater than 0")
    settings = _settings_from_legacy(record.get("settings"))
    if settings:
        _check_settings_keys(settings)
    try:
        payload = _payload_from_legacy(key, record)
    except ValueError as error:
        raise ValueError(_readable(error)) from None
    return CanonicalEntry(name=key, payload=payload)


def _readable(error: ValueError) -> str:
    errors = getattr(error, "errors", None)
    if callable(errors):
        parts = []
        for item in errors():
            location = ".".join(str(part) for part in item.get("loc", ()))
            parts.append(f"{location}: {item.get('msg')}" if location else str(item.get("msg")))
        return "; ".join(parts)
    return str(error)


def _owner_of(key: str, last_base_for_model_name: Mapping[str, str]) -> str:
    if key.startswith(APHRODITE_PREFIX):
        return key[len(APHRODITE_PREFIX) :]
    if key.startswith(KOBOLDCPP_PREFIX):
        model_name = key[len(KOBOLDCPP_PREFIX) :]
        return last_base_for_model_name.get(model_name, model_name)
    return key


def _group_document_keys(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Model name -> its keys (document order); models ordered by their primary key."""
    last_base: dict[str, str] = {}
    for key in document:
        if not has_backend_prefix(key):
            last_base[model_name_of(key)] = key
    owned: dict[str, list[str]] = {}
    for key in document:
        owned.setdefault(_owner_of(key, last_base), []).append(key)
    position = {key: index for index, key in enumerate(document)}

    def primary_position(owner: str) -> int:
        # The base key fixes a model's place; an orphan variant stands in for it.
        keys = owned[owner]
        return position[owner] if owner in keys else position[keys[0]]

    return {owner: owned[owner] for owner in sorted(owned, key=primary_position)}


def _db_residue_for(
    name: str,
    keys: list[str],
    payload: JSONDict,
    document: Mapping[str, Any],
    model_rank: Mapping[str, int],
    owner_of_key: Mapping[str, str],
    emitted_before: set[str],
) -> JSONDict:
    """The ``db`` residue of one model; adds the keys it will emit to ``emitted_before``."""
    defaults = default_legacy_keys(name)
    owned = set(keys)
    emits_defaults = owned <= set(defaults) and all(
        key in document
        and (
            key in owned
            # A default key owned by a later model is overwritten by that model,
            # so emitting it here only fixes its position, exactly as convert.py.
            or model_rank.get(owner_of_key.get(key, ""), -1) > model_rank[name]
        )
        for key in defaults
    )
    if emits_defaults:
        # Keys an earlier model already wrote keep that position whatever we emit.
        placed_here = [key for key in keys if key not in emitted_before]
        emits_defaults = [key for key in defaults if key in placed_here] == placed_here
    residue: JSONDict = {}
    if emits_defaults:
        emitted_before.update(defaults)
    else:
        residue["keys"] = list(keys)
        emitted_before.update(keys)
    row = _convert_row(name, payload, {})
    overlays = {key: _overlay_between(_generated_entry(key, name, row), document[key]) for key in keys}
    counts: dict[str, int] = {}
    for overlay in overlays.values():
        if overlay:
            signature = json.dumps(overlay)
            counts[signature] = counts.get(signature, 0) + 1
    entries: JSONDict = {}
    common: JSONDict = {}
    if counts:
        signature, count = max(counts.items(), key=lambda item: item[1])
        if count > 1:
            common = json.loads(signature)
            entries[_ALL_KEYS] = common
    for key, overlay in overlays.items():
        if not _json_same(overlay, common):
            entries[key] = overlay
    if entries:
        residue["entries"] = entries
    return residue


def text_db_to_canonical(document: object) -> LegacyImportResult:
    """Invert a ``db.json`` object into canonical records (when no CSV is available).

    Keys are grouped into models: ``aphrodite/K`` belongs to ``K``; ``koboldcpp/M``
    to the last base whose model name is ``M``, otherwise it is an orphan that
    becomes its own record named ``M``. The derivations are undone and whatever
    the rules would not regenerate is kept in the residue (see the module doc).
    Raises LegacyFormatError when ``document`` is not an object.
    """
    if not isinstance(document, Mapping):
        raise LegacyFormatError(f"a text db.json must be a JSON object, not {type(document).__name__}")
    result = LegacyImportResult()
    bad_keys = [key for key in document if not isinstance(key, str)]
    if bad_keys:
        raise LegacyFormatError(f"db.json has non-string keys: {bad_keys[:3]!r}")
    groups = _group_document_keys(document)
    model_rank = {name: rank for rank, name in enumerate(groups)}
    owner_of_key = {key: name for name, keys in groups.items() for key in keys}
    emitted: set[str] = set()
    for name, keys in groups.items():
        source_key = name if name in keys else keys[0]
        try:
            not_objects = [key for key in keys if not isinstance(document[key], Mapping)]
            if not_objects:
                raise ValueError(f"entry {not_objects[0]!r} is not an object")
            if not name.strip():
                raise ValueError("the model name is empty")
            if has_backend_prefix(name):
                raise ValueError("the model name has a backend prefix")
            payload = _payload_from_legacy(name, document[source_key])
        except ValueError as error:
            result.invalid.append(ConversionIssue(name, _readable(error)))
            continue
        settings = payload.get("settings") or {}
        unknown = sorted(key for key in settings if key not in valid_settings_keys())
        if unknown:
            result.notices.append(f"{name!r}: settings key(s) {', '.join(unknown)} are not generation params")
        db = _db_residue_for(name, keys, payload, document, model_rank, owner_of_key, emitted)
        residue: JSONDict = {_RESIDUE_DB: db} if db else {}
        result.entries.append(CanonicalEntry(name=name, payload=payload, legacy_residue=residue))
    return result


def text_residue_after_v2_write(old_residue: Mapping[str, Any], new_payload: Mapping[str, Any]) -> JSONDict:
    """The residue that survives a v2 edit of a text record.

    Per-entry db overlays and the variant key list are dropped, so the legacy
    entries follow the rules (and the edited values) again; a raw CSV spelling is
    kept only while it still parses to the new payload value.
    """
    spellings = _surviving_csv_spellings(old_residue, new_payload)
    return {_RESIDUE_CSV: spellings} if spellings else {}


__all__ = [
    "APHRODITE_PREFIX",
    "BACKEND_PREFIXES",
    "CSV_COLUMNS",
    "KOBOLDCPP_PREFIX",
    "OLD_CSV_COLUMNS",
    "canonical_to_text_csv",
    "canonical_to_text_db",
    "canonical_to_text_db_records",
    "default_legacy_keys",
    "derive_display_name",
    "format_parameters_bn",
    "has_backend_prefix",
    "model_name_of",
    "size_tag",
    "text_csv_to_canonical",
    "text_db_to_canonical",
    "text_defaults",
    "text_legacy_record_to_canonical",
    "text_residue_after_v2_write",
    "valid_settings_keys",
]
