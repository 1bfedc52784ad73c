"""The weights download engine against a local file host: verify, keep nothing wrong, skip what is there."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from horde_model_reference import DownloadOutcome, download_file, download_record_files
from horde_model_reference.download_engine import _BACKOFF_SECONDS
from horde_model_reference.model_reference_records import ImageGenerationModelRecord
from tests.client.conftest import LocalServer, Reply

WEIGHTS = b"weights" * 1000
WEIGHTS_SHA = hashlib.sha256(WEIGHTS).hexdigest()
VAE = b"vae bytes"
VAE_SHA = hashlib.sha256(VAE).hexdigest()


@pytest.fixture
def host() -> Iterator[LocalServer]:
    flaky: list[int] = []

    def route(path: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(path)
        if parts.path == "/m.safetensors":
            return Reply(200, WEIGHTS)
        if parts.path == "/v.safetensors":
            return Reply(200, VAE)
        if parts.path == "/gated" and parse_qs(parts.query).get("token") == ["s3cret"]:
            return Reply(200, WEIGHTS)
        if parts.path == "/flaky":
            flaky.append(1)
            return Reply(503, b"busy") if len(flaky) == 1 else Reply(200, WEIGHTS)
        if parts.path == "/forbidden":
            return Reply(403, b"no")
        return Reply(404, b"404: Not Found")

    server = LocalServer(route).start()
    yield server
    server.stop()


def test_a_file_is_fetched_verified_and_renamed_into_place(host: LocalServer, tmp_path: Path) -> None:
    destination = tmp_path / "deep" / "m.safetensors"
    seen: list[tuple[int, int]] = []
    outcome = download_file(
        f"{host.url}/m.safetensors",
        destination,
        expected_sha256=WEIGHTS_SHA.upper(),
        progress_callback=lambda done, total: seen.append((done, total)),
    )
    assert outcome == DownloadOutcome(True, destination, len(WEIGHTS), WEIGHTS_SHA)
    assert destination.read_bytes() == WEIGHTS
    assert not destination.with_name("m.safetensors.part").exists()
    assert seen[-1] == (len(WEIGHTS), len(WEIGHTS))


def test_a_hash_mismatch_keeps_no_file(host: LocalServer, tmp_path: Path) -> None:
    destination = tmp_path / "m.safetensors"
    outcome = download_file(f"{host.url}/m.safetensors", destination, expected_sha256="0" * 64)
    assert not outcome.success
    assert outcome.sha256 == WEIGHTS_SHA
    assert list(tmp_path.iterdir()) == []


def test_a_file_already_present_with_the_right_hash_is_not_fetched(host: LocalServer, tmp_path: Path) -> None:
    destination = tmp_path / "m.safetensors"
    destination.write_bytes(WEIGHTS)
    outcome = download_file(f"{host.url}/m.safetensors", destination, expected_sha256=WEIGHTS_SHA)
    assert outcome == DownloadOutcome(True, destination, 0, WEIGHTS_SHA)
    assert host.log == []


def test_an_unknown_hash_downloads_without_verification(host: LocalServer, tmp_path: Path) -> None:
    destination = tmp_path / "m.safetensors"
    destination.write_bytes(b"old")  # no hash to trust it by: fetched again
    outcome = download_file(f"{host.url}/m.safetensors", destination, expected_sha256="FIXME")
    assert outcome.success and destination.read_bytes() == WEIGHTS


def test_http_errors_fail_without_a_file(host: LocalServer, tmp_path: Path) -> None:
    for path in ("/missing", "/forbidden"):
        outcome = download_file(f"{host.url}{path}", tmp_path / "x.bin", max_retries=3)
        assert outcome == DownloadOutcome(False, tmp_path / "x.bin", 0, None)
        assert len(host.requests_to(path)) == 1  # a definitive answer is not retried
    assert list(tmp_path.iterdir()) == []


def test_a_transient_error_is_retried(
    host: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("horde_model_reference.download_engine._BACKOFF_SECONDS", _BACKOFF_SECONDS / 100)
    outcome = download_file(f"{host.url}/flaky", tmp_path / "x.bin", expected_sha256=WEIGHTS_SHA)
    assert outcome.success
    assert [r.status for r in host.requests_to("/flaky")] == [503, 200]
    assert not download_file(f"{host.url}/flaky-missing", tmp_path / "y.bin", max_retries=0).success


def test_an_unreachable_host_fails(tmp_path: Path, dead_url: str) -> None:
    outcome = download_file(f"{dead_url}/m.safetensors", tmp_path / "m.bin", max_retries=0)
    assert not outcome.success and not (tmp_path / "m.bin").exists()


def test_the_auth_token_goes_in_the_query(host: LocalServer, tmp_path: Path) -> None:
    assert not download_file(f"{host.url}/gated", tmp_path / "g.bin", max_retries=0).success
    assert download_file(f"{host.url}/gated", tmp_path / "g.bin", auth_query_token="s3cret").success


def _record(host: LocalServer, vae_sha: str = VAE_SHA) -> ImageGenerationModelRecord:
    return ImageGenerationModelRecord.model_validate(
        {
            "name": "M",
            "baseline": "stable_diffusion_xl",
            "nsfw": False,
            "config": {
                "download": [
                    {
                        "file_name": "m.safetensors",
                        "file_url": f"{host.url}/m.safetensors",
                        "sha256sum": WEIGHTS_SHA,
                    },
                    {
                        "file_name": "v.safetensors",
                        "file_url": f"{host.url}/v.safetensors",
                        "sha256sum": vae_sha,
                        "file_purpose": "vae",
                    },
                ]
            },
        }
    )


def test_record_files_land_in_their_folders_and_good_ones_are_kept(host: LocalServer, tmp_path: Path) -> None:
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "v.safetensors").write_bytes(VAE)  # already there and right
    assert download_record_files(_record(host), tmp_path)
    assert (tmp_path / "compvis" / "m.safetensors").read_bytes() == WEIGHTS
    assert host.requests_to("/v.safetensors") == []

    (tmp_path / "compvis" / "m.safetensors").write_bytes(b"corrupt")
    assert download_record_files(_record(host), tmp_path)  # the wrong bytes are fetched again
    assert (tmp_path / "compvis" / "m.safetensors").read_bytes() == WEIGHTS


def test_a_record_with_a_failing_file_reports_false(host: LocalServer, tmp_path: Path) -> None:
    assert not download_record_files(_record(host, vae_sha="0" * 64), tmp_path)
    assert (tmp_path / "compvis" / "m.safetensors").exists()
    assert not (tmp_path / "vae" / "v.safetensors").exists()
