"""Drop-in: every name the established library 8.6.2 exports at top level is importable here.

The list in ``fixtures/established_8_6_2_top_level.json`` was recorded from that package's
``__all__`` (how: see the file's ``_note``). Names we do not offer yet are listed below,
each with the reason, so the gap is explicit and can only shrink.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

import horde_model_reference

FIXTURE = Path(__file__).parent / "fixtures" / "established_8_6_2_top_level.json"

# Subsystems of the established library that this read-only client has no equivalent of
# yet; a small stand-in would pretend to a behaviour we do not have.
_BASELINE_CATALOG = "image baseline catalog (policy/change-set models) not implemented"
_LICENSING = "licensing metadata models not implemented (no licence data in the reference yet)"
_PROVIDERS = "third-party record providers not implemented (the client reads the canonical reference only)"
_DOWNLOADS = "weights download engine not implemented (the client reads metadata, it does not fetch weights)"
_ON_DISK = "on-disk weights layout helpers not implemented"
KNOWN_GAPS: dict[str, str] = {
    "BaselineCapabilities": _BASELINE_CATALOG,
    "HordeBaselinePolicy": _BASELINE_CATALOG,
    "ImageBaselineCatalog": _BASELINE_CATALOG,
    "ImageBaselineChangeSet": _BASELINE_CATALOG,
    "ImageBaselineRecord": _BASELINE_CATALOG,
    "register_image_baselines_from_catalog": _BASELINE_CATALOG,
    "LicenseAssignment": _LICENSING,
    "LicenseDefinition": _LICENSING,
    "LicenseEvidence": _LICENSING,
    "LicenseObligation": _LICENSING,
    "LicensedAsset": _LICENSING,
    "LicensedAssetKind": _LICENSING,
    "ModelLicensing": _LICENSING,
    "PermissionStatus": _LICENSING,
    "unknown_model_licensing": _LICENSING,
    "ModelProvider": _PROVIDERS,
    "ModelProviderRegistry": _PROVIDERS,
    "PendingModelProvider": _PROVIDERS,
    "StaticModelProvider": _PROVIDERS,
    "DownloadOutcome": _DOWNLOADS,
    "download_file": _DOWNLOADS,
    "download_record_files": _DOWNLOADS,
    "COMPONENT_PURPOSE_FOLDERS": _ON_DISK,
    "DEFAULT_SHOWCASE_FOLDER_NAME": _ON_DISK,
    "PresenceSummary": _ON_DISK,
    "category_folder": _ON_DISK,
    "component_relative_path": _ON_DISK,
    "file_paths_for": _ON_DISK,
    "free_bytes_for": _ON_DISK,
    "is_present": _ON_DISK,
    "presence_summary": _ON_DISK,
    "resolve_weights_root": _ON_DISK,
    "horde_model_reference_paths": (
        "the established paths singleton (audit, pending queue, ...) has no client-side meaning"
    ),
    "register_category": (
        "categories are a closed enum here; registering one would not make the manager fetch it"
    ),
    "KNOWN_TAGS": "no curated tag vocabulary in the reference yet",
    "get_known_tags": "no curated tag vocabulary in the reference yet",
}


def _established() -> list[str]:
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert recorded["version"] == "8.6.2"
    names: list[str] = recorded["top_level_names"]
    return names


def test_top_level_names_are_a_superset_of_the_established_library() -> None:
    ours = set(horde_model_reference.__all__)
    missing = sorted(set(_established()) - ours - set(KNOWN_GAPS))
    assert missing == []


def test_known_gaps_are_really_missing_and_really_established() -> None:
    # Keeps the list honest: an implemented name leaves it, a typo cannot hide a gap.
    ours = set(horde_model_reference.__all__)
    assert sorted(set(KNOWN_GAPS) & ours) == []
    assert sorted(set(KNOWN_GAPS) - set(_established())) == []


def test_every_exported_name_resolves() -> None:
    module = importlib.reload(horde_model_reference)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    assert set(module.__all__) <= set(dir(module))


def test_query_field_namespaces_are_the_query_modules_own() -> None:
    from horde_model_reference import ImageFields, TextFields, query_fields

    assert TextFields is query_fields.TextFields
    assert ImageFields is query_fields.ImageFields


def test_source_ids() -> None:
    from horde_model_reference import ANY_SOURCE, HORDE_SOURCE_ID, PENDING_SOURCE_ID

    assert (HORDE_SOURCE_ID, PENDING_SOURCE_ID, ANY_SOURCE) == ("horde", "pending", "any")


def test_text_backend_name_helpers() -> None:
    from horde_model_reference import (
        get_model_name_variants,
        has_legacy_text_backend_prefix,
        strip_backend_prefix,
    )

    assert get_model_name_variants("org/Model-7B") == [
        "org/Model-7B",
        "aphrodite/org/Model-7B",
        "koboldcpp/Model-7B",
    ]
    assert has_legacy_text_backend_prefix("koboldcpp/Model-7B")
    assert not has_legacy_text_backend_prefix("org/Model-7B")
    assert strip_backend_prefix("aphrodite/org/Model-7B") == "org/Model-7B"


def test_category_and_baseline_descriptors() -> None:
    from horde_model_reference import (
        MODEL_REFERENCE_CATEGORY,
        get_all_registered_baselines,
        get_all_registered_categories,
        get_baseline_descriptor,
        get_category_descriptor,
        get_weights_marker_folders,
    )

    assert get_category_descriptor("blip").on_disk_folder_name == "blip"
    assert set(get_all_registered_categories()) == set(MODEL_REFERENCE_CATEGORY)
    with pytest.raises(ValueError, match="no_such_category"):
        get_category_descriptor("no_such_category")
    assert set(get_weights_marker_folders()) == {"clip", "compvis"}
    sdxl = get_baseline_descriptor("stable_diffusion_xl")
    assert sdxl.native_resolution == 1024
    assert get_baseline_descriptor("SDXL") is sdxl  # by an alternative name
    assert "flux_dev" in get_all_registered_baselines()
    with pytest.raises(KeyError):
        get_baseline_descriptor("no_such_baseline")


def test_checksums(tmp_path: Path) -> None:
    from horde_model_reference import md5_of, sha256_of

    path = tmp_path / "weights.bin"
    path.write_bytes(b"abc")
    assert sha256_of(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert md5_of(path) == "900150983cd24fb0d6963f7d28e17f72"
    assert md5_of(tmp_path / "missing.bin") is None
    # A changed file is hashed again, not served from the cache.
    path.write_bytes(b"abcd")
    os.utime(path, ns=(1, 2))
    assert sha256_of(path) == "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
    with pytest.raises(FileNotFoundError):
        sha256_of(tmp_path / "missing.bin")
