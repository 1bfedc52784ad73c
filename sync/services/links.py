"""Download-link health: every ``file_url`` of every record, checked and stored.

A check is a HEAD, or a ranged GET (``Range: bytes=0-0``) where the host refuses HEAD
(405, 403, 501), so no file is ever downloaded. Checks run concurrently on one event
loop with a bound overall and per host (file hosts throttle bursts), each within a
timeout; redirects are followed up to a bound and the host that finally answered is
recorded. The results replace the previous ones (``DownloadLinkCheck``, keeping the
previous status) in one transaction; the run is a ``SyncRun`` of kind ``links``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from references.selectors import registry_payloads
from sync.models import DownloadLinkCheck, LinkStatus, SyncRun
from sync.services.runs import lease_holder, run_finish, run_skipped, sync_lease_acquire, sync_lease_release

logger = logging.getLogger(__name__)

KIND = SyncRun.Kind.LINKS
# Hosts that refuse HEAD answer one of these; the ranged GET then asks for one byte.
HEAD_REFUSED = frozenset({403, 405, 501})
LOGIN_STATUSES = frozenset({401, 403})
# A redirect to one of these paths is a sign-in wall, not a file (civitai, gated mirrors).
LOGIN_PATH = re.compile(
    r"/(log-?in|sign-?in|sign_in|auth(?:enticate)?|account/login|users/sign_in)(/|$|\?)", re.I
)
USER_AGENT = "horde-model-reference-link-check/1"


@dataclass(frozen=True)
class LinkTarget:
    category: str
    model_name: str
    url: str


@dataclass(frozen=True)
class LinkResult:
    status: str
    http_status: int | None
    size_bytes: int | None
    final_host: str
    elapsed_ms: int
    detail: str = ""


def _download_urls(payload: Any) -> list[str]:
    """The ``config.download[].file_url`` values of a v2 payload (every category shares them)."""
    config = payload.get("config") if isinstance(payload, dict) else None
    downloads = config.get("download") if isinstance(config, dict) else None
    urls: list[str] = []
    for entry in downloads if isinstance(downloads, list) else []:
        url = entry.get("file_url") if isinstance(entry, dict) else None
        if isinstance(url, str) and url.strip() and url not in urls:
            urls.append(url)
    return urls


def link_targets() -> list[LinkTarget]:
    """Every (category, model, url) the registry lists, in document order."""
    return [
        LinkTarget(category=category, model_name=name, url=url)
        for category, name, payload in registry_payloads()
        for url in _download_urls(payload)
    ]


def _host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def _size_of(response: httpx.Response) -> int | None:
    content_range = response.headers.get("content-range", "")
    match = re.fullmatch(r"\s*bytes\s+[^/]*/(\d+)\s*", content_range)
    if match:
        return int(match.group(1))
    if response.status_code == 206:
        return None  # a partial answer's Content-Length is the part's, not the file's
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def _is_dns_failure(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _went_to_login(response: httpx.Response) -> bool:
    hops = [*response.history, response]
    return any(LOGIN_PATH.search(hop.url.raw_path.decode("ascii", "replace")) for hop in hops[1:])


def _classify(response: httpx.Response, elapsed: float, slow_seconds: float) -> str:
    code = response.status_code
    if code in LOGIN_STATUSES or _went_to_login(response):
        return LinkStatus.LOGIN_REQUIRED
    if code >= 400 or code < 200:
        return LinkStatus.BROKEN
    return LinkStatus.SLOW if elapsed > slow_seconds else LinkStatus.OK


async def _probe(client: httpx.AsyncClient, url: str) -> httpx.Response:
    response = await client.head(url)
    if response.status_code in HEAD_REFUSED:
        # Stream so that a host ignoring the Range header does not send us the file.
        request = client.build_request("GET", url, headers={"Range": "bytes=0-0"})
        ranged = await client.send(request, stream=True)
        await ranged.aclose()
        return ranged
    return response


async def _check_one(
    client: httpx.AsyncClient,
    url: str,
    *,
    overall: asyncio.Semaphore,
    per_host: asyncio.Semaphore,
    timeout: float,
    slow_seconds: float,
) -> LinkResult:
    # Host first, then the overall slot, so a queue for one busy host never holds
    # overall slots other hosts could use.
    async with per_host, overall:
        started = time.monotonic()

        def took() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            # The client's timeout bounds each read; this bounds the whole check,
            # redirects and the fallback GET included.
            response = await asyncio.wait_for(_probe(client, url), timeout=timeout * 2)
        except (TimeoutError, httpx.TimeoutException):
            return LinkResult(
                LinkStatus.SLOW, None, None, _host_of(url), took(), f"no answer within {timeout:g} s"
            )
        except httpx.TooManyRedirects:
            return LinkResult(LinkStatus.BROKEN, None, None, _host_of(url), took(), "too many redirects")
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as error:
            status = LinkStatus.UNKNOWN_HOST if _is_dns_failure(error) else LinkStatus.BROKEN
            detail = f"{type(error).__name__}: {error}"[:500]
            return LinkResult(status, None, None, _host_of(url), took(), detail)
        elapsed = time.monotonic() - started
        return LinkResult(
            status=_classify(response, elapsed, slow_seconds),
            http_status=response.status_code,
            size_bytes=_size_of(response) if response.status_code < 300 else None,
            final_host=response.url.netloc.decode("ascii", "replace").lower(),
            elapsed_ms=took(),
        )


async def _check_all(urls: Iterable[str]) -> dict[str, LinkResult]:
    concurrency = max(1, int(settings.LINK_CHECK_CONCURRENCY))
    per_host_limit = max(1, int(settings.LINK_CHECK_PER_HOST))
    timeout = float(settings.LINK_CHECK_TIMEOUT_SECONDS)
    slow_seconds = float(settings.LINK_CHECK_SLOW_SECONDS)
    overall = asyncio.Semaphore(concurrency)
    hosts: dict[str, asyncio.Semaphore] = {}
    async with httpx.AsyncClient(
        follow_redirects=True,
        max_redirects=max(0, int(settings.LINK_CHECK_MAX_REDIRECTS)),
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    ) as client:
        unique = list(dict.fromkeys(urls))
        checks = [
            _check_one(
                client,
                url,
                overall=overall,
                per_host=hosts.setdefault(_host_of(url), asyncio.Semaphore(per_host_limit)),
                timeout=timeout,
                slow_seconds=slow_seconds,
            )
            for url in unique
        ]
        results = await asyncio.gather(*checks)
    return dict(zip(unique, results, strict=True))


def check_urls(urls: Iterable[str]) -> dict[str, LinkResult]:
    """Check each URL once (no database): ``{url: result}``."""
    return asyncio.run(_check_all(urls))


@transaction.atomic
def link_checks_store(
    *, targets: list[LinkTarget], results: dict[str, LinkResult], checked_at: datetime
) -> int:
    """Replace the stored results with ``results``; returns the rows removed (URLs gone)."""
    existing = {
        (row.category, row.model_name, row.url): row for row in DownloadLinkCheck.objects.select_for_update()
    }
    wanted: set[tuple[str, str, str]] = set()
    to_create: list[DownloadLinkCheck] = []
    to_update: list[DownloadLinkCheck] = []
    for target in targets:
        key = (target.category, target.model_name, target.url)
        if key in wanted:
            continue
        wanted.add(key)
        result = results[target.url]
        fields = {
            "status": result.status,
            "http_status": result.http_status,
            "size_bytes": result.size_bytes,
            "final_host": result.final_host[:255],
            "elapsed_ms": result.elapsed_ms,
            "detail": result.detail[:500],
            "checked_at": checked_at,
        }
        row = existing.get(key)
        if row is None:
            to_create.append(DownloadLinkCheck(category=key[0], model_name=key[1], url=key[2], **fields))
        else:
            row.previous_status = row.status
            for name, value in fields.items():
                setattr(row, name, value)
            to_update.append(row)
    gone = [row.pk for key, row in existing.items() if key not in wanted]
    DownloadLinkCheck.objects.filter(pk__in=gone).delete()
    DownloadLinkCheck.objects.bulk_create(to_create, batch_size=500)
    DownloadLinkCheck.objects.bulk_update(
        to_update,
        [
            "previous_status",
            "status",
            "http_status",
            "size_bytes",
            "final_host",
            "elapsed_ms",
            "detail",
            "checked_at",
        ],
        batch_size=500,
    )
    return len(gone)


def links_check(*, trigger: str = SyncRun.Trigger.COMMAND, raise_errors: bool = True) -> SyncRun:
    """Check every download link of the registry once, as a ``links`` run (lease-guarded)."""
    holder = lease_holder()
    if not sync_lease_acquire(kind=KIND, holder=holder):
        return run_skipped(kind=KIND, trigger=trigger, dry_run=False, source="records")
    run = SyncRun.objects.create(kind=KIND, trigger=trigger, source="records", started_at=timezone.now())
    try:
        targets = link_targets()
        results = check_urls(target.url for target in targets)
        removed = link_checks_store(targets=targets, results=results, checked_at=timezone.now())
    except Exception as error:
        logger.exception("download-link check failed")
        run_finish(
            run, status=SyncRun.Status.FAILED, counts={}, log="", error=f"{type(error).__name__}: {error}"
        )
        if raise_errors:
            raise
        return run
    finally:
        sync_lease_release(kind=KIND, holder=holder)
    per_status: dict[str, int] = {status: 0 for status in LinkStatus.values}
    for target in targets:
        per_status[results[target.url].status] += 1
    counts = {"files": len(targets), "urls": len(results), "removed": removed, **per_status}
    problems = [
        f"{results[t.url].status}: {t.category}/{t.model_name} {t.url}"
        + (f" (HTTP {results[t.url].http_status})" if results[t.url].http_status else "")
        + (f" ({results[t.url].detail})" if results[t.url].detail else "")
        for t in targets
        if results[t.url].status != LinkStatus.OK
    ]
    log = f"checked {len(results)} URLs of {len(targets)} files"
    if problems:
        log += "\n" + "\n".join(problems)
    return run_finish(run, status=SyncRun.Status.SUCCEEDED, counts=counts, log=log)


def links_enqueue(*, trigger: str) -> bool:
    """Send ``sync.check_download_links`` to the workers (run it here in eager mode); never raises."""
    from sync.tasks import check_download_links

    try:
        check_download_links.apply_async(kwargs={"trigger": trigger})
        return True
    except Exception:
        logger.exception("could not enqueue a download-link check")
        return False
