"""Lossless conversion between the image-repository legacy files and canonical v2 records.

Covers the nine image-repo categories: ``image_generation`` (``stable_diffusion.json``),
``controlnet``, ``esrgan``, ``blip``, ``clip``, ``miscellaneous``, ``gfpgan``,
``codeformer`` and ``safety_checker``.

Each legacy entry becomes a :class:`CanonicalEntry`:

* ``name``: the entry's key in the file (the record's identity; the inner ``name``
  is data and may differ, as controlnet ``control_qr_sdxl`` shows);
* ``payload``: the faithful v2 record (:func:`record_to_payload` shape). ``config``
  is built from the non-YAML ``files`` joined with ``download`` on
  ``path == file_name``; a missing sha256 becomes ``"FIXME"``; the SD baseline is
  normalised (``"stable diffusion 1"`` -> ``stable_diffusion_1``); the controlnet
  ``type`` becomes ``controlnet_style``;
* ``legacy_residue``: only what the legacy entry has and the payload cannot tell.

The legacy entry is rebuilt as "what follows from the payload" (the *derived*
entry) with the residue applied on top. The residue never overrides a value the
payload controls: every part of it is checked against the current payload and
ignored once it no longer fits, so edits made in v2 always win.

Residue format (every key optional; ``{}`` when nothing is needed)::

    {
      "fields":    {key: value},   # legacy-only keys, verbatim (type, style, nsfw,
                                   # available, download_all, features_not_supported,
                                   # miscellaneous baseline, historical keys ...)
      "absent":    [key, ...],     # derived keys the legacy entry omits (tags when
                                   # the file has none; SD inpainting/nsfw); used only
                                   # while the payload value is still empty
      "null":      [key, ...],     # payload-controlled keys written as null in the file
      "spellings": {key: value},   # original spelling of a normalised value (baseline,
                                   # untrimmed tags/style); used only while it still
                                   # normalises to the payload value
      "key_order": [key, ...],     # original key order, only when it differs from the
                                   # canonical legacy order (keys added later are merged
                                   # in at their canonical neighbour)
      "config": {
        "fields" / "absent" / "key_order": as above, for config-level keys
        "files":     {path: <entry residue>},      # md5sum, unknown keys, absent sha256sum
        "downloads": {file_name: <entry residue>}, # file_path, unknown keys (hf_auth)
        "yaml_files": [[index, entry], ...],       # YAML entries and their positions
        "download_order": [file_name, ...],        # when it differs from files order
        "files_without_download": [path, ...],     # files that had no download entry
        "file_paths": {file_name: path}            # early-2023 paths that carry the
                                                   # download's folder (models/custom/X)
      }
    }

where ``<entry residue>`` has the same ``fields`` / ``absent`` / ``null`` /
``key_order`` keys, scoped to one file or download entry.

Every conversion verifies itself: the legacy entry rebuilt from the new payload and
residue must equal the input (values, JSON types and key order), otherwise the
entry is rejected rather than stored lossily.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from horde_model_reference.legacy.legacy_models import get_legacy_import_record_type
from horde_model_reference.legacy.types import (
    CanonicalEntry,
    ConversionIssue,
    JSONDict,
    LegacyFormatError,
    LegacyImportResult,
)
from horde_model_reference.meta_consts import (
    CATEGORY_DESCRIPTORS,
    IMAGE_BASELINE_DESCRIPTORS,
    MODEL_REFERENCE_CATEGORY,
)
from horde_model_reference.model_reference_records import (
    GenericModelRecord,
    record_to_payload,
    validate_payload,
)

__all__ = [
    "IMAGE_LEGACY_CATEGORIES",
    "canonical_to_legacy_image_document",
    "canonical_to_legacy_image_record",
    "default_legacy_residue",
    "legacy_baseline_spelling",
    "legacy_image_document_to_canonical",
    "legacy_image_record_to_canonical",
    "legacy_residue_after_v2_write",
    "normalise_legacy_baseline",
]

_C = MODEL_REFERENCE_CATEGORY

#: The categories whose legacy file lives in the image repository.
IMAGE_LEGACY_CATEGORIES: tuple[MODEL_REFERENCE_CATEGORY, ...] = tuple(
    c for c, d in CATEGORY_DESCRIPTORS.items() if d.github_source == "image"
)

_FIXME = "FIXME"

# ---------------------------------------------------------------------------
# Baselines
# ---------------------------------------------------------------------------

_LEGACY_BASELINE_SPELLINGS: dict[str, str] = {
    "stable diffusion 1": "stable_diffusion_1",
    "stable diffusion 2": "stable_diffusion_2_768",
    "stable diffusion 2 512": "stable_diffusion_2_512",
}
_V2_BASELINE_TO_LEGACY: dict[str, str] = {v: k for k, v in _LEGACY_BASELINE_SPELLINGS.items()}


def normalise_legacy_baseline(value: str) -> str:
    """The v2 baseline for a legacy spelling (``"stable diffusion 1"``, ``"SDXL"``, ...).

    Unknown values pass through unchanged (v2 keeps them as strings).
    """
    if value in _LEGACY_BASELINE_SPELLINGS:
        return _LEGACY_BASELINE_SPELLINGS[value]
    if value in IMAGE_BASELINE_DESCRIPTORS:
        return value
    for key, descriptor in IMAGE_BASELINE_DESCRIPTORS.items():
        if value in descriptor.alternative_names:
            return key
    return value


def legacy_baseline_spelling(value: str) -> str:
    """The spelling ``stable_diffusion.json`` uses for a v2 baseline."""
    return _V2_BASELINE_TO_LEGACY.get(value, value)


# ---------------------------------------------------------------------------
# Levels: what the payload controls at each nesting level of a legacy entry
# ---------------------------------------------------------------------------


def _strip_if_str(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _strip_tags(value: Any) -> Any:
    if isinstance(value, list):
        return [_strip_if_str(item) for item in value]
    return value


def _baseline_spelling_key(value: Any) -> Any:
    return legacy_baseline_spelling(normalise_legacy_baseline(value)) if isinstance(value, str) else value


@dataclass(frozen=True)
class _Level:
    """One nesting level of a legacy entry (record, config, file or download entry).

    ``order`` is the canonical key order; ``controlled`` the keys whose value the
    payload decides. Keys outside ``controlled`` that still appear in the derived
    entry are legacy-only defaults (controlnet ``style``, ``file_path: ""``).
    ``spellings`` maps a controlled key to a function giving the derived legacy
    value an alternative spelling stands for.
    """

    order: tuple[str, ...]
    controlled: frozenset[str]
    spellings: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    absent_always: frozenset[str] = frozenset()


_SD_LEVEL = _Level(
    order=(
        "name",
        "baseline",
        "optimization",
        "type",
        "inpainting",
        "description",
        "tags",
        "showcases",
        "min_bridge_version",
        "version",
        "style",
        "trigger",
        "homepage",
        "nsfw",
        "download_all",
        "requirements",
        "config",
        "available",
        "features_not_supported",
        "size_on_disk_bytes",
    ),
    controlled=frozenset(
        {
            "name",
            "baseline",
            "optimization",
            "inpainting",
            "description",
            "tags",
            "showcases",
            "min_bridge_version",
            "version",
            "style",
            "trigger",
            "homepage",
            "nsfw",
            "requirements",
            "config",
            "size_on_disk_bytes",
        }
    ),
    spellings={"baseline": _baseline_spelling_key, "tags": _strip_tags, "style": _strip_if_str},
)

_GENERIC_ORDER = (
    "name",
    "type",
    "baseline",
    "description",
    "version",
    "style",
    "nsfw",
    "download_all",
    "config",
    "available",
    "features_not_supported",
)
_GENERIC_LEVEL = _Level(
    order=_GENERIC_ORDER,
    controlled=frozenset({"name", "description", "version", "config"}),
)
_CLIP_LEVEL = _Level(
    order=(*_GENERIC_ORDER[:5], "pretrained_name", *_GENERIC_ORDER[5:]),
    controlled=frozenset({"name", "description", "version", "config", "pretrained_name"}),
)
# A controlnet entry without ``type`` still has its style in ``style``, which
# readers fall back to; so its absence is kept even when controlnet_style is set.
_CONTROLNET_LEVEL = _Level(
    order=_GENERIC_ORDER,
    controlled=frozenset({"name", "type", "description", "version", "config"}),
    absent_always=frozenset({"type"}),
)

_CONFIG_LEVEL = _Level(
    order=("files", "download", "embedded_component_hashes"),
    controlled=frozenset({"files", "download", "embedded_component_hashes"}),
)
_FILE_LEVEL = _Level(
    order=("path", "md5sum", "sha256sum", "file_type", "content_hash"),
    controlled=frozenset({"path", "sha256sum", "file_type", "content_hash"}),
)
_DOWNLOAD_LEVEL = _Level(
    order=("file_name", "file_path", "file_url"),
    controlled=frozenset({"file_name", "file_url"}),
)


def _record_level(category: MODEL_REFERENCE_CATEGORY) -> _Level:
    if category == _C.image_generation:
        return _SD_LEVEL
    if category == _C.controlnet:
        return _CONTROLNET_LEVEL
    if category == _C.clip:
        return _CLIP_LEVEL
    return _GENERIC_LEVEL


def _image_category(category: MODEL_REFERENCE_CATEGORY | str) -> MODEL_REFERENCE_CATEGORY:
    member = MODEL_REFERENCE_CATEGORY(category)
    if member not in IMAGE_LEGACY_CATEGORIES:
        raise ValueError(f"category '{member.value}' has no image-repository legacy file")
    return member


# ---------------------------------------------------------------------------
# Generic helpers: emptiness, ordering, exact JSON comparison
# ---------------------------------------------------------------------------


def _is_empty(value: Any) -> bool:
    """Whether a derived value is one a legacy file may leave out (or write as null)."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value in ("", _FIXME)
    if isinstance(value, list | dict):
        return len(value) == 0
    return False


