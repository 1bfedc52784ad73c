"""Text records to group, and helpers to call the group tool routes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from tests.record_writes import record_create

BASE = "/api/model_references/v2/text_generation"
TEXT = "text_generation"
SYSTEM = Actor.system("test")


def text_payload(name: str, **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"name": name, "parameters": 8_000_000_000, "baseline": "llama3", "nsfw": False}
    payload.update(fields)
    return payload


def add_text(name: str, **fields: Any) -> None:
    record_create(category=TEXT, name=name, payload=text_payload(name, **fields), actor=SYSTEM, source="sync")


def send(client: Client, method: str, url: str, body: Any = None, key: str | None = "requestor-key") -> Any:
    headers: dict[str, Any] = {"HTTP_APIKEY": key} if key else {}
    data = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
    return getattr(client, method)(url, data=data, content_type="application/json", **headers)


@pytest.fixture
def text_models(db: None) -> list[str]:
    """Two Llama-3 sizes, a Qwen3 model with a description, and a lone model."""
    names = [
        "meta-llama/Llama-3-8B-Instruct",
        "meta-llama/Llama-3-70B-Instruct",
        "Qwen/Qwen3-0.6B-Instruct-Q4_K_M",
        "Lonely-13B",
    ]
    add_text(names[0], description="Llama three", url="https://example.com/llama")
    add_text(names[1], description="Llama three", url="https://example.com/llama")
    add_text(names[2], baseline="qwen3", description="Qwen", nsfw=False)
    add_text(names[3], baseline=" llama3 ", nsfw=True)
    return names
