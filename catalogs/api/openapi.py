"""OpenAPI components of the catalogs: the JSON Schemas of ``catalogs.schemas``' models."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from drf_spectacular.utils import OpenApiResponse

from catalogs.schemas import DOCUMENTED_MODELS

COMPONENTS = "#/components/schemas/"


@lru_cache(maxsize=1)
def catalog_components() -> dict[str, dict[str, Any]]:
    components: dict[str, dict[str, Any]] = {}
    for model in DOCUMENTED_MODELS:
        schema = model.model_json_schema(ref_template=COMPONENTS + "{model}")
        for name, definition in {**schema.pop("$defs", {}), model.__name__: schema}.items():
            if components.setdefault(name, definition) != definition:
                raise ValueError(f"two different catalog schemas are both called {name}")
    return components


def add_catalog_schemas(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: put the catalog components into the schema."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in catalog_components().items():
        if schemas.setdefault(name, definition) != definition:
            raise ValueError(f"an API component is also called {name}, as a catalog schema")
    return result


def ref(name: str, description: str = "") -> OpenApiResponse:
    return OpenApiResponse(response={"$ref": COMPONENTS + name}, description=description)
