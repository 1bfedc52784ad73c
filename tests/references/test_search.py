"""Search semantics (``references.search``): pure functions, no database."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.errors import DomainError
from horde_model_reference.legacy.image import legacy_image_document_to_canonical
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.model_reference_records import record_to_payload, validate_payload
from references.search import (
    GENERIC_SORT_FIELDS,
    MAX_SEARCH_LIMIT,
    SearchParams,
    SearchResult,
    search_all,
    search_category,
)

Records = list[tuple[str, dict[str, Any]]]


def _image(name: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    raw: dict[str, Any] = {"name": name, "baseline": "stable_diffusion_1", "nsfw": False, **fields}
    # Through the real model so the payload has the stored compact shape
    # (record_type, model_classification and a false inpainting left out).
    return name, record_to_payload(validate_payload("image_generation", raw))


def _text(name: str, parameters: int | None = 7_000_000_000, **fields: Any) -> tuple[str, dict[str, Any]]:
    # Stored data may lack a parameter count, but the model requires one: build
    # with a placeholder and drop it afterwards.
    raw = {"name": name, "parameters": parameters or 1, **fields}
    payload = record_to_payload(validate_payload("text_generation", raw))
    if parameters is None:
        del payload["parameters"]
    return name, payload


def _simple(category: str, name: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return name, record_to_payload(validate_payload(category, {"name": name, **fields}))


@pytest.fixture
def images() -> Records:
    return [
        _image("Alpha", tags=["anime", "girls"], size_on_disk_bytes=300, inpainting=True),
        _image("beta", tags=["realistic"], nsfw=True, size_on_disk_bytes=100, baseline="stable_diffusion_xl"),
        _image("Gamma", tags=[], size_on_disk_bytes=None),
        _image("delta", tags=["anime"], nsfw=True, size_on_disk_bytes=200),
        _image("Epsilon Alpha", tags=["anime", "realistic"], size_on_disk_bytes=200),
    ]


@pytest.fixture
def texts() -> Records:
    return [
        _text("org/Llama-3-8B-Instruct", 8_000_000_000, tags=["chat"]),
        _text("aphrodite/org/Llama-3-8B-Instruct", 8_000_000_000),
        _text("koboldcpp/Llama-3-8B-Instruct", 8_000_000_000),
        _text("org/Mistral-7B-Q4_K_M", 7_000_000_000, nsfw=True),
        _text("org/Tiny-1B-GGUF", 1_000_000_000),
        _text("org/Unknown", None),
    ]


def names(result: SearchResult) -> list[str]:
    return [payload["name"] for payload in result.results]


# --- SearchResult -------------------------------------------------------------------------------


def test_result_shape_and_has_more_boundary() -> None:
    assert SearchResult([], total=10, offset=5, limit=5).has_more is False
    assert SearchResult([], total=11, offset=5, limit=5).has_more is True
    assert SearchResult([], total=0, offset=0, limit=50).as_dict() == {
        "results": [],
        "total": 0,
        "offset": 0,
        "limit": 50,
        "has_more": False,
    }


# --- field filters --------------------------------------------------------------------------------


def test_no_filters_keeps_stored_order(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams())
    assert names(result) == ["Alpha", "beta", "Gamma", "delta", "Epsilon Alpha"]
    assert result.total == 5
    assert not result.has_more


def test_nsfw_filter(images: Records) -> None:
    assert names(search_category("image_generation", images, SearchParams(nsfw=True))) == ["beta", "delta"]
    assert names(search_category("image_generation", images, SearchParams(nsfw=False))) == [
        "Alpha",
        "Gamma",
        "Epsilon Alpha",
    ]


def test_baseline_filter(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(baseline="stable_diffusion_xl"))
    assert names(result) == ["beta"]
    assert search_category("image_generation", images, SearchParams(baseline="nope")).total == 0


def test_inpainting_filter_uses_the_default_of_a_compact_payload(images: Records) -> None:
    assert "inpainting" not in images[1][1]  # the compact shape leaves a false inpainting out
    assert names(search_category("image_generation", images, SearchParams(inpainting=True))) == ["Alpha"]
    assert search_category("image_generation", images, SearchParams(inpainting=False)).total == 4


def test_nsfw_filter_on_text_uses_the_default(texts: Records) -> None:
    texts[0][1].pop("nsfw")
    result = search_category("text_generation", texts, SearchParams(nsfw=False))
    assert "org/Llama-3-8B-Instruct" in names(result)
    assert "org/Mistral-7B-Q4_K_M" not in names(result)


def test_bool_filters_do_not_match_integers() -> None:
    records = [("a", {"name": "a", "baseline": "x", "nsfw": 1, "tags": []})]
    assert search_category("image_generation", records, SearchParams(nsfw=True)).total == 0


@pytest.mark.parametrize(
    ("category", "params", "field", "type_name"),
    [
        ("clip", SearchParams(nsfw=True), "nsfw", "ClipModelRecord"),
        ("clip", SearchParams(baseline="x"), "baseline", "ClipModelRecord"),
        ("text_generation", SearchParams(inpainting=False), "inpainting", "TextGenerationModelRecord"),
        ("esrgan", SearchParams(tags_any=("a",)), "tags", "EsrganModelRecord"),
        ("blip", SearchParams(tags_all=("a",)), "tags", "BlipModelRecord"),
        ("controlnet", SearchParams(tags_none=("a",)), "tags", "ControlNetModelRecord"),
    ],
)
def test_unsupported_filters_are_400(category: str, params: SearchParams, field: str, type_name: str) -> None:
    with pytest.raises(DomainError) as caught:
        search_category(category, [], params)
    assert caught.value.status == 400
    detail = caught.value.detail
    assert isinstance(detail, str)
    assert detail.startswith(
        f"Filter not supported for this category: Field '{field}' does not exist on {type_name}. "
        "Valid fields: ["
    )
    assert "'name'" in detail


def test_clip_message_matches_the_established_one() -> None:
    # As 8.6.2 words it: its records have licensing too.
    with pytest.raises(DomainError) as caught:
        search_category("clip", [], SearchParams(nsfw=False))
    assert caught.value.detail == (
        "Filter not supported for this category: Field 'nsfw' does not exist on ClipModelRecord. "
        "Valid fields: ['config', 'description', 'finetune_series', 'licensing', 'metadata', "
        "'model_classification', 'name', 'pretrained_name', 'record_type', 'size_on_disk_bytes', 'version']"
    )


# --- tags -----------------------------------------------------------------------------------------


def test_tags_any(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(tags_any=("girls", "realistic")))
    assert names(result) == ["Alpha", "beta", "Epsilon Alpha"]


def test_tags_all(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(tags_all=("anime", "realistic")))
    assert names(result) == ["Epsilon Alpha"]


def test_tags_none_keeps_untagged_records(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(tags_none=("anime",)))
    assert names(result) == ["beta", "Gamma"]


def test_untagged_records_fail_any_and_all(texts: Records) -> None:
    assert "tags" not in texts[1][1] or texts[1][1]["tags"] == []
    assert names(search_category("text_generation", texts, SearchParams(tags_any=("chat",)))) == [
        "org/Llama-3-8B-Instruct"
    ]
    assert names(search_category("text_generation", texts, SearchParams(tags_all=("chat",)))) == [
        "org/Llama-3-8B-Instruct"
    ]
    assert search_category("text_generation", texts, SearchParams(tags_none=("chat",))).total == 5


def test_tag_filters_combine(images: Records) -> None:
    params = SearchParams(tags_any=("anime",), tags_none=("girls",), nsfw=False)
    assert names(search_category("image_generation", images, params)) == ["Epsilon Alpha"]


def test_a_lone_string_is_one_tag(images: Records) -> None:
    params = SearchParams(tags_any="anime")  # type: ignore[arg-type]
    assert names(search_category("image_generation", images, params)) == ["Alpha", "delta", "Epsilon Alpha"]


def test_tags_are_case_sensitive(images: Records) -> None:
    assert search_category("image_generation", images, SearchParams(tags_any=("Anime",))).total == 0


# --- name ----------------------------------------------------------------------------------------


def test_name_contains_is_case_insensitive(images: Records) -> None:
    assert names(search_category("image_generation", images, SearchParams(name_contains="ALPHA"))) == [
        "Alpha",
        "Epsilon Alpha",
    ]
    assert search_category("image_generation", images, SearchParams(name_contains="")).total == 5


def test_name_contains_matches_key_or_inner_name() -> None:
    records = [("control_qr_sdxl", {"name": "control_qr_xl", "record_type": "controlnet"})]
    assert search_category("controlnet", records, SearchParams(name_contains="SDXL")).total == 1
    assert search_category("controlnet", records, SearchParams(name_contains="qr_xl")).total == 1
    assert search_category("controlnet", records, SearchParams(name_contains="canny")).total == 0


# --- text-only filters ------------------------------------------------------------------------------


def test_backend_filter(texts: Records) -> None:
    result = search_category("text_generation", texts, SearchParams(backend="aphrodite"))
    assert names(result) == ["aphrodite/org/Llama-3-8B-Instruct"]
    result = search_category("text_generation", texts, SearchParams(backend="koboldcpp"))
    assert names(result) == ["koboldcpp/Llama-3-8B-Instruct"]


@pytest.mark.parametrize("backend", ["vllm", "Aphrodite", "", "aphrodite/"])
def test_unknown_backend_is_400(texts: Records, backend: str) -> None:
    with pytest.raises(DomainError) as caught:
        search_category("text_generation", texts, SearchParams(backend=backend))
    assert caught.value.status == 400
    assert "backend" in str(caught.value.detail)


def test_exclude_backend_variations(texts: Records) -> None:
    result = search_category("text_generation", texts, SearchParams(exclude_backend_variations=True))
    assert names(result) == [
        "org/Llama-3-8B-Instruct",
        "org/Mistral-7B-Q4_K_M",
        "org/Tiny-1B-GGUF",
        "org/Unknown",
    ]


def test_quantized_filter(texts: Records) -> None:
    assert names(search_category("text_generation", texts, SearchParams(quantized=True))) == [
        "org/Mistral-7B-Q4_K_M",
        "org/Tiny-1B-GGUF",
    ]
    assert search_category("text_generation", texts, SearchParams(quantized=False)).total == 4


def test_text_only_filters_are_ignored_elsewhere(images: Records) -> None:
    params = SearchParams(backend="not-a-backend", exclude_backend_variations=True, quantized=True)
    assert search_category("image_generation", images, params).total == 5


# --- sorting -----------------------------------------------------------------------------------------


def test_sort_ascending_puts_nulls_last(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(sort_by="size_on_disk_bytes"))
    assert names(result) == ["beta", "delta", "Epsilon Alpha", "Alpha", "Gamma"]


def test_sort_descending_reverses_with_nulls_first(images: Records) -> None:
    result = search_category(
        "image_generation", images, SearchParams(sort_by="size_on_disk_bytes", sort_desc=True)
    )
    # delta and Epsilon Alpha tie (200): they keep stored order, descending too.
    assert names(result) == ["Gamma", "Alpha", "delta", "Epsilon Alpha", "beta"]


def test_sort_by_name_is_case_sensitive_string_order(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(sort_by="name"))
    assert names(result) == ["Alpha", "Epsilon Alpha", "Gamma", "beta", "delta"]


def test_sort_by_a_field_left_out_of_the_compact_payload(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(sort_by="inpainting", sort_desc=True))
    assert names(result)[0] == "Alpha"
    result = search_category("image_generation", images, SearchParams(sort_by="record_type"))
    assert result.total == 5  # every default is "image_generation": stable, no crash
    assert names(result) == ["Alpha", "beta", "Gamma", "delta", "Epsilon Alpha"]


def test_sort_by_nested_path() -> None:
    records = [
        _simple("esrgan", "a", finetune_series={"name": "zeta"}),
        _simple("esrgan", "b"),
        _simple("esrgan", "c", finetune_series={"name": "alpha"}),
    ]
    result = search_category("esrgan", records, SearchParams(sort_by="finetune_series__name"))
    assert names(result) == ["c", "a", "b"]
    result = search_category("esrgan", records, SearchParams(sort_by="model_classification__purpose"))
    assert names(result) == ["a", "b", "c"]


@pytest.mark.parametrize("sort_by", ["parameters", "parameters_count"])
def test_text_sort_accepts_both_parameter_names(texts: Records, sort_by: str) -> None:
    result = search_category(
        "text_generation", texts, SearchParams(sort_by=sort_by, exclude_backend_variations=True)
    )
    assert names(result) == [
        "org/Tiny-1B-GGUF",
        "org/Mistral-7B-Q4_K_M",
        "org/Llama-3-8B-Instruct",
        "org/Unknown",
    ]
    assert all("parameters_count" not in payload for payload in result.results)
    assert result.results[0]["parameters"] == 1_000_000_000


def test_text_filters_accept_field_name_or_alias_only_for_sort(texts: Records) -> None:
    with pytest.raises(DomainError) as caught:
        search_category("text_generation", texts, SearchParams(sort_by="params"))
    detail = str(caught.value.detail)
    assert detail.startswith(
        "Invalid sort_by field: Field 'params' does not exist on TextGenerationModelRecord."
    )
    assert "'parameters'" in detail
    assert "'parameters_count'" in detail


@pytest.mark.parametrize("sort_by", ["nope", "", "__name", "name__", "Name", "tags__"])
def test_unknown_sort_field_is_400(images: Records, sort_by: str) -> None:
    with pytest.raises(DomainError) as caught:
        search_category("image_generation", images, SearchParams(sort_by=sort_by))
    assert caught.value.status == 400
    assert str(caught.value.detail).startswith("Invalid sort_by field: ")


def test_sort_validated_even_without_records() -> None:
    with pytest.raises(DomainError):
        search_category("clip", [], SearchParams(sort_by="nope"))


def test_incomparable_values_are_400() -> None:
    records: Records = [
        ("a", {"name": "a", "version": "1"}),
        ("b", {"name": "b", "version": 2}),
    ]
    with pytest.raises(DomainError) as caught:
        search_category("esrgan", records, SearchParams(sort_by="version"))
    assert caught.value.status == 400
    assert str(caught.value.detail).startswith("Invalid sort_by field: ")


def test_dict_values_cannot_be_ordered() -> None:
    records = [
        _simple("esrgan", "a", metadata={"created_at": 1}),
        _simple("esrgan", "b", metadata={"created_at": 2}),
    ]
    with pytest.raises(DomainError):
        search_category("esrgan", records, SearchParams(sort_by="metadata"))
    result = search_category("esrgan", records, SearchParams(sort_by="metadata__created_at", sort_desc=True))
    assert names(result) == ["b", "a"]


def test_nested_path_through_a_scalar_is_400() -> None:
    with pytest.raises(DomainError):
        search_category("esrgan", [_simple("esrgan", "a")], SearchParams(sort_by="name__x"))


# --- paging ---------------------------------------------------------------------------------------------


def test_total_is_counted_before_paging(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(limit=2, offset=1))
    assert names(result) == ["beta", "Gamma"]
    assert result.total == 5
    assert result.has_more
    assert result.as_dict()["has_more"] is True


def test_has_more_at_the_exact_boundary(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(limit=2, offset=3))
    assert names(result) == ["delta", "Epsilon Alpha"]
    assert result.has_more is False
    result = search_category("image_generation", images, SearchParams(limit=5))
    assert result.has_more is False
    result = search_category("image_generation", images, SearchParams(limit=4))
    assert result.has_more is True


def test_offset_past_the_end(images: Records) -> None:
    result = search_category("image_generation", images, SearchParams(offset=50))
    assert result.results == []
    assert result.total == 5
    assert not result.has_more


def test_paging_after_sort_and_filter(images: Records) -> None:
    params = SearchParams(sort_by="size_on_disk_bytes", sort_desc=True, nsfw=False, limit=1, offset=1)
    result = search_category("image_generation", images, params)
    assert names(result) == ["Alpha"]
    assert result.total == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (SearchParams(limit=0), "limit"),
        (SearchParams(limit=MAX_SEARCH_LIMIT + 1), "limit"),
        (SearchParams(offset=-1), "offset"),
    ],
)
def test_out_of_range_paging_is_422(params: SearchParams, field: str) -> None:
    with pytest.raises(DomainError) as in_category:
        search_category("clip", [], params)
    with pytest.raises(DomainError) as across:
        search_all([], params)
    for caught in (in_category, across):
        assert caught.value.status == 422
        detail = caught.value.detail
        assert isinstance(detail, list)
        assert detail[0]["loc"] == ["query", field]


def test_unknown_category_is_422() -> None:
    with pytest.raises(DomainError) as caught:
        search_category("nope", [], SearchParams())
    assert caught.value.status == 422
    assert str(caught.value.detail).startswith("Unknown category 'nope'. Valid: ['blip', ")


# --- results are the stored payloads ----------------------------------------------------------------


def test_results_are_the_given_payloads_and_inputs_are_untouched(images: Records, texts: Records) -> None:
    before = copy.deepcopy((images, texts))
    result = search_category("image_generation", images, SearchParams(sort_by="size_on_disk_bytes"))
    assert all(any(payload is stored for _, stored in images) for payload in result.results)
    search_category("text_generation", texts, SearchParams(sort_by="parameters", quantized=False))
    search_all(_everything(images, texts), SearchParams(sort_by="record_type", nsfw=True))
    assert (images, texts) == before


# --- cross-category -------------------------------------------------------------------------------------


def _everything(images: Records, texts: Records) -> list[tuple[str, str, dict[str, Any]]]:
    clips = [_simple("clip", "ViT-L/14"), _simple("clip", "anime-clip")]
    return (
        [("clip", name, payload) for name, payload in clips]
        + [("image_generation", name, payload) for name, payload in images]
        + [("text_generation", name, payload) for name, payload in texts]
    )


def test_search_all_keeps_category_then_stored_order(images: Records, texts: Records) -> None:
    result = search_all(_everything(images, texts), SearchParams(limit=500))
    assert result.total == 2 + 5 + 6
    assert names(result)[:3] == ["ViT-L/14", "anime-clip", "Alpha"]


def test_search_all_nsfw_excludes_records_without_the_field(images: Records, texts: Records) -> None:
    everything = _everything(images, texts)
    assert names(search_all(everything, SearchParams(nsfw=True))) == [
        "beta",
        "delta",
        "org/Mistral-7B-Q4_K_M",
    ]
    result = search_all(everything, SearchParams(nsfw=False, limit=500))
    assert result.total == 3 + 5
    assert "ViT-L/14" not in names(result)


def test_search_all_treats_untyped_tags_as_none(images: Records, texts: Records) -> None:
    everything = _everything(images, texts)
    assert names(search_all(everything, SearchParams(tags_any=("anime",)))) == [
        "Alpha",
        "delta",
        "Epsilon Alpha",
    ]
    result = search_all(everything, SearchParams(tags_none=("anime",), limit=500))
    assert "ViT-L/14" in names(result)
    assert result.total == 13 - 3


def test_search_all_name_contains(images: Records, texts: Records) -> None:
    result = search_all(_everything(images, texts), SearchParams(name_contains="ANIME"))
    assert names(result) == ["anime-clip"]


def test_search_all_applies_baseline_and_inpainting(images: Records, texts: Records) -> None:
    everything = _everything(images, texts)
    assert names(search_all(everything, SearchParams(baseline="stable_diffusion_xl"))) == ["beta"]
    assert names(search_all(everything, SearchParams(inpainting=True))) == ["Alpha"]
    assert search_all(everything, SearchParams(baseline="nope")).total == 0
    # Records whose type has no such field never match (as with nsfw).
    not_inpainting = search_all(everything, SearchParams(inpainting=False, limit=500))
    assert set(names(not_inpainting)) == {"beta", "Gamma", "delta", "Epsilon Alpha"}


@pytest.mark.parametrize("sort_by", ["nsfw", "baseline", "tags", "parameters", "pretrained_name", "bogus"])
def test_search_all_sorts_only_by_generic_fields(images: Records, texts: Records, sort_by: str) -> None:
    with pytest.raises(DomainError) as caught:
        search_all(_everything(images, texts), SearchParams(sort_by=sort_by))
    assert caught.value.status == 400
    assert str(caught.value.detail).startswith(
        f"Invalid sort_by field: Field '{sort_by}' does not exist on GenericModelRecord."
    )


def test_search_all_sort_by_record_type_uses_category_defaults(images: Records, texts: Records) -> None:
    assert "record_type" not in images[0][1]
    result = search_all(_everything(images, texts), SearchParams(sort_by="record_type", limit=500))
    types = [payload.get("record_type", "image_generation") for payload in result.results]
    assert types == sorted(types)
    assert types[0] == "clip"
    assert types[2:7] == ["image_generation"] * 5
    result = search_all(
        _everything(images, texts),
        SearchParams(sort_by="model_classification__domain", sort_desc=True, limit=3),
    )
    assert all(payload["record_type"] == "text_generation" for payload in result.results)


def test_search_all_sort_by_size(images: Records, texts: Records) -> None:
    result = search_all(_everything(images, texts), SearchParams(sort_by="size_on_disk_bytes", limit=3))
    assert names(result) == ["beta", "delta", "Epsilon Alpha"]


def test_generic_sort_fields() -> None:
    assert GENERIC_SORT_FIELDS == (
        "record_type",
        "name",
        "description",
        "version",
        "finetune_series",
        "metadata",
        "config",
        "model_classification",
        "size_on_disk_bytes",
        "licensing",
    )


def test_search_all_keeps_same_named_records_of_different_categories() -> None:
    records = [
        ("clip", "shared", {"name": "shared"}),
        ("blip", "shared", {"name": "shared"}),
    ]
    assert search_all(records, SearchParams()).total == 2


# --- the real data ------------------------------------------------------------------------------------


def test_real_image_data_filters_match_the_legacy_flags(reference_data: Path) -> None:
    legacy = json.loads((reference_data / "image" / "stable_diffusion.json").read_text(encoding="utf-8"))
    converted = legacy_image_document_to_canonical("image_generation", legacy)
    records = [(entry.name, entry.payload) for entry in converted.entries]
    assert len(records) > 100

    inpainting = search_category("image_generation", records, SearchParams(inpainting=True, limit=500))
    assert {payload["name"] for payload in inpainting.results} == {
        record["name"] for record in legacy.values() if record.get("inpainting") is True
    }
    nsfw = search_category("image_generation", records, SearchParams(nsfw=True, limit=500))
    assert nsfw.total == sum(1 for record in legacy.values() if record.get("nsfw") is True)

    everything = [("image_generation", name, payload) for name, payload in records] * 6
    started = time.perf_counter()
    result = search_all(
        everything, SearchParams(sort_by="size_on_disk_bytes", sort_desc=True, tags_none=("x",))
    )
    # ~1000 records per request: far below a millisecond per hundred records.
    assert time.perf_counter() - started < 0.5
    assert result.total == len(everything)


# --- properties -----------------------------------------------------------------------------------------

_CATEGORIES = [category.value for category in MODEL_REFERENCE_CATEGORY]
_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=4))
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
_FIELD_KEYS = [
    "name",
    "nsfw",
    "tags",
    "baseline",
    "inpainting",
    "parameters",
    "version",
    "size_on_disk_bytes",
    "record_type",
    "metadata",
    "finetune_series",
]
_payloads = st.dictionaries(st.sampled_from(_FIELD_KEYS), _json_values, max_size=6)
_record_names = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["aphrodite/org/X-7B", "koboldcpp/X-7B-GGUF", "org/Y-13B-Q4_K_M", "Z"]),
)
_tags = st.lists(st.sampled_from(["a", "b", "anime", ""]), max_size=3).map(tuple)
_sort_fields = st.one_of(
    st.none(),
    st.sampled_from(
        [*_FIELD_KEYS, "parameters_count", "metadata__created_at", "finetune_series__name", "x__y"]
    ),
    st.text(max_size=6),
)
_params = st.builds(
    SearchParams,
    nsfw=st.none() | st.booleans(),
    baseline=st.none() | st.text(max_size=3),
    inpainting=st.none() | st.booleans(),
    tags_any=_tags,
    tags_all=_tags,
    tags_none=_tags,
    name_contains=st.none() | st.text(max_size=3),
    sort_by=_sort_fields,
    sort_desc=st.booleans(),
    limit=st.integers(-2, 600),
    offset=st.integers(-2, 20),
    backend=st.none() | st.sampled_from(["aphrodite", "koboldcpp", "vllm", ""]),
    exclude_backend_variations=st.booleans(),
    quantized=st.none() | st.booleans(),
)


def _is_subsequence(part: list[dict[str, Any]], whole: list[dict[str, Any]]) -> bool:
    remaining = iter(whole)
    return all(any(item is candidate for candidate in remaining) for item in part)


@given(
    category=st.sampled_from([*_CATEGORIES, "nope"]),
    records=st.lists(st.tuples(_record_names, _payloads), max_size=8),
    params=_params,
)
def test_search_category_only_raises_domain_errors(
    category: str, records: list[tuple[str, dict[str, Any]]], params: SearchParams
) -> None:
    before = copy.deepcopy(records)
    error: DomainError | None = None
    try:
        result = search_category(category, records, params)
    except DomainError as exc:
        error = exc
    assert records == before
    if error is not None:
        assert error.status in (400, 422)
        return
    payloads = [payload for _, payload in records]
    assert result.total >= len(result.results)
    assert len(result.results) <= params.limit
    assert result.total <= len(records)
    if params.sort_by is None:
        assert _is_subsequence(result.results, payloads)
    else:
        assert all(any(item is payload for payload in payloads) for item in result.results)
    assert result.has_more == (params.offset + params.limit < result.total)


@given(
    records=st.lists(
        st.tuples(st.sampled_from([*_CATEGORIES, "nope"]), _record_names, _payloads), max_size=8
    ),
    params=_params,
)
def test_search_all_only_raises_domain_errors(
    records: list[tuple[str, str, dict[str, Any]]], params: SearchParams
) -> None:
    error: DomainError | None = None
    try:
        result = search_all(records, params)
    except DomainError as exc:
        error = exc
    if error is not None:
        assert error.status in (400, 422)
        return
    payloads = [payload for _, _, payload in records]
    assert result.total >= len(result.results)
    assert result.total <= len(records)
    if params.sort_by is None:
        assert _is_subsequence(result.results, payloads)


@given(
    params=_params.filter(lambda p: p.sort_by is None and 1 <= p.limit <= MAX_SEARCH_LIMIT and p.offset >= 0)
)
def test_unsorted_pages_concatenate_to_the_filtered_sequence(params: SearchParams) -> None:
    records = [
        _image(f"m{index}", tags=["a"] if index % 2 else ["b"], nsfw=index % 3 == 0) for index in range(12)
    ]
    base = SearchParams(
        nsfw=params.nsfw,
        inpainting=params.inpainting,
        tags_any=params.tags_any,
        tags_none=params.tags_none,
        name_contains=params.name_contains,
        limit=MAX_SEARCH_LIMIT,
    )
    everything = search_category("image_generation", records, base)
    pages: list[dict[str, Any]] = []
    for offset in range(0, everything.total + 3, 3):
        page = search_category(
            "image_generation", records, SearchParams(**{**base.__dict__, "limit": 3, "offset": offset})
        )
        assert page.total == everything.total
        pages.extend(page.results)
    assert pages == everything.results
    assert _is_subsequence(everything.results, [payload for _, payload in records])
