"""Where this client keeps its files: the disk cache of the reference documents.

:data:`horde_model_reference_paths` is built from the settings read at import
(``HORDE_MODEL_REFERENCE_CACHE_DIR``, else the platform cache directory). The
established package's paths object also names the server's own stores (audit log,
pending queue, catalogs); a read-only client has none of those, so only the cache and
the file names of each category's documents are here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from horde_model_reference.disk_cache import DiskCache
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY, legacy_filename, v2_filename
from horde_model_reference.settings import HordeModelReferenceSettings, horde_model_reference_settings


@dataclass(frozen=True)
class HordeModelReferencePaths:
    """The client's cache directory and the names of the documents it keeps."""

    base_path: Path
    """The cache directory (``settings.cache_dir``)."""

    @classmethod
    def from_settings(cls, settings: HordeModelReferenceSettings) -> HordeModelReferencePaths:
        return cls(base_path=settings.cache_dir)

    @property
    def cache_path(self) -> Path:
        """The folder the disk cache writes its documents to (under ``base_path``)."""
        return DiskCache(self.base_path).folder

    def get_model_reference_filename(self, category: MODEL_REFERENCE_CATEGORY | str) -> str:
        """The file name of a category's v2 document (``<category>.json``)."""
        return v2_filename(category)

    def get_legacy_model_reference_filename(self, category: MODEL_REFERENCE_CATEGORY | str) -> str | None:
        """The legacy GitHub file name of a category, or None when it has no legacy format."""
        return legacy_filename(category)

    def get_cached_file_path(self, category: MODEL_REFERENCE_CATEGORY | str) -> Path:
        """Where the disk cache keeps the last good document of ``category``."""
        return DiskCache(self.base_path).path_for(MODEL_REFERENCE_CATEGORY(category).value)


#: The paths of the settings read at import.
horde_model_reference_paths = HordeModelReferencePaths.from_settings(horde_model_reference_settings)

__all__ = ["HordeModelReferencePaths", "horde_model_reference_paths"]
