"""Categories, baselines, styles and the per-category descriptors.

These are the facts every other part of the package (and the server) keys on:
which categories exist, which have a legacy file in the public GitHub
repositories and under what name, and which are managed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MODEL_REFERENCE_CATEGORY(StrEnum):  # noqa: N801 - the established public name
    """Every category of model the reference knows, in the established order."""

    blip = "blip"
    clip = "clip"
    codeformer = "codeformer"
    controlnet = "controlnet"
    controlnet_annotator = "controlnet_annotator"
    esrgan = "esrgan"
    gfpgan = "gfpgan"
    safety_checker = "safety_checker"
    image_generation = "image_generation"
    text_generation = "text_generation"
    video_generation = "video_generation"
    audio_generation = "audio_generation"
    miscellaneous = "miscellaneous"
    lora = "lora"
    ti = "ti"


class MODEL_DOMAIN(StrEnum):  # noqa: N801
    image = "image"
    text = "text"
    video = "video"
    audio = "audio"
    rendered_3d = "rendered_3d"


class MODEL_PURPOSE(StrEnum):  # noqa: N801
    generation = "generation"
    post_processing = "post_processing"
    auxiliary_or_patch = "auxiliary_or_patch"
    feature_extractor = "feature_extractor"
    safety_checker = "safety_checker"
    miscellaneous = "miscellaneous"


class KNOWN_IMAGE_GENERATION_BASELINE(StrEnum):  # noqa: N801
    infer = "infer"
    stable_diffusion_1 = "stable_diffusion_1"
    stable_diffusion_2_768 = "stable_diffusion_2_768"
    stable_diffusion_2_512 = "stable_diffusion_2_512"
    stable_diffusion_xl = "stable_diffusion_xl"
    stable_cascade = "stable_cascade"
    flux_1 = "flux_1"
    flux_schnell = "flux_schnell"
    flux_dev = "flux_dev"
    qwen_image = "qwen_image"
    z_image_turbo = "z_image_turbo"
    krea2_turbo = "krea2_turbo"
    anima = "anima"


class MODEL_STYLE(StrEnum):  # noqa: N801
    generalist = "generalist"
    anime = "anime"
    furry = "furry"
    artistic = "artistic"
    other = "other"
    realistic = "realistic"


class CONTROLNET_STYLE(StrEnum):  # noqa: N801
    control_seg = "control_seg"
    control_scribble = "control_scribble"
    control_fakescribbles = "control_fakescribbles"
    control_openpose = "control_openpose"
    control_normal = "control_normal"
    control_mlsd = "control_mlsd"
    control_hough = "control_hough"
    control_hed = "control_hed"
    control_canny = "control_canny"
    control_depth = "control_depth"
    control_qr = "control_qr"
    control_qr_xl = "control_qr_xl"
    control_lineart = "control_lineart"
    control_lineart_anime = "control_lineart_anime"
    control_normal_bae = "control_normal_bae"
    control_recolor = "control_recolor"
    control_tile = "control_tile"


class TEXT_BACKENDS(StrEnum):  # noqa: N801
    aphrodite = "aphrodite"
    koboldcpp = "koboldcpp"


class CanonicalFormat(StrEnum):
    legacy = "legacy"
    v2 = "v2"
    LEGACY = "legacy"


class ReplicateMode(StrEnum):
    PRIMARY = "PRIMARY"
    REPLICA = "REPLICA"


@dataclass(frozen=True)
class BaselineDescriptor:
    native_resolution: int | None
    alternative_names: tuple[str, ...] = ()


IMAGE_BASELINE_DESCRIPTORS: dict[str, BaselineDescriptor] = {
    "infer": BaselineDescriptor(None),
    "stable_diffusion_1": BaselineDescriptor(
        512,
        (
            "stable diffusion 1",
            "stable diffusion 1.4",
            "stable diffusion 1.5",
            "SD1",
            "SD14",
            "SD1.4",
            "SD15",
            "SD1.5",
            "stable_diffusion",
            "stable_diffusion_1",
            "stable_diffusion_1.4",
            "stable_diffusion_1.5",
        ),
    ),
    "stable_diffusion_2_768": BaselineDescriptor(768),
    "stable_diffusion_2_512": BaselineDescriptor(512),
    "stable_diffusion_xl": BaselineDescriptor(1024, ("stable diffusion xl", "SDXL", "stable_diffusion_xl")),
    "stable_cascade": BaselineDescriptor(1024, ("stable_cascade", "stable cascade")),
    "flux_1": BaselineDescriptor(1024),
    "flux_schnell": BaselineDescriptor(1024, ("flux_schnell", "flux schnell")),
    "flux_dev": BaselineDescriptor(1024, ("flux_dev", "flux dev")),
    "qwen_image": BaselineDescriptor(1024, ("qwen_image", "qwen image", "qwen-image", "qwen")),
    "z_image_turbo": BaselineDescriptor(1024, ("z_image_turbo", "z image turbo", "zimage-turbo", "zimage")),
    # Published by the established 8.6.2 baseline catalog (issue #15).
    "krea2_turbo": BaselineDescriptor(1024, ("krea_2_turbo", "krea2")),
    "anima": BaselineDescriptor(1024, ("anima_base", "anima_aesthetic", "anima_turbo")),
}


def is_known_image_baseline(value: str) -> bool:
    """True for a registered baseline key or any of its alternative names."""
    if value in IMAGE_BASELINE_DESCRIPTORS:
        return True
    return any(value in d.alternative_names for d in IMAGE_BASELINE_DESCRIPTORS.values())


def get_baseline_native_resolution(baseline: str) -> int | None:
    descriptor = IMAGE_BASELINE_DESCRIPTORS.get(baseline)
    return descriptor.native_resolution if descriptor else None


def register_image_baseline(name: str, descriptor: BaselineDescriptor) -> None:
    """Register a new image baseline (third-party extension point)."""
    if name in IMAGE_BASELINE_DESCRIPTORS:
        raise ValueError(f"Baseline already registered: {name}")
    IMAGE_BASELINE_DESCRIPTORS[name] = descriptor


@dataclass(frozen=True)
class CategoryDescriptor:
    """What the reference knows about one category."""

    domain: MODEL_DOMAIN
    purpose: MODEL_PURPOSE
    github_source: str | None  # "image", "text" or None
    legacy_filename: str | None  # the file in the public GitHub repository
    has_legacy_format: bool = True
    managed_elsewhere: bool = False
    on_disk_folder_name: str | None = None
    weights_marker: bool = False


_C = MODEL_REFERENCE_CATEGORY
_D = MODEL_DOMAIN
_P = MODEL_PURPOSE


def _descriptor(
    domain: MODEL_DOMAIN,
    purpose: MODEL_PURPOSE,
    github_source: str | None,
    legacy_filename: str | None,
    *,
    folder: str | None,
    managed_elsewhere: bool = False,
    weights_marker: bool = False,
) -> CategoryDescriptor:
    return CategoryDescriptor(
        domain=domain,
        purpose=purpose,
        github_source=github_source,
        legacy_filename=legacy_filename,
        has_legacy_format=legacy_filename is not None,
        managed_elsewhere=managed_elsewhere,
        on_disk_folder_name=folder,
        weights_marker=weights_marker,
    )


CATEGORY_DESCRIPTORS: dict[MODEL_REFERENCE_CATEGORY, CategoryDescriptor] = {
    _C.blip: _descriptor(_D.image, _P.feature_extractor, "image", "blip.json", folder="blip"),
    _C.clip: _descriptor(
        _D.image, _P.feature_extractor, "image", "clip.json", folder="clip", weights_marker=True
    ),
    _C.codeformer: _descriptor(_D.image, _P.post_processing, "image", "codeformer.json", folder="codeformer"),
    _C.controlnet: _descriptor(
        _D.image, _P.auxiliary_or_patch, "image", "controlnet.json", folder="controlnet"
    ),
    _C.controlnet_annotator: _descriptor(_D.image, _P.auxiliary_or_patch, None, None, folder="controlnet"),
    _C.esrgan: _descriptor(_D.image, _P.post_processing, "image", "esrgan.json", folder="esrgan"),
    _C.gfpgan: _descriptor(_D.image, _P.post_processing, "image", "gfpgan.json", folder="gfpgan"),
    _C.safety_checker: _descriptor(
        _D.image, _P.safety_checker, "image", "safety_checker.json", folder="safety_checker"
    ),
    _C.image_generation: _descriptor(
        _D.image,
        _P.generation,
        "image",
        "stable_diffusion.json",
        folder="compvis",
        weights_marker=True,
    ),
    _C.text_generation: _descriptor(_D.text, _P.generation, "text", "db.json", folder=None),
    _C.video_generation: _descriptor(_D.video, _P.generation, None, None, folder=None),
    _C.audio_generation: _descriptor(_D.audio, _P.generation, None, None, folder=None),
    _C.miscellaneous: _descriptor(
        _D.image, _P.miscellaneous, "image", "miscellaneous.json", folder="miscellaneous"
    ),
    _C.lora: _descriptor(_D.image, _P.auxiliary_or_patch, None, None, folder="lora", managed_elsewhere=True),
    _C.ti: _descriptor(_D.image, _P.auxiliary_or_patch, None, None, folder="ti", managed_elsewhere=True),
}

missing = [c for c in MODEL_REFERENCE_CATEGORY if c not in CATEGORY_DESCRIPTORS]
if missing:  # pragma: no cover - guards edits to this module
    raise RuntimeError(f"categories without a descriptor: {missing}")
del missing

#: The text repository generates ``db.json`` from this curated file.
TEXT_LEGACY_CSV_FILENAME = "models.csv"

#: Legacy files users and the v1 API may name instead of the category.
LEGACY_FILENAME_ALIASES: dict[str, MODEL_REFERENCE_CATEGORY] = {
    "stable_diffusion": _C.image_generation,
    "db": _C.text_generation,
    "models": _C.text_generation,
}

IMAGE_CATEGORIES = tuple(c for c, d in CATEGORY_DESCRIPTORS.items() if d.domain == _D.image)
LEGACY_CATEGORIES = tuple(c for c, d in CATEGORY_DESCRIPTORS.items() if d.has_legacy_format)
NO_LEGACY_FORMAT_CATEGORIES = tuple(c for c, d in CATEGORY_DESCRIPTORS.items() if not d.has_legacy_format)
CATEGORIES_MANAGED_ELSEWHERE = tuple(c for c, d in CATEGORY_DESCRIPTORS.items() if d.managed_elsewhere)
WEIGHTS_MARKER_FOLDERS = tuple(
    d.on_disk_folder_name for d in CATEGORY_DESCRIPTORS.values() if d.weights_marker and d.on_disk_folder_name
)
MODEL_CLASSIFICATION_LOOKUP: dict[MODEL_REFERENCE_CATEGORY, dict[str, str]] = {
    c: {"domain": d.domain.value, "purpose": d.purpose.value} for c, d in CATEGORY_DESCRIPTORS.items()
}


def v2_filename(category: MODEL_REFERENCE_CATEGORY | str) -> str:
    """The file name of a category's v2 document (``<category>.json``)."""
    return f"{MODEL_REFERENCE_CATEGORY(category).value}.json"


