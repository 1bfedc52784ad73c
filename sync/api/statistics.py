"""Statistics routes: ``statistics/{category}``, ``/with-stats``, ``/deletion-risk`` and
``v2/{category}/popular``, in the established shapes (upstream-api.md §2.9, §2.10, §7).

They live in ``sync`` because the AI Horde snapshots do (``references`` must not import
``sync``); config/urls.py mounts them beside the references routes. Every answer comes
from what the registry and the stored snapshots hold: a request never waits on the AI
Horde. Computed answers are memoised per snapshot (and per category revision), so a warm
request costs one indexed query for "is there a newer snapshot" plus the pointer check.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request

from common.api import PublicReadView
from common.categories import CATEGORY_VALUES, category_param
from common.errors import DomainError
from common.openapi import ERROR_RESPONSE, VALIDATION_RESPONSE
from references.api.params import MAX_OFFSET, QueryErrors, bool_param, int_param
from references.api.v2 import category_v2_records
from sync.model_statistics import (
    PRESETS,
    LoadedStatistics,
    category_statistics,
    combined_statistics,
    deletion_risk_summary,
    group_deletion_risk,
    group_text_records,
    model_deletion_risk,
    preset_keeps,
    with_stats_sort_key,
)
from sync.selectors import (
    link_problems,
    statistics_daily_snapshots,
    statistics_horde_type,
    statistics_last_problem,
    statistics_latest,
)

POPULAR_SORTS = ("worker_count", "usage_day", "usage_month", "usage_total")
_HISTORY = re.compile(r"([1-9][0-9]{0,2})d")
_MEMO_LIMIT = 64
_MEMO_LOCK = threading.Lock()
COMPUTED_AT_HEADER = "X-Statistics-Computed-At"


def model_link_problems(category: str, names: list[str]) -> dict[str, dict[str, bool]]:
    """Per model, deletion-risk flags from the last download-link check.

    ``has_broken_download`` and ``has_login_gated_download``, from
    ``sync.selectors.link_problems`` (``sync.check_download_links``); models whose links
    are fine or were never checked get no flags. They are merged into
    ``deletion_risk_flags``, count in ``risk_score`` and make a model ``at_risk``.
    """
    wanted = set(names)
    flags: dict[str, dict[str, bool]] = {}
    for name, statuses in link_problems(category).items():
        if name in wanted:
            flags[name] = {
                "has_broken_download": "broken" in statuses,
                "has_login_gated_download": "login_required" in statuses,
            }
    return flags


def _memo(store: dict[Any, Any], key: Any, build: Callable[[], Any]) -> Any:
    with _MEMO_LOCK:
        if key in store:
            return store[key]
    value = build()
    with _MEMO_LOCK:
        # Parameters such as min_worker_count are open-ended: keep the memo bounded.
        if len(store) >= _MEMO_LIMIT:
            store.clear()
        store[key] = value
    return value


def with_stats_key(token: str, *params: object) -> tuple[object, ...]:
    """The memo key of a with-stats body (``sync.fast_path`` builds the default one too)."""
    return ("with-stats", token, *params)


def deletion_risk_key(token: str, *params: object) -> tuple[object, ...]:
    """The memo key of a deletion-risk body."""
    return ("deletion-risk", token, *params)


#: The keys of the answers to requests without a query string (what the fast path serves).
DEFAULT_KEYS: dict[str, Callable[[str], tuple[object, ...]]] = {
    "with-stats": lambda token: with_stats_key(token, False, False, None, None, True, None),
    "deletion-risk": lambda token: deletion_risk_key(token, False, False, None, None, 0),
}


def statistics_headers(loaded: LoadedStatistics) -> list[tuple[str, str]]:
    return [
        (COMPUTED_AT_HEADER, str(int(loaded.fetched_at))),
        ("Age", str(max(0, int(time.time() - loaded.fetched_at)))),
    ]


def _horde_category(category: str) -> str:
    if statistics_horde_type(category) is None:
        raise DomainError(
            "AI Horde statistics are only available for image_generation and text_generation",
            status=400,
        )
    return category


def _no_models(category: str) -> DomainError:
    return DomainError(f"Category '{category}' not found or has no models", status=404)


def _records_or_404(category: str) -> tuple[str, dict[str, Any]]:
    token, records = category_v2_records(category)
    if not records:
        raise _no_models(category)
    return token, records


def _latest(category: str) -> LoadedStatistics:
    loaded = statistics_latest(category)
    if loaded is None:
        raise DomainError(
            f"No AI Horde statistics for '{category}' are available yet "
            f"({statistics_last_problem(category)}); they are fetched every 5 minutes, try again later",
            status=503,
            retry_after=60,
        )
    return loaded


def _json(body: bytes, loaded: LoadedStatistics | None = None) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    if loaded is not None:
        for name, value in statistics_headers(loaded):
            response[name] = value
    return response


def _snapshot_answer(
    loaded: LoadedStatistics, key: tuple[object, ...], build: Callable[[], bytes]
) -> HttpResponse:
    """A body computed once per snapshot (memoised on it), with the snapshot's headers."""
    return _json(_memo(loaded.memo, key, build), loaded)


