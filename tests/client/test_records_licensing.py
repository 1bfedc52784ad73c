"""The client's licensing and guidance models: lenient reads, strict writes, one payload shape."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from horde_model_reference import licensing as licensing_module
from horde_model_reference.model_reference_records import (
    ImageGenerationModelRecord,
    ModelLicensing,
    PermissionStatus,
    TextGenerationModelRecord,
    record_to_payload,
    unknown_model_licensing,
    validate_payload,
)

MIT: dict[str, Any] = {
    "license_expression": "MIT",
    "license_ids": ["MIT"],
    "commercial_use": "allowed",
    "redistribution": "allowed_with_conditions",
}


def image(**overrides: Any) -> dict[str, Any]:
    return {"name": "m", "baseline": "stable_diffusion_1", "nsfw": False, **overrides}


def test_the_established_import_path_works() -> None:
    assert licensing_module.ModelLicensing is ModelLicensing
    assert licensing_module.unknown_model_licensing().license_expression == "NOASSERTION"


def test_the_default_is_the_established_noassertion_object() -> None:
    assert unknown_model_licensing().model_dump(mode="json", exclude_none=True) == {
        "license_expression": "NOASSERTION",
        "license_ids": [],
        "commercial_use": "unknown",
        "redistribution": "unknown",
        "obligations": [],
        "evidence": [],
        "notes": "No reviewed licensing conclusion is currently available.",
        "files": {},
    }
    assert unknown_model_licensing().is_unknown


def test_known_values_become_enum_members() -> None:
    record = validate_payload("image_generation", image(licensing=MIT))
    assert record.licensing is not None
    assert record.licensing.commercial_use is PermissionStatus.ALLOWED


def test_reads_are_lenient_about_values_a_newer_server_may_send() -> None:
    newer = {**MIT, "commercial_use": "allowed_in_eu", "obligations": ["new_obligation"]}
    record = validate_payload("image_generation", image(licensing=newer))
    assert record.licensing is not None and record.licensing.commercial_use == "allowed_in_eu"
    assert record.licensing.obligations == ["new_obligation"]


def test_writes_are_strict_about_values_and_keys() -> None:
    with pytest.raises(ValidationError, match="Unknown permission status"):
        validate_payload("image_generation", image(licensing={**MIT, "redistribution": "maybe"}), strict=True)
    with pytest.raises(ValidationError, match="Unknown field"):
        validate_payload("image_generation", image(licensing={**MIT, "extra": 1}), strict=True)


def test_file_overrides_must_name_declared_downloads() -> None:
    config = {"download": [{"file_name": "a.safetensors", "file_url": "https://x/a"}]}
    ok = validate_payload(
        "image_generation", image(config=config, licensing={**MIT, "files": {"a.safetensors": MIT}})
    )
    assert ok.licensing is not None
    assert ok.licensing.assignment_for_file("a.safetensors").license_expression == "MIT"
    assert ok.licensing.assignment_for_file("other") is ok.licensing
    with pytest.raises(ValidationError, match=r"not declared downloads: b\.bin"):
        validate_payload("image_generation", image(config=config, licensing={**MIT, "files": {"b.bin": MIT}}))


def test_the_compact_image_payload_keeps_the_whole_licensing_block() -> None:
    record = validate_payload("image_generation", image(licensing=MIT))
    payload = record_to_payload(record)
    assert payload["licensing"] == {**MIT, "obligations": [], "evidence": [], "files": {}}
    assert list(payload)[:2] == ["name", "licensing"]  # in its declared place
    assert validate_payload("image_generation", payload).model_dump() == record.model_dump()


def test_guidance_is_read_but_never_part_of_the_stored_payload() -> None:
    record = validate_payload(
        "text_generation", {"name": "t", "parameters": 1, "guidance": {"status": "legacy_label"}}
    )
    assert isinstance(record, TextGenerationModelRecord)
    assert record.guidance is not None and record.guidance.status == "legacy_label"
    assert "guidance" not in record_to_payload(record)


def test_records_without_licensing_still_parse() -> None:
    record = ImageGenerationModelRecord.model_validate(image())
    assert record.licensing is None
    assert "licensing" not in record_to_payload(record)