def _canonical_keys(keys: Iterable[str], order: tuple[str, ...]) -> list[str]:
    position = {key: index for index, key in enumerate(order)}
    indexed = list(enumerate(keys))
    # Unknown keys sort after the known ones, keeping their relative order.
    indexed.sort(key=lambda item: (position.get(item[1], len(order)), item[0]))
    return [key for _, key in indexed]


def _merge_order(canonical: list[str], original: list[str]) -> list[str]:
    """``canonical`` rearranged to follow ``original``; new keys go after their canonical predecessor."""
    present = set(canonical)
    placed = [key for key in original if key in present]
    placed_set = set(placed)
    for index, key in enumerate(canonical):
        if key in placed_set:
            continue
        position = 0
        for previous in reversed(canonical[:index]):
            if previous in placed_set:
                position = placed.index(previous) + 1
                break
        placed.insert(position, key)
        placed_set.add(key)
    return placed


def _same_json(left: Any, right: Any) -> bool:
    """Equality that also compares JSON types (1 vs 1.0 vs true) and key order."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same_json(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def _first_difference(left: Any, right: Any, path: str = "") -> str:
    if type(left) is not type(right):
        return path or "(record)"
    if isinstance(left, dict):
        for key in left:
            if key not in right:
                return f"{path}.{key}".lstrip(".")
            if not _same_json(left[key], right[key]):
                return _first_difference(left[key], right[key], f"{path}.{key}")
        if list(left) != list(right):
            extra = [k for k in right if k not in left]
            return f"{path}.{extra[0]}".lstrip(".") if extra else f"{path} (key order)".lstrip(" .")
    if isinstance(left, list):
        for index, (a, b) in enumerate(zip(left, right, strict=False)):
            if not _same_json(a, b):
                return _first_difference(a, b, f"{path}[{index}]")
    return path.lstrip(".") or "(record)"


class _UnrepresentableError(ValueError):
    pass


# ---------------------------------------------------------------------------
# Entry-level residue: diff, prune, apply
# ---------------------------------------------------------------------------


def _diff_entry(original: Mapping[str, Any], derived: Mapping[str, Any], level: _Level) -> JSONDict:
    """The residue turning ``derived`` into ``original`` at one level (key order excluded)."""
    fields: JSONDict = {}
    nulls: list[str] = []
    absent: list[str] = []
    spellings: JSONDict = {}
    for key, value in original.items():
        if key in derived:
            if _same_json(value, derived[key]):
                continue
            if key not in level.controlled:
                fields[key] = value
            elif key in level.spellings and _same_json(level.spellings[key](value), derived[key]):
                spellings[key] = value
            elif value is None and _is_empty(derived[key]):
                nulls.append(key)
            else:
                raise _UnrepresentableError(key)
        elif key in level.controlled:
            if value is not None:
                raise _UnrepresentableError(key)
            nulls.append(key)
        else:
            fields[key] = value
    absent.extend(key for key in derived if key not in original)
    residue: JSONDict = {}
    if fields:
        residue["fields"] = fields
    if absent:
        residue["absent"] = absent
    if nulls:
        residue["null"] = nulls
    if spellings:
        residue["spellings"] = spellings
    return residue


def _prune_entry(residue: Mapping[str, Any], derived: Mapping[str, Any], level: _Level) -> JSONDict:
    """Keep only the residue parts that still fit ``derived`` (never override the payload)."""
    pruned: JSONDict = {}
    fields = {k: v for k, v in dict(residue.get("fields") or {}).items() if k not in level.controlled}
    if fields:
        pruned["fields"] = fields
    absent = [
        key
        for key in residue.get("absent") or []
        if key in derived
        and (key not in level.controlled or key in level.absent_always or _is_empty(derived[key]))
    ]
    if absent:
        pruned["absent"] = absent
    nulls = [
        key
        for key in residue.get("null") or []
        if key in level.controlled and (key not in derived or _is_empty(derived[key]))
    ]
    if nulls:
        pruned["null"] = nulls
    spellings = {
        key: value
        for key, value in dict(residue.get("spellings") or {}).items()
        if key in level.spellings and key in derived and _same_json(level.spellings[key](value), derived[key])
    }
    if spellings:
        pruned["spellings"] = spellings
    key_order = residue.get("key_order")
    if isinstance(key_order, list) and key_order:
        pruned["key_order"] = list(key_order)
    return pruned


def _apply_entry(derived: Mapping[str, Any], residue: Mapping[str, Any], level: _Level) -> JSONDict:
    """``derived`` with an already pruned residue applied, in the right key order."""
    result: JSONDict = dict(derived)
    for key, value in dict(residue.get("spellings") or {}).items():
        result[key] = value
    for key in residue.get("null") or []:
        result[key] = None
    for key in residue.get("absent") or []:
        result.pop(key, None)
    for key, value in dict(residue.get("fields") or {}).items():
        result[key] = value
    keys = _canonical_keys(result, level.order)
    key_order = residue.get("key_order")
    if isinstance(key_order, list) and key_order:
        keys = _merge_order(keys, [str(k) for k in key_order])
    return {key: result[key] for key in keys}


def _entry_residue(original: Mapping[str, Any], derived: Mapping[str, Any], level: _Level) -> JSONDict:
    residue = _diff_entry(original, derived, level)
    rebuilt = _apply_entry(derived, residue, level)
    if list(rebuilt) != list(original):
        residue["key_order"] = list(original)
    return residue


# ---------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------


def _is_yaml(path: str) -> bool:
    return "yaml" in path.lower()


def _folder_paths(config: Mapping[str, Any]) -> dict[str, str]:
    """``{"models/custom/X.ckpt": "X.ckpt"}`` for downloads whose ``file_path`` names a folder.

    Early-2023 records name a file by its full path in ``config.files`` and split it
    into ``file_path`` (the folder) and ``file_name`` in the download; the v2 record
    knows the file by its name, and the full path is kept in the residue.
    """
    paths: dict[str, str] = {}
    for download in config.get("download") or []:
        folder, name = download.get("file_path"), download.get("file_name")
        if isinstance(folder, str) and folder.strip("/") and isinstance(name, str):
            paths[f"{folder.rstrip('/')}/{name}"] = name
    return paths


def _v2_file_name(file_entry: Mapping[str, Any], folder_paths: Mapping[str, str]) -> str:
    path: str = file_entry["path"]
    return folder_paths.get(path, path)


def _config_to_v2(config: Mapping[str, Any]) -> JSONDict:
    """The v2 ``config`` of a structurally valid legacy config."""
    folder_paths = _folder_paths(config)
    files = [
        {**f, "path": _v2_file_name(f, folder_paths)}
        for f in config.get("files") or []
        if not _is_yaml(f["path"])
    ]
    seen: set[str] = set()
    for file_entry in files:
        if file_entry["path"] in seen:
            raise ValueError(f"config.files: duplicate path {file_entry['path']!r}")
        seen.add(file_entry["path"])
    urls: dict[str, str] = {}
    for download in config.get("download") or []:
        name = download.get("file_name")
        if name is None:
            raise ValueError("config.download: an entry has no file_name")
        if name not in seen:
            raise ValueError(f"config.download: {name!r} matches no non-YAML entry in config.files")
        if name in urls:
            raise ValueError(f"config.download: duplicate file_name {name!r}")
        url = download.get("file_url")
        if url is None:
            raise ValueError(f"config.download: {name!r} has no file_url")
        urls[name] = url
    downloads: list[JSONDict] = []
    for file_entry in files:
        record: JSONDict = {
            "file_name": file_entry["path"],
            "file_url": urls.get(file_entry["path"], ""),
            "sha256sum": (file_entry["sha256sum"] if file_entry.get("sha256sum") is not None else _FIXME),
        }
        if file_entry.get("content_hash") is not None:
            record["content_hash"] = file_entry["content_hash"]
        if file_entry.get("file_type") is not None:
            record["file_purpose"] = file_entry["file_type"]
        # The established converter always writes this flag, and always false (it
        # tests the path, not the URL, for "civitai"); v2 readers expect the key.
        record["known_slow_download"] = False
        downloads.append(record)
    v2: JSONDict = {"download": downloads}
    if config.get("embedded_component_hashes") is not None:
        v2["embedded_component_hashes"] = config["embedded_component_hashes"]
    return v2


def _derived_file(download: Mapping[str, Any]) -> JSONDict:
    entry: JSONDict = {"path": download["file_name"], "sha256sum": download["sha256sum"]}
    if download.get("file_purpose") is not None:
        entry["file_type"] = download["file_purpose"]
    if download.get("content_hash") is not None:
        entry["content_hash"] = download["content_hash"]
    return entry


def _derived_download(download: Mapping[str, Any]) -> JSONDict:
    return {"file_name": download["file_name"], "file_path": "", "file_url": download["file_url"]}


def _derived_config(v2_config: Mapping[str, Any]) -> JSONDict:
    downloads = list(v2_config.get("download") or [])
    config: JSONDict = {
        "files": [_derived_file(d) for d in downloads],
        "download": [_derived_download(d) for d in downloads],
    }
    if v2_config.get("embedded_component_hashes") is not None:
        config["embedded_component_hashes"] = v2_config["embedded_component_hashes"]
    return config


def _config_residue(original: Mapping[str, Any], v2_config: Mapping[str, Any]) -> JSONDict:
    derived = _derived_config(v2_config)
    derived_files = {f["path"]: f for f in derived["files"]}
    derived_downloads = {d["file_name"]: d for d in derived["download"]}
    residue: JSONDict = {}

    yaml_files: list[list[Any]] = []
    files_residue: JSONDict = {}
    file_paths: JSONDict = {}
    folder_paths = _folder_paths(original)
    for index, file_entry in enumerate(original.get("files") or []):
        if _is_yaml(file_entry["path"]):
            yaml_files.append([index, file_entry])
            continue
        name = _v2_file_name(file_entry, folder_paths)
        if name != file_entry["path"]:
            file_paths[name] = file_entry["path"]
        entry_residue = _entry_residue({**file_entry, "path": name}, derived_files[name], _FILE_LEVEL)
        if entry_residue:
            files_residue[name] = entry_residue
    if files_residue:
        residue["files"] = files_residue
    if file_paths:
        residue["file_paths"] = file_paths
    if yaml_files:
        residue["yaml_files"] = yaml_files

    downloads_residue: JSONDict = {}
    original_download_names: list[str] = []
    for download in original.get("download") or []:
        name = download["file_name"]
        original_download_names.append(name)
        entry_residue = _entry_residue(download, derived_downloads[name], _DOWNLOAD_LEVEL)
        if entry_residue:
            downloads_residue[name] = entry_residue
    if downloads_residue:
        residue["downloads"] = downloads_residue
    without = [name for name in derived_downloads if name not in original_download_names]
    if without:
        residue["files_without_download"] = without
    if [n for n in derived_downloads if n in original_download_names] != original_download_names:
        residue["download_order"] = original_download_names

    # Compare the config-level keys with the lists already rebuilt, so only
    # unknown keys, absences and order remain for the generic diff.
    rebuilt_lists = _apply_config(v2_config, residue)
    comparable = {
        key: (rebuilt_lists[key] if key in ("files", "download") else value)
        for key, value in original.items()
    }
    level_residue = _entry_residue(comparable, _config_lists_only(rebuilt_lists, derived), _CONFIG_LEVEL)
    residue.update(level_residue)
    return residue


def _config_lists_only(rebuilt: Mapping[str, Any], derived: Mapping[str, Any]) -> JSONDict:
    result: JSONDict = {"files": rebuilt["files"], "download": rebuilt["download"]}
    if "embedded_component_hashes" in derived:
        result["embedded_component_hashes"] = derived["embedded_component_hashes"]
    return result


def _apply_config(v2_config: Mapping[str, Any], residue: Mapping[str, Any]) -> JSONDict:
    """The legacy config for ``v2_config`` with the (unpruned) config residue applied.

    Per-file and per-download residues are pruned against the current downloads, so
    a v2 edit of a hash or URL always shows; residues of files that no longer exist
    are ignored.
    """
    derived = _derived_config(v2_config)
    files_residue = dict(residue.get("files") or {})
    downloads_residue = dict(residue.get("downloads") or {})

    file_paths = dict(residue.get("file_paths") or {})
    files: list[JSONDict] = []
    for entry in derived["files"]:
        entry_residue = _prune_entry(files_residue.get(entry["path"]) or {}, entry, _FILE_LEVEL)
        rebuilt = _apply_entry(entry, entry_residue, _FILE_LEVEL)
        if isinstance(file_paths.get(entry["path"]), str):
            rebuilt["path"] = file_paths[entry["path"]]
        files.append(rebuilt)
    for item in residue.get("yaml_files") or []:
        index, yaml_entry = int(item[0]), item[1]
        files.insert(min(index, len(files)), dict(yaml_entry))

    without = set(residue.get("files_without_download") or [])
    downloads: list[JSONDict] = []
    for entry in derived["download"]:
        if entry["file_name"] in without and entry["file_url"] == "":
            continue
        entry_residue = _prune_entry(downloads_residue.get(entry["file_name"]) or {}, entry, _DOWNLOAD_LEVEL)
        downloads.append(_apply_entry(entry, entry_residue, _DOWNLOAD_LEVEL))
    order = residue.get("download_order")
    if isinstance(order, list) and order:
        by_name = {d["file_name"]: d for d in downloads}
        names = _merge_order(list(by_name), [str(n) for n in order])
        downloads = [by_name[name] for name in names]

    config: JSONDict = dict(derived)
    config["files"] = files
    config["download"] = downloads
    return config


def _legacy_config(v2_config: Mapping[str, Any], residue: Mapping[str, Any]) -> JSONDict:
    config = _apply_config(v2_config, residue)
    level_residue = _prune_entry(residue, config, _CONFIG_LEVEL)
    return _apply_entry(config, level_residue, _CONFIG_LEVEL)


# ---------------------------------------------------------------------------
# Records: legacy -> v2 input, payload -> derived legacy entry
# ---------------------------------------------------------------------------

_SD_PASSTHROUGH = (
    "description",
    "version",
    "optimization",
    "tags",
    "showcases",
    "min_bridge_version",
    "trigger",
    "homepage",
    "style",
    "requirements",
    "size_on_disk_bytes",
)


def _v2_input(category: MODEL_REFERENCE_CATEGORY, record: Mapping[str, Any]) -> JSONDict:
    v2: JSONDict = {"name": record["name"]}
    if category == _C.image_generation:
        v2["baseline"] = normalise_legacy_baseline(record["baseline"])
        if record.get("inpainting") is not None:
            v2["inpainting"] = record["inpainting"]
        for key in _SD_PASSTHROUGH:
            if record.get(key) is not None:
                v2[key] = record[key]
        v2["nsfw"] = record.get("nsfw") is True
    else:
        for key in ("description", "version"):
            if record.get(key) is not None:
                v2[key] = record[key]
        if category == _C.clip and record.get("pretrained_name") is not None:
            v2["pretrained_name"] = record["pretrained_name"]
        if category == _C.controlnet:
            style = record.get("type") if record.get("type") is not None else record.get("style")
            if style is not None:
                v2["controlnet_style"] = style
    v2["config"] = _config_to_v2(record["config"])
    return v2


def _derived_record(category: MODEL_REFERENCE_CATEGORY, record: GenericModelRecord) -> JSONDict:
    """The legacy entry that follows from the payload alone (canonical key order)."""
    full = record.model_dump(mode="json", by_alias=True)
    derived: JSONDict = {"name": full["name"]}
    if category == _C.image_generation:
        derived["baseline"] = legacy_baseline_spelling(full["baseline"])
        derived["inpainting"] = full.get("inpainting") is True
        for key in _SD_PASSTHROUGH:
            if full.get(key) is not None:
                derived[key] = full[key]
        for key in ("tags", "showcases", "trigger"):
            derived.setdefault(key, [])
        derived["nsfw"] = full["nsfw"]
    else:
        for key in ("description", "version"):
            if full.get(key) is not None:
                derived[key] = full[key]
        if category == _C.clip and full.get("pretrained_name") is not None:
            derived["pretrained_name"] = full["pretrained_name"]
        if category == _C.controlnet and full.get("controlnet_style") is not None:
            derived["type"] = full["controlnet_style"]
            # Legacy controlnet entries repeat the control type as their style.
            derived["style"] = full["controlnet_style"]
    derived["config"] = _derived_config(full["config"])
    level = _record_level(category)
    return {key: derived[key] for key in _canonical_keys(derived, level.order)}


def _rebuild(
    category: MODEL_REFERENCE_CATEGORY, record: GenericModelRecord, residue: Mapping[str, Any]
) -> JSONDict:
    full_config = record.model_dump(mode="json", by_alias=True)["config"]
    derived = _derived_record(category, record)
    derived["config"] = _legacy_config(full_config, dict(residue.get("config") or {}))
    level = _record_level(category)
    return _apply_entry(derived, _prune_entry(residue, derived, level), level)


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for error in exc.errors():
            location = ".".join(str(part) for part in error["loc"]) or "(record)"
            parts.append(f"{location}: {error['msg']}")
        return "; ".join(parts)
    return str(exc)


def legacy_image_record_to_canonical(
    category: MODEL_REFERENCE_CATEGORY | str, key: str, record: object
) -> CanonicalEntry:
    """Convert one legacy image-repo entry (``key`` is its key in the file).

    Raises ``ValueError`` with a readable reason when the entry is not a valid
    legacy record or cannot be represented without loss.
    """
    member = _image_category(category)
    if not isinstance(record, dict):
        raise ValueError(f"record must be a JSON object, not {type(record).__name__}")
    try:
        get_legacy_import_record_type(member).model_validate(record)
        record_model = validate_payload(member, _v2_input(member, record))
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None
    payload = record_to_payload(record_model)
    # Rebuild from the stored payload (not the in-memory model) so the check covers
    # exactly what a later export will see.
    stored_model = validate_payload(member, payload)
    full_config = stored_model.model_dump(mode="json", by_alias=True)["config"]
    try:
        residue: JSONDict = {}
        config_residue = _config_residue(record["config"], full_config)
        derived = _derived_record(member, stored_model)
        derived["config"] = _legacy_config(full_config, config_residue)
        comparable = dict(record)
        comparable["config"] = derived["config"]
        residue = _entry_residue(comparable, derived, _record_level(member))
        if config_residue:
            residue["config"] = config_residue
    except _UnrepresentableError as exc:
        raise ValueError(f"{exc}: value cannot be represented in the v2 record") from None
    rebuilt = _rebuild(member, stored_model, residue)
    if not _same_json(rebuilt, record):
        where = _first_difference(record, rebuilt)
        raise ValueError(f"{where}: the entry cannot be converted without loss")
    return CanonicalEntry(name=key, payload=payload, legacy_residue=residue)


def legacy_image_document_to_canonical(
    category: MODEL_REFERENCE_CATEGORY | str, document: object
) -> LegacyImportResult:
    """Convert a parsed image-repo legacy file. Invalid entries are reported, not fatal.

    Raises :class:`LegacyFormatError` when the document itself is not a JSON object.
    """
    member = _image_category(category)
    if not isinstance(document, dict):
        raise LegacyFormatError(
            f"{member.value}: a legacy image file must be a JSON object keyed by model name, "
            f"not {type(document).__name__}"
        )
    result = LegacyImportResult()
    for key, record in document.items():
        try:
            result.entries.append(legacy_image_record_to_canonical(member, str(key), record))
        except ValueError as exc:
            result.invalid.append(ConversionIssue(name=str(key), reason=str(exc)))
    return result


def canonical_to_legacy_image_record(
    category: MODEL_REFERENCE_CATEGORY | str, entry: CanonicalEntry
) -> JSONDict:
    """The legacy entry of a canonical record: its payload plus the fitting residue."""
    member = _image_category(category)
    record = validate_payload(member, entry.payload)
    return _rebuild(member, record, entry.legacy_residue or {})


def canonical_to_legacy_image_document(
    category: MODEL_REFERENCE_CATEGORY | str, entries: Iterable[CanonicalEntry]
) -> JSONDict:
    """The legacy file (``{key: record}``) of the given records, in the given order."""
    member = _image_category(category)
    return {entry.name: canonical_to_legacy_image_record(member, entry) for entry in entries}


def legacy_residue_after_v2_write(
    category: MODEL_REFERENCE_CATEGORY | str,
    old_residue: Mapping[str, Any],
    new_payload: Mapping[str, Any],
) -> JSONDict:
    """The residue to keep after a v2 edit: legacy-only data that still fits the new payload.

    Entries for files no longer downloaded are dropped, and so is every part that
    would override (or no longer matches) a value the new payload controls.
    """
    member = _image_category(category)
    record = validate_payload(member, new_payload)
    full_config = record.model_dump(mode="json", by_alias=True)["config"]
    derived = _derived_record(member, record)
    residue = _prune_entry(old_residue, derived, _record_level(member))

    old_config = dict(old_residue.get("config") or {})
    if old_config:
        config = _prune_config_residue(old_config, full_config)
        if config:
            residue["config"] = config
    return residue


def _prune_config_residue(old: Mapping[str, Any], v2_config: Mapping[str, Any]) -> JSONDict:
    derived = _derived_config(v2_config)
    files = {f["path"]: f for f in derived["files"]}
    downloads = {d["file_name"]: d for d in derived["download"]}
    pruned: JSONDict = {}
    files_residue = {
        path: entry
        for path, entry in (
            (p, _prune_entry(r, files[p], _FILE_LEVEL))
            for p, r in dict(old.get("files") or {}).items()
            if p in files
        )
        if entry
    }
    if files_residue:
        pruned["files"] = files_residue
    downloads_residue = {
        name: entry
        for name, entry in (
            (n, _prune_entry(r, downloads[n], _DOWNLOAD_LEVEL))
            for n, r in dict(old.get("downloads") or {}).items()
            if n in downloads
        )
        if entry
    }
    if downloads_residue:
        pruned["downloads"] = downloads_residue
    if old.get("yaml_files"):
        pruned["yaml_files"] = [list(item) for item in old["yaml_files"]]
    order = [n for n in old.get("download_order") or [] if n in downloads]
    if order and order != [n for n in downloads if n in order]:
        pruned["download_order"] = order
    without = [
        n for n in old.get("files_without_download") or [] if downloads.get(n, {}).get("file_url") == ""
    ]
    if without:
        pruned["files_without_download"] = without
    file_paths = {n: path for n, path in dict(old.get("file_paths") or {}).items() if n in files}
    if file_paths:
        pruned["file_paths"] = file_paths
    level = _prune_entry(old, _apply_config(v2_config, pruned), _CONFIG_LEVEL)
    pruned.update(level)
    return pruned


_DEFAULT_FIELDS: dict[MODEL_REFERENCE_CATEGORY, JSONDict] = {
    _C.image_generation: {"type": "ckpt", "download_all": False, "available": False},
    _C.controlnet: {"nsfw": False, "download_all": True, "available": False},
    _C.clip: {"type": "clip", "available": False},
    _C.blip: {"type": "blip", "available": False},
    _C.codeformer: {"type": "CodeFormers", "style": "generalist", "available": False},
    _C.esrgan: {"type": "realesrgan", "style": "generalist", "available": False},
    _C.gfpgan: {"type": "gfpgan", "style": "generalist", "available": False},
    _C.safety_checker: {"type": "safety_checker", "available": False},
    _C.miscellaneous: {"type": "layer_diffuse", "available": False},
}


def default_legacy_residue(category: MODEL_REFERENCE_CATEGORY | str, payload: Mapping[str, Any]) -> JSONDict:
    """Legacy-only defaults for a record born in v2, mirroring what the public files use.

    (The controlnet ``style`` copy needs no residue: it follows from ``controlnet_style``.)
    """
    member = _image_category(category)
    fields = dict(_DEFAULT_FIELDS[member])
    if member == _C.clip and "coca" in str(payload.get("name", "")).lower():
        fields["type"] = "coca"
    return {"fields": fields}
