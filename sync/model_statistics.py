"""Pure computations behind the statistics routes: no I/O, no Django.

``LoadedStatistics`` is one stored snapshot held in memory; ``combined_statistics``
matches reference names to the AI Horde's names (backend prefixes, authors and quant
variants, as the established service does, §7.2); ``deletion_risk`` and
``category_statistics`` build the established response shapes (§7.3, §7.1).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from horde_model_reference.text_model_parser import (
    get_base_model_name,
    normalize_model_name,
    parse_text_model_name,
    split_author,
)

HordeModelType = Literal["image", "text"]
#: The categories the AI Horde reports statistics for, and its name for each.
STATISTICS_CATEGORIES: dict[str, HordeModelType] = {"image_generation": "image", "text_generation": "text"}
BACKENDS = ("aphrodite", "koboldcpp")
PREFERRED_FILE_HOSTS = ("huggingface.co",)
# The established thresholds (percent of the category's monthly usage).
LOW_USAGE_THRESHOLD_PERCENT: dict[HordeModelType, float] = {"image": 0.0065, "text": 0.02}
TEXT_CRITICAL_USAGE = 10
TEXT_CRITICAL_WORKERS = 1
DELETION_CANDIDATE_SHARE_PERCENT = 0.01
PRESETS = (
    "deletion_candidates",
    "zero_usage",
    "no_workers",
    "missing_data",
    "host_issues",
    "critical",
    "low_usage",
)
HOST_FLAGS = ("has_multiple_hosts", "has_non_preferred_host", "has_unknown_host", "no_download_urls")


@dataclass(frozen=True)
class HordeModelRow:
    """One AI Horde model name of a snapshot."""

    name: str
    workers: int
    queued: float
    jobs: float
    performance: float
    eta: int
    in_status: bool
    usage_day: int
    usage_month: int
    usage_total: int


@dataclass(frozen=True)
class WorkerRow:
    worker_id: str
    name: str
    performance: str
    online: bool | None
    trusted: bool | None
    uptime: int | None
    model_names: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.worker_id,
            "name": self.name,
            "performance": self.performance or None,
            "online": self.online,
            "trusted": self.trusted,
            "uptime": self.uptime,
        }


def backend_of(horde_name: str) -> str:
    """``aphrodite``, ``koboldcpp`` or ``canonical``."""
    prefix, slash, _ = horde_name.partition("/")
    return prefix.lower() if slash and prefix.lower() in BACKENDS else "canonical"


def unquantized_key(name: str) -> str:
    """A name with backend prefix, author and quant token stripped, normalised: the key
    under which quant variants of one model (and its backend spellings) meet."""
    model = split_author(name)[1]
    key = normalize_model_name(model)
    quant = parse_text_model_name(model).quant
    if quant:
        key = key.replace(normalize_model_name(quant), "")
    return re.sub("_+", "_", key).strip("_")


def name_variants(name: str, horde_type: HordeModelType) -> list[str]:
    """The exact names the AI Horde may list a reference model under (lower case)."""
    if horde_type != "text":
        return [name.lower()]
    return [name.lower(), f"aphrodite/{name}".lower(), f"koboldcpp/{name.rsplit('/', 1)[-1]}".lower()]


@dataclass
class LoadedStatistics:
    """One complete snapshot of a category, indexed for matching; computed answers are
    memoised on it (a snapshot never changes once stored)."""

    snapshot_id: int
    category: str
    horde_type: HordeModelType
    fetched_at: float
    models: dict[str, HordeModelRow]
    workers: list[WorkerRow]
    by_key: dict[str, list[HordeModelRow]] = field(default_factory=dict)
    workers_by_model: dict[str, list[WorkerRow]] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    #: ``time.monotonic()`` when SQL last confirmed no newer snapshot exists.
    verified_at: float = 0.0
    #: When a fast-path caller last went to re-confirm it (see ``statistics_in_memory``).
    refresh_claimed_at: float = 0.0

    @classmethod
    def build(
        cls,
        *,
        snapshot_id: int,
        category: str,
        horde_type: HordeModelType,
        fetched_at: float,
        models: Iterable[HordeModelRow],
        workers: Iterable[WorkerRow],
    ) -> LoadedStatistics:
        by_name = {row.name.lower(): row for row in models}
        loaded = cls(
            snapshot_id=snapshot_id,
            category=category,
            horde_type=horde_type,
            fetched_at=fetched_at,
            models=by_name,
            workers=list(workers),
        )
        if horde_type == "text":
            for row in by_name.values():
                loaded.by_key.setdefault(unquantized_key(row.name), []).append(row)
        for worker in loaded.workers:
            for model in worker.model_names:
                loaded.workers_by_model.setdefault(model.lower(), []).append(worker)
        return loaded


@dataclass(frozen=True)
class Matched:
    """What a reference model matched in a snapshot."""

    best: HordeModelRow | None
    usage_rows: tuple[HordeModelRow, ...]
    variants: tuple[str, ...]

    @property
    def found(self) -> bool:
        return self.best is not None or bool(self.usage_rows)


def match(loaded: LoadedStatistics, name: str) -> Matched:
    variants = name_variants(name, loaded.horde_type)
    exact = [loaded.models[v] for v in variants if v in loaded.models]
    statuses = [row for row in exact if row.in_status]
    # The busiest spelling speaks for the model, as in the established service.
    best = max(statuses, key=lambda row: row.workers, default=None)
    rows = {row.name.lower(): row for row in exact}
    if loaded.horde_type == "text":
        for row in loaded.by_key.get(unquantized_key(name), ()):
            rows.setdefault(row.name.lower(), row)
    return Matched(best=best, usage_rows=tuple(rows.values()), variants=tuple(variants))


def _usage(rows: Iterable[HordeModelRow]) -> dict[str, int]:
    usage = {"day": 0, "month": 0, "total": 0}
    for row in rows:
        usage["day"] += row.usage_day
        usage["month"] += row.usage_month
        usage["total"] += row.usage_total
    return usage


def _backend_variations(loaded: LoadedStatistics, name: str, matched: Matched) -> dict[str, Any]:
    variant_names = dict(zip(("canonical", *BACKENDS), name_variants(name, "text"), strict=False))
    variations: dict[str, Any] = {}
    for backend in ("canonical", *BACKENDS) if loaded.horde_type == "text" else ("canonical",):
        rows = [row for row in matched.usage_rows if backend_of(row.name) == backend]
        if not rows:
            continue
        usage = _usage(rows)
        busiest = max(rows, key=lambda row: row.workers)
        variations[backend] = {
            "backend": backend,
            "variant_name": busiest.name if busiest.in_status else variant_names.get(backend, name),
            "worker_count": sum(row.workers for row in rows),
            "performance": busiest.performance if busiest.in_status else None,
            "queued": sum(row.queued for row in rows),
            "queued_jobs": sum(row.jobs for row in rows),
            "eta": busiest.eta if busiest.in_status else None,
            "usage_day": usage["day"],
            "usage_month": usage["month"],
            "usage_total": usage["total"],
        }
    return variations


def combined_statistics(
    loaded: LoadedStatistics,
    name: str,
    *,
    include_workers: bool = False,
    include_backend_variations: bool = False,
) -> dict[str, Any]:
    """A reference model's ``CombinedModelStatistics`` (§7.2), nulls included."""
    matched = match(loaded, name)
    best = matched.best
    summaries: dict[str, Any] | None = None
    if include_workers:
        summaries = {}
        for variant in matched.variants:
            for worker in loaded.workers_by_model.get(variant, ()):
                summaries[worker.worker_id] = worker.summary()
    usage = _usage(matched.usage_rows)
    worker_count = len(summaries) if summaries is not None else (best.workers if best is not None else 0)
    return {
        "worker_count": worker_count,
        "queued_jobs": best.jobs if best is not None else None,
        "performance": best.performance if best is not None else None,
        "eta": best.eta if best is not None else None,
        "queued": best.queued if best is not None else None,
        "usage_stats": usage if any(usage.values()) else None,
        "worker_summaries": summaries,
        "backend_variations": (
            _backend_variations(loaded, name, matched) if include_backend_variations else None
        ),
    }