def _history_days(errors: QueryErrors, value: str | None) -> int | None:
    if value is None:
        return None
    from django.conf import settings

    match = _HISTORY.fullmatch(value.strip())
    limit = max(1, int(settings.STATISTICS_HISTORY_DAYS))
    if match is None or not 1 <= int(match.group(1)) <= limit:
        errors.add(
            "history",
            f"Input should be a number of days from 1d to {limit}d, such as 7d",
            "value_error",
            value,
        )
        return None
    return int(match.group(1))


def _optional_limit(query: Any, errors: QueryErrors) -> int | None:
    if query.get("limit") is None:
        return None
    # Bounded: the value is echoed, and orjson refuses integers beyond 64 bits.
    return int_param(query, "limit", 1, 1, MAX_OFFSET, errors)


CATEGORY_PATH = OpenApiParameter("category", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES)
NO_SNAPSHOT_RESPONSE = OpenApiResponse(
    response=ERROR_RESPONSE.response,
    description="No AI Horde statistics stored yet (the AI Horde has not been reached); see `Retry-After`.",
)
STATS_HEADERS_TEXT = (
    f"`{COMPUTED_AT_HEADER}`: when the AI Horde statistics used were fetched (unix seconds); "
    "`Age`: seconds since then."
)
_OBJECT = {"type": "object", "additionalProperties": True}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
COMBINED_SCHEMA = {
    "type": "object",
    "properties": {
        "worker_count": {"type": "integer"},
        "queued_jobs": _NULLABLE_NUMBER,
        "performance": _NULLABLE_NUMBER,
        "eta": {"type": ["integer", "null"]},
        "queued": _NULLABLE_NUMBER,
        "usage_stats": {
            "type": ["object", "null"],
            "properties": {
                "day": {"type": "integer"},
                "month": {"type": "integer"},
                "total": {"type": "integer"},
            },
        },
        "worker_summaries": {"type": ["object", "null"], "additionalProperties": _OBJECT},
        "backend_variations": {"type": ["object", "null"], "additionalProperties": _OBJECT},
        "history": {
            "type": "array",
            "description": "With `history`: one entry per day, oldest first.",
            "items": _OBJECT,
        },
    },
    "required": ["worker_count", "usage_stats"],
}
CATEGORY_STATISTICS_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "total_models": {"type": "integer"},
        "returned_models": {"type": "integer"},
        "offset": {"type": "integer"},
        "limit": {"type": ["integer", "null"]},
        "nsfw_count": {"type": "integer"},
        "baseline_distribution": _OBJECT,
        "download_stats": _OBJECT,
        "top_tags": {"type": "array", "items": _OBJECT},
        "top_styles": {"type": "array", "items": _OBJECT},
        "parameter_buckets": {"type": ["array", "null"], "items": _OBJECT},
        "models_without_param_info": {"type": "integer"},
        "models_with_trigger_words": {"type": ["integer", "null"]},
        "models_with_inpainting": {"type": ["integer", "null"]},
        "models_with_requirements": {"type": ["integer", "null"]},
        "models_with_showcases": {"type": "integer"},
        "computed_at": {"type": "integer", "description": "Unix seconds."},
    },
    "required": ["category", "total_models", "returned_models", "offset", "computed_at"],
}
DELETION_RISK_SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string"},
        "category_total_month_usage": {"type": "integer"},
        "total_count": {"type": "integer"},
        "returned_count": {"type": "integer"},
        "offset": {"type": "integer"},
        "limit": {"type": ["integer", "null"]},
        "models": {"type": "array", "items": _OBJECT},
        "summary": _OBJECT,
        "computed_at": {
            "type": "integer",
            "description": "When the AI Horde statistics were fetched (unix seconds).",
        },
    },
    "required": ["category", "total_count", "returned_count", "models", "summary", "computed_at"],
}
POPULAR_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "record": _OBJECT, "stats": COMBINED_SCHEMA},
        "required": ["name", "record", "stats"],
    },
}


