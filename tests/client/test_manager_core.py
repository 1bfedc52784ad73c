"""The manager's parts on their own: the sans-I/O core, and the two runtimes sharing it.

The core's refresh is a step generator, so a test can answer its requests by hand: no
server, no client, no lock. The runtimes are then only clients and locks around it, so a
category refreshed by one is fresh for the other.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from horde_model_reference import MODEL_REFERENCE_CATEGORY, ModelReferenceManager
from horde_model_reference.backends.base import Steps
from horde_model_reference.backends.primary import PrimaryApiSource
from horde_model_reference.manager.core import ReferenceCore
from horde_model_reference.manager.state import CategoryState
from tests.client.conftest import FakeReferenceApi, SettingsFactory

C = MODEL_REFERENCE_CATEGORY

_ESRGAN = {"RealESRGAN_x4plus": {"name": "RealESRGAN_x4plus", "description": "upscaler"}}


def answer_by_hand(
    steps: Steps[CategoryState], replies: list[httpx.Response]
) -> tuple[CategoryState, list[httpx.Request]]:
    """Drive a step generator with canned responses; returns its result and its requests."""
    sent: list[httpx.Request] = []
    try:
        request = next(steps)
        while True:
            sent.append(request)
            request = steps.send(replies.pop(0))
    except StopIteration as stop:
        result: CategoryState = stop.value
        return result, sent


def ok(document: dict[str, Any], etag: str) -> httpx.Response:
    return httpx.Response(200, content=json.dumps(document).encode(), headers={"ETag": etag})


@pytest.fixture
def core(make_settings: SettingsFactory) -> ReferenceCore:
    return ReferenceCore(make_settings(), sources=(PrimaryApiSource("http://127.0.0.1:9/api"),))


def test_the_core_fetches_then_revalidates_without_any_io(core: ReferenceCore) -> None:
    first, sent = answer_by_hand(core.refresh_steps(C.esrgan, force=False), [ok(_ESRGAN, '"v1"')])
    assert [str(r.url) for r in sent] == ["http://127.0.0.1:9/api/model_references/v2/esrgan"]
    assert first.served_from == "primary" and first.validator == '"v1"'
    assert first.records is not None and set(first.records) == {"RealESRGAN_x4plus"}
    assert core.fresh_state(C.esrgan) is first

    core.invalidate(C.esrgan)
    assert core.fresh_state(C.esrgan) is None  # expired, but still held with its validator
    again, sent = answer_by_hand(core.refresh_steps(C.esrgan, force=False), [httpx.Response(304)])
    assert sent[0].headers["If-None-Match"] == '"v1"'
    assert again.records is first.records  # confirmed, not re-parsed
    assert core.fresh_state(C.esrgan) is again


def test_the_core_falls_back_to_held_data_then_to_the_disk_cache(
    core: ReferenceCore, make_settings: SettingsFactory
) -> None:
    answer_by_hand(core.refresh_steps(C.esrgan, force=False), [ok(_ESRGAN, '"v1"')])
    core.invalidate(C.esrgan)
    held, _ = answer_by_hand(core.refresh_steps(C.esrgan, force=False), [httpx.Response(503)])
    assert held.served_from == "primary" and held.records is not None and "RealESRGAN_x4plus" in held.records

    # A new process (a new core) over the same cache directory, with the source down.
    restarted = ReferenceCore(make_settings(), sources=(PrimaryApiSource("http://127.0.0.1:9/api"),))
    from_disk, sent = answer_by_hand(restarted.refresh_steps(C.esrgan, force=True), [httpx.Response(503)])
    assert len(sent) == 1
    assert from_disk.served_from == "disk_cache" and from_disk.records is not None
    assert restarted.data_source(C.esrgan) == "disk_cache"


def test_the_core_without_any_data_says_unavailable(core: ReferenceCore) -> None:
    state, _ = answer_by_hand(core.refresh_steps(C.clip, force=False), [httpx.Response(503)])
    assert state.served_from == "unavailable" and state.records is None
    assert "clip not found" in core.unavailable_message(C.clip)


@pytest.mark.anyio
async def test_the_sync_and_async_runtimes_share_one_state(
    make_settings: SettingsFactory, api: FakeReferenceApi
) -> None:
    manager = ModelReferenceManager(settings=make_settings(primary_api_url=api.url))
    synced = manager.get_model_reference(C.esrgan)
    api.server.clear_log()
    # Fresh for the async runtime too: no request, the very same records.
    assert await manager.get_model_reference_async(C.esrgan) is synced
    assert await manager.get_model_reference_or_none_async(C.esrgan) is synced
    assert api.server.log == []

    forced = await manager.get_model_reference_async(C.esrgan, overwrite_existing=True)
    assert len(api.server.log) == 1
    assert manager.get_model_reference(C.esrgan) is forced  # the sync side sees the async refresh
    assert manager.get_model_reference_or_none(C.esrgan) is forced
    assert len(api.server.log) == 1
