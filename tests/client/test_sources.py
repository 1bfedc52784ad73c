"""The three network sources and the order the manager falls back through them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from horde_model_reference import MODEL_REFERENCE_CATEGORY, ModelReferenceManager
from horde_model_reference.backends import (
    NOT_MODIFIED,
    ExportSource,
    FetchedDocument,
    GitHubLegacySource,
    PrimaryApiSource,
    SourceUnavailableError,
    drive_sync,
)
from horde_model_reference.model_reference_manager import build_sources
from tests.client.conftest import REAL_COUNTS, FakeReferenceApi, LocalServer, SettingsFactory, static_route

C = MODEL_REFERENCE_CATEGORY


def write_export(root: Path, documents: dict[str, dict[str, Any]]) -> Path:
    """An export directory laid out as ``manage.py export_reference`` writes it."""
    categories: dict[str, Any] = {}
    for category, document in documents.items():
        body = json.dumps(document).encode()
        relative = f"v2/{category}.json"
        (root / "v2").mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(body)
        categories[category] = {
            "revision": 1,
            "records": len(document),
            "v2": {
                "path": relative,
                "sha256": hashlib.sha256(body).hexdigest(),
                "bytes": len(body),
                "records": len(document),
            },
        }
    manifest = {"format": "v2", "generated_at": 0, "audit_head_hash": "0" * 64, "categories": categories}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


# ---------------------------------------------------------------------------- single sources


def test_primary_sends_if_none_match_and_understands_304(api: FakeReferenceApi) -> None:
    source = PrimaryApiSource(api.url)
    with httpx.Client() as client:
        first = drive_sync(source.steps("blip", None), client)
        assert isinstance(first, FetchedDocument)
        assert first.validator and len(first.document) == REAL_COUNTS["blip"]
        assert drive_sync(source.steps("blip", first.validator), client) is NOT_MODIFIED
        with pytest.raises(SourceUnavailableError, match="422"):
            drive_sync(source.steps("no_such_category", None), client)
    assert api.statuses() == [200, 304, 422]


def test_export_directory_is_verified(tmp_path: Path, v2_documents: dict[str, dict[str, Any]]) -> None:
    root = write_export(tmp_path / "export", {"clip": v2_documents["clip"], "blip": v2_documents["blip"]})
    source = ExportSource(root)
    with httpx.Client() as client:
        result = drive_sync(source.steps("clip", None), client)
        assert isinstance(result, FetchedDocument)
        assert result.document == v2_documents["clip"]
        assert drive_sync(source.steps("clip", result.validator), client) is NOT_MODIFIED
        assert drive_sync(source.steps("esrgan", None), client) is None  # not in this export
        (root / "v2" / "blip.json").write_text("{}")  # damaged after the manifest was written
        with pytest.raises(SourceUnavailableError, match="sha256"):
            drive_sync(source.steps("blip", None), client)


def test_export_reads_a_servers_export_dir_through_its_current_link(
    tmp_path: Path, v2_documents: dict[str, dict[str, Any]]
) -> None:
    """The server's EXPORT_DIR: releases/<name>/ (each a whole export) and a `current` symlink."""
    export_dir = tmp_path / "export"
    write_export(export_dir / "releases" / "r1", {"clip": v2_documents["clip"]})
    write_export(export_dir / "releases" / "r2", {"clip": {}})
    source = ExportSource(export_dir)
    with httpx.Client() as client:
        for release, expected in (("r1", v2_documents["clip"]), ("r2", {})):
            link = export_dir / ".next"
            link.symlink_to(f"releases/{release}")
            os.replace(link, export_dir / "current")
            result = drive_sync(source.steps("clip", None), client)
            assert isinstance(result, FetchedDocument) and result.document == expected


def test_export_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "export"
    root.mkdir()
    manifest = {"categories": {"clip": {"v2": {"path": "../secret.json", "sha256": "00"}}}}
    (root / "manifest.json").write_text(json.dumps(manifest))
    with httpx.Client() as client, pytest.raises(SourceUnavailableError, match="unsafe"):
        drive_sync(ExportSource(root).steps("clip", None), client)


_NO_HTTPX_SCRIPT = """
import json, sys
import horde_model_reference
from horde_model_reference import ModelReferenceManager
from horde_model_reference.backends.export import ExportSource

manager = ModelReferenceManager(sources=[ExportSource(sys.argv[1])])
references = manager.get_all_model_references()
assert "httpx" not in sys.modules, "reading a local export imported httpx"
print(json.dumps({str(category): len(records) for category, records in references.items()}))
"""


