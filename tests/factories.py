"""Small hand-made records for unit tests (real data is used elsewhere)."""

from __future__ import annotations

from typing import Any

from horde_model_reference.legacy.types import CanonicalEntry


def sd_payload(name: str = "Test Model", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": name,
        "description": "A test model",
        "version": "1.0",
        "config": {
            "download": [
                {
                    "file_name": f"{name}.safetensors",
                    "file_url": f"https://example.invalid/{name}.safetensors",
                    "sha256sum": "a" * 64,
                }
            ]
        },
        "baseline": "stable_diffusion_xl",
        "tags": [],
        "showcases": [],
        "trigger": [],
        "nsfw": False,
        "style": "generalist",
    }
    payload.update(overrides)
    return payload


def sd_legacy(name: str = "Test Model", **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "baseline": "stable_diffusion_xl",
        "type": "ckpt",
        "inpainting": False,
        "description": "A test model",
        "version": "1.0",
        "style": "generalist",
        "nsfw": False,
        "download_all": False,
        "config": {
            "files": [{"path": f"{name}.safetensors", "sha256sum": "a" * 64}],
            "download": [
                {
                    "file_name": f"{name}.safetensors",
                    "file_path": "",
                    "file_url": f"https://example.invalid/{name}.safetensors",
                }
            ],
        },
        "available": False,
    }
    record.update(overrides)
    return record


def entry(
    name: str, payload: dict[str, Any] | None = None, residue: dict[str, Any] | None = None
) -> CanonicalEntry:
    return CanonicalEntry(name=name, payload=payload or sd_payload(name), legacy_residue=residue or {})


def live_record_state() -> dict[tuple[str, str], dict[str, Any]]:
    """Every stored record as the audit trail records it, for replay comparisons."""
    from references.models import ModelRecord

    return {
        (r.category, r.name): {"payload": r.payload, "legacy_residue": r.legacy_residue, "version": r.version}
        for r in ModelRecord.objects.all()
    }


def category_legacy_document(category: str) -> dict[str, Any]:
    """The legacy (v1) document of a category as the converters build it; ``{}`` without one."""
    from horde_model_reference.legacy import canonical_to_legacy_document
    from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY
    from references.selectors import category_entries

    if not CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)].has_legacy_format:
        return {}
    return canonical_to_legacy_document(category, category_entries(category=category))
