"""AI Horde statistics: the fetch task against the local AI Horde stand-in, its failure
cases, and the routes (statistics, with-stats, deletion-risk, popular)."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from common.horde_api import AI_HORDE_BREAKER
from sync.model_statistics import unquantized_key
from sync.models import ModelStatistics, StatisticsSnapshot, SyncRun, WorkerStatistics
from sync.selectors import statistics_cache_reset
from sync.services.statistics import statistics_fetch
from sync.tasks import fetch_statistics
from tests.horde_stub import HordeStub

STATS = SyncRun.Kind.STATISTICS
SD, TEXT = "image_generation", "text_generation"


@pytest.fixture(autouse=True)
def _fresh_statistics() -> None:
    statistics_cache_reset()
    AI_HORDE_BREAKER.record_success()


@pytest.fixture
def stats_horde(horde: HordeStub, settings: Any) -> HordeStub:
    horde.load_reference_statistics(workers=100)
    settings.AI_HORDE_RETRY_BACKOFF_SECONDS = 0.01
    settings.AI_HORDE_STATISTICS_TIMEOUT_SECONDS = 2.0
    return horde


def _get(client: Client, url: str, **headers: Any) -> Any:
    return client.get(url, **headers)


# --- the fetch ---


def test_fetch_stores_a_complete_snapshot_per_category(db: None, stats_horde: HordeStub) -> None:
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.log
    assert run.kind == STATS
    for category, horde_type in ((SD, "image"), (TEXT, "text")):
        snapshot = StatisticsSnapshot.objects.get(category=category)
        assert snapshot.complete
        served = {entry["name"] for entry in stats_horde.status[horde_type]}
        stored = set(
            ModelStatistics.objects.filter(snapshot=snapshot, in_status=True).values_list("name", flat=True)
        )
        assert stored == served
        assert WorkerStatistics.objects.filter(snapshot=snapshot).count() == len(
            stats_horde.workers[horde_type]
        )
        some = stats_horde.status[horde_type][0]
        row = ModelStatistics.objects.get(snapshot=snapshot, name=some["name"])
        assert row.workers == some["count"]
        assert row.usage_month == stats_horde.usage[horde_type]["month"][some["name"]]


def test_fetch_is_the_task_and_the_command(db: None, stats_horde: HordeStub) -> None:
    assert "succeeded" in fetch_statistics(trigger="beat")
    out = io.StringIO()
    call_command("sync", "statistics", stdout=out)
    assert "statistics run" in out.getvalue()
    assert SyncRun.objects.filter(kind=STATS, status=SyncRun.Status.SUCCEEDED).count() == 2
    assert SyncRun.objects.filter(kind=STATS, trigger="beat").exists()
    # Same day: the newer complete snapshot replaces the older (one per day is kept).
    assert StatisticsSnapshot.objects.filter(category=SD).count() == 1


def test_the_beat_schedule_is_seeded(db: None) -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="sync.fetch_statistics")
    assert task.interval is not None
    assert (task.interval.every, task.interval.period) == (5, "minutes")


def test_a_held_lease_skips_the_run(db: None, stats_horde: HordeStub) -> None:
    from sync.services import sync_lease_acquire

    assert sync_lease_acquire(kind=STATS, holder="someone-else")
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SKIPPED
    assert not StatisticsSnapshot.objects.exists()


def test_429_retry_after_is_honoured(db: None, stats_horde: HordeStub) -> None:
    stats_horde.rate_limited["/api/v2/status/models"] = 1
    stats_horde.retry_after = "1"
    started = time.monotonic()
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED, run.log
    # The backoff is 0.01 s: only Retry-After explains a wait of a second.
    assert time.monotonic() - started >= 1.0
    assert stats_horde.statistics_requests.count("/api/v2/status/models") == 3


def test_horde_down_fails_the_run_and_the_last_snapshot_stays_served(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    before = client.get(f"/api/model_references/statistics/{SD}/with-stats")
    assert before.status_code == 200
    stats_horde.statistics_fail = dict.fromkeys(
        ["/api/v2/status/models", "/api/v2/stats/img/models", "/api/v2/stats/text/models", "/api/v2/workers"],
        503,
    )
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.FAILED
    assert "503" in run.log
    after = client.get(f"/api/model_references/statistics/{SD}/with-stats")
    assert after.status_code == 200
    assert after.content == before.content
    assert after["X-Statistics-Computed-At"] == before["X-Statistics-Computed-At"]


def test_the_task_raises_when_nothing_came(db: None, stats_horde: HordeStub) -> None:
    from sync.services.statistics import StatisticsFetchError

    stats_horde.statistics_fail = {"/api/v2/status/models": 500, "/api/v2/workers": 500}
    stats_horde.statistics_fail |= {"/api/v2/stats/img/models": 500, "/api/v2/stats/text/models": 500}
    with pytest.raises(StatisticsFetchError):
        fetch_statistics()
    assert SyncRun.objects.get(kind=STATS).status == SyncRun.Status.FAILED


@pytest.mark.parametrize("breakage", ["malformed", "partial"])
def test_malformed_or_partial_answers_keep_the_last_complete_snapshot(
    real_reference: Any, stats_horde: HordeStub, client: Client, breakage: str
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    good = StatisticsSnapshot.objects.get(category=SD)
    before = client.get(f"/api/model_references/statistics/{SD}/with-stats").content
    if breakage == "malformed":
        stats_horde.malformed.add("/api/v2/workers")
    else:
        # A usage answer without the month and total periods.
        stats_horde.usage["image"] = {"day": stats_horde.usage["image"]["day"]}
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert run.status == SyncRun.Status.PARTIAL
    assert "image_generation" in run.log
    partial = StatisticsSnapshot.objects.filter(category=SD, complete=False).get()
    assert partial.problems
    statistics_cache_reset()
    response = client.get(f"/api/model_references/statistics/{SD}/with-stats")
    assert response.status_code == 200
    assert response.content == before
    assert int(response["X-Statistics-Computed-At"]) == int(good.fetched_at.timestamp())


def test_history_is_bounded_and_one_snapshot_per_day_is_kept(
    db: None, stats_horde: HordeStub, settings: Any
) -> None:
    settings.STATISTICS_HISTORY_DAYS = 3
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    old = StatisticsSnapshot.objects.filter(category=SD).get()
    StatisticsSnapshot.objects.filter(pk=old.pk).update(fetched_at=timezone.now() - timedelta(days=5))
    yesterday = statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    assert yesterday.counts["pruned"] >= 1
    assert not StatisticsSnapshot.objects.filter(pk=old.pk).exists()
    assert not ModelStatistics.objects.filter(snapshot_id=old.pk).exists()


# --- the routes ---


def test_no_snapshot_is_a_503_with_a_detail_and_never_a_wait(
    real_reference: Any, client: Client, settings: Any
) -> None:
    settings.AI_HORDE_URL = "http://127.0.0.1:9/api/"  # nothing listens; never asked anyway
    for url in (
        f"/api/model_references/statistics/{SD}/with-stats",
        f"/api/model_references/statistics/{TEXT}/deletion-risk",
        f"/model_references/statistics/{SD}/with-stats",
        f"/api/model_references/v2/{SD}/popular",
    ):
        started = time.monotonic()
        response = client.get(url)
        assert response.status_code == 503, url
        assert "No AI Horde statistics" in response.json()["detail"]
        assert response["Retry-After"]
        assert time.monotonic() - started < 2


def test_category_statistics_from_the_registry(real_reference: Any, client: Client) -> None:
    response = client.get(f"/api/model_references/statistics/{SD}")
    assert response.status_code == 200
    body = response.json()
    assert body["category"] == SD
    assert body["total_models"] == body["returned_models"] > 100
    assert body["offset"] == 0 and body["limit"] is None
    assert sum(b["count"] for b in body["baseline_distribution"].values()) <= body["total_models"]
    assert body["download_stats"]["hosts"]
    assert body["models_with_inpainting"] is not None
    text = client.get(f"/model_references/statistics/{TEXT}?group_text_models=true&limit=5&offset=2").json()
    assert text["limit"] == 5 and text["offset"] == 2
    assert (
        sum(b["count"] for b in text["parameter_buckets"]) + text["models_without_param_info"]
        == text["total_models"]
    )
    # `parameters` is read (the established code read a key no record has).
    assert text["models_without_param_info"] < text["total_models"]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/model_references/statistics/nope", 422),
        ("/api/model_references/statistics/image_generation?limit=0", 422),
        ("/api/model_references/statistics/image_generation?offset=-1", 422),
        (
            "/api/model_references/statistics/image_generation?limit=7988196499069730996399566979824196723",
            422,
        ),
        ("/api/model_references/statistics/image_generation/deletion-risk?offset=99999999999999999999", 422),
        ("/api/model_references/statistics/image_generation?group_text_models=maybe", 422),
        ("/api/model_references/statistics/video_generation", 404),
        ("/api/model_references/statistics/clip/with-stats", 400),
        ("/api/model_references/statistics/nope/with-stats", 422),
        ("/api/model_references/statistics/image_generation/with-stats?history=0d", 422),
        ("/api/model_references/statistics/image_generation/with-stats?history=7", 422),
        ("/api/model_references/statistics/image_generation/with-stats?history=999d", 422),
        ("/api/model_references/statistics/image_generation/with-stats?min_worker_count=x", 422),
        ("/api/model_references/statistics/clip/deletion-risk", 400),
        ("/api/model_references/statistics/image_generation/deletion-risk?preset=bogus", 400),
        ("/api/model_references/statistics/image_generation/deletion-risk?limit=0", 422),
        ("/api/model_references/v2/nope/popular", 422),
        ("/api/model_references/v2/image_generation/popular?limit=101", 422),
        ("/api/model_references/v2/image_generation/popular?sort_by=name", 422),
        ("/api/model_references/v2/image_generation/popular?include_workers=%00", 422),
    ],
)
def test_bad_input_is_a_clear_4xx(
    real_reference: Any, stats_horde: HordeStub, client: Client, url: str, status: int
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    response = client.get(url)
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    if status == 422:
        assert isinstance(detail, list) and detail
        assert all({"loc", "msg", "type"} <= set(item) for item in detail)
    else:
        assert isinstance(detail, str) and detail


def test_with_stats_matches_backend_prefixes_and_quant_variants(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    response = client.get(
        f"/api/model_references/statistics/{TEXT}/with-stats?include_backend_variations=true"
    )
    assert response.status_code == 200
    assert int(response["X-Statistics-Computed-At"]) > 0 and int(response["Age"]) >= 0
    body = response.json()
    name = "acrastt/Marx-3B-V3"  # index 0: aphrodite, koboldcpp, a Q4_K_M variant and canonical
    usage = stats_horde.usage["text"]
    spellings = [name, f"aphrodite/{name}", "koboldcpp/Marx-3B-V3", "koboldcpp/Marx-3B-V3-Q4_K_M"]
    assert all(s in usage["month"] for s in spellings)
    stats = body[name]
    assert stats["usage_stats"]["month"] == sum(usage["month"][s] for s in spellings)
    counts = {entry["name"]: entry["count"] for entry in stats_horde.status["text"]}
    assert stats["worker_count"] == max(counts[s] for s in spellings[:3])
    variations = stats["backend_variations"]
    assert set(variations) == {"canonical", "aphrodite", "koboldcpp"}
    assert variations["koboldcpp"]["usage_month"] == sum(usage["month"][s] for s in spellings[2:])
    assert unquantized_key("koboldcpp/Marx-3B-V3-Q4_K_M") == unquantized_key(name)
    # A model the AI Horde does not serve: zeros and nulls, not an error.
    unserved = client.get(f"/api/model_references/statistics/{SD}/with-stats").json()
    assert any(s["usage_stats"] is None and s["worker_count"] == 0 for s in unserved.values())


def test_with_stats_workers_sorting_and_min_worker_count(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    url = f"/api/model_references/statistics/{SD}/with-stats"
    body = client.get(url + "?include_workers=true&sort_by=worker_count&min_worker_count=1").json()
    counts = [s["worker_count"] for s in body.values()]
    assert counts == sorted(counts, reverse=True) and counts and min(counts) >= 1
    first = next(iter(body.values()))
    assert len(first["worker_summaries"]) == first["worker_count"]
    summary = next(iter(first["worker_summaries"].values()))
    assert set(summary) == {"id", "name", "performance", "online", "trusted", "uptime"}
    # Without workers, min_worker_count still filters on the worker count (not on nothing).
    assert client.get(url + "?min_worker_count=1").json()
    by_name = list(client.get(url + "?sort_by=name&sort_desc=false").json())
    assert by_name == sorted(by_name, key=str.lower)


def test_with_stats_history_gives_a_daily_series(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    first = StatisticsSnapshot.objects.get(category=SD)
    StatisticsSnapshot.objects.filter(pk=first.pk).update(fetched_at=timezone.now() - timedelta(days=1))
    name = stats_horde.status["image"][0]["name"]
    stats_horde.usage["image"]["day"][name] += 1000
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    body = client.get(f"/api/model_references/statistics/{SD}/with-stats?history=7d").json()
    series = body[name]["history"]
    assert len(series) == 2
    assert series[1]["usage_day"] - series[0]["usage_day"] == 1000
    assert series[0]["date"] < series[1]["date"]
    assert "history" not in client.get(f"/api/model_references/statistics/{SD}/with-stats").json()[name]


def test_deletion_risk_flags_summary_and_presets(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    response = client.get(f"/api/model_references/statistics/{SD}/deletion-risk")
    assert response.status_code == 200
    body = response.json()
    assert body["computed_at"] == int(response["X-Statistics-Computed-At"])
    models = body["models"]
    assert body["total_count"] == body["returned_count"] == len(models) == body["summary"]["total_models"]
    months = [m["usage_month"] for m in models]
    assert months == sorted(months, reverse=True)
    assert body["category_total_month_usage"] == sum(months)
    for model in models:
        assert model["risk_score"] == sum(model["deletion_risk_flags"].values())
        assert model["at_risk"] == (model["risk_score"] > 0)
    served = {entry["name"] for entry in stats_horde.status["image"]}
    known = served | set(stats_horde.usage["image"]["month"])
    idle = [m for m in models if m["name"] in known - served]
    assert idle and all(m["deletion_risk_flags"]["no_active_workers"] for m in idle)
    # Unknown to the AI Horde: no usage flags (as established), but a deletion candidate.
    unknown = [m for m in models if m["name"] not in known]
    assert unknown and not any(m["deletion_risk_flags"]["no_active_workers"] for m in unknown)
    candidates = client.get(f"/api/model_references/statistics/{SD}/deletion-risk?preset=deletion_candidates")
    candidate_names = {m["name"] for m in candidates.json()["models"]}
    assert {m["name"] for m in unknown + idle} <= candidate_names
    critical = client.get(f"/api/model_references/statistics/{SD}/deletion-risk?preset=critical").json()
    assert critical["total_count"] == body["total_count"]
    assert all(m["is_critical"] for m in critical["models"])
    assert critical["summary"]["total_models"] == len(critical["models"])
    page = client.get(f"/api/model_references/statistics/{SD}/deletion-risk?limit=5&offset=3").json()
    assert [m["name"] for m in page["models"]] == [m["name"] for m in models[3:8]]
    assert page["summary"] == body["summary"]
    grouped = client.get(
        f"/api/model_references/statistics/{TEXT}/deletion-risk?group_text_models=true"
    ).json()
    assert (
        grouped["total_count"]
        < client.get(f"/api/model_references/statistics/{TEXT}/deletion-risk").json()["total_count"]
    )


def test_popular_ranks_and_degrades(real_reference: Any, stats_horde: HordeStub, client: Client) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    response = client.get(f"/api/model_references/v2/{SD}/popular?sort_by=usage_day&limit=5")
    assert response.status_code == 200
    items = response.json()
    assert len(items) == 5
    days = [item["stats"]["usage_stats"]["day"] for item in items]
    assert days == sorted(days, reverse=True)
    assert items[0]["record"]["name"] == items[0]["name"]
    assert client.get(f"/model_references/v2/{SD}/popular").status_code == 200
    assert client.get("/api/model_references/v2/clip/popular").json() == []
    # The AI Horde going down changes nothing for the readers.
    stats_horde.statistics_fail = dict.fromkeys(["/api/v2/status/models", "/api/v2/workers"], 503)
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND, raise_errors=False)
    assert client.get(f"/api/model_references/v2/{SD}/popular?sort_by=usage_day&limit=5").json() == items


def test_warm_reads_cost_one_query(
    real_reference: Any, stats_horde: HordeStub, client: Client, django_assert_max_num_queries: Any
) -> None:
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    url = f"/api/model_references/statistics/{SD}/deletion-risk"
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(2):
        assert client.get(url).status_code == 200


def test_command_failure_is_a_command_error(db: None, horde: HordeStub, settings: Any) -> None:
    settings.AI_HORDE_RETRY_BACKOFF_SECONDS = 0.01
    horde.statistics_fail = dict.fromkeys(
        ["/api/v2/status/models", "/api/v2/stats/img/models", "/api/v2/stats/text/models", "/api/v2/workers"],
        502,
    )
    with pytest.raises(CommandError):
        call_command("sync", "statistics", stdout=io.StringIO())


def test_the_fast_path_answers_warm_reads_as_the_view_does(
    real_reference: Any, stats_horde: HordeStub, client: Client, settings: Any
) -> None:
    from sync.fast_path import FRESH_SECONDS, statistics_fast_answer
    from sync.selectors import statistics_in_memory

    settings.ALLOWED_HOSTS = ["testserver"]
    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    path = f"/api/model_references/statistics/{SD}/deletion-risk"
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "HTTP_HOST": "testserver"}
    assert statistics_fast_answer(environ) is None  # cold: Django answers and warms
    view = client.get(path)
    answer = statistics_fast_answer(environ)
    assert answer is not None
    assert answer.body == view.content
    headers = dict(answer.headers)
    assert headers["X-Statistics-Computed-At"] == view["X-Statistics-Computed-At"]
    assert headers["Content-Type"] == "application/json"
    assert statistics_fast_answer(environ | {"QUERY_STRING": "preset=critical"}) is None
    # Not confirmed by SQL lately: a newer snapshot may exist, so Django answers.
    loaded = statistics_in_memory(SD, max_age_seconds=FRESH_SECONDS)
    assert loaded is not None
    loaded.verified_at -= FRESH_SECONDS + 1
    assert statistics_fast_answer(environ) is None
    # ... one caller goes; the others keep being answered until twice the age.
    assert statistics_fast_answer(environ) is not None
    loaded.verified_at -= FRESH_SECONDS
    assert statistics_fast_answer(environ) is None
    assert statistics_fast_answer(environ) is None
    client.get(path)  # the view re-confirms
    assert statistics_fast_answer(environ) is not None


def test_the_admin_can_run_it_now(db: None, stats_horde: HordeStub, admin_client: Client) -> None:
    run = statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    response = admin_client.post(
        "/admin/sync/syncrun/", {"action": "run_now", "_selected_action": [run.pk]}, follow=True
    )
    assert response.status_code == 200
    assert SyncRun.objects.filter(kind=STATS, trigger=SyncRun.Trigger.ADMIN).get().status == "succeeded"


def test_broken_and_login_gated_downloads_are_deletion_risk_flags(
    real_reference: Any, stats_horde: HordeStub, client: Client
) -> None:
    from sync.models import DownloadLinkCheck

    statistics_fetch(trigger=SyncRun.Trigger.COMMAND)
    before = client.get(f"/api/model_references/statistics/{SD}/deletion-risk").json()["models"]
    broken, gated = before[0]["name"], before[1]["name"]
    for name, status in ((broken, "broken"), (gated, "login_required")):
        DownloadLinkCheck.objects.create(
            category=SD,
            model_name=name,
            url=f"http://127.0.0.1:9/{status}",
            status=status,
            checked_at=timezone.now(),
        )
    statistics_cache_reset()
    models = {
        m["name"]: m
        for m in client.get(f"/api/model_references/statistics/{SD}/deletion-risk").json()["models"]
    }
    assert models[broken]["deletion_risk_flags"]["has_broken_download"] is True
    assert models[gated]["deletion_risk_flags"]["has_login_gated_download"] is True
    for name in (broken, gated):
        assert models[name]["at_risk"] and models[name]["risk_score"] == sum(
            models[name]["deletion_risk_flags"].values()
        )
    untouched = next(m for n, m in models.items() if n not in (broken, gated))
    assert "has_broken_download" not in untouched["deletion_risk_flags"]


@pytest.mark.parametrize("kind", ["with-stats", "deletion-risk"])
@pytest.mark.parametrize("root", ["/api/", "/"])
def test_the_statistics_fast_matcher_takes_the_paths_django_routes_there(kind: str, root: str) -> None:
    from django.urls import resolve

    from sync.fast_path import KINDS, STATISTICS_ROUTE

    path = f"{root}model_references/statistics/image_generation/{kind}"
    match = STATISTICS_ROUTE.match(path)
    assert match is not None and match.lastindex is not None
    assert (match[match.lastindex], KINDS[match.lastindex - 1]) == ("image_generation", kind)
    assert resolve(path).url_name == f"statistics-{kind}"
    assert STATISTICS_ROUTE.match(f"{root}model_references/statistics/image_generation") is None
