"""Legacy image-repo files <-> canonical v2 records: the lossless round trip and v2 edits."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde_model_reference.legacy.image import (
    IMAGE_LEGACY_CATEGORIES,
    canonical_to_legacy_image_document,
    canonical_to_legacy_image_record,
    default_legacy_residue,
    legacy_image_document_to_canonical,
    legacy_image_record_to_canonical,
    legacy_residue_after_v2_write,
)
from horde_model_reference.legacy.render import render_legacy_json
from horde_model_reference.legacy.types import CanonicalEntry, LegacyFormatError
from horde_model_reference.meta_consts import (
    CONTROLNET_STYLE,
    MODEL_REFERENCE_CATEGORY,
    legacy_filename,
)
from horde_model_reference.model_reference_records import (
    ImageGenerationModelRecord,
    record_to_payload,
    validate_payload,
)

_C = MODEL_REFERENCE_CATEGORY

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "reference-data"
IMAGE_DIR = DATA / "image"
HISTORY = sorted((DATA / "history" / "image").glob("*.json.gz"))

pytestmark = pytest.mark.usefixtures("reference_data")  # fails clearly when the data is missing

settings.register_profile(
    "client-legacy", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
_PROPERTY = settings.get_profile("client-legacy")


def _file_for(category: MODEL_REFERENCE_CATEGORY) -> Path:
    name = legacy_filename(category)
    assert name is not None
    return IMAGE_DIR / name


def _key_orders(value: Any) -> Any:
    """Every dict's key list, recursively: equal iff key order is reproduced everywhere."""
    if isinstance(value, dict):
        return [(key, _key_orders(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_key_orders(item) for item in value]
    return type(value).__name__


def _round_trip(category: MODEL_REFERENCE_CATEGORY, document: Any) -> dict[str, Any]:
    result = legacy_image_document_to_canonical(category, document)
    assert result.invalid == []
    assert [e.name for e in result.entries] == list(document)
    return canonical_to_legacy_image_document(category, result.entries)


# ---------------------------------------------------------------------------
# The law: real files and history snapshots round-trip exactly
# ---------------------------------------------------------------------------


def test_the_nine_image_categories() -> None:
    assert {c.value for c in IMAGE_LEGACY_CATEGORIES} == {
        "image_generation",
        "controlnet",
        "esrgan",
        "blip",
        "clip",
        "miscellaneous",
        "gfpgan",
        "codeformer",
        "safety_checker",
    }


@pytest.mark.parametrize("category", IMAGE_LEGACY_CATEGORIES, ids=str)
def test_real_file_round_trips(category: MODEL_REFERENCE_CATEGORY) -> None:
    raw = _file_for(category).read_bytes()
    document = json.loads(raw)
    rebuilt = _round_trip(category, document)
    assert rebuilt == document
    assert _key_orders(rebuilt) == _key_orders(document)
    if category == _C.image_generation:
        assert render_legacy_json(rebuilt) == raw


@pytest.mark.parametrize("snapshot", HISTORY, ids=lambda p: p.name)
def test_history_snapshot_round_trips(snapshot: Path) -> None:
    raw = gzip.decompress(snapshot.read_bytes())
    document = json.loads(raw)
    rebuilt = _round_trip(_C.image_generation, document)
    assert rebuilt == document
    assert _key_orders(rebuilt) == _key_orders(document)
    if json.dumps(document, indent=4) + "\n" == raw.decode():
        assert render_legacy_json(rebuilt) == raw


def test_history_snapshots_present() -> None:
    assert len(HISTORY) == 10


@pytest.mark.parametrize("category", IMAGE_LEGACY_CATEGORIES, ids=str)
def test_real_payloads_pass_strict_validation(category: MODEL_REFERENCE_CATEGORY) -> None:
    # DECISIONS 9: anything in the real data must be accepted by the strict write path.
    result = legacy_image_document_to_canonical(category, json.loads(_file_for(category).read_bytes()))
    for entry in result.entries:
        record = validate_payload(category, entry.payload, strict=True)
        assert record_to_payload(record) == entry.payload


def test_faithful_payload_for_sd_and_controlnet() -> None:
    sd = legacy_image_document_to_canonical(
        _C.image_generation, json.loads(_file_for(_C.image_generation).read_bytes())
    )
    by_name = {e.name: e for e in sd.entries}
    payload = by_name["stable_diffusion_2.1"].payload
    assert payload["baseline"] == "stable_diffusion_2_768"
    assert "record_type" not in payload and "metadata" not in payload
    download = payload["config"]["download"][0]
    assert download["file_name"] == "model_2_1.ckpt"
    assert download["known_slow_download"] is False
    baselines = {e.payload["baseline"] for e in sd.entries}
    assert baselines <= {
        "stable_diffusion_1",
        "stable_diffusion_2_768",
        "stable_diffusion_xl",
        "stable_cascade",
        "flux_1",
    }
    # Upper-case hashes stay as they are.
    flux = by_name["Flux.1-Schnell fp8 (Compact)"].payload
    assert flux["config"]["download"][0]["sha256sum"].isupper()

    cn = legacy_image_document_to_canonical(_C.controlnet, json.loads(_file_for(_C.controlnet).read_bytes()))
    qr = next(e for e in cn.entries if e.name == "control_qr_sdxl")
    assert qr.payload["name"] == "control_qr_xl"  # identity is the key; the inner name is data
    assert qr.payload["record_type"] == "controlnet"
    assert all(e.payload["controlnet_style"] for e in cn.entries)
    assert all("yaml" not in d["file_name"] for e in cn.entries for d in e.payload["config"]["download"])

    safety = legacy_image_document_to_canonical(
        _C.safety_checker, json.loads(_file_for(_C.safety_checker).read_bytes())
    ).entries[0]
    assert [d["sha256sum"] for d in safety.payload["config"]["download"]][1:] == ["FIXME", "FIXME"]


# ---------------------------------------------------------------------------
# Residue minimality
# ---------------------------------------------------------------------------

_SD_CONTROLLED = {
    "name", "baseline", "optimization", "inpainting", "description", "tags", "showcases",
    "min_bridge_version", "version", "style", "trigger", "homepage", "nsfw", "requirements",
    "config", "size_on_disk_bytes",
}  # fmt: skip
_RESIDUE_KEYS = {"fields", "absent", "null", "spellings", "key_order", "config"}
_CONFIG_RESIDUE_KEYS = {
    "fields", "absent", "null", "key_order", "files", "downloads", "yaml_files",
    "download_order", "files_without_download",
}  # fmt: skip


def test_sd_residue_is_minimal() -> None:
    document = json.loads(_file_for(_C.image_generation).read_bytes())
    result = legacy_image_document_to_canonical(_C.image_generation, document)
    for entry in result.entries:
        residue = entry.legacy_residue
        assert set(residue) <= _RESIDUE_KEYS
        fields = residue.get("fields", {})
        assert not set(fields) & _SD_CONTROLLED, entry.name
        assert set(fields) <= {"type", "download_all", "available", "features_not_supported"}
        # The current file is in canonical order and uses the standard spellings.
        assert "key_order" not in residue and "spellings" not in residue and "null" not in residue
        assert set(residue.get("absent", [])) <= {"tags", "showcases", "trigger"}
        config = residue.get("config", {})
        assert set(config) <= _CONFIG_RESIDUE_KEYS
        for file_residue in config.get("files", {}).values():
            assert set(file_residue.get("fields", {})) <= {"md5sum"}
            assert "sha256sum" not in file_residue.get("fields", {})
        assert "downloads" not in config  # every file_path is "" in the current file
        # Nothing the payload says is repeated in the residue.
        text = json.dumps(residue)
        for download in entry.payload.get("config", {}).get("download", []):
            assert download["file_url"] not in text
            assert download["sha256sum"] not in text if "sha256sum" in download else True


@pytest.mark.parametrize(
    "category", [c for c in IMAGE_LEGACY_CATEGORIES if c != _C.image_generation], ids=str
)
def test_other_residues_hold_only_legacy_only_data(category: MODEL_REFERENCE_CATEGORY) -> None:
    result = legacy_image_document_to_canonical(category, json.loads(_file_for(category).read_bytes()))
    for entry in result.entries:
        fields = entry.legacy_residue.get("fields", {})
        assert not set(fields) & {"name", "description", "version", "config"}
        if category == _C.controlnet:
            assert "style" not in fields  # a copy of type, derived from controlnet_style
            assert "type" not in fields


# ---------------------------------------------------------------------------
# v2 edits show in the legacy output
# ---------------------------------------------------------------------------


def _sd_entry(name: str, document_path: Path | None = None) -> tuple[CanonicalEntry, dict[str, Any]]:
    if document_path is None:
        document = json.loads(_file_for(_C.image_generation).read_bytes())
    else:
        document = json.loads(gzip.decompress(document_path.read_bytes()))
    entry = legacy_image_record_to_canonical(_C.image_generation, name, document[name])
    return entry, document[name]


def _edit(entry: CanonicalEntry, payload: dict[str, Any]) -> dict[str, Any]:
    payload = record_to_payload(validate_payload(_C.image_generation, payload))
    residue = legacy_residue_after_v2_write(_C.image_generation, entry.legacy_residue, payload)
    kept = canonical_to_legacy_image_record(_C.image_generation, CanonicalEntry(entry.name, payload, residue))
    # Even a stale (unpruned) residue must never override the payload.
    stale = canonical_to_legacy_image_record(
        _C.image_generation, CanonicalEntry(entry.name, payload, entry.legacy_residue)
    )
    assert kept == stale
    return kept


def test_v2_edit_of_description_baseline_and_hash() -> None:
    entry, original = _sd_entry("stable_diffusion")
    payload = copy.deepcopy(entry.payload)
    payload["description"] = "new description"
    payload["baseline"] = "stable_diffusion_xl"
    payload["config"]["download"][0]["sha256sum"] = "cd" * 32
    legacy = _edit(entry, payload)
    assert legacy["description"] == "new description"
    assert legacy["baseline"] == "stable_diffusion_xl"
    assert legacy["config"]["files"][0]["sha256sum"] == "cd" * 32
    # Legacy-only data of the file that still exists survives.
    assert legacy["config"]["files"][0]["md5sum"] == original["config"]["files"][0]["md5sum"]
    assert legacy["config"]["files"][1] == {"path": "v1-inference.yaml"}
    assert legacy["type"] == "ckpt" and legacy["available"] is False
    assert list(legacy) == list(original)


def test_v2_edit_adds_tags_where_legacy_had_none() -> None:
    entry, original = _sd_entry("stable_diffusion")
    assert "tags" not in original
    payload = copy.deepcopy(entry.payload)
    payload["tags"] = ["generalist"]
    legacy = _edit(entry, payload)
    assert legacy["tags"] == ["generalist"]
    assert list(legacy).index("tags") == list(legacy).index("description") + 1
    assert "tags" not in legacy_residue_after_v2_write(
        _C.image_generation, entry.legacy_residue, payload
    ).get("absent", [])


def test_v2_edit_sets_a_hash_that_legacy_lacked() -> None:
    entry, original = _sd_entry("stable_diffusion", HISTORY[0])
    assert "sha256sum" not in original["config"]["files"][0]
    payload = copy.deepcopy(entry.payload)
    payload["config"]["download"][0]["sha256sum"] = "ef" * 32
    legacy = _edit(entry, payload)
    assert legacy["config"]["files"][0]["sha256sum"] == "ef" * 32
    assert list(legacy["config"]["files"][0]) == ["path", "md5sum", "sha256sum"]


def test_v2_edit_replacing_a_file_drops_its_legacy_data() -> None:
    entry, _original = _sd_entry("stable_diffusion")
    payload = copy.deepcopy(entry.payload)
    payload["config"]["download"] = [
        {"file_name": "new.safetensors", "file_url": "https://example.org/new", "sha256sum": "aa" * 32}
    ]
    residue = legacy_residue_after_v2_write(_C.image_generation, entry.legacy_residue, payload)
    assert "files" not in residue.get("config", {})
    legacy = _edit(entry, payload)
    assert legacy["config"]["files"] == [
        {"path": "new.safetensors", "sha256sum": "aa" * 32},
        {"path": "v1-inference.yaml"},
    ]
    assert legacy["config"]["download"] == [
        {"file_name": "new.safetensors", "file_path": "", "file_url": "https://example.org/new"}
    ]


def test_baseline_spelling_kept_only_while_it_fits() -> None:
    record = {
        "name": "m",
        "baseline": "SDXL",
        "type": "ckpt",
        "nsfw": False,
        "config": {"files": [], "download": []},
    }
    entry = legacy_image_record_to_canonical(_C.image_generation, "m", record)
    assert entry.payload["baseline"] == "stable_diffusion_xl"
    assert entry.legacy_residue["spellings"] == {"baseline": "SDXL"}
    assert canonical_to_legacy_image_record(_C.image_generation, entry) == record
    payload = {**entry.payload, "baseline": "flux_1"}
    assert _edit(entry, payload)["baseline"] == "flux_1"
    assert "spellings" not in legacy_residue_after_v2_write(
        _C.image_generation, entry.legacy_residue, payload
    )


def test_controlnet_style_follows_a_v2_edit() -> None:
    document = json.loads(_file_for(_C.controlnet).read_bytes())
    entry = legacy_image_record_to_canonical(
        _C.controlnet, "control_canny_sd2", document["control_canny_sd2"]
    )
    payload = {**entry.payload, "controlnet_style": "control_depth"}
    residue = legacy_residue_after_v2_write(_C.controlnet, entry.legacy_residue, payload)
    legacy = canonical_to_legacy_image_record(_C.controlnet, CanonicalEntry(entry.name, payload, residue))
    assert legacy["type"] == legacy["style"] == "control_depth"
    assert legacy["nsfw"] is False and legacy["download_all"] is True


# ---------------------------------------------------------------------------
# Records born in v2
# ---------------------------------------------------------------------------

_V2_BORN: dict[MODEL_REFERENCE_CATEGORY, dict[str, Any]] = {
    _C.image_generation: {
        "name": "New Model",
        "baseline": "stable_diffusion_xl",
        "nsfw": False,
        "style": "realistic",
        "config": {
            "download": [
                {
                    "file_name": "new.safetensors",
                    "file_url": "https://example.org/new.safetensors",
                    "sha256sum": "ab" * 32,
                    "known_slow_download": False,
                }
            ]
        },
    },
    _C.controlnet: {"name": "control_new", "controlnet_style": "control_canny"},
    _C.clip: {"name": "coca_new"},
}


@pytest.mark.parametrize("category", IMAGE_LEGACY_CATEGORIES, ids=str)
def test_default_residue_gives_a_legacy_record_that_parses_back(
    category: MODEL_REFERENCE_CATEGORY,
) -> None:
    source = _V2_BORN.get(category, {"name": f"new_{category.value}", "description": "d", "version": "1"})
    payload = record_to_payload(validate_payload(category, source))
    residue = default_legacy_residue(category, payload)
    legacy = canonical_to_legacy_image_record(category, CanonicalEntry("key", payload, residue))
    assert "type" in legacy
    assert legacy["available"] is False
    back = legacy_image_record_to_canonical(category, "key", legacy)
    assert back.payload == payload
    assert json.dumps(back.payload) == json.dumps(payload)
    if category == _C.image_generation:
        assert legacy["type"] == "ckpt"
        assert legacy["baseline"] == "stable_diffusion_xl"
    if category == _C.controlnet:
        assert legacy["style"] == legacy["type"] == "control_canny"
    if category == _C.clip:
        assert legacy["type"] == "coca"


# ---------------------------------------------------------------------------
# Invalid input
# ---------------------------------------------------------------------------


def test_invalid_entries_are_reported_with_key_and_reason() -> None:
    good = {"name": "good", "baseline": "flux_1", "nsfw": False, "config": {"files": [], "download": []}}
    document = {
        "good": good,
        "no_baseline": {"name": "no_baseline", "nsfw": False, "config": {"files": [], "download": []}},
        "bad_config": {**good, "name": "bad_config", "config": []},
        "not_object": "hello",
        "orphan_download": {
            **good,
            "config": {"files": [], "download": [{"file_name": "x", "file_path": "", "file_url": "u"}]},
        },
        "wrong_type": {**good, "size_on_disk_bytes": "12"},
    }
    result = legacy_image_document_to_canonical(_C.image_generation, document)
    assert [e.name for e in result.entries] == ["good"]
    reasons = {issue.name: issue.reason for issue in result.invalid}
    assert list(reasons) == ["no_baseline", "bad_config", "not_object", "orphan_download", "wrong_type"]
    assert "baseline" in reasons["no_baseline"] and "required" in reasons["no_baseline"].lower()
    assert "config" in reasons["bad_config"] and "object" in reasons["bad_config"]
    assert "JSON object" in reasons["not_object"]
    assert "'x'" in reasons["orphan_download"]
    assert "size_on_disk_bytes" in reasons["wrong_type"]


@pytest.mark.parametrize("document", [[], "text", None, 3])
def test_non_object_document_is_a_format_error(document: object) -> None:
    with pytest.raises(LegacyFormatError, match="JSON object"):
        legacy_image_document_to_canonical(_C.controlnet, document)


def test_single_record_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="name"):
        legacy_image_record_to_canonical(_C.esrgan, "x", {"config": {}})
    with pytest.raises(ValueError, match="no image-repository"):
        legacy_image_record_to_canonical(_C.text_generation, "x", {})


# ---------------------------------------------------------------------------
# Property tests: generated legacy records round-trip exactly
# ---------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)
_hex = st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64)
_scalar = st.one_of(
    st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), _text
)
_setting = st.one_of(_scalar, st.lists(_scalar, max_size=3))


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def _config(draw: st.DrawFn) -> dict[str, Any]:
    paths = draw(
        st.lists(
            _text.filter(lambda p: "yaml" not in p.lower()).map(lambda p: p + ".safetensors"),
            max_size=3,
            unique=True,
        )
    )
    files: list[dict[str, Any]] = []
    for path in paths:
        entry: dict[str, Any] = {"path": path}
        if draw(st.booleans()):
            entry["md5sum"] = draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32))
        sha = draw(st.one_of(st.none(), _hex, st.just("FIXME"), st.just("")))
        if sha is not None or draw(st.booleans()):
            entry["sha256sum"] = sha
        if draw(st.booleans()):
            entry["file_type"] = draw(_text)
        if draw(st.booleans()):
            entry["note"] = draw(_scalar)
        keys = draw(st.permutations(list(entry)))
        files.append({k: entry[k] for k in keys})
    for _ in range(draw(st.integers(0, 2))):
        yaml_entry = {"path": draw(_text) + ".yaml"}
        files.insert(draw(st.integers(0, len(files))), yaml_entry)
    downloads: list[dict[str, Any]] = []
    for path in paths:
        if draw(st.integers(0, 9)) == 0:
            continue  # a file without a download entry
        download: dict[str, Any] = {"file_name": path, "file_path": draw(st.sampled_from(["", "sub", None]))}
        download["file_url"] = "https://example.org/" + draw(_text)
        if draw(st.booleans()):
            download["hf_auth"] = draw(st.booleans())
        keys = draw(st.permutations(list(download)))
        downloads.append({k: download[k] for k in keys})
    downloads = draw(st.permutations(downloads))
    config: dict[str, Any] = {"files": files, "download": list(downloads)}
    if draw(st.integers(0, 4)) == 0:
        config["showcases"] = draw(st.lists(_text, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        config["embedded_component_hashes"] = draw(st.dictionaries(_text, _hex, max_size=2))
    keys = draw(st.permutations(list(config)))
    return {k: config[k] for k in keys}


def _shuffle_maybe(draw: st.DrawFn, record: dict[str, Any]) -> dict[str, Any]:
    if draw(st.booleans()):
        return record
    keys = draw(st.permutations(list(record)))
    return {k: record[k] for k in keys}


@st.composite
def _sd_record(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": draw(_text),
        "baseline": draw(
            st.sampled_from(
                [
                    "stable diffusion 1",
                    "stable diffusion 2",
                    "stable diffusion 2 512",
                    "stable_diffusion_xl",
                    "stable_cascade",
                    "flux_1",
                    "SDXL",
                    "stable_diffusion",
                    "brand_new_baseline",
                ]
            )
        ),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "optimization": _maybe(_text),
        "type": st.just("ckpt"),
        "inpainting": _maybe(st.booleans()),
        "description": _maybe(_text),
        "tags": _maybe(st.lists(st.sampled_from(["anime", " anime", "x ", "", "cg"]), max_size=3)),
        "showcases": _maybe(st.lists(_text, max_size=2)),
        "min_bridge_version": _maybe(st.integers(0, 30)),
        "version": _maybe(_text),
        "style": _maybe(st.sampled_from(["anime", "realistic", " furry", "custom", ""])),
        "trigger": _maybe(st.lists(_text, max_size=2)),
        "homepage": _maybe(_text),
        "nsfw": _maybe(st.booleans()),
        "download_all": _maybe(st.booleans()),
        "requirements": _maybe(st.dictionaries(_text, _setting, max_size=3)),
        "available": _maybe(st.booleans()),
        "features_not_supported": _maybe(st.lists(st.sampled_from(["hires_fix", "loras"]), max_size=2)),
        "size_on_disk_bytes": _maybe(st.integers(0, 10**11)),
        "requires": _text,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            record[key] = draw(strategy)
    record["config"] = draw(_config())
    return _shuffle_maybe(draw, record)


@st.composite
def _controlnet_record(draw: st.DrawFn) -> dict[str, Any]:
    style = draw(st.sampled_from([s.value for s in CONTROLNET_STYLE] + ["control_custom"]))
    record: dict[str, Any] = {"name": draw(_text)}
    if draw(st.integers(0, 5)) > 0:
        record["type"] = style
    record["description"] = draw(_text)
    record["version"] = draw(_text)
    style_choice = draw(st.sampled_from(["copy", "other", "absent"]))
    if style_choice == "copy" or "type" not in record:
        record["style"] = style
    elif style_choice == "other":
        record["style"] = draw(_text)
    for key in ("nsfw", "download_all", "available"):
        if draw(st.booleans()):
            record[key] = draw(st.booleans())
    record["config"] = draw(_config())
    return _shuffle_maybe(draw, record)


_GENERIC_CATEGORIES = [c for c in IMAGE_LEGACY_CATEGORIES if c not in (_C.image_generation, _C.controlnet)]


@st.composite
def _generic_record(draw: st.DrawFn) -> tuple[MODEL_REFERENCE_CATEGORY, dict[str, Any]]:
    category = draw(st.sampled_from(_GENERIC_CATEGORIES))
    record: dict[str, Any] = {"name": draw(_text)}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "type": _maybe(_text),
        "baseline": _maybe(_text) if category == _C.miscellaneous else st.just("legacy-only"),
        "description": _maybe(_text),
        "version": _maybe(_text),
        "style": _maybe(_text),
        "nsfw": _maybe(st.booleans()),
        "download_all": _maybe(st.booleans()),
        "available": _maybe(st.booleans()),
        "features_not_supported": st.lists(_text, max_size=2),
        "unknown_field": _setting,
    }
    if category == _C.clip:
        optional["pretrained_name"] = _maybe(_text)
    for key, strategy in optional.items():
        if draw(st.booleans()):
            record[key] = draw(strategy)
    record["config"] = draw(_config())
    return category, _shuffle_maybe(draw, record)


def _assert_round_trip(category: MODEL_REFERENCE_CATEGORY, record: dict[str, Any]) -> None:
    entry = legacy_image_record_to_canonical(category, "key", record)
    rebuilt = canonical_to_legacy_image_record(category, entry)
    assert rebuilt == record
    assert _key_orders(rebuilt) == _key_orders(record)
    assert json.dumps(rebuilt) == json.dumps(record)
    # The payload is a stable canonical record, and the residue is plain JSON.
    assert record_to_payload(validate_payload(category, entry.payload)) == entry.payload
    json.dumps(entry.legacy_residue)
    # The residue never carries a payload-controlled SD field as a legacy-only value.
    if category == _C.image_generation:
        assert not set(entry.legacy_residue.get("fields", {})) & _SD_CONTROLLED


@_PROPERTY
@given(_sd_record())
def test_property_sd_round_trip(record: dict[str, Any]) -> None:
    _assert_round_trip(_C.image_generation, record)


@_PROPERTY
@given(_controlnet_record())
def test_property_controlnet_round_trip(record: dict[str, Any]) -> None:
    _assert_round_trip(_C.controlnet, record)


@_PROPERTY
@given(_generic_record())
def test_property_generic_round_trip(case: tuple[MODEL_REFERENCE_CATEGORY, dict[str, Any]]) -> None:
    _assert_round_trip(*case)


@_PROPERTY
@given(_sd_record(), st.sampled_from(["description", "baseline", "tags", "nsfw", "hash"]))
def test_property_v2_edit_always_wins(record: dict[str, Any], what: str) -> None:
    entry = legacy_image_record_to_canonical(_C.image_generation, "key", record)
    payload = copy.deepcopy(entry.payload)
    record_model = validate_payload(_C.image_generation, payload)
    assert isinstance(record_model, ImageGenerationModelRecord)
    if what == "description":
        payload["description"] = "edited"
    elif what == "baseline":
        payload["baseline"] = "z_image_turbo"
    elif what == "tags":
        payload["tags"] = ["edited"]
    elif what == "nsfw":
        payload["nsfw"] = not record_model.nsfw
    elif payload.get("config", {}).get("download"):
        payload["config"]["download"][0]["sha256sum"] = "12" * 32
    payload = record_to_payload(validate_payload(_C.image_generation, payload))
    residue = legacy_residue_after_v2_write(_C.image_generation, entry.legacy_residue, payload)
    legacy = canonical_to_legacy_image_record(_C.image_generation, CanonicalEntry("key", payload, residue))
    back = legacy_image_record_to_canonical(_C.image_generation, "key", legacy)
    assert back.payload == payload


@pytest.mark.parametrize("category", IMAGE_LEGACY_CATEGORIES, ids=str)
def test_residue_after_an_unchanged_v2_write_is_unchanged(category: MODEL_REFERENCE_CATEGORY) -> None:
    result = legacy_image_document_to_canonical(category, json.loads(_file_for(category).read_bytes()))
    for entry in result.entries:
        assert legacy_residue_after_v2_write(category, entry.legacy_residue, entry.payload) == (
            entry.legacy_residue
        )


def _early_2023_shape(record: dict[str, Any]) -> bool:
    """Rewrite ``record`` in place as early-2023 records name their files; False if it has none.

    Those records carry the folder twice: in ``config.files[].path``
    (``models/custom/X.ckpt``) and as the download's ``file_path`` (``models/custom``).
    """
    config = record.get("config") or {}
    downloads = {d.get("file_name"): d for d in config.get("download") or []}
    moved = False
    for file_entry in config.get("files") or []:
        download = downloads.get(file_entry.get("path"))
        if download is not None and not file_entry["path"].endswith(".yaml"):
            file_entry["path"] = f"models/custom/{file_entry['path']}"
            download["file_path"] = "models/custom"
            moved = True
    return moved


@pytest.mark.parametrize(
    "snapshot", sorted((DATA / "history" / "image").glob("*.json.gz")), ids=lambda path: path.name[:10]
)
def test_early_2023_folder_paths_round_trip_byte_equal(snapshot: Path) -> None:
    # The real snapshots, with every downloadable file named the early-2023 way.
    document = json.loads(gzip.decompress(snapshot.read_bytes()))
    moved = sum(_early_2023_shape(record) for record in document.values())
    assert moved > 50
    result = legacy_image_document_to_canonical(_C.image_generation, document)
    assert [issue.name for issue in result.invalid] == []
    assert len(result.entries) == len(document)
    rebuilt = canonical_to_legacy_image_document(_C.image_generation, result.entries)
    assert render_legacy_json(rebuilt) == render_legacy_json(document)
    # The v2 record names the file; the folder is legacy-only data.
    entry = next(e for e in result.entries if e.legacy_residue.get("config", {}).get("file_paths"))
    (name, path) = next(iter(entry.legacy_residue["config"]["file_paths"].items()))
    assert path == f"models/custom/{name}"
    assert name in [d["file_name"] for d in entry.payload["config"]["download"]]


def test_early_2023_folder_path_survives_a_v2_edit_of_another_field() -> None:
    record = {
        "name": "PRMJ",
        "baseline": "stable diffusion 2",
        "type": "ckpt",
        "description": "d",
        "nsfw": False,
        "download_all": False,
        "config": {
            "files": [{"path": "models/custom/PRMJ.ckpt", "md5sum": "44cd3e53b653288bab002c55200a3d6e"}],
            "download": [{"file_name": "PRMJ.ckpt", "file_path": "models/custom", "file_url": "https://x/y"}],
        },
        "available": False,
    }
    entry = legacy_image_record_to_canonical(_C.image_generation, "PRMJ", record)
    payload = {**entry.payload, "description": "edited"}
    residue = legacy_residue_after_v2_write(_C.image_generation, entry.legacy_residue, payload)
    legacy = canonical_to_legacy_image_record(_C.image_generation, CanonicalEntry("PRMJ", payload, residue))
    assert legacy["description"] == "edited"
    assert legacy["config"] == record["config"]
