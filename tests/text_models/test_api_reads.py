"""The public group tool reads: parse_name, group, distinct_baselines, compose_name, groups,
groups/summary, groups/health, name_schema GET, aliases/families GET, families/detect."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit.services import Actor
from tests.text_models.conftest import BASE, add_text, send
from text_models import services

pytestmark = pytest.mark.django_db
CURATOR = Actor.system("curator")


def get(client: Client, suffix: str, params: dict[str, Any] | None = None) -> Any:
    return client.get(BASE + suffix, params or {})


@pytest.mark.parametrize("prefix", ["/api", ""])
def test_routes_answer_with_and_without_the_api_prefix(
    client: Client, text_models: list[str], prefix: str
) -> None:
    url = f"{prefix}/model_references/v2/text_generation/groups"
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == {"groups": ["Llama-3", "Lonely", "Qwen3"]}


def test_parse_name(client: Client, db: None) -> None:
    response = get(client, "/parse_name", {"name": "Qwen3-0.6B-Instruct-Q4_K_M"})
    assert response.status_code == 200
    assert response.json() == {
        "original_name": "Qwen3-0.6B-Instruct-Q4_K_M",
        "base_name": "Qwen3",
        "size": "0.6B",
        "variant": "Instruct",
        "quant": "Q4_K_M",
        "version": None,
        "suggested_group": "Qwen3",
        "extras": [],
    }


def test_parse_name_without_a_size_and_with_a_date_extra(client: Client, db: None) -> None:
    assert get(client, "/parse_name", {"name": "GPT-4"}).json()["size"] is None
    dated = get(client, "/parse_name", {"name": "Mistral-Small-Instruct-2409"}).json()
    assert dated["extras"] == [{"value": "2409", "position": 2, "inferred_type": "DATE"}]


def test_parse_name_resolves_the_suggested_group_through_aliases(client: Client, db: None) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["Llama3"], actor=CURATOR)
    answer = get(client, "/parse_name", {"name": "Llama3-8B"}).json()
    assert answer["base_name"] == "Llama3"
    assert answer["suggested_group"] == "Llama-3"


@pytest.mark.parametrize("suffix", ["/parse_name", "/group", "/group/name_schema"])
def test_name_is_required(client: Client, db: None, suffix: str) -> None:
    response = get(client, suffix)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["query", "name"], "msg": "Field required", "type": "missing"}
    ]


def test_a_nul_in_the_name_is_422(client: Client, db: None) -> None:
    assert get(client, "/group", {"name": "a\x00b"}).status_code == 422


def test_group_members_common_fields_and_sizes(client: Client, text_models: list[str]) -> None:
    response = get(client, "/group", {"name": "Llama-3"})
    assert response.status_code == 200
    group = response.json()
    assert group["group_name"] == "Llama-3"
    assert [member["name"] for member in group["members"]] == text_models[:2]
    assert group["common_fields"] == {
        "baseline": "llama3",
        "description": "Llama three",
        "url": "https://example.com/llama",
        "nsfw": False,
    }
    assert group["available_sizes"] == ["8B", "70B"]
    assert group["available_variants"] == ["Instruct"]
    assert group["available_quants"] == [None]
    assert group["size_usage"] == {"70B": 1, "8B": 1}
    assert group["variant_usage"] == {"Instruct": 2}
    assert group["canonical_count"] == 2
    assert group["backend_duplicate_count"] == 0
    assert group["name_schema_is_custom"] is False
    assert group["exception_members"] == []
    assert group["related_family"] is None
    first = group["members"][0]
    assert first["parsed"] == {
        "base_name": "Llama-3",
        "size": "8B",
        "variant": "Instruct",
        "quant": None,
        "version": None,
        "extras": [],
    }
    assert first["parameters"] == 8_000_000_000
    assert first["is_backend_duplicate"] is False
    assert group["name_format"]["common_author"] == "meta-llama"


def test_group_sizes_order_mixture_of_experts_by_total(client: Client, db: None) -> None:
    for name in ["Mix-8x7B", "Mix-70B", "Mix-7B"]:
        add_text(name)
    assert get(client, "/group", {"name": "Mix"}).json()["available_sizes"] == ["7B", "8X7B", "70B"]


def test_group_shows_family_and_exceptions(client: Client, db: None) -> None:
    add_text("Llama-3-8B", name_schema_exception="historic name")
    add_text("Llama-3-70B")
    services.family_set(family_name="Llama", members=["Llama-3", "Llama-2"], actor=CURATOR)
    group = get(client, "/group", {"name": "Llama-3"}).json()
    assert group["exception_members"] == [{"name": "Llama-3-8B", "reason": "historic name"}]
    assert group["related_family"] == {"family_name": "Llama", "members": ["Llama-2", "Llama-3"]}


def test_unknown_group_is_404_and_echoes_a_name_with_a_slash(client: Client, text_models: list[str]) -> None:
    response = get(client, "/group", {"name": "org/Unknown"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No models found in group 'org/Unknown'"}


def test_distinct_baselines(client: Client, text_models: list[str]) -> None:
    assert get(client, "/distinct_baselines").json() == {"baselines": ["llama3", "qwen3"]}


def test_distinct_baselines_of_an_empty_registry(client: Client, db: None) -> None:
    assert get(client, "/distinct_baselines").json() == {"baselines": []}


def test_compose_name(client: Client, text_models: list[str]) -> None:
    basic = send(client, "post", BASE + "/compose_name", {"base_name": "Llama-3", "size": "8B"}, key=None)
    assert basic.status_code == 200
    assert basic.json() == {
        "composed_name": "Llama-3-8B",
        "already_exists": False,
        "suggested_group": "Llama-3",
    }
    full = send(
        client,
        "post",
        BASE + "/compose_name",
        {"base_name": "Qwen3", "size": "0.6B", "variant": "Instruct", "quant": "Q4_K_M", "author": "Qwen"},
        key=None,
    ).json()
    assert full == {
        "composed_name": "Qwen/Qwen3-0.6B-Instruct-Q4_K_M",
        "already_exists": True,
        "suggested_group": "Qwen3",
    }


def test_compose_name_with_separator_and_order(client: Client, db: None) -> None:
    body: dict[str, Any] = {"base_name": "Llama-3", "size": "8B", "variant": "Instruct", "separator": "_"}
    body["part_order"] = ["size", "base", "variant", "bogus"]
    assert send(client, "post", BASE + "/compose_name", body, key=None).json()["composed_name"] == (
        "8B_Llama-3_Instruct"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"size": "8B"},
        {"base_name": "Llama", "size": 8},
        {"base_name": "Llama", "size": "8B", "part_order": "base"},
        ["not", "an", "object"],
        "{broken",
    ],
)
def test_compose_name_refuses_bad_bodies(client: Client, db: None, body: Any) -> None:
    response = send(client, "post", BASE + "/compose_name", body, key=None)
    assert response.status_code == 422
    assert "detail" in response.json()


def test_groups_summary(client: Client, text_models: list[str]) -> None:
    services.aliases_set(canonical="Llama-3", aliases=["Llama3"], actor=CURATOR)
    services.family_set(family_name="Llama", members=["Llama-3"], actor=CURATOR)
    services.name_schema_set(group_name="Qwen3", changes={"separator": "_"}, actor=CURATOR)
    summary = get(client, "/groups/summary").json()
    assert summary["total_groups"] == 3
    assert summary["total_models"] == 4
    assert summary["groups_with_families"] == 1
    assert summary["groups_with_aliases"] == 1
    assert summary["groups_with_issues"] == 2
    lines = {line["group_name"]: line for line in summary["groups"]}
    assert lines["Llama-3"]["family_name"] == "Llama"
    assert lines["Llama-3"]["aliases"] == ["Llama3"]
    assert lines["Llama-3"]["available_sizes"] == ["8B", "70B"]
    assert lines["Llama-3"]["health_issues"] == []
    assert lines["Qwen3"]["has_custom_schema"] is True
    assert [issue["issue_type"] for issue in lines["Lonely"]["health_issues"]] == [
        "singleton_group",
        "missing_description",
    ]


def test_groups_health(client: Client, text_models: list[str]) -> None:
    add_text("Mixed-7B", baseline="mistral", nsfw=True, description="x")
    add_text("Mixed-13B", baseline="llama", nsfw=False, description="y")
    health = get(client, "/groups/health").json()
    assert health["total_groups_checked"] == 4
    assert health["groups_with_issues"] == 3
    assert health["issue_counts_by_type"] == {
        "inconsistent_baseline": 1,
        "inconsistent_nsfw": 1,
        "missing_description": 1,
        "singleton_group": 2,
    }
    mixed = [issue for issue in health["issues"] if issue["group_name"] == "Mixed"]
    assert mixed == [
        {
            "group_name": "Mixed",
            "issue_type": "inconsistent_baseline",
            "message": "Members have different baselines: llama, mistral",
            "severity": "warning",
        },
        {
            "group_name": "Mixed",
            "issue_type": "inconsistent_nsfw",
            "message": "Members have different NSFW flags",
            "severity": "warning",
        },
    ]


def test_name_schema_inferred_then_custom(client: Client, text_models: list[str]) -> None:
    inferred = get(client, "/group/name_schema", {"name": "Llama-3"})
    assert inferred.status_code == 200
    assert inferred.json() == {
        "group_name": "Llama-3",
        "name_schema": {
            "separator": "-",
            "part_order": ["base", "size", "variant"],
            "author_included": True,
            "common_author": "meta-llama",
            "template": "{author}/{base}-{size}-{variant}",
            "extra_parts": [],
        },
        "is_custom": False,
    }
    services.name_schema_set(group_name="Llama-3", changes={"separator": "_"}, actor=CURATOR)
    custom = get(client, "/group/name_schema", {"name": "Llama-3"}).json()
    assert custom["is_custom"] is True
    assert custom["name_schema"]["separator"] == "_"
    assert custom["name_schema"]["common_author"] == "meta-llama"
    assert get(client, "/group", {"name": "Llama-3"}).json()["name_schema_is_custom"] is True


def test_name_schema_of_an_unknown_group_is_404(client: Client, db: None) -> None:
    assert get(client, "/group/name_schema", {"name": "Nope"}).status_code == 404


def test_aliases_and_families_are_empty_by_default(client: Client, db: None) -> None:
    assert get(client, "/aliases").json() == {"entries": []}
    assert get(client, "/families").json() == {"families": []}
    assert get(client, "/aliases/Llama-3").status_code == 404
    assert get(client, "/families/Llama").json() == {"detail": "Family 'Llama' does not exist."}


def test_families_detect(client: Client, db: None) -> None:
    for name in ["Big-Tiger-Gemma-9B", "Big-Tiger-X-9B", "Big-Lion-9B", "Big-Cat-9B", "Solo-9B"]:
        add_text(name)
    answer = get(client, "/families/detect").json()
    assert answer == {
        "suggestions": [
            {"family_name": "Big", "members": ["Big-Cat", "Big-Lion"]},
            {"family_name": "Big-Tiger", "members": ["Big-Tiger-Gemma", "Big-Tiger-X"]},
        ],
        "total_groups_analyzed": 5,
        "groups_in_families": 4,
        "standalone_groups": 1,
    }
    wider = get(client, "/families/detect", {"min_family_size": 3}).json()
    assert wider["suggestions"] == [
        {"family_name": "Big", "members": ["Big-Cat", "Big-Lion", "Big-Tiger-Gemma", "Big-Tiger-X"]}
    ]
    # Suggestions are not saved.
    assert get(client, "/families").json() == {"families": []}


@pytest.mark.parametrize(
    "params",
    [
        {"min_prefix_length": "1"},
        {"min_prefix_length": "21"},
        {"min_family_size": "51"},
        {"min_family_size": "x"},
    ],
)
def test_families_detect_bounds(client: Client, db: None, params: dict[str, str]) -> None:
    response = get(client, "/families/detect", params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]


def test_detect_is_a_route_not_a_family(client: Client, db: None) -> None:
    services.family_set(family_name="detect", members=["A"], actor=CURATOR)
    assert "suggestions" in get(client, "/families/detect").json()


def test_record_paths_under_model_are_not_taken_by_the_tools(client: Client, db: None) -> None:
    add_text("org/x/name_exception")
    response = client.get("/api/model_references/v2/text_generation/model/org/x/name_exception")
    assert response.status_code == 200
    assert response.json()["name"] == "org/x/name_exception"


def test_summary_and_health_cost_a_fixed_number_of_queries(
    client: Client, db: None, django_assert_max_num_queries: Any
) -> None:
    for index in range(20):
        add_text(f"Group{index}-7B")
        services.aliases_set(canonical=f"Group{index}", aliases=[f"G{index}"], actor=CURATOR)
        services.family_set(family_name=f"Family{index}", members=[f"Group{index}"], actor=CURATOR)
    with django_assert_max_num_queries(8):
        summary = get(client, "/groups/summary").json()
    assert summary["groups_with_families"] == summary["groups_with_aliases"] == 20
    with django_assert_max_num_queries(4):
        assert get(client, "/groups/health").status_code == 200
    with django_assert_max_num_queries(8):
        assert get(client, "/group", {"name": "Group3"}).json()["related_family"]["family_name"] == "Family3"
