"""Reading legacy files from a directory or over HTTP (the GitHub adapter).

A source is laid out like ``shared/reference-data``: ``image/<file>.json`` and
``text/models.csv`` / ``text/db.json``. A directory may also hold the files at
its top level (a checkout of one of the legacy repositories). The default source
is the two public GitHub repositories, read as raw files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from django.conf import settings

from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY

GITHUB_SOURCE = "github"
TEXT_CSV = "models.csv"
TEXT_DB = "db.json"


class SourceUnavailableError(Exception):
    """The source cannot be read at all (no network, directory missing...)."""


@dataclass(frozen=True)
class SourceFile:
    category: MODEL_REFERENCE_CATEGORY
    filename: str
    origin: str  # the path or URL it came from
    content: bytes


@dataclass(frozen=True)
class FetchFailure:
    category: MODEL_REFERENCE_CATEGORY
    origin: str
    reason: str


def _image_files() -> list[tuple[MODEL_REFERENCE_CATEGORY, str]]:
    return [
        (category, descriptor.legacy_filename)
        for category, descriptor in CATEGORY_DESCRIPTORS.items()
        if descriptor.github_source == "image" and descriptor.legacy_filename
    ]


KNOWN_FILES = {name for _, name in _image_files()} | {TEXT_CSV, TEXT_DB}


def read_directory(root: Path) -> tuple[list[SourceFile], list[str]]:
    """The legacy files present under ``root``, and notices about skipped files."""
    if not root.is_dir():
        raise SourceUnavailableError(f"source directory does not exist: {root}")
    found: list[SourceFile] = []
    notices: list[str] = []
    for category, filename in _image_files():
        for candidate in (root / "image" / filename, root / filename):
            if candidate.is_file():
                found.append(SourceFile(category, filename, str(candidate), candidate.read_bytes()))
                break
    text = MODEL_REFERENCE_CATEGORY.text_generation
    for filename in (TEXT_CSV, TEXT_DB):
        text_file = next((p for p in (root / "text" / filename, root / filename) if p.is_file()), None)
        if text_file is not None:
            found.append(SourceFile(text, filename, str(text_file), text_file.read_bytes()))
            break
    for folder in (root, root / "image", root / "text"):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                if path.name not in KNOWN_FILES and path.name not in (
                    "defaults.json",
                    "generation_params.json",
                ):
                    notices.append(f"skipped {path}: not a reference file")
    return found, notices


def _retry_after_seconds(response: httpx.Response) -> float | None:
    """A 429's ``Retry-After``: seconds or an HTTP date; None when absent or unreadable."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, float((when - datetime.now(UTC)).total_seconds()))


def _get(client: httpx.Client, url: str) -> bytes | None:
    """GET with retries and backoff (LEGACY_FETCH_* settings); None on 404 (the file is not there).

    Transport errors (timeouts included) and 5xx are retried after a doubling delay; a
    429 is retried after its ``Retry-After`` (GitHub's raw host rate-limits), unless
    that is longer than LEGACY_FETCH_RETRY_AFTER_MAX_SECONDS: then it fails at once.
    """
    attempts = max(1, settings.LEGACY_FETCH_ATTEMPTS)
    delay = settings.LEGACY_FETCH_BACKOFF_SECONDS
    for attempt in range(attempts):
        last = attempt == attempts - 1
        try:
            response = client.get(url)
        except httpx.TransportError:
            if last:
                raise
            time.sleep(delay)
            delay *= 2
            continue
        if response.status_code == 404:
            return None
        if response.status_code == 429 and not last:
            wait = _retry_after_seconds(response)
            wait = delay if wait is None else wait
            if wait <= settings.LEGACY_FETCH_RETRY_AFTER_MAX_SECONDS:
                time.sleep(wait)
                delay *= 2
                continue
        if response.status_code >= 500 and not last:
            time.sleep(delay)
            delay *= 2
            continue
        response.raise_for_status()
        return response.content
    return None  # pragma: no cover - the loop always returns or raises