def legacy_filename(category: MODEL_REFERENCE_CATEGORY | str) -> str | None:
    """The legacy GitHub file name of a category, or None when it has no legacy format."""
    return CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)].legacy_filename


def category_from_legacy_filename(filename: str) -> MODEL_REFERENCE_CATEGORY | None:
    """Map a legacy file name (``stable_diffusion.json``, ``db.json``) to its category."""
    for category, descriptor in CATEGORY_DESCRIPTORS.items():
        if descriptor.legacy_filename == filename:
            return category
    return None


#: Categories added with :func:`register_category` (name -> descriptor).
REGISTERED_CATEGORY_DESCRIPTORS: dict[str, CategoryDescriptor] = {}


def register_category(name: MODEL_REFERENCE_CATEGORY | str, descriptor: CategoryDescriptor) -> None:
    """Describe a category this release does not know (third-party extension point).

    The descriptor is then returned by :func:`get_category_descriptor` and listed by
    :func:`get_all_registered_categories`, and the on-disk helpers
    (``category_folder``, ``file_paths_for``, ``download_record_files``) place its
    weights under ``descriptor.on_disk_folder_name``. Its records validate as
    ``GenericModelRecord``. The manager does not fetch it: the reference service serves
    its own categories only.

    Raises:
        ValueError: When ``name`` is already a category (built in or registered).
    """
    key = str(name)
    if key in MODEL_REFERENCE_CATEGORY._value2member_map_ or key in REGISTERED_CATEGORY_DESCRIPTORS:
        raise ValueError(f"{key!r} is already registered")
    REGISTERED_CATEGORY_DESCRIPTORS[key] = descriptor


