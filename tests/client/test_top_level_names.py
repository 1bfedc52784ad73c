"""Drop-in: every name the established library 8.6.2 exports at top level is importable here.

The list in ``fixtures/established_8_6_2_top_level.json`` was recorded from that package's
``__all__`` (how: see the file's ``_note``). Every one of those names is offered here.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

import horde_model_reference
from horde_model_reference.model_reference_records import ImageGenerationModelRecord

FIXTURE = Path(__file__).parent / "fixtures" / "established_8_6_2_top_level.json"


def _established() -> list[str]:
    recorded = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert recorded["version"] == "8.6.2"
    names: list[str] = recorded["top_level_names"]
    return names


def test_top_level_names_are_a_superset_of_the_established_library() -> None:
    assert sorted(set(_established()) - set(horde_model_reference.__all__)) == []


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


def _image_record(*downloads: dict[str, str]) -> ImageGenerationModelRecord:
    return ImageGenerationModelRecord.model_validate(
        {
            "name": "M",
            "record_type": "image_generation",
            "baseline": "stable_diffusion_xl",
            "nsfw": False,
            "model_classification": {"domain": "image", "purpose": "generation"},
            "config": {"download": list(downloads)},
        }
    )


def test_weights_root_is_found_by_its_marker_folders(tmp_path: Path) -> None:
    from horde_model_reference import resolve_weights_root

    nested = tmp_path / "a" / "b"
    (nested / "clip").mkdir(parents=True)
    (nested / "compvis").mkdir()
    (tmp_path / "x" / "compvis").mkdir(parents=True)  # only one marker: not the root
    assert resolve_weights_root(tmp_path) == nested
    assert resolve_weights_root(tmp_path, marker_subdirs=("compvis",)) == tmp_path / "x"
    assert resolve_weights_root(tmp_path / "missing") == tmp_path / "missing"


def test_record_files_and_presence(tmp_path: Path) -> None:
    from horde_model_reference import (
        PresenceSummary,
        category_folder,
        component_relative_path,
        file_paths_for,
        free_bytes_for,
        is_present,
        presence_summary,
    )

    assert category_folder("image_generation") == "compvis"
    assert category_folder("text_generation") is None
    assert category_folder("no_such_category") is None
    assert component_relative_path("v.safetensors", "vae") == Path("../vae/v.safetensors")
    assert component_relative_path("m.ckpt", None) == Path("m.ckpt")

    record = _image_record(
        {"file_name": "m.safetensors", "file_url": "http://127.0.0.1/m"},
        {"file_name": "v.safetensors", "file_url": "http://127.0.0.1/v", "file_purpose": "vae"},
    )
    root, extra = tmp_path / "root", tmp_path / "extra"
    assert file_paths_for(record, root) == [
        root / "compvis" / "m.safetensors",
        root / "vae" / "v.safetensors",
    ]
    assert not is_present(record, root)
    (root / "compvis").mkdir(parents=True)
    (root / "compvis" / "m.safetensors").write_bytes(b"w")
    (extra / "vae").mkdir(parents=True)
    (extra / "vae" / "v.safetensors").write_bytes(b"v")  # found in the second root
    assert file_paths_for(record, root, extra_roots=[extra])[1] == extra / "vae" / "v.safetensors"
    assert is_present(record, root, extra_roots=[extra])
    assert not is_present(_image_record(), root)  # nothing declared: nothing shows it is there

    summary = presence_summary(
        {"M": record, "E": _image_record()}, ["Q", "E", "M"], root, extra_roots=[extra]
    )
    assert summary == PresenceSummary(present=("M",), missing=("E",), unknown=("Q",))
    assert (summary.num_present, summary.num_requested) == (1, 3)
    free = free_bytes_for(tmp_path / "not" / "yet")
    assert free is not None and free > 0
