"""Rendering category documents and exporting them to a directory.

The same data always renders to the same bytes: v2 documents are compact orjson
of ``{name: record}`` in document order; legacy documents are written as the public
repositories write them (``json.dumps(indent=4)``), and text also gets its
``models.csv`` (CRLF, as upstream), because pull requests to that repository edit
the CSV.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from horde_model_reference.legacy import CanonicalEntry, canonical_to_legacy_document, render_legacy_file
from horde_model_reference.meta_consts import CATEGORY_DESCRIPTORS, MODEL_REFERENCE_CATEGORY, v2_filename
from horde_model_reference.model_reference_records import (
    TextGuidanceStatus,
    TextGuidanceSummary,
    unknown_model_licensing,
)
from references.selectors import RegistrySnapshot, category_revisions, registry_snapshot

ExportFormat = Literal["legacy", "v2", "all"]
MANIFEST_NAME = "manifest.json"
TEXT_CSV_NAME = "models.csv"


#: What a record without a licensing conclusion is served with (every record imported
#: from the legacy files): the established service's explicit "not reviewed" default.
SERVED_DEFAULT_LICENSING: dict[str, Any] = unknown_model_licensing().model_dump(
    mode="json", exclude_none=True
)


#: What the text guidance catalog publishes for a model: its primary profile id and its
#: supplemental profile ids, in the catalog's order.
PublishedGuidance = tuple[str, list[str]]

# The text guidance catalog sits above references, so it registers the one function that
# reads its published assignments (``CatalogsConfig.ready``) instead of being imported
# here: provider() -> {model name: (primary profile id, supplemental profile ids)}.
_published_guidance_provider: Callable[[], Mapping[str, PublishedGuidance]] | None = None


def published_guidance_provider_register(provider: Callable[[], Mapping[str, PublishedGuidance]]) -> None:
    """Have text documents read their ``published`` guidance from ``provider()`` (one call a render)."""
    global _published_guidance_provider
    _published_guidance_provider = provider


def published_guidance() -> Mapping[str, PublishedGuidance]:
    """Every published assignment (one query), or none when no catalog is registered."""
    provider = _published_guidance_provider
    return provider() if provider is not None else {}


def text_guidance_summary(
    payload: dict[str, Any], *, published: PublishedGuidance | None = None
) -> dict[str, Any]:
    """The guidance reference a text record is served with, as the established service answers.

    ``published`` with the profile ids when the guidance catalog assigns the model
    (``published``, from ``published_guidance()``), ``legacy_label`` when only the
    legacy ``instruct_format`` label is known, ``undocumented`` otherwise.
    """
    if published is not None:
        primary, supplemental = published
        summary = TextGuidanceSummary(
            status=TextGuidanceStatus.PUBLISHED,
            primary_profile_id=primary,
            supplemental_profile_ids=list(supplemental),
        )
        return summary.model_dump(mode="json")
    label = payload.get("instruct_format")
    status = TextGuidanceStatus.LEGACY_LABEL if isinstance(label, str) and label.strip() else None
    summary = TextGuidanceSummary(status=status or TextGuidanceStatus.UNDOCUMENTED)
    return summary.model_dump(mode="json")


def v2_document_from_entries(
    category: str,
    entries: Iterable[CanonicalEntry],
    *,
    guidance: Mapping[str, PublishedGuidance] | None = None,
) -> dict[str, Any]:
    """``{name: v2 record}`` as served.

    Every record carries ``licensing`` (the default "not reviewed" conclusion when it
    has none, appended last as the established service does); text records also
    carry their derived group and guidance reference. Derived values are computed
    here rather than stored, so they cannot go stale. ``guidance`` is the published
    assignments to serve; ``None`` reads the current ones (``published_guidance()``).
    """
    text = category == MODEL_REFERENCE_CATEGORY.text_generation
    if text:
        from horde_model_reference.text_model_parser import get_base_model_name

        if guidance is None:
            guidance = published_guidance()

    document: dict[str, Any] = {}
    for entry in entries:
        record = entry.payload
        if "licensing" not in record:
            record = {**record, "licensing": SERVED_DEFAULT_LICENSING}
        if text:
            if "text_model_group" not in record:
                record = {**record, "text_model_group": get_base_model_name(entry.name)}
            published = guidance.get(entry.name) if guidance is not None else None
            record = {**record, "guidance": text_guidance_summary(record, published=published)}
        document[entry.name] = record
    return document


def render_v2_document(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _file_entry(relative: str, content: bytes, records: int) -> dict[str, Any]:
    return {
        "path": relative,
        "sha256": hashlib.sha256(content).hexdigest(),
        "bytes": len(content),
        "records": records,
    }


class ExportError(Exception):
    """A category could not be rendered; nothing was written."""


@dataclass(frozen=True)
class ExportResult:
    dest: Path
    manifest: dict[str, Any]
    files: list[str]


# Documents beside the records (the catalogs) that every export writes too. Their apps sit
# above references, so they register a provider (sync does, in SyncConfig.ready) instead
# of being imported here: provider() -> {file name: JSON-able document}, in a fixed order.
DOCUMENTS_DIR = "catalogs"
_document_providers: list[Callable[[], dict[str, object]]] = []


def export_documents_provider_register(provider: Callable[[], dict[str, object]]) -> None:
    """Have every export write ``provider()``'s documents (registering twice is harmless)."""
    if provider not in _document_providers:
        _document_providers.append(provider)


