"""The one route table: Django's URL resolution and the fast matcher agree on every document route."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, resolve

from common.categories import CATEGORY_VALUES
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from references.api.v1 import v1_category
from references.routes import DOCUMENT_ROUTES, RouteKind, document_route_match, v1_category_value

SAMPLES = [
    "/api/model_references/v1/model_categories",
    "/model_references/v2/model_categories",
    "/api/model_references/v1/image_generation",
    "/api/model_references/v1/image_generation.json",
    "/api/model_references/v1/stable_diffusion",
    "/model_references/v1/db.json",
    "/api/model_references/v2/lora",
    "/api/model_references/v2/image_generation/model/a/b c+#.x",
    "/api/model_references/v2/image_generation/model/ü",
    "/model_references/v2/text_generation/model/koboldcpp/x",
]
NOT_DOCUMENTS = [
    "/api/model_references/v2/info",
    "/api/model_references/v2/search",
    "/api/model_references/v2/image_generation/search",
    "/api/model_references/v2/image_generation/pending",
    "/api/model_references/v2/image_generation/model/x/history",
    "/api/model_references/v1/image_generation/model/x",
    "/api/model_references/v2/model/",
    "/api/api/model_references/v2/image_generation",
    "/api/heartbeat",
]


@pytest.mark.parametrize("path", SAMPLES)
def test_the_fast_matcher_finds_the_route_django_resolves(path: str) -> None:
    found = document_route_match(path)
    assert found is not None
    route, params = found
    match = resolve(path)
    assert match.url_name == route.name
    assert match.kwargs == params


@pytest.mark.parametrize("path", NOT_DOCUMENTS)
def test_paths_django_gives_to_other_views_are_not_document_routes(path: str) -> None:
    found = document_route_match(path)
    if found is None:
        return
    route, params = found
    if route.kind is RouteKind.V2_MODEL:
        # Deliberate: ``<name>/history`` is also a record name, which the fast path serves
        # only when this process rendered that record or its history.
        assert params["model_name"].endswith("/history")
    else:
        # ``info``, ``search``: the pattern takes them, the category check then declines.
        assert params["model_category_name"] not in CATEGORY_VALUES


def test_every_route_is_mounted_under_its_name() -> None:
    for route in DOCUMENT_ROUTES:
        sample = route.prefix + route.route.replace("<str:model_category_name>", "image_generation")
        sample = sample.replace("<path:model_name>", "x")
        for root in ("/api/", "/"):
            try:
                assert resolve(root + sample).url_name == route.name
            except Resolver404:  # pragma: no cover - the assertion message is the point
                pytest.fail(f"{root + sample} is not mounted")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("image_generation", "image_generation"),
        ("image_generation.json", "image_generation"),
        ("stable_diffusion", "image_generation"),
        ("stable_diffusion.json", "image_generation"),
        ("db.json", "text_generation"),
        ("db", None),
        ("db.json.json", None),
        ("image_generation.json.json", None),
        ("Image_Generation", None),
        ("nope", None),
    ],
)
def test_v1_aliases_resolve_once_for_the_view_and_the_fast_path(name: str, expected: str | None) -> None:
    assert v1_category_value(name) == expected
    if expected is None:
        with pytest.raises(Exception, match="Invalid model category"):
            v1_category(name)
    else:
        assert v1_category(name) is MODEL_REFERENCE_CATEGORY(expected)