class CategoryStatisticsView(PublicReadView):
    @extend_schema(
        operation_id="category_statistics",
        parameters=[
            CATEGORY_PATH,
            OpenApiParameter(
                "group_text_models", OpenApiTypes.BOOL, description="Merge text variants by base name."
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description=">= 1; echoed"),
            OpenApiParameter("offset", OpenApiTypes.INT, description=">= 0; echoed"),
        ],
        responses={
            200: OpenApiResponse(CATEGORY_STATISTICS_SCHEMA),
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
        },
        tags=["statistics"],
        description="Counts over a category's records (baselines, tags, styles, downloads, sizes); "
        "computed from the registry, once per revision. No AI Horde data.",
    )
    def get(self, request: Request, category: str) -> HttpResponse:
        query = request.query_params
        errors = QueryErrors()
        category = category_param(category, loc="category")
        grouped = bool(bool_param(query, "group_text_models", errors))
        limit = _optional_limit(query, errors)
        offset = int_param(query, "offset", 0, 0, MAX_OFFSET, errors)
        errors.raise_if_any()
        token, records = _records_or_404(category)
        is_text = category == "text_generation"
        computed = _memo(
            _REGISTRY_MEMO,
            (category, token, grouped and is_text),
            lambda: category_statistics(
                category,
                group_text_records(records) if grouped and is_text else records,
                is_text=is_text,
                is_image=category == "image_generation",
            )
            | {"computed_at": int(time.time())},
        )
        return _json(orjson.dumps(computed | {"offset": offset, "limit": limit}))


_REGISTRY_MEMO: dict[Any, Any] = {}


def _history(
    category: str, loaded: LoadedStatistics, names: list[str], days: int
) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for day in statistics_daily_snapshots(category, days=days, until=loaded.fetched_at):
        date = time.strftime("%Y-%m-%d", time.gmtime(day.fetched_at))
        for name in names:
            stats = combined_statistics(day, name)
            usage = stats["usage_stats"] or {"day": 0, "month": 0, "total": 0}
            series[name].append(
                {
                    "date": date,
                    "fetched_at": int(day.fetched_at),
                    "worker_count": stats["worker_count"],
                    "usage_day": usage["day"],
                    "usage_month": usage["month"],
                    "usage_total": usage["total"],
                }
            )
    return series


class WithStatsView(PublicReadView):
    @extend_schema(
        operation_id="category_statistics_with_stats",
        parameters=[
            CATEGORY_PATH,
            OpenApiParameter("include_workers", OpenApiTypes.BOOL),
            OpenApiParameter("include_backend_variations", OpenApiTypes.BOOL),
            OpenApiParameter(
                "min_worker_count",
                OpenApiTypes.INT,
                description="Keep models with at least this many workers.",
            ),
            OpenApiParameter(
                "sort_by",
                OpenApiTypes.STR,
                description="worker_count, usage_total, usage_month or name; anything else keeps the order",
            ),
            OpenApiParameter("sort_desc", OpenApiTypes.BOOL, description="default true"),
            OpenApiParameter(
                "history",
                OpenApiTypes.STR,
                description="`<N>d`: add a daily series per model (beyond the established service).",
            ),
        ],
        responses={
            200: OpenApiResponse(
                {"type": "object", "additionalProperties": COMBINED_SCHEMA},
                description="`{model name: CombinedModelStatistics}`. " + STATS_HEADERS_TEXT,
            ),
            400: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
            503: NO_SNAPSHOT_RESPONSE,
        },
        tags=["statistics"],
        description="Each reference model with its AI Horde workers, queue and usage "
        "(the latest stored snapshot).",
    )
    def get(self, request: Request, category: str) -> HttpResponse:
        query = request.query_params
        errors = QueryErrors()
        category = category_param(category, loc="category")
        workers = bool(bool_param(query, "include_workers", errors))
        variations = bool(bool_param(query, "include_backend_variations", errors))
        min_workers = (
            int_param(query, "min_worker_count", 0, 0, MAX_OFFSET, errors)
            if "min_worker_count" in query
            else None
        )
        sort_desc = bool_param(query, "sort_desc", errors)
        sort_by = query.get("sort_by")
        history = _history_days(errors, query.get("history"))
        errors.raise_if_any()
        _horde_category(category)
        token, records = category_v2_records(category)
        if not records:
            raise DomainError(f"Category '{category}' not found", status=404)
        loaded = _latest(category)
        sort_by = sort_by if sort_by in ("worker_count", "usage_total", "usage_month", "name") else None
        key = with_stats_key(
            token, workers, variations, min_workers, sort_by, sort_desc is not False, history
        )

        def build() -> bytes:
            items = [
                (
                    name,
                    combined_statistics(
                        loaded, name, include_workers=workers, include_backend_variations=variations
                    ),
                )
                for name in records
            ]
            if min_workers is not None:
                # The established service counts worker_summaries here, so without
                # include_workers it dropped every model; the worker count is meant.
                items = [item for item in items if item[1]["worker_count"] >= min_workers]
            if sort_by is not None:
                items.sort(key=with_stats_sort_key(sort_by), reverse=sort_desc is not False)
            if history is not None:
                series = _history(category, loaded, [name for name, _ in items], history)
                items = [(name, stats | {"history": series[name]}) for name, stats in items]
            return orjson.dumps(dict(items))

        return _snapshot_answer(loaded, key, build)


