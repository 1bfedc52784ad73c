"""Record what horde-model-reference 8.6.2 answers for the text group tools' pure functions.

Run with the established package's interpreter (a separate Python 3.12 virtual
environment with ``horde-model-reference==8.6.2`` installed; never vendored here):

    /tmp/oracle-venv/bin/python scripts/record_text_tools_oracle.py \
        ../shared/reference-data/text/models.csv tests/text_models/fixtures/established_8_6_2_text_tools.json

It reads every real text model of ``models.csv``, groups them with the established parser
and records, per group, the members' curated fields with the health issues and common
fields the established service computes; family suggestions over the real group names
for several parameter sets; and composed names for a set of part combinations. The test
(``tests/text_models/test_oracle_parity.py``) feeds the same inputs to our functions.
"""

from __future__ import annotations

import csv
import importlib
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = ("baseline", "description", "url", "style", "instruct_format")
DETECT_PARAMETERS = [(3, 2), (2, 2), (4, 3), (6, 2), (2, 5)]
COMPOSE_CASES: list[dict[str, Any]] = [
    {"base_name": "Llama-3", "size": "8B"},
    {"base_name": "Llama-3", "size": "8B", "variant": "Instruct"},
    {"base_name": "Llama-3", "size": "8B", "variant": "Instruct", "quant": "Q4_K_M"},
    {"base_name": "Llama-3", "size": "8B", "version": "v2", "author": "meta-llama"},
    {
        "base_name": "Qwen3",
        "size": "0.6B",
        "variant": "Instruct",
        "version": "v1.5",
        "quant": "AWQ",
        "author": "Qwen",
    },
    {"base_name": "Mistral", "size": "7B", "separator": "_"},
    {"base_name": "Mistral", "size": "7B", "variant": "Instruct", "separator": ""},
    {"base_name": "Mixtral", "size": "8x7B", "part_order": ["size", "base"]},
    {
        "base_name": "Mixtral",
        "size": "8x7B",
        "variant": "Instruct",
        "part_order": ["variant", "base", "size"],
    },
    {"base_name": "Phi", "size": "3.8B", "part_order": ["base", "quant", "unknown"]},
    {"base_name": "Phi", "size": "3.8B", "part_order": []},
    {"base_name": "Gemma", "size": "", "variant": "it"},
    {"base_name": "Gemma", "size": "9B", "variant": "", "author": ""},
]


def _record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {field: (row.get(field) or None) for field in FIELDS}
    tags = [tag.strip() for tag in (row.get("tags") or "").split(",") if tag.strip()]
    record["tags"] = tags or None
    # models.csv has no nsfw column: the convert rules derive it from the tags.
    record["nsfw"] = "nsfw" in {tag.lower() for tag in tags}
    return record


def main(csv_path: Path, out_path: Path) -> None:
    # Imported by name: these modules exist in the established package only, not in ours.
    get_base_model_name = importlib.import_module(
        "horde_model_reference.analytics.text_model_parser"
    ).get_base_model_name
    detect_families = importlib.import_module("horde_model_reference.group_families").detect_families
    text_utils = importlib.import_module("horde_model_reference.service.v2.routers.text_utils")

    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            groups.setdefault(get_base_model_name(row["name"]), []).append((row["name"], _record(row)))

    group_answers = []
    for group in sorted(groups):
        members = groups[group]
        group_answers.append(
            {
                "group": group,
                "members": [{"name": name, "record": record} for name, record in members],
                "health_issues": [
                    issue.model_dump() for issue in text_utils._collect_group_health_issues(group, members)
                ],
                "common_fields": text_utils._compute_common_fields(members),
            }
        )
    names = sorted(groups)
    detect = [
        {
            "min_prefix_length": prefix,
            "min_family_size": size,
            "families": detect_families(names, min_prefix_length=prefix, min_family_size=size),
        }
        for prefix, size in DETECT_PARAMETERS
    ]
    compose = [
        {"parts": parts, "composed_name": text_utils._compose_name_from_parts(**parts)}
        for parts in COMPOSE_CASES
    ]
    document = {
        "source": "horde-model-reference==8.6.2",
        "models_csv_rows": sum(len(members) for members in groups.values()),
        "groups": group_answers,
        "group_names": names,
        "detect_families": detect,
        "compose_name": compose,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(
        json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"{len(group_answers)} groups, {document['models_csv_rows']} models -> {out_path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