def with_stats_sort_key(sort_by: str) -> Any:
    def key(item: tuple[str, dict[str, Any]]) -> Any:
        name, stats = item
        if sort_by == "name":
            return name.lower()
        if sort_by == "worker_count":
            return stats["worker_count"]
        usage = stats["usage_stats"] or {}
        return usage.get("total" if sort_by == "usage_total" else "month", 0)

    return key


# --- deletion risk (§7.3) ---


def _download_urls(record: Mapping[str, Any]) -> list[str]:
    config = record.get("config")
    downloads = config.get("download") if isinstance(config, Mapping) else None
    if not isinstance(downloads, list):
        return []
    return [str(d.get("file_url") or "") for d in downloads if isinstance(d, Mapping)]


def _hosts(urls: Iterable[str]) -> tuple[list[str], bool]:
    hosts: list[str] = []
    unknown = False
    for url in urls:
        try:
            host = urlsplit(url).netloc.lower()
        except ValueError:
            host = ""
        if not host:
            unknown = True
        elif host not in hosts:
            hosts.append(host)
    return hosts, unknown


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def model_deletion_risk(
    *,
    name: str,
    category: str,
    record: Mapping[str, Any],
    stats: dict[str, Any] | None,
    horde_type: HordeModelType,
    category_total_month: int,
    link_flags: Mapping[str, bool],
) -> dict[str, Any]:
    """One model's entry of ``CategoryDeletionRiskResponse.models``."""
    urls = _download_urls(record)
    hosts, unknown_host = _hosts(urls)
    flags = dict.fromkeys(
        (
            "zero_usage_day",
            "zero_usage_month",
            "zero_usage_total",
            "no_active_workers",
            "has_multiple_hosts",
            "has_non_preferred_host",
            "has_unknown_host",
            "no_download_urls",
            "missing_description",
            "missing_baseline",
            "low_usage",
        ),
        False,
    )
    # Text workers download from wherever they like: the established default ignores hosts.
    if horde_type != "text":
        flags["no_download_urls"] = not urls
        flags["has_multiple_hosts"] = len(hosts) > 1
        flags["has_non_preferred_host"] = bool(hosts) and not any(
            preferred in host for host in hosts for preferred in PREFERRED_FILE_HOSTS
        )
        flags["has_unknown_host"] = unknown_host
    description = record.get("description")
    flags["missing_description"] = not (isinstance(description, str) and description.strip())
    flags["missing_baseline"] = not record.get("baseline")
    usage = (stats or {}).get("usage_stats") or {"day": 0, "month": 0, "total": 0}
    worker_count = int((stats or {}).get("worker_count") or 0)
    if stats is not None:
        flags["no_active_workers"] = worker_count == 0
        # Unlike the established service (which sets these only when some usage exists),
        # a model the AI Horde knows with no usage at all is flagged as unused.
        flags["zero_usage_day"] = usage["day"] == 0
        flags["zero_usage_month"] = usage["month"] == 0
        flags["zero_usage_total"] = usage["total"] == 0
        if category_total_month > 0:
            share = usage["month"] / category_total_month * 100
            flags["low_usage"] = share < LOW_USAGE_THRESHOLD_PERCENT[horde_type]
    for flag, value in link_flags.items():
        flags[flag] = bool(value)
    share_percent = usage["month"] / category_total_month * 100 if category_total_month else 0.0
    size_bytes = record.get("size_on_disk_bytes")
    size_gb = (
        round(size_bytes / 1024**3, 2)
        if horde_type == "image" and isinstance(size_bytes, int) and size_bytes > 0
        else None
    )
    if horde_type == "text":
        is_critical = usage["month"] < TEXT_CRITICAL_USAGE and worker_count < TEXT_CRITICAL_WORKERS
    else:
        is_critical = flags["zero_usage_month"] and flags["no_active_workers"]
    risk_score = sum(1 for value in flags.values() if value)
    return {
        "name": name,
        "category": category,
        "deletion_risk_flags": flags,
        "at_risk": risk_score > 0,
        "risk_score": risk_score,
        "worker_count": worker_count,
        "usage_day": usage["day"],
        "usage_month": usage["month"],
        "usage_total": usage["total"],
        "usage_hour": None,
        "usage_minute": None,
        "usage_percentage_of_category": round(share_percent, 4),
        "usage_trend": {
            "day_to_month_ratio": _round(usage["day"] / usage["month"], 4) if usage["month"] else None,
            "month_to_total_ratio": _round(usage["month"] / usage["total"], 4) if usage["total"] else None,
        },
        "cost_benefit_score": round(usage["month"] / size_gb, 2) if size_gb else None,
        "size_gb": size_gb,
        "baseline": record.get("baseline"),
        "nsfw": record.get("nsfw"),
        "has_description": not flags["missing_description"],
        "download_count": len(urls),
        "download_hosts": hosts,
        "backend_variations": (stats or {}).get("backend_variations"),
        "is_critical": is_critical,
        "has_warning": any(flags[flag] for flag in HOST_FLAGS),
    }


