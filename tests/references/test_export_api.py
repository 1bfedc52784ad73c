"""Serving the published export: `export/manifest.json` and `export/<path>`."""

from __future__ import annotations

import gzip
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client

from audit.services import Actor
from references.exports import CURRENT_LINK, RELEASES_DIR, export_release_publish
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = pytest.mark.django_db

EXPORT = "/api/model_references/export"
ACTOR = Actor.system("test")


@pytest.fixture
def export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.EXPORT_DIR = tmp_path / "export"
    return Path(settings.EXPORT_DIR)


@pytest.fixture
def published(real_reference: Path, export_dir: Path) -> dict[str, Any]:
    result = export_release_publish(export_dir=export_dir, keep=5)
    assert result.created and result.manifest is not None
    return result.manifest


def _files(manifest: dict[str, Any]) -> dict[str, str]:
    return {
        entry["path"]: entry["sha256"]
        for info in manifest["categories"].values()
        for entry in info.values()
        if isinstance(entry, dict)
    }


@pytest.mark.parametrize("prefix", ["/api", ""])
def test_before_any_release_the_export_is_503_with_a_detail(
    client: Client, export_dir: Path, prefix: str
) -> None:
    for url in (
        f"{prefix}/model_references/export/manifest.json",
        f"{prefix}/model_references/export/v2/x.json",
    ):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "not available" in response.json()["detail"]


@pytest.mark.parametrize("prefix", ["/api", ""])
def test_every_file_of_the_release_is_served_as_written(
    client: Client, published: dict[str, Any], export_dir: Path, settings: Any, prefix: str
) -> None:
    release = export_dir / CURRENT_LINK
    files = _files(published)
    assert {"v2/image_generation.json", "legacy/stable_diffusion.json", "legacy/models.csv"} <= set(files)
    for relative, digest in files.items():
        response = client.get(f"{prefix}/model_references/export/{relative}")
        assert response.status_code == 200, relative
        assert response.content == (release / relative).read_bytes()
        assert hashlib.sha256(response.content).hexdigest() == digest
        expected_type = "text/csv; charset=utf-8" if relative.endswith(".csv") else "application/json"
        assert response["Content-Type"] == expected_type
        assert response["Cache-Control"] == settings.DOCUMENT_CACHE_CONTROL
        assert response["ETag"] == f'"export-{digest[:40]}"'
    csv = client.get(f"{prefix}/model_references/export/legacy/models.csv").content
    assert b"\r\n" in csv
    manifest = client.get(f"{prefix}/model_references/export/manifest.json")
    assert manifest.status_code == 200 and manifest["Content-Type"] == "application/json"
    assert manifest.content == (release / "manifest.json").read_bytes()
    assert manifest.json()["release"] == manifest["X-Export-Release"]


def test_if_none_match_is_304_and_gzip_has_its_own_etag(client: Client, published: dict[str, Any]) -> None:
    url = f"{EXPORT}/v2/image_generation.json"
    plain = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and zipped["Vary"] == "Accept-Encoding"
    assert zipped["ETag"] != plain["ETag"]
    assert gzip.decompress(zipped.content) == plain.content
    not_modified = client.get(url, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=zipped["ETag"])
    assert not_modified.status_code == 304 and not_modified.content == b""
    manifest = client.get(f"{EXPORT}/manifest.json")
    assert client.get(f"{EXPORT}/manifest.json", HTTP_IF_NONE_MATCH=manifest["ETag"]).status_code == 304


def test_an_unchanged_file_keeps_its_etag_across_releases(
    client: Client, published: dict[str, Any], export_dir: Path
) -> None:
    before = {p: client.get(f"{EXPORT}/{p}")["ETag"] for p in ("v2/esrgan.json", "v2/image_generation.json")}
    record_create(
        category="image_generation", name="Next", payload=sd_payload("Next"), actor=ACTOR, source="api"
    )
    assert export_release_publish(export_dir=export_dir, keep=5).created
    after = {p: client.get(f"{EXPORT}/{p}")["ETag"] for p in before}
    assert after["v2/esrgan.json"] == before["v2/esrgan.json"]
    assert after["v2/image_generation.json"] != before["v2/image_generation.json"]
    assert b'"Next"' in client.get(f"{EXPORT}/v2/image_generation.json").content