def _render_documents(contents: dict[str, bytes]) -> dict[str, Any]:
    """Render the registered documents into ``contents``; return their manifest entries."""
    entries: dict[str, Any] = {}
    for provider in _document_providers:
        for file_name, document in provider().items():
            relative = f"{DOCUMENTS_DIR}/{file_name}"
            contents[relative] = orjson.dumps(document)
            content = contents[relative]
            entries[file_name] = {
                "path": relative,
                "sha256": hashlib.sha256(content).hexdigest(),
                "bytes": len(content),
            }
    return entries


def _manifest_documents_sha256(manifest: dict[str, Any] | None) -> dict[str, str]:
    documents = (manifest or {}).get("documents")
    if not isinstance(documents, dict):
        return {}
    return {name: str(entry.get("sha256")) for name, entry in documents.items() if isinstance(entry, dict)}


def _render_files(fmt: ExportFormat, snapshot: RegistrySnapshot) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Render every category of the snapshot in memory: the manifest's per-category part
    and the file contents by relative path.

    Everything is rendered before anything is written, so a record that cannot render
    leaves the previous export (files and manifest) as it was.
    """
    categories: dict[str, Any] = {}
    contents: dict[str, bytes] = {}
    for category in MODEL_REFERENCE_CATEGORY:
        try:
            categories[category.value] = _category_render(category, fmt, snapshot, contents)
        except Exception as error:
            raise ExportError(f"cannot render '{category.value}': {error}") from error
    return categories, contents


def _category_render(
    category: MODEL_REFERENCE_CATEGORY,
    fmt: ExportFormat,
    snapshot: RegistrySnapshot,
    contents: dict[str, bytes],
) -> dict[str, Any]:
    """Render one category's files into ``contents``; return its manifest entry."""
    descriptor = CATEGORY_DESCRIPTORS[category]
    entries = snapshot.entries[category.value]
    info: dict[str, Any] = {"revision": snapshot.revisions[category.value], "records": len(entries)}
    if fmt in ("v2", "all"):
        document = v2_document_from_entries(category, entries)
        relative = f"v2/{v2_filename(category)}"
        contents[relative] = render_v2_document(document)
        info["v2"] = _file_entry(relative, contents[relative], len(document))
    if fmt in ("legacy", "all") and descriptor.legacy_filename:
        legacy = canonical_to_legacy_document(category, entries)
        relative = f"legacy/{descriptor.legacy_filename}"
        contents[relative] = render_legacy_file(descriptor.legacy_filename, legacy)
        info["legacy"] = _file_entry(relative, contents[relative], len(legacy))
        if category == MODEL_REFERENCE_CATEGORY.text_generation:
            from horde_model_reference.legacy.text import canonical_to_text_csv

            relative = f"legacy/{TEXT_CSV_NAME}"
            contents[relative] = canonical_to_text_csv(entries).encode("utf-8")
            info["legacy_csv"] = _file_entry(relative, contents[relative], len(entries))
    return info


def _write_files(dest: Path, contents: dict[str, bytes]) -> list[str]:
    for relative, content in contents.items():
        _write_atomic(dest / relative, content)
    return list(contents)


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"


