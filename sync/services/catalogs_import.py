"""Loading the curated catalogs from the established service's exports (``import_catalogs``).

A source is a directory holding the export files, or the base URL of a service whose
``v2/...`` export routes answer (the established one: ``https://models.aihorde.net/api/model_references``;
this service answers the same routes). Each catalog is loaded through its app's service,
in its own transaction, so one that fails leaves the others loaded and itself unchanged;
a second identical run changes nothing (the services write and audit only differences).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from audit.services import Actor
from catalogs.services import baseline_catalog_import, guidance_catalog_import
from common.errors import DomainError


@dataclass(frozen=True)
class CatalogSource:
    name: str
    file_name: str
    route: str


#: In load order: licensing first (other catalogs may name licenses one day).
CATALOG_SOURCES = (
    CatalogSource("licensing", "licensing.json", "v2/licensing/export"),
    CatalogSource("text_guidance", "text_guidance.json", "v2/text_generation/guidance/export"),
    CatalogSource("image_baselines", "image_baselines.json", "v2/image_generation/baselines/export"),
)
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class CatalogFetchError(Exception):
    """The source could not give a catalog document (network, HTTP status, not JSON)."""


@dataclass
class CatalogImportReport:
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, message: str) -> None:
        self.errors.append(message)
        self.lines.append(f"error: {message}")


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _parsed(content: bytes, where: str) -> dict[str, object]:
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as error:
        raise CatalogFetchError(f"{where} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise CatalogFetchError(f"{where} is not a JSON object")
    return document


def _fetch(client: httpx.Client | None, source: str, catalog: CatalogSource) -> dict[str, object] | None:
    """The catalog's document; None when the source has no such catalog (absent file, 404)."""
    if client is None:
        path = Path(source) / catalog.file_name
        if not path.is_file():
            return None
        try:
            return _parsed(path.read_bytes(), str(path))
        except OSError as error:
            raise CatalogFetchError(f"cannot read {path}: {error}") from None
    url = f"{source.rstrip('/')}/{catalog.route}"
    try:
        response = client.get(url)
    except httpx.HTTPError as error:
        raise CatalogFetchError(f"{url}: {type(error).__name__}: {error}") from None
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise CatalogFetchError(f"{url} answered {response.status_code}")
    return _parsed(response.content, url)


def _licensing_importer() -> Callable[..., object]:
    # The licensing app is built beside this one; imported lazily so that this command
    # works (for the other catalogs) where it is absent, and says so when it is needed.
    try:
        module = importlib.import_module("licensing.services")
    except ImportError:
        raise CatalogFetchError(
            "the licensing app is not installed here (licensing.services.licensing_catalog_import): "
            "licensing.json was not loaded"
        ) from None
    importer: Callable[..., object] = module.licensing_catalog_import
    return importer


def _counts(outcome: object) -> dict[str, int]:
    if isinstance(outcome, dict):
        return {str(key): int(value) for key, value in outcome.items() if isinstance(value, int)}
    as_dict = getattr(outcome, "as_dict", None)
    if callable(as_dict):
        return _counts(as_dict())
    return {
        name: int(getattr(outcome, name))
        for name in ("created", "updated", "deleted", "unchanged")
        if isinstance(getattr(outcome, name, None), int)
    }


def catalogs_import(*, source: str, actor: Actor | None = None) -> CatalogImportReport:
    """Load every catalog the source has; report what changed per catalog."""
    actor = actor or Actor.system("import_catalogs")
    report = CatalogImportReport()
    if not _is_url(source) and not Path(source).is_dir():
        report.error(f"{source} is neither a directory nor an http(s) URL")
        return report
    importers: dict[str, Callable[..., object]] = {
        "text_guidance": guidance_catalog_import,
        "image_baselines": baseline_catalog_import,
    }
    client = httpx.Client(timeout=TIMEOUT, follow_redirects=True) if _is_url(source) else None
    try:
        for catalog in CATALOG_SOURCES:
            try:
                document = _fetch(client, source, catalog)
                if document is None:
                    report.lines.append(f"{catalog.name}: not in the source, left as it is")
                    continue
                importer = importers.get(catalog.name) or _licensing_importer()
                counts = _counts(importer(document=document, actor=actor))
            except (CatalogFetchError, DomainError) as error:
                report.error(f"{catalog.name}: {error}")
                continue
            report.counts[catalog.name] = counts
            summary = ", ".join(f"{value} {key}" for key, value in counts.items())
            report.lines.append(f"{catalog.name}: {summary}")
    finally:
        if client is not None:
            client.close()
    return report
