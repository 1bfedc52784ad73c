"""Fixtures of the catalog tests: the recorded 8.6.2 exports and small hand-made guidance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.services import Actor
from catalogs.services import baseline_catalog_import
from tests.factories import sd_payload
from tests.record_writes import record_create

FIXTURES = Path(__file__).parent / "fixtures"
SYSTEM = Actor.system("test")
V2 = "/api/model_references/v2"
GUIDANCE = f"{V2}/text_generation/guidance"
BASELINES = f"{V2}/image_generation/baselines"


def fixture(name: str) -> Any:
    """A recorded answer of the established 8.6.2 service (scripts/record_catalog_fixtures.py)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def contract(profile_id: str, **overrides: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "profile_id": profile_id,
        "kind": "prompt_contract",
        "display_name": profile_id.title(),
        "summary": f"How to prompt {profile_id}.",
        "aliases": [profile_id.upper()],
        "interaction_modes": ["chat"],
        "stop_sequences": ["<|im_end|>"],
    }
    profile.update(overrides)
    return profile


def recipe(profile_id: str, **overrides: Any) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "profile_id": profile_id,
        "kind": "usage_recipe",
        "display_name": profile_id.title(),
        "summary": f"Recipe {profile_id}.",
        "capability": "tool_calling",
    }
    profile.update(overrides)
    return profile


def text_payload(name: str, **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": name, "parameters": 7_000_000_000, "baseline": "llama", "nsfw": False}
    payload.update(overrides)
    return payload


@pytest.fixture
def text_models(db: None) -> list[str]:
    names = ["Org/Chatty-7B", "Org/Plain-7B", "Org/Other-13B"]
    formats = {"Org/Chatty-7B": "ChatML", "Org/Plain-7B": "", "Org/Other-13B": "Alpaca"}
    for name in names:
        payload = text_payload(name, instruct_format=formats[name]) if formats[name] else text_payload(name)
        record_create(category="text_generation", name=name, payload=payload, actor=SYSTEM, source="sync")
    return names


@pytest.fixture
def baselines(db: None) -> dict[str, Any]:
    """The baseline catalog as 8.6.2 publishes it, imported."""
    document: dict[str, Any] = fixture("image_baselines.json")
    baseline_catalog_import(document=document, actor=SYSTEM)
    return document


@pytest.fixture
def sdxl_record(db: None) -> str:
    record_create(
        category="image_generation",
        name="Uses SDXL",
        payload=sd_payload("Uses SDXL"),
        actor=SYSTEM,
        source="sync",
    )
    return "Uses SDXL"