def test_reading_an_export_directory_does_not_import_httpx(
    tmp_path: Path, v2_documents: dict[str, dict[str, Any]]
) -> None:
    root = write_export(tmp_path / "export", v2_documents)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_MODEL_REFERENCE_")}
    env["HORDE_MODEL_REFERENCE_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-c", _NO_HTTPX_SCRIPT, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["image_generation"] == REAL_COUNTS["image_generation"]
    assert counts["text_generation"] == REAL_COUNTS["text_generation"]


def test_export_over_http(tmp_path: Path, v2_documents: dict[str, dict[str, Any]]) -> None:
    root = write_export(tmp_path / "export", {"esrgan": v2_documents["esrgan"]})
    files: dict[str, Path | bytes] = {"/mirror/manifest.json": root / "manifest.json"}
    files["/mirror/v2/esrgan.json"] = root / "v2" / "esrgan.json"
    server = LocalServer(static_route(files)).start()
    try:
        with httpx.Client() as client:
            result = drive_sync(ExportSource(server.url + "/mirror").steps("esrgan", None), client)
    finally:
        server.stop()
    assert isinstance(result, FetchedDocument)
    assert len(result.document) == REAL_COUNTS["esrgan"]


def test_github_files_are_converted(github: LocalServer, v2_documents: dict[str, dict[str, Any]]) -> None:
    source = GitHubLegacySource(github.url + "/image", github.url + "/text")
    with httpx.Client() as client:
        image = drive_sync(source.steps("image_generation", None), client)
        text = drive_sync(source.steps("text_generation", None), client)
        assert drive_sync(source.steps("video_generation", None), client) is None  # no legacy file
        assert isinstance(image, FetchedDocument) and isinstance(text, FetchedDocument)
        assert drive_sync(source.steps("image_generation", image.validator), client) is NOT_MODIFIED
    assert image.document == v2_documents["image_generation"]
    assert text.document == v2_documents["text_generation"]
    assert len(text.document) == REAL_COUNTS["text_generation"]
    assert [r.path for r in github.log] == [
        "/image/stable_diffusion.json",
        "/text/models.csv",
        "/image/stable_diffusion.json",
    ]


def test_github_garbage_is_unavailable() -> None:
    server = LocalServer(static_route({"/image/clip.json": b"<html>rate limited</html>"})).start()
    try:
        source = GitHubLegacySource(server.url + "/image", server.url + "/text")
        with (
            httpx.Client() as client,
            pytest.raises(SourceUnavailableError, match="not a usable legacy file"),
        ):
            drive_sync(source.steps("clip", None), client)
    finally:
        server.stop()


def test_build_sources_follows_the_settings(make_settings: SettingsFactory, tmp_path: Path) -> None:
    names = [
        s.name for s in build_sources(make_settings(export_source=str(tmp_path), enable_github_fallback=True))
    ]
    assert names == ["primary", "export", "github"]
    assert [s.name for s in build_sources(make_settings(primary_api_url=""))] == []


# ---------------------------------------------------------------------------- fallback order


def test_export_is_used_when_the_primary_is_down(
    make_settings: SettingsFactory,
    tmp_path: Path,
    v2_documents: dict[str, dict[str, Any]],
    github: LocalServer,
) -> None:
    root = write_export(tmp_path / "export", v2_documents)
    settings = make_settings(
        export_source=str(root),
        enable_github_fallback=True,
        github_image_base_url=github.url + "/image",
        github_text_base_url=github.url + "/text",
    )
    manager = ModelReferenceManager(settings=settings)
    assert len(manager.image_generation_models) == REAL_COUNTS["image_generation"]
    assert manager.data_source(C.image_generation) == "export"
    assert github.log == []  # never reached


def test_github_is_used_when_primary_and_export_fail(
    make_settings: SettingsFactory, tmp_path: Path, github: LocalServer
) -> None:
    settings = make_settings(
        export_source=str(tmp_path / "missing-export"),
        enable_github_fallback=True,
        github_image_base_url=github.url + "/image",
        github_text_base_url=github.url + "/text",
    )
    manager = ModelReferenceManager(settings=settings)
    references = manager.get_all_model_references()
    for category, count in REAL_COUNTS.items():
        assert len(references[C(category)]) == count, category
        assert manager.data_source(category) == "github"
    # No public repository has these: empty, not missing.
    assert manager.get_model_reference_or_none(C.video_generation) == {}
    assert manager.data_source(C.video_generation) == "empty"


def test_primary_wins_and_is_revalidated_against_its_own_validator(
    make_settings: SettingsFactory, api: FakeReferenceApi, github: LocalServer
) -> None:
    settings = make_settings(
        primary_api_url=api.url,
        enable_github_fallback=True,
        github_image_base_url=github.url + "/image",
        github_text_base_url=github.url + "/text",
    )
    manager = ModelReferenceManager(settings=settings)
    manager.get_model_reference(C.clip)
    manager.invalidate_category_cache(C.clip)
    manager.get_model_reference(C.clip)
    assert api.statuses() == [200, 304]
    assert github.log == []
