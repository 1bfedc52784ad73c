"""Download-link health against a local file host: every status, bounded time, stored results."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command

from audit.services import Actor
from sync.models import DownloadLinkCheck, LinkStatus, SyncLease, SyncRun
from sync.selectors import link_problems
from sync.services import sync_lease_acquire, sync_lease_release
from sync.services.links import check_urls, links_check
from sync.tasks import check_download_links
from tests.factories import sd_payload
from tests.file_host import FileHost
from tests.record_writes import record_create, record_update
from tests.servers import SilentPeer

pytestmark = pytest.mark.django_db

SD = "image_generation"
SIZE = 2_000_000_123


@pytest.fixture
def link_settings(settings: Any) -> Any:
    settings.LINK_CHECK_TIMEOUT_SECONDS = 1.0
    settings.LINK_CHECK_SLOW_SECONDS = 0.5
    settings.LINK_CHECK_CONCURRENCY = 8
    settings.LINK_CHECK_PER_HOST = 4
    settings.LINK_CHECK_MAX_REDIRECTS = 3
    return settings


@pytest.fixture
def hosts() -> Iterator[tuple[FileHost, FileHost]]:
    main, mirror = FileHost(size=SIZE, slow_seconds=0.8), FileHost(size=77)
    with main.running(), mirror.running():
        yield main, mirror


@pytest.fixture
def silent() -> Iterator[SilentPeer]:
    peer = SilentPeer()
    try:
        yield peer
    finally:
        peer.close()


def payload_with(name: str, urls: list[str]) -> dict[str, Any]:
    downloads = [{"file_name": f"f{i}.safetensors", "file_url": url} for i, url in enumerate(urls)]
    return sd_payload(name, config={"download": downloads})


def add_record(name: str, urls: list[str]) -> None:
    record_create(
        category=SD, name=name, payload=payload_with(name, urls), actor=Actor.system("t"), source="sync"
    )


def test_each_answer_gets_its_status_in_bounded_time(
    link_settings: Any, hosts: tuple[FileHost, FileHost], silent: SilentPeer, monkeypatch: Any
) -> None:
    main, mirror = hosts
    main.redirect_to = mirror.base
    # DNS is the one outside service here: a name the resolver does not know.
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("no-such-host.test", b"no-such-host.test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    urls = {
        "ok": f"{main.base}/files/model.safetensors",
        "redirect": f"{main.base}/redirect/model.safetensors",
        "no_head": f"{main.base}/no-head/model.ckpt",
        "missing": f"{main.base}/missing",
        "auth": f"{main.base}/auth",
        "forbidden": f"{main.base}/forbidden",
        "gated": f"{main.base}/gated/model.safetensors",
        "slow": f"{main.base}/slow/model.safetensors",
        "loop": f"{main.base}/loop",
        "silent": f"http://127.0.0.1:{silent.port}/model.safetensors",
        "refused": f"http://127.0.0.1:{_closed_port()}/model.safetensors",
        "unknown": "http://no-such-host.test/model.safetensors",
    }
    started = time.monotonic()
    results = check_urls(urls.values())
    took = time.monotonic() - started
    got = {key: results[url] for key, url in urls.items()}

    assert got["ok"].status == LinkStatus.OK and got["ok"].http_status == 200
    assert got["ok"].size_bytes == SIZE and got["ok"].final_host == main.netloc
    assert got["redirect"].status == LinkStatus.OK and got["redirect"].final_host == mirror.netloc
    assert got["redirect"].size_bytes == 77
    # HEAD refused (405): a one-byte ranged GET, its size from Content-Range.
    assert got["no_head"].status == LinkStatus.OK and got["no_head"].http_status == 206
    assert got["no_head"].size_bytes == SIZE
    assert ("GET", "/no-head/model.ckpt", "bytes=0-0") in main.seen("GET")
    assert got["missing"].status == LinkStatus.BROKEN and got["missing"].http_status == 404
    assert got["auth"].status == LinkStatus.LOGIN_REQUIRED and got["auth"].http_status == 401
    assert got["forbidden"].status == LinkStatus.LOGIN_REQUIRED and got["forbidden"].http_status == 403
    assert ("GET", "/forbidden", "bytes=0-0") in main.seen("GET")  # 403 to HEAD: GET asked too
    assert got["gated"].status == LinkStatus.LOGIN_REQUIRED
    assert got["slow"].status == LinkStatus.SLOW and got["slow"].http_status == 200
    assert got["loop"].status == LinkStatus.BROKEN and "redirect" in got["loop"].detail
    assert got["silent"].status == LinkStatus.SLOW and got["silent"].http_status is None
    assert got["refused"].status == LinkStatus.BROKEN
    assert got["unknown"].status == LinkStatus.UNKNOWN_HOST, got["unknown"]
    # Never a whole file: every GET the host saw was the one-byte range.
    assert main.seen("GET") and all(rng == "bytes=0-0" for _, _, rng in main.seen("GET"))
    # In parallel: the silent socket's timeout (2 x 1 s at most) bounds the whole run.
    assert took < 4.0, took


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_per_host_limit_holds(link_settings: Any) -> None:
    link_settings.LINK_CHECK_PER_HOST = 2
    link_settings.LINK_CHECK_SLOW_SECONDS = 5.0
    host = FileHost(slow_seconds=0.3)
    with host.running():
        started = time.monotonic()
        results = check_urls(f"{host.base}/slow/{i}" for i in range(6))
        took = time.monotonic() - started
    assert {r.status for r in results.values()} == {LinkStatus.OK}
    # Six 0.3 s answers, two at a time: three rounds, never all six at once.
    assert 0.85 <= took < 3.0, took


def test_a_run_stores_one_row_per_file_and_remembers_the_previous_status(
    link_settings: Any, hosts: tuple[FileHost, FileHost]
) -> None:
    main, _ = hosts
    good, gone = f"{main.base}/files/a.safetensors", f"{main.base}/files/b.safetensors"
    add_record("Alpha", [good, gone])
    add_record("Beta", [f"{main.base}/missing"])
    add_record("Gamma", [f"{main.base}/auth", good])

    run = links_check(trigger=SyncRun.Trigger.COMMAND)
    assert run.status == SyncRun.Status.SUCCEEDED and run.kind == SyncRun.Kind.LINKS
    assert run.counts["files"] == 5 and run.counts["urls"] == 4
    assert run.counts["ok"] == 3 and run.counts["broken"] == 1 and run.counts["login_required"] == 1
    assert DownloadLinkCheck.objects.count() == 5
    assert link_problems(SD) == {"Beta": ["broken"], "Gamma": ["login_required"]}

    # Alpha's file breaks; Alpha drops its second file; Beta is fixed.
    record_update(
        category=SD,
        name="Alpha",
        payload=payload_with("Alpha", [f"{main.base}/missing?was=a"]),
        actor=Actor.system("t"),
        source="sync",
    )
    record_update(
        category=SD, name="Beta", payload=payload_with("Beta", [good]), actor=Actor.system("t"), source="sync"
    )
    add_record("Delta", [good])
    run = links_check(trigger=SyncRun.Trigger.BEAT)
    assert run.counts["removed"] == 3  # Alpha's two old URLs and Beta's old one
    rows = {(r.model_name, r.url): r for r in DownloadLinkCheck.objects.all()}
    assert set(rows) == {
        ("Alpha", f"{main.base}/missing?was=a"),
        ("Beta", good),
        ("Gamma", f"{main.base}/auth"),
        ("Gamma", good),
        ("Delta", good),
    }
    assert rows[("Gamma", good)].previous_status == LinkStatus.OK and rows[("Gamma", good)].status == "ok"
    assert rows[("Gamma", f"{main.base}/auth")].previous_status == LinkStatus.LOGIN_REQUIRED
    assert rows[("Beta", good)].previous_status == ""  # a new URL: no previous check
    assert link_problems(SD) == {"Alpha": ["broken"], "Gamma": ["login_required"]}


def test_a_url_going_from_ok_to_broken_shows_it(link_settings: Any, hosts: tuple[FileHost, FileHost]) -> None:
    main, _ = hosts
    add_record("Alpha", [f"{main.base}/files/x"])
    links_check()
    main.size = 1  # unchanged status...
    links_check()
    row = DownloadLinkCheck.objects.get()
    assert (row.previous_status, row.status, row.size_bytes) == ("ok", "ok", 1) and not row.became_worse
    assert row.http_status == 200


def test_a_run_while_another_holds_the_lease_is_skipped(link_settings: Any) -> None:
    assert sync_lease_acquire(kind=SyncRun.Kind.LINKS, holder="other")
    try:
        run = links_check()
    finally:
        sync_lease_release(kind=SyncRun.Kind.LINKS, holder="other")
    assert run.status == SyncRun.Status.SKIPPED
    assert not DownloadLinkCheck.objects.exists()
    assert SyncLease.objects.get(kind="links").holder == ""


def test_task_and_command_run_it_once(link_settings: Any, hosts: tuple[FileHost, FileHost]) -> None:
    main, _ = hosts
    add_record("Alpha", [f"{main.base}/files/x", f"{main.base}/missing"])
    summary = check_download_links.delay(trigger="beat").get()
    assert summary.startswith("links run") and "succeeded" in summary
    out = io.StringIO()
    call_command("sync", "links", stdout=out)
    assert (
        "checked 2 URLs of 2 files" in out.getvalue() and "broken: image_generation/Alpha" in out.getvalue()
    )
    assert list(SyncRun.objects.filter(kind="links").values_list("trigger", flat=True)) == ["command", "beat"]
    with pytest.raises(ValueError, match="nonsense"):
        check_download_links.delay(trigger="nonsense").get()


def test_the_daily_schedule_is_seeded_and_nothing_runs_by_itself() -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="sync.check_download_links")
    assert task.interval is not None and (task.interval.every, task.interval.period) == (1, "days")
    assert not SyncRun.objects.filter(kind="links").exists()


def test_real_data_links_are_found_in_every_category(real_reference: Any) -> None:
    from sync.services.links import link_targets

    targets = link_targets()
    categories = {t.category for t in targets}
    assert {"image_generation", "controlnet", "esrgan", "gfpgan", "clip", "blip"} <= categories
    assert len(targets) >= 200
    assert all(t.url.startswith(("http://", "https://")) for t in targets)
