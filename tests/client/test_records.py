"""The v2 record models: field order, payload shape, strict/lenient validation."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from pydantic import ValidationError

from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import (
    MODEL_RECORD_TYPE_LOOKUP,
    ControlNetModelRecord,
    GenericModelRecord,
    ImageGenerationModelRecord,
    TextGenerationModelRecord,
    get_record_type_for_category,
    record_to_payload,
    register_record_type,
    validate_payload,
)

_C = MODEL_REFERENCE_CATEGORY

_DOWNLOAD = {
    "file_name": "model.safetensors",
    "file_url": "https://example.org/model.safetensors",
    "sha256sum": "ab" * 32,
}

#: A representative payload for every category, exercising its own fields.
_PAYLOADS: dict[MODEL_REFERENCE_CATEGORY, dict[str, Any]] = {
    _C.image_generation: {
        "name": "Some Model",
        "description": "d",
        "version": "1",
        "baseline": "stable_diffusion_xl",
        "nsfw": True,
        "inpainting": True,
        "tags": ["anime"],
        "style": "anime",
        "requirements": {"clip_skip": 2, "samplers": ["k_euler"], "max_cfg_scale": 2.5},
        "config": {"download": [_DOWNLOAD]},
    },
    _C.text_generation: {
        "name": "org/model-7B",
        "parameters": 7_000_000_000,
        "baseline": "llama",
        "tags": ["chat"],
        "settings": {"temperature": 0.7},
        "text_model_group": "model",
    },
    _C.controlnet: {"name": "control_canny", "controlnet_style": "control_canny"},
    _C.controlnet_annotator: {
        "name": "annotator_hed",
        "control_types": ["hed"],
        "preprocessors": ["HEDPreprocessor"],
        "config": {"download": [_DOWNLOAD]},
    },
    _C.clip: {"name": "ViT-L/14", "pretrained_name": "openai"},
    _C.video_generation: {"name": "video", "baseline": "wan", "tags": []},
    _C.audio_generation: {"name": "audio", "nsfw": True},
    _C.lora: {"name": "lora", "trigger": ["x"], "showcases": []},
    _C.ti: {"name": "ti", "homepage": "https://example.org"},
    _C.blip: {"name": "BLIP"},
    _C.codeformer: {"name": "CodeFormers", "description": "Upscaler."},
    _C.esrgan: {"name": "RealESRGAN_x4plus", "version": "0.1.0"},
    _C.gfpgan: {"name": "GFPGAN", "size_on_disk_bytes": 1234},
    _C.safety_checker: {"name": "safety_checker"},
    _C.miscellaneous: {
        "name": "layer_diffuse_sd15",
        "finetune_series": {"name": "series", "author": "me"},
        "metadata": {"created_at": 1, "updated_by": "someone"},
    },
}


def test_every_category_has_a_registered_type() -> None:
    assert set(MODEL_RECORD_TYPE_LOOKUP) == set(MODEL_REFERENCE_CATEGORY)
    for category in MODEL_REFERENCE_CATEGORY:
        record_type = get_record_type_for_category(category)
        assert record_type is not GenericModelRecord
        assert record_type.model_fields["record_type"].default == category
    assert get_record_type_for_category("not_a_category") is GenericModelRecord


def test_field_order_is_the_declared_order() -> None:
    base = [
        "record_type",
        "name",
        "description",
        "version",
        "finetune_series",
        "metadata",
        "config",
        "model_classification",
        "size_on_disk_bytes",
        "licensing",
    ]
    assert list(GenericModelRecord.model_fields) == base
    assert list(ImageGenerationModelRecord.model_fields) == [
        *base,
        "inpainting",
        "baseline",
        "optimization",
        "tags",
        "showcases",
        "min_bridge_version",
        "trigger",
        "homepage",
        "nsfw",
        "style",
        "requirements",
    ]
    assert list(TextGenerationModelRecord.model_fields)[len(base) :] == [
        "baseline",
        "parameters_count",
        "nsfw",
        "style",
        "display_name",
        "url",
        "tags",
        "instruct_format",
        "settings",
        "text_model_group",
        "name_schema_exception",
        "context_window",
        "interaction_modes",
        "capabilities",
        "guidance",
    ]


@pytest.mark.parametrize("category", list(MODEL_REFERENCE_CATEGORY), ids=str)
def test_record_to_payload_is_idempotent(category: MODEL_REFERENCE_CATEGORY) -> None:
    payload = record_to_payload(validate_payload(category, _PAYLOADS[category]))
    again = record_to_payload(validate_payload(category, payload))
    assert again == payload
    assert json.dumps(again) == json.dumps(payload)  # key order too
    strict_again = record_to_payload(validate_payload(category, payload, strict=True))
    assert json.dumps(strict_again) == json.dumps(payload)


@pytest.mark.parametrize(
    "category", [c for c in MODEL_REFERENCE_CATEGORY if c != _C.image_generation], ids=str
)
def test_non_image_payloads_carry_record_type_metadata_and_classification(
    category: MODEL_REFERENCE_CATEGORY,
) -> None:
    payload = record_to_payload(validate_payload(category, _PAYLOADS[category]))
    assert payload["record_type"] == category.value
    assert list(payload)[:2] == ["record_type", "name"]
    assert payload["metadata"]["schema_version"] == "2.1.0"
    assert set(payload["model_classification"]) == {"domain", "purpose"}
    assert "config" in payload


def test_image_generation_payload_shape() -> None:
    minimal = {"name": "m", "baseline": "stable_diffusion_1", "nsfw": False}
    payload = record_to_payload(validate_payload(_C.image_generation, minimal))
    assert payload == {
        "name": "m",
        "baseline": "stable_diffusion_1",
        "tags": [],
        "showcases": [],
        "trigger": [],
        "nsfw": False,
    }
    full = record_to_payload(validate_payload(_C.image_generation, _PAYLOADS[_C.image_generation]))
    assert "record_type" not in full and "model_classification" not in full
    assert "metadata" not in full
    assert full["inpainting"] is True
    assert full["requirements"] == {"clip_skip": 2, "samplers": ["k_euler"], "max_cfg_scale": 2.5}
    assert isinstance(full["requirements"]["clip_skip"], int)


def test_text_parameters_alias() -> None:
    by_alias = validate_payload(_C.text_generation, {"name": "a", "parameters": 3})
    by_name = validate_payload(_C.text_generation, {"name": "a", "parameters_count": 3})
    assert isinstance(by_alias, TextGenerationModelRecord)
    assert isinstance(by_name, TextGenerationModelRecord)
    assert by_alias.parameters_count == by_name.parameters_count == 3
    payload = record_to_payload(by_name)
    assert payload["parameters"] == 3 and "parameters_count" not in payload
    with pytest.raises(ValidationError):
        validate_payload(_C.text_generation, {"name": "a"})


def test_tags_and_style_are_stripped() -> None:
    record = validate_payload(
        _C.image_generation,
        {"name": "m", "baseline": "flux_1", "nsfw": False, "tags": [" a "], "style": " anime "},
    )
    assert isinstance(record, ImageGenerationModelRecord)
    assert record.tags == ["a"]
    assert record.style == "anime"


class TestKindPolicy:
    def test_lenient_keeps_unknown_baseline_and_style(self) -> None:
        payload = {"name": "m", "baseline": "brand_new", "style": "odd", "nsfw": False}
        record = validate_payload(_C.image_generation, payload)
        assert record_to_payload(record)["baseline"] == "brand_new"
        assert record_to_payload(record)["style"] == "odd"

    def test_strict_rejects_unknown_baseline(self) -> None:
        with pytest.raises(ValidationError, match="Unknown baseline: brand_new"):
            validate_payload(
                _C.image_generation, {"name": "m", "baseline": "brand_new", "nsfw": False}, strict=True
            )

    def test_strict_rejects_unknown_style(self) -> None:
        with pytest.raises(ValidationError, match="Unknown style: odd"):
            validate_payload(
                _C.image_generation,
                {"name": "m", "baseline": "flux_1", "style": "odd", "nsfw": False},
                strict=True,
            )

    @pytest.mark.parametrize("baseline", ["SDXL", "stable diffusion 1", "qwen", "infer"])
    def test_strict_accepts_alternative_names(self, baseline: str) -> None:
        record = validate_payload(
            _C.image_generation, {"name": "m", "baseline": baseline, "nsfw": False}, strict=True
        )
        assert record_to_payload(record)["baseline"] == baseline

    def test_context_flag_alone(self) -> None:
        with pytest.raises(ValidationError, match="Unknown baseline"):
            ImageGenerationModelRecord.model_validate(
                {"name": "m", "baseline": "x", "nsfw": False}, context={"strict_kinds": True}
            )

    def test_unknown_controlnet_style_is_only_logged(self) -> None:
        record = validate_payload(
            _C.controlnet, {"name": "c", "controlnet_style": "control_new"}, strict=True
        )
        assert isinstance(record, ControlNetModelRecord)
        assert record.controlnet_style == "control_new"


class TestExtraKeys:
    def test_lenient_ignores_unknown_keys(self) -> None:
        record = validate_payload(
            _C.blip,
            {"name": "b", "surprise": 1, "config": {"download": [{**_DOWNLOAD, "extra": True}]}},
        )
        payload = record_to_payload(record)
        assert "surprise" not in payload
        assert "extra" not in payload["config"]["download"][0]

    def test_strict_rejects_unknown_top_level_key(self) -> None:
        with pytest.raises(ValidationError, match="Unknown field"):
            validate_payload(_C.blip, {"name": "b", "surprise": 1}, strict=True)

    def test_strict_rejects_unknown_nested_key(self) -> None:
        payload = {"name": "b", "config": {"download": [{**_DOWNLOAD, "extra": True}]}}
        with pytest.raises(ValidationError) as info:
            validate_payload(_C.blip, payload, strict=True)
        assert info.value.errors()[0]["loc"][:3] == ("config", "download", 0)

    def test_strict_accepts_alias_and_field_name(self) -> None:
        for key in ("parameters", "parameters_count"):
            validate_payload(_C.text_generation, {"name": "t", key: 1}, strict=True)

    def test_strict_rejects_record_type_of_another_category(self) -> None:
        with pytest.raises(ValueError, match="record_type"):
            validate_payload(_C.blip, {"name": "b", "record_type": "clip"}, strict=True)

    def test_unknown_category(self) -> None:
        with pytest.raises(ValueError, match="nope"):
            validate_payload("nope", {"name": "b"})


def test_properties() -> None:
    record = validate_payload(
        _C.gfpgan,
        {
            "name": "g",
            "size_on_disk_bytes": 99,
            "config": {
                "download": [
                    {"file_name": "a", "file_url": "u1", "size_bytes": 1},
                    {"file_name": "b", "file_url": "u2", "size_bytes": 2},
                ]
            },
        },
    )
    assert record.category == _C.gfpgan
    assert record.declared_total_size_bytes == 3
    assert record.primary_download_url == "u1"
    assert record.all_download_urls == ["u1", "u2"]
    assert record.download_count == 2
    assert record.config.download[0].sha256sum == "FIXME"

    partial = validate_payload(
        _C.gfpgan,
        {
            "name": "g",
            "size_on_disk_bytes": 99,
            "config": {"download": [{"file_name": "a", "file_url": "u", "size_bytes": 1}, _DOWNLOAD]},
        },
    )
    assert partial.declared_total_size_bytes == 99
    empty = validate_payload(_C.gfpgan, {"name": "g"})
    assert empty.primary_download_url is None
    assert empty.download_count == 0
    odd = GenericModelRecord.model_validate(
        {"record_type": "new_kind", "name": "x", "model_classification": {"domain": "d", "purpose": "p"}}
    )
    assert odd.category is None


def test_register_record_type_overrides_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    original = MODEL_RECORD_TYPE_LOOKUP[_C.blip]
    try:
        with caplog.at_level(logging.WARNING):

            @register_record_type(_C.blip)
            class CustomBlip(original):  # type: ignore[valid-type,misc]
                extra_field: str | None = None

        assert get_record_type_for_category(_C.blip) is CustomBlip
        assert "overridden" in caplog.text
    finally:
        MODEL_RECORD_TYPE_LOOKUP[_C.blip] = original
