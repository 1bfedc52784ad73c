"""Record what the established library (horde-model-reference 8.6.2) produces for licensing.

Run with the oracle's own interpreter (a separate Python 3.12 virtual environment that
has ``horde-model-reference==8.6.2`` installed), never with the project's::

    /tmp/oracle-venv/bin/python scripts/record_established_licensing.py \
        --reference-data ../shared/reference-data \
        --out tests/references/fixtures/established_8_6_2_licensing.json

It writes one JSON fixture with:

* ``served_records``: a few real records from the legacy files, converted to v2 by
  the established converters and made public as its v2 routes serve them (explicit
  default licensing; for text, the guidance summary with an empty guidance catalog);
* ``served_default_licensing``: the default conclusion itself;
* ``write_flow``: create / update bodies for a v2 write flow, built with the
  established record models and dumped as its clients send them
  (``model_dump(mode="json", exclude_none=True)``), and what it stores for them;
* ``refused``: licensing blocks the established models refuse, with their messages.

Only the established package's public functions are called; nothing is copied.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import tempfile
import types
from pathlib import Path
from typing import Any

#: (category, legacy file, names) picked to cover the shapes: the compact image
#: record, auxiliary categories, text with and without an instruct_format label.
PICKS: list[tuple[str, str, list[str]]] = [
    (
        "image_generation",
        "stable_diffusion.json",
        ["stable_diffusion", "AlbedoBase XL (SDXL)", "Anything Diffusion"],
    ),
    ("clip", "clip.json", ["ViT-L/14"]),
    ("controlnet", "controlnet.json", ["control_canny"]),
    ("esrgan", "esrgan.json", ["RealESRGAN_x4plus"]),
    ("safety_checker", "safety_checker.json", ["safety_checker"]),
]
TEXT_PICK_COUNT = 2


def _oracle(module: str) -> Any:
    """An established-package module, resolved at run time.

    This script runs in the oracle's environment, where ``horde_model_reference`` is
    the established package; the project's type checker sees our client package under
    that name, so the established-only modules are imported dynamically.
    """
    return importlib.import_module(f"horde_model_reference{module}")


def _convert(reference_data: Path, work: Path) -> dict[str, dict[str, Any]]:
    """Run the established legacy → v2 converters over a copy of the real files."""
    horde_model_reference_paths = _oracle("").horde_model_reference_paths
    convert_legacy_database_by_category = _oracle(
        ".legacy.convert_all_legacy_dbs"
    ).convert_legacy_database_by_category
    MODEL_REFERENCE_CATEGORY = _oracle(".meta_consts").MODEL_REFERENCE_CATEGORY  # noqa: N806

    legacy = work / "legacy"
    legacy.mkdir(parents=True)
    for folder in ("image", "text"):
        for path in (reference_data / folder).iterdir():
            if path.is_file():
                shutil.copy(path, legacy / path.name)
    target = work / "out"
    target.mkdir()
    documents: dict[str, dict[str, Any]] = {}
    for category, _, _ in [*PICKS, ("text_generation", "", [])]:
        member = MODEL_REFERENCE_CATEGORY(category)
        if not convert_legacy_database_by_category(member, legacy_path=work, target_path=target):
            raise SystemExit(f"the established converter failed for {category}")
        converted = horde_model_reference_paths.get_model_reference_file_path(member, base_path=target)
        documents[category] = json.loads(Path(converted).read_text())
    return documents


def _served(documents: dict[str, dict[str, Any]], guidance_root: Path) -> dict[str, dict[str, Any]]:
    public_record_payload = _oracle(".service.v2.routers.references")._public_record_payload
    # The one manager attribute the public-payload function reads (for text): an
    # empty guidance catalog, so no model has published guidance.
    manager = types.SimpleNamespace(
        text_guidance_store=_oracle(".text_guidance_store").TextGuidanceStore(root_path=guidance_root)
    )

    served: dict[str, dict[str, Any]] = {}
    picks = list(PICKS)
    text_names = sorted(documents["text_generation"])
    with_label = [n for n in text_names if documents["text_generation"][n].get("instruct_format")]
    without_label = [n for n in text_names if not documents["text_generation"][n].get("instruct_format")]
    picks.append(("text_generation", "", (with_label[:1] + without_label[:1])[:TEXT_PICK_COUNT]))
    for category, _, names in picks:
        for name in names:
            payload = documents[category][name]
            served.setdefault(category, {})[name] = public_record_payload(
                payload, model_name=name, manager=manager
            )
    return served


def _write_flow() -> dict[str, Any]:
    from horde_model_reference.licensing import (
        LicenseEvidence,
        LicenseObligation,
        ModelLicensing,
        PermissionStatus,
        unknown_model_licensing,
    )
    from horde_model_reference.model_reference_records import (
        DownloadRecord,
        GenericModelRecordConfig,
        ImageGenerationModelRecord,
        TextGenerationModelRecord,
    )

    config = GenericModelRecordConfig(
        download=[
            DownloadRecord(
                file_name="licensed_model.safetensors",
                file_url="https://files.example/licensed_model.safetensors",
                sha256sum="a" * 64,
            ),
            DownloadRecord(
                file_name="licensed_vae.safetensors",
                file_url="https://files.example/licensed_vae.safetensors",
                sha256sum="b" * 64,
                file_purpose="vae",
            ),
        ]
    )
    created = ImageGenerationModelRecord(
        name="Licensed Model",
        baseline="stable_diffusion_xl",
        nsfw=False,
        description="A model with a reviewed licence.",
        config=config,
        licensing=ModelLicensing(
            license_expression="CreativeML-OpenRAIL-M",
            license_ids=("CreativeML-OpenRAIL-M",),
            commercial_use=PermissionStatus.ALLOWED_WITH_CONDITIONS,
            redistribution=PermissionStatus.ALLOWED_WITH_CONDITIONS,
            obligations=(LicenseObligation.RESPONSIBLE_USE_RESTRICTIONS, LicenseObligation.INCLUDE_LICENSE),
            evidence=(LicenseEvidence(source="https://files.example/LICENSE", checked_at="2026-01-15"),),
            reviewed_by="reviewer",
            reviewed_at="2026-01-15",
        ),
    )
    updated = created.model_copy(
        update={
            "description": "A model with a reviewed licence and a differently licensed VAE.",
            "licensing": ModelLicensing(
                license_expression="CreativeML-OpenRAIL-M OR Apache-2.0",
                license_ids=("CreativeML-OpenRAIL-M", "Apache-2.0"),
                commercial_use=PermissionStatus.ALLOWED,
                redistribution=PermissionStatus.ALLOWED_WITH_CONDITIONS,
                obligations=(LicenseObligation.ATTRIBUTION,),
                attribution="Example Labs",
                files={
                    "licensed_vae.safetensors": {
                        "license_expression": "MIT",
                        "license_ids": ["MIT"],
                        "commercial_use": "allowed",
                        "redistribution": "allowed",
                    }
                },
            ),
        }
    )
    text_created = TextGenerationModelRecord(
        name="ExampleLabs/Licensed-Text-7B",
        parameters=7_000_000_000,
        baseline="mistral",
        instruct_format="ChatML",
        licensing=unknown_model_licensing(note="Awaiting review."),
    )
    no_licensing = ImageGenerationModelRecord(
        name="Unlicensed Model", baseline="stable_diffusion_1", nsfw=False
    )

    def body(record: Any) -> dict[str, Any]:
        dumped: dict[str, Any] = record.model_dump(mode="json", exclude_none=True)
        return dumped

    return {
        "image_generation": {"name": "Licensed Model", "create": body(created), "update": body(updated)},
        "text_generation": {"name": "ExampleLabs/Licensed-Text-7B", "create": body(text_created)},
        "image_generation_without_licensing": {"name": "Unlicensed Model", "create": body(no_licensing)},
        "stored_default_on_create": unknown_model_licensing(
            note="No licensing conclusion was supplied when this model was created."
        ).model_dump(mode="json", exclude_none=True),
        "stored_default_on_legacy_update": unknown_model_licensing(
            note="Legacy record has not received a reviewed license conclusion."
        ).model_dump(mode="json", exclude_none=True),
    }


def _refused() -> list[dict[str, Any]]:
    from pydantic import ValidationError

    from horde_model_reference.licensing import ModelLicensing

    candidates = [
        {
            "license_expression": "MIT OR",
            "license_ids": ["MIT"],
            "commercial_use": "allowed",
            "redistribution": "allowed",
        },
        {"license_expression": "((", "commercial_use": "allowed", "redistribution": "allowed"},
        {
            "license_expression": "MIT",
            "license_ids": [],
            "commercial_use": "allowed",
            "redistribution": "allowed",
        },
        {
            "license_expression": "MIT",
            "license_ids": ["Apache-2.0"],
            "commercial_use": "allowed",
            "redistribution": "allowed",
        },
        {"license_expression": "NOASSERTION", "commercial_use": "allowed", "redistribution": "unknown"},
        {
            "license_expression": "NOASSERTION",
            "license_ids": ["MIT"],
            "commercial_use": "unknown",
            "redistribution": "unknown",
        },
        {
            "license_expression": "MIT",
            "license_ids": ["MIT"],
            "commercial_use": "maybe",
            "redistribution": "allowed",
        },
        {
            "license_expression": "MIT",
            "license_ids": ["MIT"],
            "commercial_use": "allowed",
            "redistribution": "allowed",
            "extra": 1,
        },
    ]
    refused = []
    for licensing in candidates:
        try:
            ModelLicensing.model_validate(licensing)
        except ValidationError as error:
            refused.append({"licensing": licensing, "messages": [item["msg"] for item in error.errors()]})
        else:
            raise SystemExit(f"the established model accepted {licensing}")
    return refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference-data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from importlib.metadata import version

    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        documents = _convert(args.reference_data.resolve(), work / "data")
        (work / "guidance").mkdir()
        served = _served(documents, work / "guidance")
    from horde_model_reference.licensing import unknown_model_licensing

    fixture = {
        "established_version": version("horde-model-reference"),
        "served_default_licensing": unknown_model_licensing().model_dump(mode="json", exclude_none=True),
        "served_records": served,
        "write_flow": _write_flow(),
        "refused": _refused(),
    }
    args.out.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