def _weighted_trend(members: list[dict[str, Any]], key: str) -> float | None:
    known: list[tuple[float, int]] = [
        (float(m["usage_trend"][key]), max(int(m["usage_month"]), 0))
        for m in members
        if m["usage_trend"][key] is not None
    ]
    if not known:
        return None
    weight = sum(w for _, w in known)
    if weight == 0:
        return round(sum(v for v, _ in known) / len(known), 4)
    return round(sum(v * w for v, w in known) / weight, 4)


def group_deletion_risk(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text variants merged by base name: usage summed, workers the maximum, flags OR-ed,
    hosts united, size averaged, the trend weighted by monthly usage."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for model in models:
        groups.setdefault(get_base_model_name(model["name"]), []).append(model)
    merged: list[dict[str, Any]] = []
    for base, members in groups.items():
        if len(members) == 1:
            merged.append(members[0] | {"name": base})
            continue
        first = members[0]
        flags = {
            key: any(m["deletion_risk_flags"][key] for m in members) for key in first["deletion_risk_flags"]
        }
        usage = {key: sum(m[key] for m in members) for key in ("usage_day", "usage_month", "usage_total")}
        sizes = [m["size_gb"] for m in members if m["size_gb"]]
        size_gb = round(sum(sizes) / len(sizes), 2) if sizes else None
        trend = {key: _weighted_trend(members, key) for key in ("day_to_month_ratio", "month_to_total_ratio")}
        hosts: list[str] = []
        for member in members:
            hosts.extend(host for host in member["download_hosts"] if host not in hosts)
        risk_score = sum(1 for value in flags.values() if value)
        merged.append(
            first
            | usage
            | {
                "name": base,
                "deletion_risk_flags": flags,
                "at_risk": risk_score > 0,
                "risk_score": risk_score,
                "worker_count": max(m["worker_count"] for m in members),
                "usage_percentage_of_category": round(
                    sum(m["usage_percentage_of_category"] for m in members), 4
                ),
                "usage_trend": trend,
                "size_gb": size_gb,
                "cost_benefit_score": round(usage["usage_month"] / size_gb, 2) if size_gb else None,
                "download_count": sum(m["download_count"] for m in members),
                "download_hosts": hosts,
                "is_critical": all(m["is_critical"] for m in members),
                "has_warning": any(flags[flag] for flag in HOST_FLAGS),
                "has_description": any(m["has_description"] for m in members),
            }
        )
    merged.sort(key=lambda m: m["usage_month"], reverse=True)
    return merged


def preset_keeps(preset: str, model: dict[str, Any]) -> bool:
    flags = model["deletion_risk_flags"]
    if preset == "deletion_candidates":
        return bool(
            model["at_risk"]
            or model["usage_percentage_of_category"] < DELETION_CANDIDATE_SHARE_PERCENT
            or model["worker_count"] == 0
        )
    if preset == "zero_usage":
        return bool(model["usage_month"] == 0)
    if preset == "no_workers":
        return bool(model["worker_count"] == 0)
    if preset == "missing_data":
        return bool(flags["missing_description"] or flags["missing_baseline"])
    if preset == "host_issues":
        return any(flags[flag] for flag in HOST_FLAGS)
    if preset == "critical":
        return bool(model["is_critical"])
    return bool(flags["low_usage"])


def deletion_risk_summary(models: list[dict[str, Any]], category_total_month: int) -> dict[str, Any]:
    def count(flag: str) -> int:
        return sum(1 for m in models if m["deletion_risk_flags"].get(flag))

    return {
        "total_models": len(models),
        "models_at_risk": sum(1 for m in models if m["at_risk"]),
        "models_critical": sum(1 for m in models if m["is_critical"]),
        "models_with_warnings": sum(1 for m in models if m["has_warning"]),
        "models_with_zero_day_usage": count("zero_usage_day"),
        "models_with_zero_month_usage": count("zero_usage_month"),
        "models_with_zero_total_usage": count("zero_usage_total"),
        "models_with_no_active_workers": count("no_active_workers"),
        "models_with_no_downloads": count("no_download_urls"),
        "models_with_non_preferred_hosts": count("has_non_preferred_host"),
        "models_with_multiple_hosts": count("has_multiple_hosts"),
        "models_with_low_usage": count("low_usage"),
        "average_risk_score": round(sum(m["risk_score"] for m in models) / len(models), 2) if models else 0.0,
        "category_total_month_usage": category_total_month,
    }


# --- category statistics from the registry (§7.1) ---

PARAMETER_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("< 3B", 0, 3_000_000_000),
    ("3B-6B", 3_000_000_000, 6_000_000_000),
    ("6B-9B", 6_000_000_000, 9_000_000_000),
    ("9B-13B", 9_000_000_000, 13_000_000_000),
    ("13B-20B", 13_000_000_000, 20_000_000_000),
    ("20B-35B", 20_000_000_000, 35_000_000_000),
    ("35B-70B", 35_000_000_000, 70_000_000_000),
    ("> 70B", 70_000_000_000, None),
)


