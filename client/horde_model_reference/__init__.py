"""Read-only client and record contract for the AI Horde model reference.

Drop-in for the established ``horde_model_reference`` package's reading API::

    from horde_model_reference import ModelReferenceManager, MODEL_REFERENCE_CATEGORY

    manager = ModelReferenceManager()
    image_models = manager.get_model_reference(MODEL_REFERENCE_CATEGORY.image_generation)

Names are imported on first use (module ``__getattr__``), so ``import
horde_model_reference`` stays cheap and only what a program touches is loaded.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the submodule that defines it
_EXPORTS: dict[str, str] = {
    # categories and constants
    "MODEL_REFERENCE_CATEGORY": "meta_consts",
    "MODEL_DOMAIN": "meta_consts",
    "MODEL_PURPOSE": "meta_consts",
    "MODEL_STYLE": "meta_consts",
    "CONTROLNET_STYLE": "meta_consts",
    "KNOWN_IMAGE_GENERATION_BASELINE": "meta_consts",
    "TEXT_BACKENDS": "meta_consts",
    "ReplicateMode": "meta_consts",
    "CATEGORY_DESCRIPTORS": "meta_consts",
    "CATEGORIES_MANAGED_ELSEWHERE": "meta_consts",
    "MODEL_CLASSIFICATION_LOOKUP": "meta_consts",
    "BaselineDescriptor": "meta_consts",
    "CategoryDescriptor": "meta_consts",
    "get_all_registered_baselines": "meta_consts",
    "get_all_registered_categories": "meta_consts",
    "get_baseline_descriptor": "meta_consts",
    "get_category_descriptor": "meta_consts",
    "get_weights_marker_folders": "meta_consts",
    "register_image_baseline": "meta_consts",
    # source ids
    "ANY_SOURCE": "source_consts",
    "HORDE_SOURCE_ID": "source_consts",
    "PENDING_SOURCE_ID": "source_consts",
    "SourceSelector": "source_consts",
    # text model names
    "get_model_name_variants": "text_backend_names",
    "has_legacy_text_backend_prefix": "text_backend_names",
    "strip_backend_prefix": "text_backend_names",
    # where weights live on disk
    "COMPONENT_PURPOSE_FOLDERS": "on_disk_layout",
    "DEFAULT_SHOWCASE_FOLDER_NAME": "on_disk_layout",
    "PresenceSummary": "on_disk_layout",
    "category_folder": "on_disk_layout",
    "component_relative_path": "on_disk_layout",
    "file_paths_for": "on_disk_layout",
    "free_bytes_for": "on_disk_layout",
    "is_present": "on_disk_layout",
    "presence_summary": "on_disk_layout",
    "resolve_weights_root": "on_disk_layout",
    # record providers
    "ModelProvider": "providers",
    "ModelProviderRegistry": "providers",
    "PendingModelProvider": "providers",
    "StaticModelProvider": "providers",
    # checksums
    "md5_of": "file_hashes",
    "sha256_of": "file_hashes",
    # the manager
    "ModelReferenceManager": "model_reference_manager",
    "PrefetchStrategy": "model_reference_manager",
    "DeferredPrefetchHandle": "model_reference_manager",
    # settings
    "HordeModelReferenceSettings": "settings",
    "horde_model_reference_settings": "settings",
    "load_settings": "settings",
    # records
    "GenericModelRecord": "model_reference_records",
    "ImageGenerationModelRecord": "model_reference_records",
    "TextGenerationModelRecord": "model_reference_records",
    "ControlNetModelRecord": "model_reference_records",
    "ControlNetAnnotatorModelRecord": "model_reference_records",
    "BlipModelRecord": "model_reference_records",
    "ClipModelRecord": "model_reference_records",
    "CodeformerModelRecord": "model_reference_records",
    "EsrganModelRecord": "model_reference_records",
    "GfpganModelRecord": "model_reference_records",
    "SafetyCheckerModelRecord": "model_reference_records",
    "MiscellaneousModelRecord": "model_reference_records",
    "AudioGenerationModelRecord": "model_reference_records",
    "VideoGenerationModelRecord": "model_reference_records",
    "LoraModelRecord": "model_reference_records",
    "TextualInversionModelRecord": "model_reference_records",
    "DownloadRecord": "model_reference_records",
    "MODEL_RECORD_TYPE_LOOKUP": "model_reference_records",
    "get_record_type_for_category": "model_reference_records",
    "register_record_type": "model_reference_records",
    "ModelClassification": "model_reference_records",
    # queries
    "ModelQuery": "query",
    "ImageGenerationQuery": "query",
    "TextModelQuery": "query",
    "ControlNetQuery": "query",
    "build_image_query": "query",
    "build_text_query": "query",
    "FieldRef": "query_fields",
    "OrderSpec": "query_fields",
    "Predicate": "query_fields",
    "true": "query_fields",
    "false": "query_fields",
    "GenericFields": "query_fields",
    "ImageFields": "query_fields",
    "TextFields": "query_fields",
    "ControlNetFields": "query_fields",
    "ClipFields": "query_fields",
    "VideoFields": "query_fields",
    "AudioFields": "query_fields",
    "BlipFields": "query_fields",
    "CodeformerFields": "query_fields",
    "EsrganFields": "query_fields",
    "GfpganFields": "query_fields",
    "SafetyCheckerFields": "query_fields",
    "MiscellaneousFields": "query_fields",
    # licensing
    "LicenseAssignment": "licensing",
    "LicenseDefinition": "licensing",
    "LicenseEvidence": "licensing",
    "LicenseObligation": "licensing",
    "LicensedAsset": "licensing",
    "LicensedAssetKind": "licensing",
    "ModelLicensing": "licensing",
    "PermissionStatus": "licensing",
    "unknown_model_licensing": "licensing",
    # the image baseline catalog
    "BaselineCapabilities": "image_baselines",
    "HordeBaselinePolicy": "image_baselines",
    "ImageBaselineCatalog": "image_baselines",
    "ImageBaselineChangeSet": "image_baselines",
    "ImageBaselineRecord": "image_baselines",
    "register_image_baselines_from_catalog": "image_baselines",
    # downloading weights
    "DownloadOutcome": "download_engine",
    "download_file": "download_engine",
    "download_record_files": "download_engine",
    # paths
    "horde_model_reference_paths": "path_consts",
    # tags and category registration
    "KNOWN_TAGS": "meta_consts",
    "get_known_tags": "meta_consts",
    "register_category": "meta_consts",
    # popularity
    "PopularModelResult": "popular",
    "CombinedModelStatistics": "popular",
    "HordeUnavailableError": "popular",
}

__all__ = [
    "ANY_SOURCE",
    "CATEGORIES_MANAGED_ELSEWHERE",
    "CATEGORY_DESCRIPTORS",
    "COMPONENT_PURPOSE_FOLDERS",
    "CONTROLNET_STYLE",
    "DEFAULT_SHOWCASE_FOLDER_NAME",
    "HORDE_SOURCE_ID",
    "KNOWN_IMAGE_GENERATION_BASELINE",
    "KNOWN_TAGS",
    "MODEL_CLASSIFICATION_LOOKUP",
    "MODEL_DOMAIN",
    "MODEL_PURPOSE",
    "MODEL_RECORD_TYPE_LOOKUP",
    "MODEL_REFERENCE_CATEGORY",
    "MODEL_STYLE",
    "PENDING_SOURCE_ID",
    "TEXT_BACKENDS",
    "AudioFields",
    "AudioGenerationModelRecord",
    "BaselineCapabilities",
    "BaselineDescriptor",
    "BlipFields",
    "BlipModelRecord",
    "CategoryDescriptor",
    "ClipFields",
    "ClipModelRecord",
    "CodeformerFields",
    "CodeformerModelRecord",
    "CombinedModelStatistics",
    "ControlNetAnnotatorModelRecord",
    "ControlNetFields",
    "ControlNetModelRecord",
    "ControlNetQuery",
    "DeferredPrefetchHandle",
    "DownloadOutcome",
    "DownloadRecord",
    "EsrganFields",
    "EsrganModelRecord",
    "FieldRef",
    "GenericFields",
    "GenericModelRecord",
    "GfpganFields",
    "GfpganModelRecord",
    "HordeBaselinePolicy",
    "HordeModelReferenceSettings",
    "HordeUnavailableError",
    "ImageBaselineCatalog",
    "ImageBaselineChangeSet",
    "ImageBaselineRecord",
    "ImageFields",
    "ImageGenerationModelRecord",
    "ImageGenerationQuery",
    "LicenseAssignment",
    "LicenseDefinition",
    "LicenseEvidence",
    "LicenseObligation",
    "LicensedAsset",
    "LicensedAssetKind",
    "LoraModelRecord",
    "MiscellaneousFields",
    "MiscellaneousModelRecord",
    "ModelClassification",
    "ModelLicensing",
    "ModelProvider",
    "ModelProviderRegistry",
    "ModelQuery",
    "ModelReferenceManager",
    "OrderSpec",
    "PendingModelProvider",
    "PermissionStatus",
    "PopularModelResult",
    "Predicate",
    "PrefetchStrategy",
    "PresenceSummary",
    "ReplicateMode",
    "SafetyCheckerFields",
    "SafetyCheckerModelRecord",
    "SourceSelector",
    "StaticModelProvider",
    "TextFields",
    "TextGenerationModelRecord",
    "TextModelQuery",
    "TextualInversionModelRecord",
    "VideoFields",
    "VideoGenerationModelRecord",
    "__version__",
    "build_image_query",
    "build_text_query",
    "category_folder",
    "component_relative_path",
    "download_file",
    "download_record_files",
    "false",
    "file_paths_for",
    "free_bytes_for",
    "get_all_registered_baselines",
    "get_all_registered_categories",
    "get_baseline_descriptor",
    "get_category_descriptor",
    "get_known_tags",
    "get_model_name_variants",
    "get_record_type_for_category",
    "get_weights_marker_folders",
    "has_legacy_text_backend_prefix",
    "horde_model_reference_paths",
    "horde_model_reference_settings",
    "is_present",
    "load_settings",
    "md5_of",
    "presence_summary",
    "register_category",
    "register_image_baseline",
    "register_image_baselines_from_catalog",
    "register_record_type",
    "resolve_weights_root",
    "sha256_of",
    "strip_backend_prefix",
    "true",
    "unknown_model_licensing",
]


def __getattr__(name: str) -> Any:
    """Import an exported name's submodule on first access."""
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module_name}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # what type checkers and IDEs see
    from horde_model_reference.download_engine import (
        DownloadOutcome,
        download_file,
        download_record_files,
    )
    from horde_model_reference.file_hashes import md5_of, sha256_of
    from horde_model_reference.image_baselines import (
        BaselineCapabilities,
        HordeBaselinePolicy,
        ImageBaselineCatalog,
        ImageBaselineChangeSet,
        ImageBaselineRecord,
        register_image_baselines_from_catalog,
    )
    from horde_model_reference.licensing import (
        LicenseAssignment,
        LicensedAsset,
        LicensedAssetKind,
        LicenseDefinition,
        LicenseEvidence,
        LicenseObligation,
        ModelLicensing,
        PermissionStatus,
        unknown_model_licensing,
    )
    from horde_model_reference.meta_consts import (
        CATEGORIES_MANAGED_ELSEWHERE,
        CATEGORY_DESCRIPTORS,
        CONTROLNET_STYLE,
        KNOWN_IMAGE_GENERATION_BASELINE,
        KNOWN_TAGS,
        MODEL_CLASSIFICATION_LOOKUP,
        MODEL_DOMAIN,
        MODEL_PURPOSE,
        MODEL_REFERENCE_CATEGORY,
        MODEL_STYLE,
        TEXT_BACKENDS,
        BaselineDescriptor,
        CategoryDescriptor,
        ReplicateMode,
        get_all_registered_baselines,
        get_all_registered_categories,
        get_baseline_descriptor,
        get_category_descriptor,
        get_known_tags,
        get_weights_marker_folders,
        register_category,
        register_image_baseline,
    )
    from horde_model_reference.model_reference_manager import (
        DeferredPrefetchHandle,
        ModelReferenceManager,
        PrefetchStrategy,
    )
    from horde_model_reference.model_reference_records import (
        MODEL_RECORD_TYPE_LOOKUP,
        AudioGenerationModelRecord,
        BlipModelRecord,
        ClipModelRecord,
        CodeformerModelRecord,
        ControlNetAnnotatorModelRecord,
        ControlNetModelRecord,
        DownloadRecord,
        EsrganModelRecord,
        GenericModelRecord,
        GfpganModelRecord,
        ImageGenerationModelRecord,
        LoraModelRecord,
        MiscellaneousModelRecord,
        ModelClassification,
        SafetyCheckerModelRecord,
        TextGenerationModelRecord,
        TextualInversionModelRecord,
        VideoGenerationModelRecord,
        get_record_type_for_category,
        register_record_type,
    )
    from horde_model_reference.on_disk_layout import (
        COMPONENT_PURPOSE_FOLDERS,
        DEFAULT_SHOWCASE_FOLDER_NAME,
        PresenceSummary,
        category_folder,
        component_relative_path,
        file_paths_for,
        free_bytes_for,
        is_present,
        presence_summary,
        resolve_weights_root,
    )
    from horde_model_reference.path_consts import horde_model_reference_paths
    from horde_model_reference.popular import (
        CombinedModelStatistics,
        HordeUnavailableError,
        PopularModelResult,
    )
    from horde_model_reference.providers import (
        ModelProvider,
        ModelProviderRegistry,
        PendingModelProvider,
        StaticModelProvider,
    )
    from horde_model_reference.query import (
        ControlNetQuery,
        ImageGenerationQuery,
        ModelQuery,
        TextModelQuery,
        build_image_query,
        build_text_query,
    )
    from horde_model_reference.query_fields import (
        AudioFields,
        BlipFields,
        ClipFields,
        CodeformerFields,
        ControlNetFields,
        EsrganFields,
        FieldRef,
        GenericFields,
        GfpganFields,
        ImageFields,
        MiscellaneousFields,
        OrderSpec,
        Predicate,
        SafetyCheckerFields,
        TextFields,
        VideoFields,
        false,
        true,
    )
    from horde_model_reference.settings import (
        HordeModelReferenceSettings,
        horde_model_reference_settings,
        load_settings,
    )
    from horde_model_reference.source_consts import (
        ANY_SOURCE,
        HORDE_SOURCE_ID,
        PENDING_SOURCE_ID,
        SourceSelector,
    )
    from horde_model_reference.text_backend_names import (
        get_model_name_variants,
        has_legacy_text_backend_prefix,
        strip_backend_prefix,
    )
