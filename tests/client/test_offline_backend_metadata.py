"""Offline mode, the ``backend=`` keyword and the metadata calls of ``ModelReferenceManager``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from horde_model_reference import HordeUnavailableError, ModelReferenceManager, PrefetchStrategy
from horde_model_reference.backends import ExportSource, PrimaryApiSource
from horde_model_reference.meta_consts import MODEL_REFERENCE_CATEGORY
from horde_model_reference.settings import HordeModelReferenceSettings, load_settings
from tests.client.conftest import FakeReferenceApi, SettingsFactory

C = MODEL_REFERENCE_CATEGORY


class ConnectionCounter:
    """A loopback port that counts every TCP connection made to it (and answers none)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def counter() -> Iterator[ConnectionCounter]:
    listener = ConnectionCounter()
    yield listener
    listener.close()


@pytest.fixture
def offline_settings(
    make_settings: SettingsFactory, counter: ConnectionCounter
) -> HordeModelReferenceSettings:
    """Every URL (primary, export, GitHub, AI Horde) points at the counter; TTL 0 forces re-reads."""
    return make_settings(
        primary_api_url=counter.url,
        export_source=counter.url + "/export",
        enable_github_fallback=True,
        github_image_base_url=counter.url + "/image",
        github_text_base_url=counter.url + "/text",
        ai_horde_url=counter.url,
        cache_ttl_seconds=0,
        offline=True,
    )


def _fill_cache(settings: HordeModelReferenceSettings, api: FakeReferenceApi) -> dict[str, list[str]]:
    online = settings.model_copy(update={"offline": False, "primary_api_url": api.url})
    manager = ModelReferenceManager(settings=online)
    names = {c.value: sorted(manager.get_model_reference(c)) for c in (C.blip, C.text_generation)}
    ModelReferenceManager.reset()
    return names


# ---------------------------------------------------------------------------- offline


def test_offline_serves_the_disk_cache_without_any_connection(
    offline_settings: HordeModelReferenceSettings, api: FakeReferenceApi, counter: ConnectionCounter
) -> None:
    expected = _fill_cache(offline_settings, api)
    api.server.down = True  # would answer 503 if anything asked it

    manager = ModelReferenceManager(settings=offline_settings, prefetch_strategy=PrefetchStrategy.SYNC)
    assert manager.offline is True
    assert manager.sources == ()
    for _ in range(3):  # TTL 0: every read re-reads the cache, still never the network
        assert sorted(manager.get_model_reference(C.blip)) == expected["blip"]
        assert sorted(manager.get_model_reference("text_generation")) == expected["text_generation"]
    assert manager.data_source(C.blip) == "disk_cache"
    assert manager.get_model_reference_or_none(C.esrgan) is None  # never cached
    assert manager.supports_metadata() is False
    assert manager.get_metadata(C.blip) is None
    assert manager.last_updated(C.blip) is None
    assert counter.connections == 0


@pytest.mark.anyio
async def test_offline_async_reads_and_popular_do_not_connect(
    offline_settings: HordeModelReferenceSettings, api: FakeReferenceApi, counter: ConnectionCounter
) -> None:
    expected = _fill_cache(offline_settings, api)
    manager = ModelReferenceManager(settings=offline_settings)
    assert sorted(await manager.get_model_reference_async(C.blip)) == expected["blip"]
    assert await manager.get_metadata_async(C.blip) is None
    with pytest.raises(HordeUnavailableError, match="Offline"):
        await manager.get_popular_models(C.text_generation)
    assert counter.connections == 0


def test_offline_with_an_empty_cache_is_a_clear_error(
    offline_settings: HordeModelReferenceSettings, counter: ConnectionCounter
) -> None:
    manager = ModelReferenceManager(settings=offline_settings)
    assert manager.get_model_reference_or_none(C.blip) is None
    with pytest.raises(RuntimeError, match=r"not in the disk cache .* offline mode"):
        manager.get_model_reference(C.blip)
    with pytest.raises(NotImplementedError, match="offline"):
        manager.get_metadata(C.blip, raise_if_unsupported=True)
    assert counter.connections == 0


def test_the_counter_does_see_connections(make_settings: SettingsFactory, counter: ConnectionCounter) -> None:
    # The control for the tests above: the same settings online do connect.
    settings = make_settings(primary_api_url=counter.url, primary_api_timeout=0.5)
    manager = ModelReferenceManager(settings=settings)
    assert manager.get_model_reference_or_none(C.blip) is None
    assert counter.connections >= 1