def _percent(count: int, total: int) -> float:
    return round(count / total * 100, 2) if total else 0.0


def group_text_records(records: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Text records merged by base name: the first kept (renamed), the others' downloads appended."""
    grouped: dict[str, dict[str, Any]] = {}
    for name, record in records.items():
        base = get_base_model_name(name)
        if base not in grouped:
            grouped[base] = dict(record) | {"name": base}
            continue
        kept = grouped[base]
        config = dict(kept.get("config") or {})
        config["download"] = list(config.get("download") or []) + list(
            (record.get("config") or {}).get("download") or []
        )
        kept["config"] = config
    return grouped


def category_statistics(
    category: str, records: Mapping[str, Mapping[str, Any]], *, is_text: bool, is_image: bool
) -> dict[str, Any]:
    """``CategoryStatistics`` (§7.1) without paging and ``computed_at`` (the caller adds them)."""
    total = len(records)
    baselines = Counter(str(r.get("baseline")) for r in records.values() if r.get("baseline"))
    tags: Counter[str] = Counter()
    styles: Counter[str] = Counter()
    hosts: Counter[str] = Counter()
    with_downloads = entries = with_size = 0
    size_total = 0
    params_missing = 0
    buckets = [0] * len(PARAMETER_BUCKETS)
    for record in records.values():
        for tag in record.get("tags") or ():
            if isinstance(tag, str):
                tags[tag] += 1
        if isinstance(record.get("style"), str) and record["style"]:
            styles[record["style"]] += 1
        urls = _download_urls(record)
        if urls:
            with_downloads += 1
            entries += len(urls)
            for url in urls:
                host = urlsplit(url).netloc.lower() if url else ""
                if host:
                    hosts[host] += 1
        size = record.get("size_on_disk_bytes")
        if isinstance(size, int) and size > 0:
            with_size += 1
            size_total += size
        if is_text:
            # The established code reads `parameters_count`, which stored records never
            # carry (every text model lands in "no parameter info"); `parameters` is it.
            params = record.get("parameters", record.get("parameters_count"))
            if isinstance(params, int) and params > 0:
                for index, (_, low, high) in enumerate(PARAMETER_BUCKETS):
                    if params >= low and (high is None or params < high):
                        buckets[index] += 1
                        break
            else:
                params_missing += 1
    result: dict[str, Any] = {
        "category": category,
        "total_models": total,
        "returned_models": total,
        "nsfw_count": sum(1 for r in records.values() if r.get("nsfw")),
        "baseline_distribution": {
            baseline: {"baseline": baseline, "count": count, "percentage": _percent(count, total)}
            for baseline, count in baselines.most_common()
        },
        "download_stats": {
            "total_models_with_downloads": with_downloads,
            "total_download_entries": entries,
            "total_size_bytes": size_total,
            "models_with_size_info": with_size,
            "average_size_bytes": round(size_total / with_size, 2) if with_size else 0.0,
            "hosts": dict(hosts.most_common()),
        },
        "top_tags": [
            {"tag": tag, "count": count, "percentage": _percent(count, total)}
            for tag, count in tags.most_common(20)
        ],
        "top_styles": [
            {"tag": style, "count": count, "percentage": _percent(count, total)}
            for style, count in styles.most_common(20)
        ],
        "parameter_buckets": (
            [
                {
                    "bucket_label": label,
                    "min_params": low,
                    "max_params": high,
                    "count": buckets[index],
                    "percentage": _percent(buckets[index], total),
                }
                for index, (label, low, high) in enumerate(PARAMETER_BUCKETS)
            ]
            if is_text
            else None
        ),
        "models_without_param_info": params_missing if is_text else 0,
        "models_with_trigger_words": sum(1 for r in records.values() if r.get("trigger"))
        if is_image
        else None,
        "models_with_inpainting": sum(1 for r in records.values() if r.get("inpainting"))
        if is_image
        else None,
        "models_with_requirements": sum(1 for r in records.values() if r.get("requirements"))
        if is_image
        else None,
        "models_with_showcases": sum(1 for r in records.values() if r.get("showcases")),
    }
    return result