@pytest.mark.parametrize(
    "path",
    [
        "v2/nope.json",
        "nope",
        "v2/",
        "v2",
        "../manifest.json",
        "v2/../manifest.json",
        "%2e%2e/%2e%2e/etc/passwd",
        "v2/%2e%2e/manifest.json",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "..%5Cmanifest.json",
        "./manifest.json",
        "v2//image_generation.json",
        "v2/image_generation.json%00",
        "v2/stray.json",
        "releases/x/manifest.json",
    ],
)
def test_unknown_and_escaping_paths_are_404(
    client: Client, published: dict[str, Any], export_dir: Path, path: str
) -> None:
    # A stray file in the release that the manifest does not list is not served either.
    (export_dir / CURRENT_LINK / "v2" / "stray.json").write_bytes(b"{}")
    response = client.get(f"{EXPORT}/{path}")
    assert response.status_code == 404, path
    assert isinstance(response.json()["detail"], str)


def test_a_listed_file_that_is_a_symlink_out_of_the_release_is_404(
    client: Client, published: dict[str, Any], export_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "secret.json"
    outside.write_bytes(b'{"secret": true}')
    listed = Path(os.path.realpath(export_dir / CURRENT_LINK)) / "v2" / "esrgan.json"
    listed.unlink()
    listed.symlink_to(outside)
    response = client.get(f"{EXPORT}/v2/esrgan.json")
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_current_pointing_outside_releases_or_at_a_broken_release_is_503(
    client: Client, published: dict[str, Any], export_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "manifest.json").write_bytes(b'{"categories": {}}')
    link = export_dir / CURRENT_LINK
    link.unlink()
    link.symlink_to(elsewhere)
    assert client.get(f"{EXPORT}/manifest.json").status_code == 503
    broken = export_dir / RELEASES_DIR / "broken"
    broken.mkdir()
    link.unlink()
    link.symlink_to(f"{RELEASES_DIR}/broken")
    response = client.get(f"{EXPORT}/manifest.json")
    assert response.status_code == 503 and "manifest" in response.json()["detail"]


def test_serving_the_export_runs_no_sql(
    client: Client, published: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        assert client.get(f"{EXPORT}/manifest.json").status_code == 200
        assert client.get(f"{EXPORT}/v2/image_generation.json").status_code == 200
        assert client.get(f"{EXPORT}/legacy/models.csv", HTTP_ACCEPT_ENCODING="gzip").status_code == 200


def test_an_answer_never_mixes_two_releases(
    client: Client, published: dict[str, Any], export_dir: Path
) -> None:
    """While `current` flips between two releases, each answer is whole and from the release it names."""
    first = os.readlink(export_dir / CURRENT_LINK)
    record_create(
        category="image_generation", name="Flip", payload=sd_payload("Flip"), actor=ACTOR, source="api"
    )
    assert export_release_publish(export_dir=export_dir, keep=5).created
    second = os.readlink(export_dir / CURRENT_LINK)
    assert first != second
    manifests = {
        Path(target).name: _files(orjson.loads((export_dir / target / "manifest.json").read_bytes()))
        for target in (first, second)
    }
    stop = threading.Event()

    def flip() -> None:
        targets = [first, second]
        index = 0
        while not stop.is_set():
            temporary = export_dir / ".flip"
            os.symlink(targets[index % 2], temporary)
            os.replace(temporary, export_dir / CURRENT_LINK)
            index += 1

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    seen: set[str] = set()
    try:
        for _ in range(200):
            response = client.get(f"{EXPORT}/v2/image_generation.json")
            release = response["X-Export-Release"]
            seen.add(release)
            digest = hashlib.sha256(response.content).hexdigest()
            assert digest == manifests[release]["v2/image_generation.json"]
            assert response["ETag"] == f'"export-{digest[:40]}"'
    finally:
        stop.set()
        flipper.join()
    assert seen == set(manifests)