def test_offline_keyword_and_environment(
    make_settings: SettingsFactory, tmp_path: Path, counter: ConnectionCounter
) -> None:
    assert load_settings({"HORDE_MODEL_REFERENCE_OFFLINE": "true"}).offline is True
    assert load_settings({"HORDE_MODEL_REFERENCE_OFFLINE": "0"}).offline is False
    assert load_settings({}).offline is False
    with pytest.raises(ValueError, match="HORDE_MODEL_REFERENCE_OFFLINE"):
        load_settings({"HORDE_MODEL_REFERENCE_OFFLINE": "maybe"})

    manager = ModelReferenceManager(settings=make_settings(primary_api_url=counter.url), offline=True)
    assert manager.offline is True and manager.sources == ()
    assert ModelReferenceManager(offline=True) is manager
    with pytest.raises(RuntimeError, match="offline"):
        ModelReferenceManager(offline=False)
    ModelReferenceManager.reset()
    with pytest.raises(ValueError, match="Offline mode"):
        ModelReferenceManager(settings=make_settings(), offline=True, backend=PrimaryApiSource(counter.url))
    assert not ModelReferenceManager.has_instance()
    assert counter.connections == 0


# ---------------------------------------------------------------------------- backend=


def test_backend_replaces_the_configured_sources(
    make_settings: SettingsFactory, api: FakeReferenceApi
) -> None:
    backend = PrimaryApiSource(api.url)
    manager = ModelReferenceManager(backend=backend, settings=make_settings())  # primary: a dead URL
    assert manager.sources == (backend,)
    assert len(manager.get_model_reference(C.blip)) == 2
    assert api.statuses() == [200]
    assert ModelReferenceManager(backend=backend) is manager
    with pytest.raises(RuntimeError, match="sources"):
        ModelReferenceManager(backend=PrimaryApiSource(api.url + "/other"))


def test_backend_accepts_an_export_directory(
    make_settings: SettingsFactory, tmp_path: Path, api: FakeReferenceApi
) -> None:
    # Any ReferenceSource is a backend; here one that never opens a connection.
    export = tmp_path / "export"
    (export / "v2").mkdir(parents=True)
    manager = ModelReferenceManager(backend=ExportSource(str(export)), settings=make_settings())
    assert manager.get_model_reference_or_none(C.blip) is None
    assert api.statuses() == []


@pytest.mark.parametrize("bad", ["http://127.0.0.1:9", 42, object()])
def test_backend_of_the_wrong_type_is_refused(make_settings: SettingsFactory, bad: object) -> None:
    with pytest.raises(TypeError, match="ReferenceSource"):
        ModelReferenceManager(backend=bad, settings=make_settings())  # type: ignore[arg-type]
    assert not ModelReferenceManager.has_instance()


def test_backend_and_sources_together_are_refused(
    make_settings: SettingsFactory, api: FakeReferenceApi
) -> None:
    with pytest.raises(ValueError, match="either backend or sources"):
        ModelReferenceManager(
            backend=PrimaryApiSource(api.url), sources=[PrimaryApiSource(api.url)], settings=make_settings()
        )


# ---------------------------------------------------------------------------- metadata


def test_metadata_calls_read_the_metadata_routes(
    make_settings: SettingsFactory, api: FakeReferenceApi
) -> None:
    manager = ModelReferenceManager(settings=make_settings(primary_api_url=api.url))
    assert manager.supports_metadata() is True
    metadata = manager.get_metadata(C.blip)
    assert metadata is not None
    assert type(metadata).__name__ == "CategoryMetadata"
    assert metadata.category == "blip"
    assert metadata.last_updated == 1_700_000_000
    assert metadata.total_models == 2
    assert metadata.backend_type == "SQLBackend"
    assert metadata.model_extra == {"revision": 7}  # a newer server's field is kept, not refused
    assert manager.last_updated("text_generation") == 1_700_000_000
    assert [r.path for r in api.server.requests_to("/metadata/")] == [
        "/api/model_references/v2/metadata/blip",
        "/api/model_references/v2/metadata/text_generation",
    ]


@pytest.mark.anyio
async def test_metadata_async(make_settings: SettingsFactory, api: FakeReferenceApi) -> None:
    manager = ModelReferenceManager(settings=make_settings(primary_api_url=api.url))
    metadata = await manager.get_metadata_async(C.esrgan)
    assert metadata is not None and metadata.category == "esrgan"
    async with httpx.AsyncClient() as client:
        own = await manager.get_metadata_async("esrgan", httpx_client=client)
    assert own == metadata


def test_metadata_failures_give_none(make_settings: SettingsFactory, api: FakeReferenceApi) -> None:
    manager = ModelReferenceManager(settings=make_settings(primary_api_url=api.url))
    api.metadata["blip"] = {"category": "blip", "total_models": -1}  # malformed
    assert manager.get_metadata(C.blip) is None
    api.server.down = True
    assert manager.get_metadata(C.clip) is None
    assert manager.last_updated(C.clip) is None
    with pytest.raises(ValueError, match="Unknown model reference category"):
        manager.get_metadata("no_such_category")


def test_metadata_unsupported_without_a_primary_api(make_settings: SettingsFactory) -> None:
    manager = ModelReferenceManager(settings=make_settings(primary_api_url="", enable_github_fallback=True))
    assert manager.supports_metadata() is False
    assert manager.get_metadata(C.blip) is None
    with pytest.raises(NotImplementedError, match="no primary API"):
        manager.get_metadata(C.blip, raise_if_unsupported=True)
