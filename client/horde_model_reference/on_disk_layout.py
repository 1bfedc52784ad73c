"""Where a worker keeps model weights on disk, and whether a record's files are there.

This is about the weights, not about the reference JSON (see ``disk_cache``). A worker's
weights root holds one folder per category (``compvis`` for image models, ``clip``, ...);
components such as VAEs and text encoders sit in shared folders beside them.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from horde_model_reference.meta_consts import (
    MODEL_REFERENCE_CATEGORY,
    WEIGHTS_MARKER_FOLDERS,
    get_category_descriptor,
)
from horde_model_reference.model_reference_records import GenericModelRecord

#: Where a model's showcase images are kept, beside its reference.
DEFAULT_SHOWCASE_FOLDER_NAME = "showcase"

#: ``file_purpose`` -> the shared folder its files live in (under the weights root).
COMPONENT_PURPOSE_FOLDERS: dict[str, str] = {
    "vae": "vae",
    "text_encoders": "text_encoders",
    "text_encoder": "text_encoders",
    "face_restore_helper": "gfpgan",
}


@dataclass(frozen=True)
class PresenceSummary:
    """Which requested names have their files on disk, in the order they were asked for."""

    present: tuple[str, ...]
    missing: tuple[str, ...]
    unknown: tuple[str, ...]
    """Names the reference does not have."""

    @property
    def num_present(self) -> int:
        return len(self.present)

    @property
    def num_requested(self) -> int:
        return len(self.present) + len(self.missing) + len(self.unknown)


def _has_markers(directory: Path, markers: tuple[str, ...]) -> bool:
    return all((directory / marker).is_dir() for marker in markers)


def resolve_weights_root(
    cache_home: str | os.PathLike[str] | None = None, *, marker_subdirs: tuple[str, ...] | None = None
) -> Path:
    """The directory holding the category folders.

    Starts at ``cache_home`` (else ``$AIWORKER_CACHE_HOME``, else ``models``) and searches
    breadth-first for the nearest directory containing every marker folder (default: the
    categories' weight markers, ``clip`` and ``compvis``); the start itself when none does.
    """
    base = Path(cache_home if cache_home is not None else os.environ.get("AIWORKER_CACHE_HOME", "models"))
    markers = marker_subdirs if marker_subdirs is not None else WEIGHTS_MARKER_FOLDERS
    queue: deque[Path] = deque([base])
    while queue:
        directory = queue.popleft()
        if _has_markers(directory, markers):
            return directory
        try:
            children = sorted(child for child in directory.iterdir() if child.is_dir())
        except OSError:  # unreadable or missing: nothing below it to find
            continue
        queue.extend(children)
    return base


def category_folder(category: MODEL_REFERENCE_CATEGORY | str) -> str | None:
    """The folder of a category's weights under the root, or None (unknown, or none on disk)."""
    try:
        return get_category_descriptor(category).on_disk_folder_name
    except ValueError:
        return None


def component_relative_path(file_name: str, file_purpose: str | None) -> Path:
    """Where a file lives relative to its category folder.

    A shared component (a VAE, a text encoder) goes to its own folder beside the category
    folder, so e.g. an image model's VAE lands in ``<root>/vae/``, not in ``<root>/compvis/``.
    """
    folder = COMPONENT_PURPOSE_FOLDERS.get(file_purpose) if file_purpose else None
    if folder is None:
        return Path(file_name)
    return Path("..") / folder / file_name


def file_paths_for(record: GenericModelRecord, root: Path, *, extra_roots: Sequence[Path] = ()) -> list[Path]:
    """Every declared file of ``record``: the first root where it exists, else under ``root``.

    Empty when the record's category has no folder.
    """
    folder = category_folder(record.record_type)
    if folder is None:
        return []
    paths: list[Path] = []
    for download in record.config.download:
        relative = Path(folder) / component_relative_path(download.file_name, download.file_purpose)
        candidates = [Path(os.path.normpath(base / relative)) for base in (root, *extra_roots)]
        paths.append(next((path for path in candidates if path.exists()), candidates[0]))
    return paths


def is_present(record: GenericModelRecord, root: Path, *, extra_roots: Sequence[Path] = ()) -> bool:
    """Whether every declared file exists (symlinks followed; contents are not checked).

    A record without downloads or without a folder is not present: nothing shows it is.
    """
    paths = file_paths_for(record, root, extra_roots=extra_roots)
    return bool(paths) and all(path.exists() for path in paths)


def presence_summary(
    reference: Mapping[str, GenericModelRecord],
    names: Iterable[str],
    root: Path,
    *,
    extra_roots: Sequence[Path] = (),
) -> PresenceSummary:
    """Sort ``names`` into present, missing and unknown (not in ``reference``)."""
    present: list[str] = []
    missing: list[str] = []
    unknown: list[str] = []
    for name in names:
        record = reference.get(name)
        if record is None:
            unknown.append(name)
        elif is_present(record, root, extra_roots=extra_roots):
            present.append(name)
        else:
            missing.append(name)
    return PresenceSummary(tuple(present), tuple(missing), tuple(unknown))


def free_bytes_for(root: Path) -> int | None:
    """Free space on the file system that holds ``root`` (or would: its nearest existing parent).

    None when not even a parent can be examined.
    """
    for candidate in (root, *root.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


__all__ = [
    "COMPONENT_PURPOSE_FOLDERS",
    "DEFAULT_SHOWCASE_FOLDER_NAME",
    "PresenceSummary",
    "category_folder",
    "component_relative_path",
    "file_paths_for",
    "free_bytes_for",
    "is_present",
    "presence_summary",
    "resolve_weights_root",
]
