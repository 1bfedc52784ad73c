"""get_popular_models: the AI Horde's live statistics merged with a category's records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from horde_model_reference import MODEL_REFERENCE_CATEGORY, ModelReferenceManager
from horde_model_reference.popular import HordeUnavailableError, PopularModelResult
from tests.client.conftest import FakeReferenceApi, LocalServer, Reply, SettingsFactory

C = MODEL_REFERENCE_CATEGORY


class FakeHorde:
    """The AI Horde's status, stats and workers routes, with canned data."""

    def __init__(self) -> None:
        self.status: dict[str, list[dict[str, Any]]] = {"image": [], "text": []}
        self.stats: dict[str, dict[str, dict[str, int]]] = {"img": {}, "text": {}}
        self.workers: dict[str, list[dict[str, Any]]] = {"image": [], "text": []}
        self.server = LocalServer(self._route)

    def _route(self, path: str, headers: dict[str, str]) -> Reply:
        parsed = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if parsed.path == "/api/v2/status/models":
            return Reply(200, json.dumps(self.status[query["type"]]).encode())
        if parsed.path.startswith("/api/v2/stats/") and parsed.path.endswith("/models"):
            return Reply(200, json.dumps(self.stats[parsed.path.split("/")[4]]).encode())
        if parsed.path == "/api/v2/workers":
            return Reply(200, json.dumps(self.workers[query["type"]]).encode())
        return Reply(404, b"{}")


@pytest.fixture
def horde() -> Iterator[FakeHorde]:
    fake = FakeHorde()
    fake.server.start()
    yield fake
    fake.server.stop()


@pytest.fixture
def manager(make_settings: SettingsFactory, api: FakeReferenceApi, horde: FakeHorde) -> ModelReferenceManager:
    return ModelReferenceManager(
        settings=make_settings(primary_api_url=api.url, ai_horde_url=horde.server.url + "/api")
    )


def image_names(manager: ModelReferenceManager) -> list[str]:
    return list(manager.image_generation_models)[:4]


@pytest.mark.anyio
async def test_ranked_by_workers_and_usage(manager: ModelReferenceManager, horde: FakeHorde) -> None:
    a, b, c, d = image_names(manager)
    horde.status["image"] = [
        {"name": a, "count": 3, "performance": 1.5, "queued": 10.0, "jobs": 2.0, "eta": 5, "type": "image"},
        {
            "name": b.upper(),
            "count": 9,
            "performance": 2.0,
            "queued": 0.0,
            "jobs": 0.0,
            "eta": 0,
            "type": "image",
        },
        {"name": "not in the reference", "count": 99, "eta": 1, "type": "image"},
    ]
    horde.stats["img"] = {"day": {a: 50, c: 7}, "month": {a: 500, c: 900}, "total": {a: 5000, d: 1}}

    by_workers = await manager.get_popular_models(C.image_generation, limit=2)
    assert [r.name for r in by_workers] == [b, a]  # case-insensitive lookup of b
    assert all(isinstance(r, PopularModelResult) for r in by_workers)
    top = by_workers[0]
    assert top.stats.worker_count == 9 and top.stats.performance == 2.0
    assert top.stats.usage_stats is None  # no usage at all
    assert top.record["name"] == b and None not in top.record.values()

    by_day = await manager.get_popular_models("image_generation", sort_by="usage_day", limit=2)
    assert [r.name for r in by_day] == [a, c]
    assert by_day[0].stats.usage_stats is not None and by_day[0].stats.usage_stats.day == 50
    by_month = await manager.get_popular_models(C.image_generation, sort_by="usage_month", limit=1)
    assert by_month[0].name == c
    by_total = await manager.get_popular_models(C.image_generation, sort_by="usage_total", limit=3)
    assert [r.name for r in by_total] == [a, d, b]  # ties keep the reference's order


@pytest.mark.anyio
async def test_text_models_count_their_backend_spellings(
    manager: ModelReferenceManager, horde: FakeHorde
) -> None:
    name = next(n for n in manager.text_generation_models if "/" in n)
    short = name.rsplit("/", 1)[-1]
    horde.status["text"] = [
        {"name": f"aphrodite/{name}", "count": 4, "eta": 3, "type": "text"},
        {"name": f"koboldcpp/{short}", "count": 2, "eta": 9, "type": "text"},
    ]
    horde.stats["text"] = {"day": {f"koboldcpp/{short}": 3, name: 1}, "month": {}, "total": {}}
    results = await manager.get_popular_models(C.text_generation, limit=1)
    assert results[0].name == name
    assert results[0].stats.worker_count == 4  # the busiest spelling speaks for the model
    assert results[0].stats.usage_stats is not None and results[0].stats.usage_stats.day == 4


@pytest.mark.anyio
async def test_include_workers(manager: ModelReferenceManager, horde: FakeHorde) -> None:
    a, b, *_ = image_names(manager)
    horde.status["image"] = [{"name": a, "count": 1}, {"name": b, "count": 5}]
    horde.workers["image"] = [
        {"id": "w1", "name": "one", "models": [a], "online": True, "trusted": False, "uptime": 10},
        {"id": "w2", "name": "two", "models": [a, b], "online": True, "performance": "1.0 mps"},
    ]
    results = await manager.get_popular_models(C.image_generation, include_workers=True, limit=2)
    # with workers, worker_count is the number of workers actually listed
    assert [(r.name, r.stats.worker_count) for r in results] == [(a, 2), (b, 1)]
    assert results[0].stats.worker_summaries is not None
    assert set(results[0].stats.worker_summaries) == {"w1", "w2"}


@pytest.mark.anyio
async def test_categories_without_horde_statistics_are_empty(manager: ModelReferenceManager) -> None:
    assert await manager.get_popular_models(C.clip) == []
    assert await manager.get_popular_models(C.lora) == []


@pytest.mark.anyio
async def test_horde_down_raises_a_clear_error_then_serves_stale_statistics(
    manager: ModelReferenceManager, horde: FakeHorde, caplog: pytest.LogCaptureFixture
) -> None:
    horde.server.down = True
    with pytest.raises(HordeUnavailableError, match="unavailable"):
        await manager.get_popular_models(C.image_generation)

    horde.server.down = False
    a = image_names(manager)[0]
    horde.status["image"] = [{"name": a, "count": 7}]
    assert (await manager.get_popular_models(C.image_generation, limit=1))[0].name == a

    horde.server.down = True
    cache = manager._popular_cache
    assert cache is not None  # made by the first call above
    for key, snapshot in list(cache._snapshots.items()):  # age the snapshot past its TTL
        cache._snapshots[key] = type(snapshot)(snapshot.status, snapshot.usage, snapshot.workers, 0.0)
    stale = await manager.get_popular_models(C.image_generation, limit=1)
    assert stale[0].name == a
    assert "using statistics from" in caplog.text


@pytest.mark.anyio
async def test_invalid_arguments(manager: ModelReferenceManager) -> None:
    with pytest.raises(ValueError, match="sort_by"):
        await manager.get_popular_models(C.image_generation, sort_by="rating")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        await manager.get_popular_models(C.image_generation, limit=-1)