def reference_export(*, dest: Path, fmt: ExportFormat = "all") -> ExportResult:
    """Write one file per category (and format) plus ``manifest.json`` into ``dest``.

    Layout: ``v2/<category>.json``, ``legacy/<legacy file>`` (and ``legacy/models.csv``).
    The manifest records per category the revision, and per file its sha256, size and
    record count, the generation time and the audit chain's head hash. Every category
    is read from one snapshot, so the revisions describe exactly the bytes written.
    """
    document_contents: dict[str, bytes] = {}
    # The registered documents have no legacy format: a legacy-only export leaves them out.
    snapshot = registry_snapshot(
        also=(lambda: _render_documents(document_contents)) if fmt != "legacy" else None
    )
    documents: dict[str, Any] = snapshot.also or {}
    categories, contents = _render_files(fmt, snapshot)
    contents.update(document_contents)
    files = _write_files(dest, contents)
    manifest = {
        "format": fmt,
        "generated_at": int(time.time()),
        "audit_head_hash": snapshot.audit_head_hash,
        "categories": categories,
        "documents": documents,
    }
    _write_atomic(dest / MANIFEST_NAME, _manifest_bytes(manifest))
    return ExportResult(dest=dest, manifest=manifest, files=files)


# Published releases: EXPORT_DIR/releases/<name>/ are complete, never modified exports;
# EXPORT_DIR/current is a symlink to the newest. A reader that resolves `current`
# always lands in a finished directory, and the switch is one rename.
RELEASES_DIR = "releases"
CURRENT_LINK = "current"
_BUILDING_PREFIX = ".building-"
# A build directory left by a crashed run is removed once it is this old.
_STALE_BUILD_SECONDS = 3600


@dataclass(frozen=True)
class ReleaseResult:
    """What a publish did: ``created`` is False when nothing changed since ``name``."""

    name: str | None
    created: bool
    revisions: dict[str, int]
    files: list[str]
    pruned: list[str]
    manifest: dict[str, Any] | None