def get_category_descriptor(category: MODEL_REFERENCE_CATEGORY | str) -> CategoryDescriptor:
    """The descriptor of ``category`` (built in, or added with :func:`register_category`).

    Raises:
        ValueError: For a name that is not a category.
    """
    registered = REGISTERED_CATEGORY_DESCRIPTORS.get(str(category))
    if registered is not None:
        return registered
    return CATEGORY_DESCRIPTORS[MODEL_REFERENCE_CATEGORY(category)]


def get_all_registered_categories() -> dict[MODEL_REFERENCE_CATEGORY | str, CategoryDescriptor]:
    """Every category with its descriptor, registered ones included (a copy)."""
    categories: dict[MODEL_REFERENCE_CATEGORY | str, CategoryDescriptor] = {}
    for descriptors in (CATEGORY_DESCRIPTORS, REGISTERED_CATEGORY_DESCRIPTORS):
        for category, descriptor in descriptors.items():
            categories[category] = descriptor
    return categories


def get_weights_marker_folders() -> tuple[str, ...]:
    """The on-disk folders whose presence marks a worker's model directory."""
    return WEIGHTS_MARKER_FOLDERS


def get_baseline_descriptor(baseline: KNOWN_IMAGE_GENERATION_BASELINE | str) -> BaselineDescriptor:
    """The descriptor of an image baseline, looked up by key or by any alternative name.

    Raises:
        KeyError: For a baseline nobody registered.
    """
    key = str(baseline)
    descriptor = IMAGE_BASELINE_DESCRIPTORS.get(key)
    if descriptor is not None:
        return descriptor
    for candidate in IMAGE_BASELINE_DESCRIPTORS.values():
        if key in candidate.alternative_names:
            return candidate
    raise KeyError(f"Unknown image baseline: {key}")


def get_all_registered_baselines() -> dict[str, BaselineDescriptor]:
    """Every image baseline with its descriptor, registered ones included (a copy)."""
    return dict(IMAGE_BASELINE_DESCRIPTORS)


#: The curated tag vocabulary of image models (``tags`` values the reference knows).
KNOWN_TAGS: set[str] = {
    "anime",
    "booru",
    "cartoon",
    "cg",
    "character",
    "comic",
    "cyberpunk",
    "game",
    "hentai",
    "high resolution",
    "landscapes",
    "low poly",
    "manga",
    "painting",
    "retro",
    "scenes",
    "sketch",
    "tv show",
}


def get_known_tags() -> list[str]:
    """A sorted snapshot of :data:`KNOWN_TAGS`."""
    return sorted(KNOWN_TAGS)
