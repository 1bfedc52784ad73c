"""The one table of the document read routes: the URL patterns and the fast matcher both come from it.

The fast paths (``references.fast_path``) answer these routes before Django's URL
resolution runs; ``config.api`` mounts the same routes as Django URL patterns. Both are
built from ``DOCUMENT_ROUTES``, so a route changed here changes for both, and the fast
matcher uses the regex Django compiles from the route (its ``str``/``path`` converters),
so the two cannot disagree about which paths a route covers.

Also here: the v1 category aliases (``stable_diffusion``, ``db.json``, ``<category>.json``),
which the v1 view and the fast path both resolve through ``v1_category_value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from django.urls import URLPattern, path
from django.urls.resolvers import RoutePattern

from common.categories import CATEGORY_VALUES

#: Where each API version is mounted under the API root (``/api/`` or ``/``).
V1_PREFIX = "model_references/v1/"
V2_PREFIX = "model_references/v2/"

_CATEGORY_SET = frozenset(CATEGORY_VALUES)
#: v1 names that stand for another category (besides any ``.json`` suffix).
V1_ALIASES = {"db": "text_generation", "stable_diffusion": "image_generation"}


def v1_category_value(name: str) -> str | None:
    """The category a v1 path names, or None when it names none.

    ``db.json`` is text_generation (a bare ``db`` is not), ``stable_diffusion`` is
    image_generation, and any name may carry one ``.json`` suffix.
    """
    stem = name.removesuffix(".json")
    if stem == "db" and stem == name:
        return None
    stem = V1_ALIASES.get(stem, stem)
    return stem if stem in _CATEGORY_SET else None


class RouteKind(Enum):
    """What a document route serves, which tells the fast path how to answer it."""

    CATEGORY_LIST = "category-list"
    V1_DOCUMENT = "v1-document"
    V2_DOCUMENT = "v2-document"
    V2_MODEL = "v2-model"


@dataclass(frozen=True)
class DocumentRoute:
    name: str
    version: str
    route: str
    kind: RouteKind

    @property
    def prefix(self) -> str:
        return V1_PREFIX if self.version == "v1" else V2_PREFIX

    def url(self, view: Any) -> URLPattern:
        """The Django URL pattern of this route, for the version's URL list."""
        pattern: URLPattern = path(self.route, view, name=self.name)
        return pattern


V1_MODEL_CATEGORIES = DocumentRoute("v1-model-categories", "v1", "model_categories", RouteKind.CATEGORY_LIST)
V2_MODEL_CATEGORIES = DocumentRoute("v2-model-categories", "v2", "model_categories", RouteKind.CATEGORY_LIST)
V1_CATEGORY = DocumentRoute("v1-category", "v1", "<str:model_category_name>", RouteKind.V1_DOCUMENT)
V2_CATEGORY = DocumentRoute("v2-category", "v2", "<str:model_category_name>", RouteKind.V2_DOCUMENT)
V2_MODEL = DocumentRoute(
    "v2-model", "v2", "<str:model_category_name>/model/<path:model_name>", RouteKind.V2_MODEL
)

#: In matching order: the fixed paths before the ``<category>`` patterns that would take them.
DOCUMENT_ROUTES = (V1_MODEL_CATEGORIES, V2_MODEL_CATEGORIES, V2_CATEGORY, V2_MODEL, V1_CATEGORY)


def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[DocumentRoute, tuple[tuple[str, str], ...]]]]:
    """One regex for every route (one match call on the hot path), and how to read it.

    Each route's alternative is the regex Django compiles from its route, groups renamed
    apart (``r<i>_<parameter>``) and wrapped in a group ``r<i>`` that tells which route
    matched; the alternatives sit under their version's prefix, so the prefix is read
    once. Within a prefix they are tried in ``DOCUMENT_ROUTES`` order, each anchored at
    the end, so the first route that takes the whole path wins, as in Django.
    """
    by_prefix: dict[str, list[str]] = {}
    readers: dict[str, tuple[DocumentRoute, tuple[tuple[str, str], ...]]] = {}
    for index, route in enumerate(DOCUMENT_ROUTES):
        compiled = RoutePattern(route.route, is_endpoint=True).regex
        tag = f"r{index}"
        body = compiled.pattern.removeprefix("^").replace("(?P<", f"(?P<{tag}_")
        by_prefix.setdefault(route.prefix, []).append(f"(?P<{tag}>{body})")
        readers[tag] = (route, tuple((f"{tag}_{name}", name) for name in compiled.groupindex))
    versions = "|".join(
        re.escape(prefix) + "(?:" + "|".join(alternatives) + ")" for prefix, alternatives in by_prefix.items()
    )
    # Routes answer under ``/api/`` and, as the established service does, without it.
    return re.compile(r"/(?:api/)?(?:" + versions + ")"), readers


_DOCUMENT_REGEX, _READERS = _matcher()


def document_route_match(path_info: str) -> tuple[DocumentRoute, dict[str, str]] | None:
    """The document route a request path names, with its path parameters, else None."""
    match = _DOCUMENT_REGEX.match(path_info)
    if match is None or match.lastgroup is None:
        return None
    route, groups = _READERS[match.lastgroup]
    return route, {name: match[group] for group, name in groups}
