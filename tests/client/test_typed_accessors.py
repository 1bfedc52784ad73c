"""The typed accessors come from one ``{category: record type}`` table and agree with it.

Each ``<category>_models`` property and ``query_<category>()`` method names only its
record type; ``TYPED_CATEGORIES`` says which category that is. These tests hold the table
to the registered record types, and every accessor to the table, at run time; the
``assert_type`` lines hold the declared types for mypy (strict), which checks this file.
"""

from __future__ import annotations

import inspect
from typing import assert_type

import pytest

from horde_model_reference import MODEL_REFERENCE_CATEGORY, ModelReferenceManager
from horde_model_reference.manager.typed import TYPED_CATEGORIES
from horde_model_reference.meta_consts import CATEGORIES_MANAGED_ELSEWHERE
from horde_model_reference.model_reference_records import (
    AudioGenerationModelRecord,
    BlipModelRecord,
    ClipModelRecord,
    CodeformerModelRecord,
    ControlNetAnnotatorModelRecord,
    ControlNetModelRecord,
    EsrganModelRecord,
    GfpganModelRecord,
    ImageGenerationModelRecord,
    MiscellaneousModelRecord,
    SafetyCheckerModelRecord,
    TextGenerationModelRecord,
    VideoGenerationModelRecord,
    get_record_type_for_category,
)
from tests.client.conftest import REAL_COUNTS, FakeReferenceApi, SettingsFactory

C = MODEL_REFERENCE_CATEGORY


@pytest.fixture
def manager(make_settings: SettingsFactory, api: FakeReferenceApi) -> ModelReferenceManager:
    return ModelReferenceManager(settings=make_settings(primary_api_url=api.url))


def test_the_table_covers_every_served_category_with_its_registered_record_type() -> None:
    served = {category for category in C if category not in CATEGORIES_MANAGED_ELSEWHERE}
    assert set(TYPED_CATEGORIES) == served
    for category, record_type in TYPED_CATEGORIES.items():
        assert get_record_type_for_category(category) is record_type, category
    # One category per record type: the accessors find their category by their type.
    assert len(set(TYPED_CATEGORIES.values())) == len(TYPED_CATEGORIES)


def test_the_accessors_are_exactly_the_tables() -> None:
    properties = {
        name
        for name, member in inspect.getmembers(ModelReferenceManager)
        if isinstance(member, property) and name.endswith("_models")
    }
    assert properties == {f"{category.value}_models" for category in TYPED_CATEGORIES}
    queries = {
        name for name in dir(ModelReferenceManager) if name.startswith("query_") and name != "query_all"
    }
    assert queries == {f"query_{category.value}" for category in TYPED_CATEGORIES}


def test_each_property_is_its_categorys_records_typed(manager: ModelReferenceManager) -> None:
    for category, record_type in TYPED_CATEGORIES.items():
        typed = getattr(manager, f"{category.value}_models")
        # A view of the cached records, not a copy.
        assert typed is manager.get_model_reference(category), category
        assert all(type(record) is record_type for record in typed.values()), category
        assert len(typed) == REAL_COUNTS.get(category.value, 0), category


def test_each_query_runs_over_its_categorys_records(manager: ModelReferenceManager) -> None:
    for category, record_type in TYPED_CATEGORIES.items():
        found = getattr(manager, f"query_{category.value}")().to_list()
        assert sorted(record.name for record in found) == sorted(manager.get_model_names(category)), category
        assert all(type(record) is record_type for record in found), category


def test_a_property_of_an_unavailable_category_raises(make_settings: SettingsFactory) -> None:
    manager = ModelReferenceManager(settings=make_settings())  # every source is dead
    with pytest.raises(RuntimeError, match="blip not found"):
        _ = manager.blip_models
    with pytest.raises(RuntimeError, match="clip not found"):
        manager.query_clip()


def test_the_declared_types(manager: ModelReferenceManager) -> None:
    # No-ops at run time; mypy fails the lint if a declared return type changes.
    assert_type(manager.blip_models, dict[str, BlipModelRecord])
    assert_type(manager.clip_models, dict[str, ClipModelRecord])
    assert_type(manager.codeformer_models, dict[str, CodeformerModelRecord])
    assert_type(manager.controlnet_models, dict[str, ControlNetModelRecord])
    assert_type(manager.controlnet_annotator_models, dict[str, ControlNetAnnotatorModelRecord])
    assert_type(manager.esrgan_models, dict[str, EsrganModelRecord])
    assert_type(manager.gfpgan_models, dict[str, GfpganModelRecord])
    assert_type(manager.safety_checker_models, dict[str, SafetyCheckerModelRecord])
    assert_type(manager.image_generation_models, dict[str, ImageGenerationModelRecord])
    assert_type(manager.text_generation_models, dict[str, TextGenerationModelRecord])
    assert_type(manager.audio_generation_models, dict[str, AudioGenerationModelRecord])
    assert_type(manager.video_generation_models, dict[str, VideoGenerationModelRecord])
    assert_type(manager.miscellaneous_models, dict[str, MiscellaneousModelRecord])
    assert_type(manager.query_esrgan().to_list(), list[EsrganModelRecord])
    assert_type(manager.query_image_generation().to_list(), list[ImageGenerationModelRecord])