class DeletionRiskView(PublicReadView):
    @extend_schema(
        operation_id="category_deletion_risk",
        parameters=[
            CATEGORY_PATH,
            OpenApiParameter("group_text_models", OpenApiTypes.BOOL),
            OpenApiParameter("include_backend_variations", OpenApiTypes.BOOL),
            OpenApiParameter("preset", OpenApiTypes.STR, enum=list(PRESETS)),
            OpenApiParameter("limit", OpenApiTypes.INT, description=">= 1"),
            OpenApiParameter("offset", OpenApiTypes.INT, description=">= 0"),
        ],
        responses={
            200: OpenApiResponse(DELETION_RISK_SCHEMA, description=STATS_HEADERS_TEXT),
            400: ERROR_RESPONSE,
            404: ERROR_RESPONSE,
            422: VALIDATION_RESPONSE,
            503: NO_SNAPSHOT_RESPONSE,
        },
        tags=["statistics"],
        description="Per model: deletion-risk flags, risk score and usage; a summary; preset filters.",
    )
    def get(self, request: Request, category: str) -> HttpResponse:
        query = request.query_params
        errors = QueryErrors()
        category = category_param(category, loc="category")
        grouped = bool(bool_param(query, "group_text_models", errors))
        variations = bool(bool_param(query, "include_backend_variations", errors))
        limit = _optional_limit(query, errors)
        offset = int_param(query, "offset", 0, 0, MAX_OFFSET, errors)
        preset = query.get("preset")
        errors.raise_if_any()
        if statistics_horde_type(category) is None:
            raise DomainError(
                "Deletion risk analysis is only supported for image_generation and "
                "text_generation categories",
                status=400,
            )
        if preset is not None and preset not in PRESETS:
            raise DomainError(
                f"Invalid preset: Unknown preset: {preset!r}. Valid presets: {', '.join(PRESETS)}", status=400
            )
        token, records = _records_or_404(category)
        loaded = _latest(category)
        is_text = category == "text_generation"
        grouped = grouped and is_text
        variations = variations and is_text and not grouped
        key = deletion_risk_key(token, grouped, variations, preset, limit, offset)
        return _snapshot_answer(
            loaded,
            key,
            lambda: orjson.dumps(
                _deletion_risk(category, records, loaded, grouped, variations, preset, limit, offset)
            ),
        )