def read_urls(
    image_base: str, text_base: str, *, timeout: float | None = None
) -> tuple[list[SourceFile], list[FetchFailure]]:
    """Fetch the legacy files from two base URLs (image repo, text repo)."""
    found: list[SourceFile] = []
    failures: list[FetchFailure] = []
    text = MODEL_REFERENCE_CATEGORY.text_generation
    wanted = [(c, image_base + f) for c, f in _image_files()]
    with httpx.Client(
        timeout=timeout or settings.LEGACY_FETCH_TIMEOUT_SECONDS, follow_redirects=True
    ) as client:
        for category, url in wanted:
            try:
                content = _get(client, url)
            except httpx.TransportError as error:
                if not found and not failures:
                    raise SourceUnavailableError(f"cannot reach {url}: {error}") from error
                failures.append(FetchFailure(category, url, f"cannot reach: {error}"))
                continue
            except httpx.HTTPStatusError as error:
                failures.append(FetchFailure(category, url, f"HTTP {error.response.status_code}"))
                continue
            if content is not None:
                found.append(SourceFile(category, url.rsplit("/", 1)[-1], url, content))
        for filename in (TEXT_CSV, TEXT_DB):
            url = text_base + filename
            try:
                content = _get(client, url)
            except (httpx.TransportError, httpx.HTTPStatusError) as error:
                failures.append(FetchFailure(text, url, f"cannot fetch: {error}"))
                break
            if content is not None:
                found.append(SourceFile(text, filename, url, content))
                break
    return found, failures


def read_upstream(*, timeout: float | None = None) -> tuple[list[SourceFile], list[FetchFailure]]:
    """Every legacy file of the two upstream repositories (the raw URL settings), file by file.

    Unlike ``read_urls`` an unreachable first file does not end the read: each file
    that cannot be fetched (transport error, HTTP error, or absent: upstream never
    drops a category's file) is one failure, and the other files are still read.
    """
    image_base, text_base = settings.LEGACY_IMAGE_REPO_RAW_URL, settings.LEGACY_TEXT_REPO_RAW_URL
    found: list[SourceFile] = []
    failures: list[FetchFailure] = []
    text = MODEL_REFERENCE_CATEGORY.text_generation
    wanted = [(c, f, image_base + f) for c, f in _image_files()]
    wanted += [(text, name, text_base + name) for name in (TEXT_CSV, TEXT_DB)]
    with httpx.Client(
        timeout=timeout or settings.LEGACY_FETCH_TIMEOUT_SECONDS, follow_redirects=True
    ) as client:
        for category, filename, url in wanted:
            text_settled = any(f.category == text for f in found) or any(f.category == text for f in failures)
            if category == text and text_settled:
                # models.csv was there (db.json is generated from it), or failed to come.
                continue
            try:
                content = _get(client, url)
            except httpx.TransportError as error:
                reason = f"cannot reach: {type(error).__name__}: {error}".rstrip(": ")
            except httpx.HTTPStatusError as error:
                reason = f"HTTP {error.response.status_code}"
            else:
                if content is not None:
                    found.append(SourceFile(category, filename, url, content))
                    continue
                if category == text and filename == TEXT_CSV:
                    continue  # try db.json
                reason = "not found (HTTP 404)"
            failures.append(FetchFailure(category, url, reason))
    return found, failures


def read_source(source: str) -> tuple[list[SourceFile], list[str]]:
    """Read a source: ``github``, a base URL, or a directory.

    Returns the files and human-readable notices. Files that could not be fetched
    become notices starting with ``error:``; their categories stay untouched.
    """
    if source in ("", GITHUB_SOURCE):
        files, failures = read_urls(settings.LEGACY_IMAGE_REPO_RAW_URL, settings.LEGACY_TEXT_REPO_RAW_URL)
        return files, [f"error: {f.origin}: {f.reason}" for f in failures]
    if source.startswith(("http://", "https://")):
        base = source if source.endswith("/") else source + "/"
        files, failures = read_urls(base + "image/", base + "text/")
        return files, [f"error: {f.origin}: {f.reason}" for f in failures]
    return read_directory(Path(source))
