"""Differential test: our text name parser against horde-model-reference 8.6.2, every real name.

``fixtures/established_8_6_2_text_parser.json`` holds the established package's answers for
every name of the real ``models.csv`` and ``db.json`` (recorded by
``scripts/record_text_parser_oracle.py`` in a separate Python 3.12 environment; its code is
never copied). Group identity (``text_model_group``, ``suggested_group``, the groups, their
``name_format`` and ``common_author``) must be equal everywhere (DECISIONS 29). Descriptive
fields may differ only where the established answer is plainly wrong; each such difference is
listed in ``docs/text-parser-differences.md`` and pinned below, name by name, so the list can
neither grow silently nor hide an identity difference.

Runs without Django (the client-only test environment).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from horde_model_reference.text_model_parser import (
    add_text_model_groups,
    get_base_model_name,
    get_model_size,
    get_model_variant,
    group_text_models_by_base,
    infer_name_format,
    is_quantized_variant,
    parse_text_model_name,
    split_author,
)

FIXTURE = Path(__file__).parent / "fixtures" / "established_8_6_2_text_parser.json"

#: Names whose mixture-of-experts size 8.6.2 reads as its last digit and unit ("8x22B" → "2B").
#: Ours reports the whole size; the base name (the group key) keeps "8x2" exactly as there.
MOE_TAIL_NAMES: dict[str, str] = {
    f"{prefix}{name}": "8X22B"
    for name in (
        "lightblue/Karasu-Mixtral-8x22B-v0.1",
        "microsoft/WizardLM-2-8x22B",
        "mistralai/Mixtral-8x22B-Instruct-v0.1",
    )
    for prefix in ("", "aphrodite/")
} | {
    "koboldcpp/Karasu-Mixtral-8x22B-v0.1": "8X22B",
    "koboldcpp/WizardLM-2-8x22B": "8X22B",
    "koboldcpp/Mixtral-8x22B-Instruct-v0.1": "8X22B",
}
#: The groups whose summary lists those sizes.
MOE_TAIL_GROUPS = {"Karasu-Mixtral-8x2", "WizardLM-2-8x2", "Mixtral-8x2"}
#: 8.6.2's get_model_size and summaries read a size out of the author "Sao10K" ("0K").
AUTHOR_SIZE_AUTHORS = ("Sao10K/", "aphrodite/Sao10K/")


@pytest.fixture(scope="module")
def oracle() -> dict[str, Any]:
    answers: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return answers


def _csv_names(reference_data: Path) -> list[str]:
    with (reference_data / "text" / "models.csv").open(newline="", encoding="utf-8") as handle:
        return list(dict.fromkeys(row["name"] for row in csv.DictReader(handle)))


def test_fixture_covers_every_real_name(oracle: dict[str, Any], reference_data: Path) -> None:
    names = _csv_names(reference_data)
    assert len(names) == 719
    assert oracle["csv_names"] == names
    db: dict[str, Any] = json.loads((reference_data / "text" / "db.json").read_text(encoding="utf-8"))
    assert set(oracle["parse"]) == set(names) | set(db)
    assert list(oracle["include_group"]["text_model_group"]) == list(db)


def test_group_identity_of_every_name_equals_8_6_2(oracle: dict[str, Any]) -> None:
    different = {
        name: (answer["suggested_group"], get_base_model_name(name))
        for name, answer in oracle["parse"].items()
        if get_base_model_name(name) != answer["suggested_group"]
    }
    assert different == {}


def test_the_issues_examples_group_as_8_6_2(oracle: dict[str, Any]) -> None:
    expected = {
        "lightblue/Karasu-Mixtral-8x22B-v0.1": "Karasu-Mixtral-8x2",
        "microsoft/WizardLM-2-8x22B": "WizardLM-2-8x2",
        "SicariusSicariiStuff/Impish_QWEN_14B-1M": "Impish_QWEN_-1M",
        "SicariusSicariiStuff/Phi-3.5-mini-instruct_Uncensored": "Phi-3.5-mini-instruct_Uncensored",
    }
    for name, group in expected.items():
        assert oracle["parse"][name]["suggested_group"] == group
        assert get_base_model_name(name) == group


def _ours(name: str) -> dict[str, Any]:
    parsed = parse_text_model_name(name)
    return {
        "base_name": parsed.base_name,
        "size": parsed.size,
        "variant": parsed.variant,
        "quant": parsed.quant,
        "version": parsed.version,
        "normalized_name": parsed.normalized_name,
        "extras": [
            {"value": extra.value, "position": extra.position, "inferred_type": extra.inferred_type}
            for extra in parsed.extras
        ],
        "suggested_group": get_base_model_name(name),
        "get_model_size": get_model_size(name),
        "get_model_variant": get_model_variant(name),
        "is_quantized_variant": is_quantized_variant(name),
    }


def test_every_parse_field_equals_8_6_2_but_the_documented_sizes(oracle: dict[str, Any]) -> None:
    differences: dict[tuple[str, str], tuple[Any, Any]] = {}
    for name, answer in oracle["parse"].items():
        ours = _ours(name)
        assert set(ours) == set(answer)
        for field, value in ours.items():
            if value != answer[field]:
                differences[(name, field)] = (answer[field], value)

    documented: dict[tuple[str, str], tuple[Any, Any]] = {}
    for name, size in MOE_TAIL_NAMES.items():
        documented[(name, "size")] = ("2B", size)
        documented[(name, "get_model_size")] = ("2B", size)
    for name in oracle["parse"]:
        if name.startswith(AUTHOR_SIZE_AUTHORS):
            # Ours reads the size from the model part, as get_model_size documents.
            documented[(name, "get_model_size")] = ("0K", parse_text_model_name(split_author(name)[1]).size)
    assert differences == documented


def test_moe_size_keeps_the_identity_of_its_tail() -> None:
    parsed = parse_text_model_name("microsoft/WizardLM-2-8x22B")
    assert parsed.size == "8X22B"
    assert parsed.matched_size == "2B"  # what the group key was computed with
    assert parsed.base_name == "microsoft/WizardLM-2-8x2"


def test_author_digits_are_not_a_size() -> None:
    # 8.6.2 answers "0K" (from "Sao10K"); the size is the model's.
    assert get_model_size("Sao10K/L3-8B-Stheno-v3.2") == "8B"
    assert get_model_size("aphrodite/Sao10K/L3.1-70B-Euryale-v2.2") == "70B"


def test_groups_and_name_formats_of_the_csv_names_equal_8_6_2(oracle: dict[str, Any]) -> None:
    groups = group_text_models_by_base(oracle["csv_names"])
    expected: dict[str, Any] = oracle["groups_csv"]
    assert list(groups) == list(expected)
    assert len(groups) == 419
    for key, answer in expected.items():
        assert groups[key].base_name == answer["base_name"]
        assert list(groups[key].variants) == answer["variants"]
        schema = infer_name_format(groups[key].variants)
        assert schema.as_dict(include_extra_parts=True) == answer["name_format"], key


def test_include_group_answer_equals_8_6_2_but_the_documented_sizes(
    oracle: dict[str, Any], reference_data: Path
) -> None:
    db: dict[str, Any] = json.loads((reference_data / "text" / "db.json").read_text(encoding="utf-8"))
    enriched = add_text_model_groups(db)
    expected_groups: dict[str, str] = oracle["include_group"]["text_model_group"]
    summaries: dict[str, Any] = oracle["include_group"]["summaries"]
    assert {name: entry["text_model_group"] for name, entry in enriched.items()} == expected_groups

    size_differences: dict[str, tuple[list[str], list[str]]] = {}
    for name, entry in enriched.items():
        ours = entry["text_model_group_summary"]
        theirs = summaries[entry["text_model_group"]]
        assert set(ours) == set(theirs)
        for field in theirs:
            if field == "available_sizes" and ours[field] != theirs[field]:
                size_differences[entry["text_model_group"]] = (theirs[field], ours[field])
                continue
            # name_format (common_author included) and every other field: equal.
            assert ours[field] == theirs[field], (name, field)

    for group in MOE_TAIL_GROUPS:
        assert size_differences.pop(group) == (["2B"], ["8X22B"])
    # What is left are the Sao10K groups: 8.6.2 adds the "0K" read from the author.
    assert size_differences
    for group, (theirs_sizes, ours_sizes) in size_differences.items():
        assert [size for size in theirs_sizes if size != "0K"] == ours_sizes, group
        members = [name for name, value in expected_groups.items() if value == group]
        assert any(name.startswith(AUTHOR_SIZE_AUTHORS) for name in members), group
