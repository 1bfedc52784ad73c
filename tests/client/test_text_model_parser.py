"""Text model name parsing and grouping (``horde_model_reference.text_model_parser``).

The real ``db.json`` is read from ``<repo>/../shared/reference-data`` (never copied).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde_model_reference.text_model_parser import (
    NameFormatSchema,
    ParsedNameExtra,
    TextModelGroup,
    add_text_model_groups,
    compute_group_summaries,
    get_base_model_name,
    get_model_size,
    get_model_variant,
    group_text_models_by_base,
    has_backend_prefix,
    infer_name_format,
    is_quantized_variant,
    normalize_model_name,
    parse_text_model_name,
    split_author,
    strip_backend_prefix,
)

SUMMARY_KEYS = {
    "member_count",
    "available_sizes",
    "available_quants",
    "common_baseline",
    "any_nsfw",
    "any_has_description",
    "merged_tags",
    "name_format",
}
NAME_FORMAT_KEYS = {"separator", "part_order", "author_included", "common_author", "template"}


# --- parse_text_model_name --------------------------------------------------------------


def test_spec_example_llama() -> None:
    parsed = parse_text_model_name("Llama-3-8B-Instruct-Q4_K_M")
    assert parsed.original_name == "Llama-3-8B-Instruct-Q4_K_M"
    assert parsed.base_name == "Llama-3"
    assert parsed.size == "8B"
    assert parsed.variant == "Instruct"
    assert parsed.quant == "Q4_K_M"
    assert parsed.version is None
    assert parsed.extras == ()
    assert parsed.normalized_name == "llama_3_8b_instruct_q4_k_m"
    assert parsed.part_order == ("base", "size", "variant", "quant")


def test_spec_example_qwen_fractional_size() -> None:
    parsed = parse_text_model_name("Qwen3-0.6B-Instruct-Q4_K_M")
    assert (parsed.base_name, parsed.size, parsed.variant, parsed.quant) == (
        "Qwen3",
        "0.6B",
        "Instruct",
        "Q4_K_M",
    )


def test_no_size_in_gpt4() -> None:
    parsed = parse_text_model_name("GPT-4")
    assert parsed.size is None
    assert parsed.base_name == "GPT-4"
    assert get_model_size("GPT-4") is None


@pytest.mark.parametrize(
    ("name", "size", "base"),
    [
        ("Mixtral-8x7B-Instruct-v0.1", "8X7B", "Mixtral"),
        # The base keeps "8x2": group identity is 8.6.2's (docs/text-parser-differences.md).
        ("Mixtral-8x22B", "8X22B", "Mixtral-8x2"),
        ("opt-125m", "125M", "opt"),
        ("pythia-1.3b-deduped", "1.3B", "pythia-deduped"),
        ("bloom-7b1", "7B1", "bloom"),
        ("Qwen3-30B-A3B", "30B", "Qwen3-A3B"),
    ],
)
def test_size_forms(name: str, size: str, base: str) -> None:
    parsed = parse_text_model_name(name)
    assert parsed.size == size
    assert parsed.base_name == base


def test_size_needs_no_letter_before_or_after() -> None:
    # "3B" glued to letters is part of a word (e.g. "Gemma3Bx"), not a size.
    assert parse_text_model_name("Gemma3Bx").size is None
    assert parse_text_model_name("x-3Bee").size is None


def test_leading_dotted_version_is_an_extra() -> None:
    parsed = parse_text_model_name("1.5-Pygmalion-7B")
    assert parsed.extras == (ParsedNameExtra("leading_version", "1.5", 0),)
    assert parsed.extras[0].inferred_type == "LEADING_VERSION"
    assert parsed.extra("leading_version") == "1.5"
    assert parsed.base_name == "Pygmalion"
    assert parsed.size == "7B"
    assert parsed.part_order == ("extra:LEADING_VERSION", "base", "size")


def test_leading_version_needs_a_separator_after_it() -> None:
    parsed = parse_text_model_name("2.5Foo")
    assert parsed.extra("leading_version") is None


@pytest.mark.parametrize(
    ("name", "version", "base"),
    [
        ("acrastt/Marx-3B-V3", "V3", "acrastt/Marx"),
        ("StrawberryLemonade-L3-70B-v1.2", "v1.2", "StrawberryLemonade-L3"),
        ("magnum-v4-123b", "v4", "magnum"),
        ("Cydonia-22B-v1.2.3", "v1.2.3", "Cydonia"),
    ],
)
def test_versions(name: str, version: str, base: str) -> None:
    parsed = parse_text_model_name(name)
    assert parsed.version == version
    assert parsed.base_name == base


def test_version_not_taken_from_inside_a_word() -> None:
    assert parse_text_model_name("Nevo2-dev3").version is None


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Model-Q5_K_S", "Q5_K_S"),
        ("Model-Q6_K", "Q6_K"),
        ("Model-Q8_0", "Q8_0"),
        ("Model-q4", "Q4"),
        ("Model-GGUF", "GGUF"),
        ("Model-awq", "AWQ"),
        ("Model-exl2", "EXL2"),
        ("lzlv_70b-fp16-hf", "FP16"),
        ("model-q4_k_m", "Q4_K_M"),
    ],
)
def test_quants_are_upper_cased(name: str, quant: str) -> None:
    assert parse_text_model_name(name).quant == quant
    assert is_quantized_variant(name)


@pytest.mark.parametrize("name", ["lzlv_70b_fp16_hf", "model_q4_k_m", "m-Q4_K_M_x"])
def test_quant_glued_by_underscore_is_part_of_the_base(name: str) -> None:
    # "_" joins words for quants and variants (8.6.2's rule, which its group keys follow):
    # the real lizpreciatior/lzlv_70b_fp16_hf is in group "lzlv_fp16_hf".
    assert parse_text_model_name(name).quant is None
    assert not is_quantized_variant(name)


def test_not_quantized() -> None:
    assert not is_quantized_variant("Llama-3-8B-Instruct")
    assert not is_quantized_variant("Qwen2-7B")  # "Q" of Qwen is not a quant


@pytest.mark.parametrize(
    ("name", "variant"),
    [
        ("Llama-3-8B-Instruct", "Instruct"),
        ("Qwen1.5-0.5B-chat", "chat"),
        ("Foo-Uncensored", "Uncensored"),
        ("QwQ-32B-Preview", "Preview"),
        ("Bar-Thinking", "Thinking"),
        ("Llama-instruct", "instruct"),
    ],
)
def test_variants_are_kept_as_found(name: str, variant: str) -> None:
    assert get_model_variant(name) == variant


def test_variant_glued_by_underscore_is_part_of_the_base() -> None:
    # The issue's example: 8.6.2 groups it as "Phi-3.5-mini-instruct_Uncensored".
    assert get_model_variant("Llama_Instruct") is None
    parsed = parse_text_model_name("Phi-3.5-mini-instruct_Uncensored")
    assert parsed.variant is None
    assert parsed.base_name == "Phi-3.5-mini-instruct_Uncensored"


def test_variant_not_taken_from_inside_a_word() -> None:
    assert get_model_variant("magnum-v3-9b-chatml") is None
    assert get_model_variant("CodeLlama-13b") is None
    assert get_model_variant("Llama-3-8B") is None


@pytest.mark.parametrize(
    ("name", "date", "base"),
    [
        ("Mistral-Small-Instruct-2409", "2409", "Mistral-Small"),
        ("Model-06-2024", "06-2024", "Model"),
        ("Model-2024-06", "2024-06", "Model"),
    ],
)
def test_date_extras(name: str, date: str, base: str) -> None:
    parsed = parse_text_model_name(name)
    assert parsed.extra("date") == date
    assert parsed.base_name == base


def test_base_name_falls_back_to_the_original() -> None:
    assert parse_text_model_name("8B").base_name == "8B"
    assert parse_text_model_name("---").base_name == "---"
    assert parse_text_model_name("").base_name == ""


def test_separator_runs_collapse_and_ends_are_stripped() -> None:
    assert parse_text_model_name("_Foo--Bar__7B_").base_name == "Foo-Bar"


def test_normalized_name() -> None:
    assert normalize_model_name("Llama 3.1-8B") == "llama_3_1_8b"
    assert normalize_model_name("A--B") == "a_b"


def test_parse_is_cached() -> None:
    first = parse_text_model_name("Cached-7B")
    assert parse_text_model_name("Cached-7B") is first
    assert parse_text_model_name.cache_info().maxsize == 2048


# --- base names, prefixes and grouping --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("acrastt/Marx-3B-V3", "Marx"),
        ("aphrodite/acrastt/Marx-3B-V3", "Marx"),
        ("koboldcpp/Marx-3B-V3", "Marx"),
        ("Llama-3-8B-Instruct-Q4_K_M", "Llama-3"),
        ("Qwen3-0.6B-Instruct-Q4_K_M", "Qwen3"),
        ("koboldcpp/sophosympatheia/StrawberryLemonade-L3-70B-v1.2", "StrawberryLemonade-L3"),
        ("aphrodite/ReadyArt/Broken-Tutu-24B", "Broken-Tutu"),
        ("gpt2", "gpt2"),
        ("GPT-4", "GPT-4"),
    ],
)
def test_get_base_model_name(name: str, base: str) -> None:
    assert get_base_model_name(name) == base


def test_author_is_stripped_only_up_to_the_first_slash() -> None:
    assert split_author("a/b/c-7B") == ("a", "b/c-7B")
    assert split_author("plain") == (None, "plain")
    assert split_author("org/") == (None, "org/")
    assert split_author("aphrodite/org/X") == ("org", "X")


def test_backend_prefix_helpers() -> None:
    assert strip_backend_prefix("aphrodite/org/X") == "org/X"
    assert strip_backend_prefix("koboldcpp/X") == "X"
    assert strip_backend_prefix("vllm/X") == "vllm/X"
    assert has_backend_prefix("koboldcpp/X")
    assert not has_backend_prefix("org/X")


def test_author_does_not_leak_into_helpers() -> None:
    # An author that looks like a size or quant must not be parsed as one.
    assert get_model_size("7B-labs/Foo") is None
    assert not is_quantized_variant("GGUF-org/Foo-7B")


def test_group_text_models_by_base_keeps_first_seen_order() -> None:
    names = [
        "meta/Llama-3-8B-Instruct",
        "Mistral-7B-v0.1",
        "aphrodite/meta/Llama-3-8B-Instruct",
        "Llama-3-70B-Instruct-Q4_K_M",
        "koboldcpp/Mistral-7B-v0.1",
    ]
    groups = group_text_models_by_base(names)
    assert list(groups) == ["Llama-3", "Mistral"]
    assert groups["Llama-3"] == TextModelGroup(
        "Llama-3",
        ("meta/Llama-3-8B-Instruct", "aphrodite/meta/Llama-3-8B-Instruct", "Llama-3-70B-Instruct-Q4_K_M"),
    )
    assert groups["Mistral"].variants == ("Mistral-7B-v0.1", "koboldcpp/Mistral-7B-v0.1")


# --- infer_name_format -------------------------------------------------------------------


def test_infer_name_format_of_nothing_is_the_default() -> None:
    schema = infer_name_format([])
    assert schema == NameFormatSchema()
    assert schema.template == "{base}-{size}"


def test_infer_name_format_author_and_template() -> None:
    schema = infer_name_format(
        ["meta/Llama-3-8B", "aphrodite/meta/Llama-3-8B-Instruct", "koboldcpp/Llama-3-8B"]
    )
    assert schema.author_included
    # Everything before the first "/" is the author, backend prefixes included (as 8.6.2):
    # three distinct "authors", so none is common.
    assert schema.common_author is None
    assert schema.separator == "-"
    assert schema.part_order == ("base", "size", "variant")
    assert schema.template == "{author}/{base}-{size}-{variant}"


def test_infer_name_format_one_author() -> None:
    assert infer_name_format(["meta/Llama-3-8B", "meta/Llama-3-70B", "Llama-3-1B"]).common_author == "meta"


def test_part_order_leaves_out_a_base_split_by_a_size() -> None:
    # Base "MN-Starcannon" is not one piece of the name, so it has no place (8.6.2's answer).
    schema = infer_name_format(["aetherwiing/MN-12B-Starcannon-v3"])
    assert schema.part_order == ("size", "version")
    assert schema.template == "{author}/{size}-{version}"


def test_part_order_places_a_part_where_its_text_first_occurs() -> None:
    # "7B" first occurs inside the base "x7B", so the size sorts before the version.
    assert parse_text_model_name("x7B-v1-7B").part_order == ("base", "size", "version")


def test_infer_name_format_two_authors_have_no_common_author() -> None:
    schema = infer_name_format(["a/Foo-7B", "b/Foo-13B"])
    assert schema.author_included
    assert schema.common_author is None


def test_infer_name_format_without_author() -> None:
    schema = infer_name_format(["Foo-7B"])
    assert not schema.author_included
    assert schema.template == "{base}-{size}"


def test_infer_name_format_separator_ignores_quant_underscores() -> None:
    assert infer_name_format(["Foo-7B-Q4_K_M", "Foo-13B-Q5_K_S"]).separator == "-"
    assert infer_name_format(["foo_bar_7b", "foo_bar_13b"]).separator == "_"
    assert infer_name_format(["foo_bar_7b"]).template == "{base}_{size}"


def test_infer_name_format_uses_the_richest_member_and_labels_extras() -> None:
    schema = infer_name_format(["Foo-7B", "Foo-7B-Instruct-2409-Q4_K_M"])
    assert schema.part_order == ("base", "size", "variant", "extra:DATE", "quant")
    assert schema.template == "{base}-{size}-{variant}-{extra:DATE}-{quant}"
    assert schema.extra_parts == ("DATE",)
    assert schema.as_dict() == {
        "separator": "-",
        "part_order": ["base", "size", "variant", "extra:DATE", "quant"],
        "author_included": False,
        "common_author": None,
        "template": "{base}-{size}-{variant}-{extra:DATE}-{quant}",
    }
    assert schema.as_dict(include_extra_parts=True)["extra_parts"] == ["DATE"]


# --- summaries -----------------------------------------------------------------------------


def test_compute_group_summaries() -> None:
    models: dict[str, dict[str, Any]] = {
        "meta/Llama-3-8B-Instruct": {"baseline": "llama3", "tags": ["chat", "8B"], "description": "x"},
        "aphrodite/meta/Llama-3-8B-Instruct": {"baseline": "llama3", "tags": ["8B"], "nsfw": False},
        "Llama-3-70B-GGUF": {"baseline": "llama3", "tags": ["70B"], "nsfw": True, "description": " "},
        "Mistral-7B": {"baseline": "mistral", "description": ""},
        "Other-7B": {"baseline": "", "text_model_group": "Mistral"},
    }
    summaries = compute_group_summaries(models)
    assert set(summaries) == {"Llama-3", "Mistral"}
    llama = summaries["Llama-3"]
    assert llama.member_count == 3
    assert llama.available_sizes == ("8B", "70B")
    assert llama.available_quants == ("GGUF",)
    assert llama.common_baseline == "llama3"
    assert llama.any_nsfw
    assert llama.any_has_description
    assert llama.merged_tags == ("70B", "8B", "chat")
    mistral = summaries["Mistral"]
    assert mistral.member_count == 2
    assert mistral.common_baseline == "mistral"  # a member without a baseline does not count
    assert not mistral.any_nsfw
    assert not mistral.any_has_description
    assert mistral.merged_tags == ()
    as_dict = llama.as_dict()
    assert set(as_dict) == SUMMARY_KEYS
    assert set(as_dict["name_format"]) == NAME_FORMAT_KEYS
    json.dumps(as_dict)


def test_sizes_sort_by_magnitude() -> None:
    models: dict[str, dict[str, Any]] = {f"Foo-{size}": {} for size in ("70B", "125M", "8x7B", "0.5B", "8B")}
    assert compute_group_summaries(models)["Foo"].available_sizes == ("125M", "0.5B", "8B", "8X7B", "70B")


def test_add_text_model_groups_copies_and_enriches() -> None:
    document: dict[str, Any] = {
        "org/Foo-7B": {"name": "org/Foo-7B", "baseline": "b", "tags": ["t"]},
        "aphrodite/org/Foo-7B": {"name": "aphrodite/org/Foo-7B", "baseline": "b"},
        "koboldcpp/Foo-7B": {"name": "koboldcpp/Foo-7B", "baseline": "b"},
        "weird": "not an object",
    }
    before = copy.deepcopy(document)
    enriched = add_text_model_groups(document)
    assert document == before
    assert list(enriched) == list(document)
    assert enriched["weird"] == "not an object"
    for key in ("org/Foo-7B", "aphrodite/org/Foo-7B", "koboldcpp/Foo-7B"):
        entry = enriched[key]
        assert entry["text_model_group"] == "Foo"
        assert list(entry)[: len(document[key])] == list(document[key])
        summary = entry["text_model_group_summary"]
        assert summary["member_count"] == 3
        assert summary["common_baseline"] == "b"
        assert summary["merged_tags"] == ["t"]
        # "aphrodite" and "koboldcpp" count as authors too, as in 8.6.2's include_group answer.
        assert summary["name_format"]["common_author"] is None
    enriched["org/Foo-7B"]["text_model_group_summary"]["merged_tags"].append("changed")
    assert enriched["koboldcpp/Foo-7B"]["text_model_group_summary"]["merged_tags"] == ["t"]


def test_add_text_model_groups_recomputes_from_the_key() -> None:
    enriched = add_text_model_groups({"Foo-7B": {"text_model_group": "Stale"}})
    assert enriched["Foo-7B"]["text_model_group"] == "Foo"


# --- properties ----------------------------------------------------------------------------

_NAME_ALPHABET = st.sampled_from([*"abcQKMBxXvV0123456789-_ ./", "Instruct", "GGUF", "Q4_K_M", "8x7B"])
names = st.one_of(st.text(), st.lists(_NAME_ALPHABET, max_size=12).map("".join))


@given(names)
def test_parse_never_raises_and_is_deterministic(name: str) -> None:
    parsed = parse_text_model_name(name)
    parse_text_model_name.cache_clear()
    assert parse_text_model_name(name) == parsed
    if name:
        assert parsed.base_name
    assert parsed.original_name == name
    assert len(set(parsed.part_order)) == len(parsed.part_order)
    assert ("base" in parsed.part_order) == (
        bool(parsed.base_name) and parsed.base_name.casefold() in name.casefold()
    )
    assert len(parsed.part_order) == ("base" in parsed.part_order) + sum(
        value is not None for value in (parsed.size, parsed.variant, parsed.quant, parsed.version)
    ) + len(parsed.extras)
    if parsed.size is not None:
        assert parsed.size == parsed.size.upper()


@given(names)
def test_helpers_never_raise(name: str) -> None:
    base = get_base_model_name(name)
    assert isinstance(base, str)
    if name:
        assert base
    if name and "/" not in name:
        # Backend copies always share their model's group.
        assert get_base_model_name("aphrodite/" + name) == base
        assert get_base_model_name("koboldcpp/" + name) == base
        assert get_base_model_name("aphrodite/org/" + name) == base
    is_quantized_variant(name)
    get_model_size(name)
    get_model_variant(name)
    schema = infer_name_format([name, "org/" + name])
    json.dumps(schema.as_dict())


@given(st.lists(names, max_size=8))
def test_grouping_partitions_the_names(group_names: list[str]) -> None:
    groups = group_text_models_by_base(group_names)
    members = [member for group in groups.values() for member in group.variants]
    assert Counter(members) == Counter(group_names)
    summaries = compute_group_summaries({name: {} for name in group_names})
    assert sum(summary.member_count for summary in summaries.values()) == len(set(group_names))


# --- the real db.json ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_db(reference_data: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((reference_data / "text" / "db.json").read_text(encoding="utf-8"))
    return document


def test_real_every_entry_gets_a_group(real_db: dict[str, Any]) -> None:
    enriched = add_text_model_groups(real_db)
    assert list(enriched) == list(real_db)
    for entry in enriched.values():
        assert isinstance(entry["text_model_group"], str)
        assert entry["text_model_group"]
        assert set(entry["text_model_group_summary"]) == SUMMARY_KEYS
    json.dumps(enriched)


def test_real_backend_copies_share_their_model_group(real_db: dict[str, Any]) -> None:
    prefixed = 0
    for key in real_db:
        if key.startswith("aphrodite/"):
            prefixed += 1
            base_key = key.removeprefix("aphrodite/")
            assert base_key in real_db
            assert get_base_model_name(key) == get_base_model_name(base_key)
        elif key.startswith("koboldcpp/"):
            model_name = real_db[key]["model_name"]
            assert get_base_model_name(key) == get_base_model_name(model_name)
    assert prefixed > 500


def test_real_summaries_are_consistent(real_db: dict[str, Any]) -> None:
    enriched = add_text_model_groups(real_db)
    summaries = compute_group_summaries(enriched)
    assert sum(summary.member_count for summary in summaries.values()) == len(real_db)
    counts = Counter(entry["text_model_group"] for entry in enriched.values())
    for group, summary in summaries.items():
        assert summary.member_count == counts[group]
    for entry in enriched.values():
        assert entry["text_model_group_summary"] == summaries[entry["text_model_group"]].as_dict()
    groups = group_text_models_by_base(real_db)
    assert set(groups) == set(summaries)
    assert len(groups) < len(real_db) / 3  # grouping actually merges sizes and versions


def test_real_marx_group(real_db: dict[str, Any]) -> None:
    enriched = add_text_model_groups(real_db)
    entry = enriched["aphrodite/acrastt/Marx-3B-V3"]
    assert entry["text_model_group"] == "Marx"
    summary = entry["text_model_group_summary"]
    assert summary["available_sizes"] == ["3B"]
    assert summary["common_baseline"] == "StableLM-3B-4E1T"
    assert summary["name_format"]["common_author"] is None  # backend copies count as authors (8.6.2)
