"""Shared fixtures. Real data is read from ../shared/reference-data, never copied."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests import network_guard

network_guard.install()

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DATA = Path(os.environ.get("REFERENCE_DATA_DIR", REPO_ROOT.parent / "shared" / "reference-data"))

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def reference_data() -> Path:
    if not (REFERENCE_DATA / "image" / "stable_diffusion.json").is_file():
        pytest.fail(f"the real reference data is missing at {REFERENCE_DATA} (set REFERENCE_DATA_DIR)")
    return REFERENCE_DATA


@pytest.fixture(autouse=True)
def _fresh_document_cache() -> None:
    """Every test starts with no cached pointers and no rendered documents.

    The client package's tests also run in a virtual environment without Django
    (to prove the package stands alone); there is nothing to reset there.
    """
    try:
        from django.core.cache import cache
    except ImportError:
        return

    from references.document_cache import document_cache_reset

    cache.clear()
    document_cache_reset()


@pytest.fixture
def real_reference(db: None, reference_data: Path, django_capture_on_commit_callbacks: Any) -> Path:
    """The real reference data imported, with its revisions published."""
    from sync.services import legacy_import

    with django_capture_on_commit_callbacks(execute=True):
        report = legacy_import(source=str(reference_data))
    assert report.ok, report.lines()
    return reference_data


@pytest.fixture
def horde(settings: Any) -> Any:
    """A running AI Horde stand-in with three users; settings point at it.

    Keys: ``requestor-key`` (alice#1, requestor), ``approver-key`` (bob#2, approver),
    ``reader-key`` (carol#3, no role).
    """
    from common.horde_api import AI_HORDE_BREAKER
    from tests.horde_stub import HordeStub

    stub = HordeStub()
    stub.add_user("requestor-key", "alice", 1)
    stub.add_user("approver-key", "bob", 2)
    stub.add_user("reader-key", "carol", 3)
    AI_HORDE_BREAKER.record_success()
    with stub.running():
        settings.AI_HORDE_URL = stub.url
        settings.AI_HORDE_TIMEOUT_SECONDS = 1.0
        settings.REQUESTOR_IDS = ["1"]
        settings.APPROVER_IDS = ["2"]
        yield stub
    AI_HORDE_BREAKER.record_success()
