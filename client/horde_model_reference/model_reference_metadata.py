"""Per-category metadata as the reference API reports it (``/model_references/v2/metadata/...``).

The shape is the established ``CategoryMetadata``. Fields a newer server adds (our server
adds ``revision``) are kept, so an old client never rejects a newer answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from horde_model_reference.backends.base import SourceUnavailableError, Steps


class CategoryMetadata(BaseModel):
    """What the server knows about one category's history of changes."""

    model_config = ConfigDict(extra="allow")

    category: str
    last_updated: int | None = None
    """Unix seconds of the last change; None when the category never changed."""
    last_operation_type: str | None = None
    """``create``, ``update`` or ``delete``."""
    last_operation_model: str | None = None
    total_creates: int = Field(default=0, ge=0)
    total_updates: int = Field(default=0, ge=0)
    total_deletes: int = Field(default=0, ge=0)
    total_models: int = Field(default=0, ge=0)
    initialization_time: int | None = None
    last_successful_operation: int | None = None
    error_count: int = Field(default=0, ge=0)
    metadata_schema_version: str = "1.0.0"
    backend_type: str | None = None


def metadata_url(base_url: str, category: str) -> str:
    """The metadata route of ``category`` under the API root ``base_url``."""
    return f"{base_url}/model_references/v2/metadata/{category}"


def json_steps(url: str) -> Steps[Any]:
    """GET ``url`` and return its JSON body (sans I/O, run by ``drive_sync``/``drive_async``).

    Raises:
        SourceUnavailableError: On a status other than 200 or a body that is not JSON.
    """
    import httpx  # imported on first use, like the sources

    response = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise SourceUnavailableError(f"{url} answered {response.status_code}")
    try:
        return response.json()
    except ValueError as error:
        raise SourceUnavailableError(f"{url} is not valid JSON: {error}") from error


__all__ = ["CategoryMetadata", "json_steps", "metadata_url"]