def export_current_manifest(export_dir: Path) -> dict[str, Any] | None:
    """The manifest of the release ``current`` points to; None when there is none (or unreadable)."""
    try:
        loaded = orjson.loads((export_dir / CURRENT_LINK / MANIFEST_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _manifest_revisions(manifest: dict[str, Any] | None) -> dict[str, int] | None:
    if manifest is None or manifest.get("format") != "all":
        return None
    categories = manifest.get("categories")
    if not isinstance(categories, dict):
        return None
    return {
        name: info["revision"]
        for name, info in categories.items()
        if isinstance(info, dict) and isinstance(info.get("revision"), int)
    }


def _release_name(revisions: dict[str, int]) -> str:
    # Sortable by time (pruning keeps the newest), and naming the state it holds.
    fingerprint = hashlib.sha256(orjson.dumps(revisions, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
    seconds, nanoseconds = divmod(time.time_ns(), 10**9)
    return f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(seconds))}-{nanoseconds:09d}-{fingerprint}"


def _current_link_switch(export_dir: Path, name: str) -> None:
    temporary = export_dir / f".{CURRENT_LINK}-{os.getpid()}-{time.time_ns()}"
    os.symlink(f"{RELEASES_DIR}/{name}", temporary)
    try:
        os.replace(temporary, export_dir / CURRENT_LINK)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _current_release_name(export_dir: Path) -> str | None:
    link = export_dir / CURRENT_LINK
    return Path(os.readlink(link)).name if link.is_symlink() else None


def export_releases_prune(export_dir: Path, *, keep: int) -> list[str]:
    """Remove all but the newest ``keep`` releases; never the one ``current`` points to."""
    releases = export_dir / RELEASES_DIR
    if not releases.is_dir():
        return []
    current = _current_release_name(export_dir)
    names = sorted(
        (p.name for p in releases.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True
    )
    doomed = [name for name in names[max(keep, 1) :] if name != current]
    for name in doomed:
        shutil.rmtree(releases / name, ignore_errors=True)
    for build in releases.glob(f"{_BUILDING_PREFIX}*"):
        if time.time() - build.stat().st_mtime > _STALE_BUILD_SECONDS:
            shutil.rmtree(build, ignore_errors=True)
    return doomed


def export_release_publish(
    *,
    export_dir: Path,
    keep: int,
    dry_run: bool = False,
) -> ReleaseResult:
    """Publish the registry as a new release under ``export_dir``, unless nothing changed.

    The snapshot is rendered into a hidden build directory, renamed into
    ``releases/`` whole, and only then is ``current`` switched to it; old releases
    beyond ``keep`` are pruned. With ``dry_run`` the files are rendered into a
    temporary directory and nothing under ``export_dir`` changes.
    """
    current_manifest = export_current_manifest(export_dir)
    published = _manifest_revisions(current_manifest)
    published_documents = _manifest_documents_sha256(current_manifest)

    def documents_unchanged(documents: dict[str, Any]) -> bool:
        # The registered documents carry no category revision: they are cheap to render,
        # so a change is seen by comparing their hashes with the published ones.
        return published_documents == {name: entry["sha256"] for name, entry in documents.items()}

    if (
        published is not None
        and published == category_revisions()
        and documents_unchanged(_render_documents({}))
    ):
        return ReleaseResult(_current_release_name(export_dir), False, published, [], [], None)
    document_contents: dict[str, bytes] = {}
    # Rendered inside the records' snapshot: the licensing catalog reads every record's
    # licensing, and must describe the same records as the category files beside it.
    snapshot = registry_snapshot(also=lambda: _render_documents(document_contents))
    documents: dict[str, Any] = snapshot.also
    if documents_unchanged(documents) and published == snapshot.revisions:
        return ReleaseResult(_current_release_name(export_dir), False, published, [], [], None)
    releases = export_dir / RELEASES_DIR
    name = _release_name(snapshot.revisions)
    if not dry_run:
        releases.mkdir(parents=True, exist_ok=True)
    # Built beside its final place (same filesystem), so the rename below is atomic.
    build = Path(tempfile.mkdtemp(dir=None if dry_run else releases, prefix=_BUILDING_PREFIX))
    try:
        categories, contents = _render_files("all", snapshot)
        contents.update(document_contents)
        files = _write_files(build, contents)
        manifest = {
            "format": "all",
            "release": name,
            "generated_at": int(time.time()),
            "audit_head_hash": snapshot.audit_head_hash,
            "categories": categories,
            "documents": documents,
        }
        _write_atomic(build / MANIFEST_NAME, _manifest_bytes(manifest))
        if dry_run:
            return ReleaseResult(name, False, snapshot.revisions, files, [], manifest)
        build.chmod(0o755)
        os.rename(build, releases / name)
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)
    _current_link_switch(export_dir, name)
    pruned = export_releases_prune(export_dir, keep=keep)
    return ReleaseResult(name, True, snapshot.revisions, files, pruned, manifest)


# Serving the published release (references.api.export). A request resolves `current`
# once and reads the manifest and the file from that one directory, so an answer never
# mixes two releases. Releases never change once renamed into place, so what a process
# has read of one is kept in memory by the release's real path.


class ExportNotPublishedError(Exception):
    """No release is published yet (or the one `current` names cannot be read)."""


@dataclass(frozen=True)
class ReleaseIndex:
    """A release's manifest (bytes as written) and the sha256 of every file it names."""

    directory: str
    name: str
    manifest: bytes
    sha256: dict[str, str]
    generated_at: int | None


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release, ready to serve: the bytes, their gzip twin and strong ETags."""

    release: str
    path: str
    body: bytes
    gzip_body: bytes
    etag: str
    gzip_etag: str
    content_type: str
    generated_at: int | None


_CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8"}
_MEMORY_LIMIT = 64
_memory_lock = threading.Lock()
_indexes: dict[str, ReleaseIndex] = {}
_files: dict[tuple[str, str], ReleaseFile] = {}


def _remember(store: dict[Any, Any], key: Any, value: Any) -> None:
    with _memory_lock:
        if len(store) >= _MEMORY_LIMIT:
            # Insertion order: the oldest entries belong to releases no longer current.
            for stale in list(store)[: _MEMORY_LIMIT // 2]:
                store.pop(stale, None)
        store[key] = value


def export_release_memory_reset() -> None:
    """Forget what this process has read of releases (tests)."""
    with _memory_lock:
        _indexes.clear()
        _files.clear()


def export_relative_path(path: str) -> str | None:
    """``path`` as a plain relative path inside a release, or None when it could leave it."""
    if not path or "\x00" in path or "\\" in path or path.startswith("/"):
        return None
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return path


def _inside(child: str, parent: str) -> bool:
    return child.startswith(parent + os.sep)


def export_current_release_dir(export_dir: Path) -> str:
    """The real path of the release ``current`` points to, resolved once."""
    releases = os.path.realpath(export_dir / RELEASES_DIR)
    try:
        target = os.readlink(export_dir / CURRENT_LINK)
    except OSError as error:
        raise ExportNotPublishedError("no export release has been published yet") from error
    directory = os.path.realpath(export_dir / target)
    # `current` is ours and names a sibling under releases/; anything else is not served.
    if not _inside(directory, releases) or not os.path.isdir(directory):
        raise ExportNotPublishedError("the current export release is missing")
    return directory


def _release_index(directory: str) -> ReleaseIndex:
    known = _indexes.get(directory)
    if known is not None:
        return known
    try:
        manifest = (Path(directory) / MANIFEST_NAME).read_bytes()
        parsed = orjson.loads(manifest)
    except (OSError, orjson.JSONDecodeError) as error:
        raise ExportNotPublishedError("the current export release has no readable manifest") from error
    sha256: dict[str, str] = {}
    categories = parsed.get("categories") if isinstance(parsed, dict) else None
    for info in (categories or {}).values():
        for entry in info.values() if isinstance(info, dict) else ():
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                sha256[entry["path"]] = str(entry.get("sha256", ""))
    documents = parsed.get("documents") if isinstance(parsed, dict) else None
    for entry in (documents or {}).values() if isinstance(documents, dict) else ():
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            sha256[entry["path"]] = str(entry.get("sha256", ""))
    sha256[MANIFEST_NAME] = hashlib.sha256(manifest).hexdigest()
    generated_at = parsed.get("generated_at") if isinstance(parsed, dict) else None
    index = ReleaseIndex(
        directory=directory,
        name=os.path.basename(directory),
        manifest=manifest,
        sha256=sha256,
        generated_at=generated_at if isinstance(generated_at, int) else None,
    )
    _remember(_indexes, directory, index)
    return index


def export_file_etags(digest: str) -> tuple[str, str]:
    """The strong ETags of a release file (plain, gzip) from its sha256: equal bytes, equal tag."""
    return f'"export-{digest[:40]}"', f'"export-{digest[:40]}.gz"'


@dataclass(frozen=True)
class ReleaseFileRef:
    """A file of the current release, located but not read (enough for a 304)."""

    index: ReleaseIndex
    path: str
    location: str
    etag: str
    gzip_etag: str


def export_release_file_find(*, export_dir: Path, path: str) -> ReleaseFileRef | None:
    """Locate ``path`` in the current release; None when the release has no such file.

    Only the manifest and the files it lists are served, so a path that would leave
    the release (``..``, absolute, a symlink) or a stray file is simply unknown.
    Raises ExportNotPublishedError when there is no release to serve.
    """
    index = _release_index(export_current_release_dir(export_dir))
    relative = export_relative_path(path)
    if relative is None or not index.sha256.get(relative):
        return None
    location = os.path.realpath(Path(index.directory) / relative)
    if not _inside(location, index.directory):
        return None
    etag, gzip_etag = export_file_etags(index.sha256[relative])
    return ReleaseFileRef(index=index, path=relative, location=location, etag=etag, gzip_etag=gzip_etag)


def export_release_file_read(ref: ReleaseFileRef) -> ReleaseFile | None:
    """The bytes of a located file (from memory after the first read); None if it is gone or damaged."""
    import gzip

    key = (ref.index.directory, ref.path)
    known = _files.get(key)
    if known is not None:
        return known
    if ref.path == MANIFEST_NAME:
        body = ref.index.manifest
    else:
        try:
            body = Path(ref.location).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(body).hexdigest() != ref.index.sha256[ref.path]:
            return None
    release_file = ReleaseFile(
        release=ref.index.name,
        path=ref.path,
        body=body,
        gzip_body=gzip.compress(body, compresslevel=6, mtime=0),
        etag=ref.etag,
        gzip_etag=ref.gzip_etag,
        content_type=_CONTENT_TYPES.get(os.path.splitext(ref.path)[1], "application/octet-stream"),
        generated_at=ref.index.generated_at,
    )
    _remember(_files, key, release_file)
    return release_file