def _deletion_risk(
    category: str,
    records: Mapping[str, Any],
    loaded: LoadedStatistics,
    grouped: bool,
    variations: bool,
    preset: str | None,
    limit: int | None,
    offset: int,
) -> dict[str, Any]:
    names = list(records)
    stats = {name: combined_statistics(loaded, name, include_backend_variations=variations) for name in names}
    # A model the AI Horde does not know at all gets no usage flags (as established).
    known = {
        name
        for name in names
        if stats[name]["usage_stats"] is not None or stats[name]["performance"] is not None
    }
    total_month = sum((s["usage_stats"] or {}).get("month", 0) for s in stats.values())
    links = model_link_problems(category, names)
    models = [
        model_deletion_risk(
            name=name,
            category=category,
            record=records[name],
            stats=stats[name] if name in known else None,
            horde_type=loaded.horde_type,
            category_total_month=total_month,
            link_flags=links.get(name, {}),
        )
        for name in names
    ]
    models.sort(key=lambda m: m["usage_month"], reverse=True)
    if grouped:
        models = group_deletion_risk(models)
    total_count = len(models)
    if preset is not None:
        models = [m for m in models if preset_keeps(preset, m)]
        limit, offset = None, 0
    summary = deletion_risk_summary(models, total_month)
    page = models[offset : None if limit is None else offset + limit]
    return {
        "category": category,
        "category_total_month_usage": total_month,
        "total_count": total_count,
        "returned_count": len(page),
        "offset": offset,
        "limit": limit,
        "models": page,
        "summary": summary,
        "computed_at": int(loaded.fetched_at),
    }


class PopularView(PublicReadView):
    @extend_schema(
        operation_id="read_v2_popular",
        parameters=[
            OpenApiParameter(
                "model_category_name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=CATEGORY_VALUES
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-100, default 10"),
            OpenApiParameter("sort_by", OpenApiTypes.STR, enum=list(POPULAR_SORTS)),
            OpenApiParameter("include_workers", OpenApiTypes.BOOL),
        ],
        responses={
            200: OpenApiResponse(POPULAR_SCHEMA, description=STATS_HEADERS_TEXT),
            422: VALIDATION_RESPONSE,
            503: NO_SNAPSHOT_RESPONSE,
        },
        tags=["v2"],
        description="The category's most used models by AI Horde statistics (`[]` for categories "
        "the AI Horde keeps none for).",
    )
    def get(self, request: Request, model_category_name: str) -> HttpResponse:
        query = request.query_params
        errors = QueryErrors()
        category = category_param(model_category_name)
        limit = int_param(query, "limit", 10, 1, 100, errors)
        workers = bool(bool_param(query, "include_workers", errors))
        sort_by = query.get("sort_by", "worker_count")
        if sort_by not in POPULAR_SORTS:
            errors.add(
                "sort_by",
                "Input should be " + ", ".join(f"'{s}'" for s in POPULAR_SORTS),
                "literal_error",
                sort_by,
            )
        errors.raise_if_any()
        if statistics_horde_type(category) is None:
            return _json(b"[]")
        token, records = category_v2_records(category)
        if not records:
            return _json(b"[]")
        loaded = _latest(category)
        key = ("popular", token, limit, sort_by, workers)

        def build() -> bytes:
            ranked = [(name, combined_statistics(loaded, name, include_workers=workers)) for name in records]
            ranked.sort(key=lambda item: _popular_value(item[1], sort_by), reverse=True)
            return orjson.dumps(
                [
                    {
                        "name": name,
                        "record": {k: v for k, v in records[name].items() if v is not None},
                        "stats": {k: v for k, v in stats.items() if k != "backend_variations"},
                    }
                    for name, stats in ranked[:limit]
                ]
            )

        return _snapshot_answer(loaded, key, build)


def _popular_value(stats: dict[str, Any], sort_by: str) -> int:
    if sort_by == "worker_count":
        return int(stats["worker_count"])
    usage = stats["usage_stats"] or {}
    return int(usage.get(sort_by.removeprefix("usage_"), 0))


#: Where the statistics routes are mounted below the API root, and the two routes whose
#: default answers the fast path (``sync.fast_path``) serves from memory: the URL
#: patterns and its matcher are both made from these.
STATISTICS_PREFIX = "model_references/statistics/"
FAST_ROUTES = {"with-stats": "<str:category>/with-stats", "deletion-risk": "<str:category>/deletion-risk"}

statistics_urlpatterns = [
    path(FAST_ROUTES["with-stats"], WithStatsView.as_view(), name="statistics-with-stats"),
    path(FAST_ROUTES["deletion-risk"], DeletionRiskView.as_view(), name="statistics-deletion-risk"),
    path("<str:category>", CategoryStatisticsView.as_view(), name="statistics-category"),
]
