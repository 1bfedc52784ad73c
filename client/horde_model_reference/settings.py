"""Client configuration, read from ``HORDE_MODEL_REFERENCE_*`` environment variables.

The settings are read **once, at import time**, into :data:`horde_model_reference_settings`
(as the established library does): changing a variable afterwards has no effect on an
already-imported process. Code that needs other values (tests, embedding applications)
builds its own :class:`HordeModelReferenceSettings` and passes it to
``ModelReferenceManager(settings=...)``.

Variables (all optional):

``HORDE_MODEL_REFERENCE_PRIMARY_API_URL``
    Base URL of the reference API (default ``https://models.aihorde.net/api``); empty
    disables the primary source.
``HORDE_MODEL_REFERENCE_PRIMARY_API_TIMEOUT``
    Seconds per HTTP request to any source (default 10).
``HORDE_MODEL_REFERENCE_CACHE_TTL_SECONDS``
    How long fetched data is served from memory before it is revalidated (default 60).
``HORDE_MODEL_REFERENCE_ENABLE_GITHUB_FALLBACK``
    Whether to fall back to the legacy GitHub repositories (default true).
``HORDE_MODEL_REFERENCE_CACHE_DIR``
    The disk cache (default ``$AIWORKER_CACHE_HOME/horde_model_reference``, else the
    platform's per-user cache directory).
``HORDE_MODEL_REFERENCE_EXPORT_SOURCE``
    An export directory or URL (``manifest.json`` at its root) used as the second source.
``HORDE_MODEL_REFERENCE_GITHUB_IMAGE_BASE_URL`` / ``..._GITHUB_TEXT_BASE_URL``
    Raw-file base URLs of the legacy image and text repositories.
``HORDE_MODEL_REFERENCE_AI_HORDE_URL``
    The AI Horde public API used by ``get_popular_models`` (default ``https://aihorde.net/api``).
``HORDE_MODEL_REFERENCE_OFFLINE``
    ``true`` serves only the disk cache and never opens a network connection (default false).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "HORDE_MODEL_REFERENCE_"

DEFAULT_PRIMARY_API_URL = "https://models.aihorde.net/api"
DEFAULT_GITHUB_IMAGE_BASE_URL = (
    "https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main"
)
DEFAULT_GITHUB_TEXT_BASE_URL = (
    "https://raw.githubusercontent.com/Haidra-Org/AI-Horde-text-model-reference/main"
)
DEFAULT_AI_HORDE_URL = "https://aihorde.net/api"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The default disk cache directory.

    Workers set ``AIWORKER_CACHE_HOME`` for everything they download, so the cache lives
    beside their models there; otherwise the platform's per-user cache directory is used.
    """
    env = os.environ if environ is None else environ
    worker_home = env.get("AIWORKER_CACHE_HOME")
    if worker_home:
        return Path(worker_home).expanduser() / "horde_model_reference"
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "horde_model_reference"


def _strip_slash(value: str) -> str:
    return value.strip().rstrip("/")


class HordeModelReferenceSettings(BaseModel):
    """Every setting of the client. Immutable; compare two with ``==``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    primary_api_url: str = DEFAULT_PRIMARY_API_URL
    """Base URL of the reference API; ``""`` disables the primary source."""
    primary_api_timeout: float = Field(default=10.0, gt=0)
    """Timeout in seconds of each HTTP request (to any source)."""
    cache_ttl_seconds: float = Field(default=60.0, ge=0)
    """Seconds fetched data is served from memory before it is revalidated."""
    enable_github_fallback: bool = True
    """Fall back to the legacy GitHub repositories when the primary and the export fail."""
    cache_dir: Path = Field(default_factory=default_cache_dir)
    """Where the last good copy of each category is kept between processes."""
    export_source: str | None = None
    """An export directory or URL (with ``manifest.json`` at its root), the second source."""
    github_image_base_url: str = DEFAULT_GITHUB_IMAGE_BASE_URL
    """Raw-file base URL of the legacy image repository (``<base>/stable_diffusion.json``)."""
    github_text_base_url: str = DEFAULT_GITHUB_TEXT_BASE_URL
    """Raw-file base URL of the legacy text repository (``<base>/models.csv``)."""
    ai_horde_url: str = DEFAULT_AI_HORDE_URL
    """The AI Horde public API, for live popularity statistics."""
    offline: bool = False
    """Serve only the disk cache: no request to any source, the AI Horde or the metadata routes."""

    @field_validator("primary_api_url", "github_image_base_url", "github_text_base_url", "ai_horde_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return _strip_slash(value)

    @field_validator("export_source")
    @classmethod
    def _normalise_export(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{ENV_PREFIX}{name} must be true or false, not {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> HordeModelReferenceSettings:
    """Build settings from ``HORDE_MODEL_REFERENCE_*`` variables (``os.environ`` by default).

    Unset variables keep their defaults. Raises ``ValueError`` (a pydantic
    ``ValidationError``) when a value is malformed, so a typo fails loudly at start-up
    instead of silently using a default.
    """
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field_name in HordeModelReferenceSettings.model_fields:
        raw = env.get(ENV_PREFIX + field_name.upper())
        if raw is None:
            continue
        if field_name in ("enable_github_fallback", "offline"):
            values[field_name] = _parse_bool(field_name.upper(), raw)
        elif field_name == "cache_dir":
            values[field_name] = Path(raw).expanduser() if raw.strip() else default_cache_dir(env)
        else:
            values[field_name] = raw
    if "cache_dir" not in values:
        values["cache_dir"] = default_cache_dir(env)
    return HordeModelReferenceSettings.model_validate(values)


#: The settings read from the environment when this module was first imported.
horde_model_reference_settings: HordeModelReferenceSettings = load_settings()

__all__ = [
    "DEFAULT_AI_HORDE_URL",
    "DEFAULT_GITHUB_IMAGE_BASE_URL",
    "DEFAULT_GITHUB_TEXT_BASE_URL",
    "DEFAULT_PRIMARY_API_URL",
    "ENV_PREFIX",
    "HordeModelReferenceSettings",
    "default_cache_dir",
    "horde_model_reference_settings",
    "load_settings",
]
