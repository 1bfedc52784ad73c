"""Licensing catalog models, the image baseline catalog, paths, tags and category registration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

import horde_model_reference as hmr
from horde_model_reference import meta_consts
from horde_model_reference.model_reference_records import STRICT_CONTEXT, ImageGenerationModelRecord

MIT: dict[str, Any] = {
    "license_expression": "MIT",
    "license_ids": ["MIT"],
    "commercial_use": "allowed",
    "redistribution": "allowed",
}


def test_license_definition_defaults_and_lenience() -> None:
    definition = hmr.LicenseDefinition.model_validate(
        {
            "license_id": "MIT",
            "name": "MIT License",
            "canonical_url": "https://spdx.org/licenses/MIT.html",
            "commercial_use": "allowed",
            "redistribution": "some_new_status",
            "obligations": ["attribution", "future_obligation"],
            "a_future_field": 1,
        }
    )
    assert definition.commercial_use is hmr.PermissionStatus.ALLOWED
    assert definition.redistribution == "some_new_status"
    assert definition.obligations == (hmr.LicenseObligation.ATTRIBUTION, "future_obligation")
    assert (definition.restrictions, definition.deprecated, definition.metadata.revision) == ((), False, 1)
    with pytest.raises(ValidationError):
        definition.__setattr__("name", "x")  # frozen, as in 8.6.2
    with pytest.raises(ValidationError, match="Unknown permission status"):
        hmr.LicenseDefinition.model_validate(
            {
                "license_id": "X",
                "name": "X",
                "canonical_url": "u",
                "commercial_use": "nope",
                "redistribution": "allowed",
            },
            context=STRICT_CONTEXT,
        )


def test_licensed_asset() -> None:
    asset = hmr.LicensedAsset.model_validate(
        {"asset_kind": "custom_node", "asset_identifier": "n", "display_name": "Node", "licensing": MIT}
    )
    assert asset.asset_kind is hmr.LicensedAssetKind.CUSTOM_NODE
    assert asset.asset_key == "custom_node:n"
    assert isinstance(asset.licensing, hmr.LicenseAssignment)
    assert asset.locations == () and asset.related_assets == ()
    assert [kind.value for kind in hmr.LicensedAssetKind] == ["software_component", "custom_node", "other"]
    assert hmr.unknown_model_licensing().is_unknown
    assert isinstance(hmr.unknown_model_licensing(), hmr.ModelLicensing)
    assert hmr.LicenseEvidence(source="card").source == "card"


CATALOG: dict[str, Any] = {
    "metadata": {"schema_version": 1, "revision": 3},
    "baselines": {
        "new_base": {
            "name": "new_base",
            "display_name": "New Base",
            "native_resolution": 1536,
            "alternative_names": ["nb", "new base"],
            "capabilities": {"controlnet": True, "controlnet_types_unavailable": ["canny"]},
            "horde_policy": {"kudos": 1.5, "batching": 2},
            "added_by_a_newer_server": True,
        }
    },
}


@pytest.fixture
def restore_baselines() -> Iterator[None]:
    saved = dict(meta_consts.IMAGE_BASELINE_DESCRIPTORS)
    yield
    meta_consts.IMAGE_BASELINE_DESCRIPTORS.clear()
    meta_consts.IMAGE_BASELINE_DESCRIPTORS.update(saved)


def test_image_baseline_catalog_defaults() -> None:
    catalog = hmr.ImageBaselineCatalog.model_validate(CATALOG)
    record = catalog.baselines["new_base"]
    assert isinstance(record, hmr.ImageBaselineRecord)
    assert record.capabilities == hmr.BaselineCapabilities(
        controlnet=True, controlnet_types_unavailable=("canny",)
    )
    assert record.horde_policy == hmr.HordeBaselinePolicy(kudos=1.5, batching=2)
    assert hmr.ImageBaselineRecord(name="x").horde_policy.ttl == 1
    with pytest.raises(ValidationError):
        hmr.HordeBaselinePolicy(batching=0)
    with pytest.raises(ValidationError, match="at least one change"):
        hmr.ImageBaselineChangeSet(title="t")
    change_set = hmr.ImageBaselineChangeSet.model_validate(
        {"title": "t", "changes": [{"operation": "delete", "name": "new_base"}]}
    )
    assert change_set.changes[0].operation == "delete"


@pytest.mark.usefixtures("restore_baselines")
def test_registering_a_catalog_makes_its_baselines_known() -> None:
    payload = {"name": "M", "baseline": "nb", "nsfw": False}
    with pytest.raises(ValidationError):
        ImageGenerationModelRecord.model_validate(payload, context=STRICT_CONTEXT)
    hmr.register_image_baselines_from_catalog(hmr.ImageBaselineCatalog.model_validate(CATALOG))
    descriptor = hmr.get_baseline_descriptor("new_base")
    assert descriptor == hmr.BaselineDescriptor(1536, ("nb", "new base"))
    assert hmr.get_baseline_descriptor("nb") is descriptor
    assert ImageGenerationModelRecord.model_validate(payload, context=STRICT_CONTEXT).baseline == "nb"
    # A served record replaces the packaged descriptor.
    hmr.register_image_baselines_from_catalog(
        hmr.ImageBaselineCatalog(
            baselines={"flux_dev": hmr.ImageBaselineRecord(name="flux_dev", native_resolution=2048)}
        )
    )
    assert hmr.get_baseline_descriptor("flux_dev") == hmr.BaselineDescriptor(2048, ())


def test_known_tags() -> None:
    tags = hmr.get_known_tags()
    assert tags == sorted(hmr.KNOWN_TAGS)
    assert {"anime", "high resolution", "tv show"} <= set(tags)
    assert len(tags) == 18
    tags.append("mine")  # a snapshot
    assert "mine" not in hmr.KNOWN_TAGS


def test_paths_follow_the_settings(tmp_path: Any) -> None:
    from horde_model_reference.path_consts import HordeModelReferencePaths
    from horde_model_reference.settings import HordeModelReferenceSettings, horde_model_reference_settings

    assert hmr.horde_model_reference_paths.base_path == horde_model_reference_settings.cache_dir
    paths = HordeModelReferencePaths.from_settings(HordeModelReferenceSettings(cache_dir=tmp_path))
    assert paths.get_model_reference_filename("image_generation") == "image_generation.json"
    assert paths.get_legacy_model_reference_filename("image_generation") == "stable_diffusion.json"
    assert paths.get_legacy_model_reference_filename("lora") is None
    assert paths.cache_path.parent == tmp_path
    assert paths.get_cached_file_path("blip").parent == paths.cache_path


@pytest.fixture
def restore_categories() -> Iterator[None]:
    yield
    meta_consts.REGISTERED_CATEGORY_DESCRIPTORS.clear()


@pytest.mark.usefixtures("restore_categories")
def test_register_category() -> None:
    descriptor = meta_consts.CategoryDescriptor(
        domain=hmr.MODEL_DOMAIN.image,
        purpose=hmr.MODEL_PURPOSE.miscellaneous,
        github_source=None,
        legacy_filename=None,
        on_disk_folder_name="upscalers3d",
    )
    with pytest.raises(ValueError, match="already registered"):
        hmr.register_category("blip", descriptor)
    hmr.register_category("upscaler_3d", descriptor)
    with pytest.raises(ValueError, match="already registered"):
        hmr.register_category("upscaler_3d", descriptor)
    assert hmr.get_category_descriptor("upscaler_3d") is descriptor
    assert hmr.get_all_registered_categories()["upscaler_3d"] is descriptor
    assert hmr.category_folder("upscaler_3d") == "upscalers3d"
    assert hmr.get_category_descriptor("blip").on_disk_folder_name == "blip"
