"""An approver reviews a proposal in a real browser, and the read API serves the result.

Runs once, in the PostgreSQL pass (DECISIONS 26). There a missing Chromium or
chromedriver is a failure, not a skip: `make test` installs them (scripts/run_tests.sh).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection

from audit.services import Actor
from pending_queue.models import ChangeProposal, Status
from pending_queue.services import proposal_create_v2
from tests.factories import sd_payload
from tests.record_writes import record_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="browser tests run once, in the PostgreSQL pass (DECISIONS 26); this is the SQLite pass",
    ),
]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SD = "image_generation"
NAME = "Browser Model"
CHROME_OPTIONS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1400,1200",
)


def click_and_wait(browser: Any, by: str, value: str) -> None:
    """Click, then wait until the next page replaced this one (no stale elements after)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(by, value).click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(page))


@pytest.fixture
def browser() -> Iterator[Any]:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not Path(path).is_file()]
    if missing:
        pytest.fail(
            f"The browser test needs Debian's chromium and chromium-driver, but {', '.join(missing)} "
            "is missing. Install them with `apt-get install -y chromium chromium-driver` "
            "(`make test` does this when run as root)."
        )
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: run `make install` (it is in requirements-dev.txt)")
    profile = tempfile.mkdtemp(prefix="hmr-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for option in CHROME_OPTIONS:
        options.add_argument(option)
    options.add_argument(f"--user-data-dir={profile}")
    # Both paths are given, so Selenium Manager never goes looking on the network.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def api_record(base_url: str) -> tuple[int, dict[str, Any]]:
    url = f"{base_url}/api/model_references/v2/{SD}/model/{urllib.parse.quote(NAME)}"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def test_approver_reviews_approves_and_applies_in_the_browser(
    browser: Any, live_server: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    approver = User.objects.create_user(username="ann", password="browser-pw", is_staff=True)
    approver.user_permissions.add(Permission.objects.get(codename="approve_changeproposal"))
    requester = Actor(kind="horde", id="1", display_name="alice#1")
    record_create(category=SD, name=NAME, payload=sd_payload(NAME), actor=Actor.system("seed"), source="sync")
    proposal = proposal_create_v2(
        category=SD,
        operation="update",
        body=sd_payload(NAME, description="Reviewed in a real browser", nsfw=True),
        path_name=NAME,
        actor=requester,
    )
    base = live_server.url
    status, before = api_record(base)
    assert status == 200 and before["description"] == "A test model"  # also warms the document cache

    # Log in as the approver.
    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("ann")
    browser.find_element(By.NAME, "password").send_keys("browser-pw")
    click_and_wait(browser, By.CSS_SELECTOR, "input[type=submit]")
    assert "Log out" in browser.page_source or browser.find_elements(By.ID, "logout-form")

    # Open the pending proposal from the list.
    browser.get(f"{base}/admin/pending_queue/changeproposal/?status__exact=pending")
    click_and_wait(browser, By.LINK_TEXT, NAME)
    assert f"/admin/pending_queue/changeproposal/{proposal.pk}/change/" in browser.current_url

    # The diff: description modified, nsfw modified and flagged critical, licensing added.
    rows = browser.find_elements(By.CSS_SELECTOR, "#proposal-diff tbody tr")
    by_path = {row.find_element(By.CSS_SELECTOR, "td.diff-path").text.split()[0]: row for row in rows}
    # A v2 update of a record that never had licensing stores 8.6.2's "legacy record, not
    # reviewed" conclusion: a licensing change, critical in every category.
    assert set(by_path) == {"description", "nsfw", "licensing"}
    assert "diff-critical" in (by_path["licensing"].get_attribute("class") or "")
    assert "diff-critical" in (by_path["nsfw"].get_attribute("class") or "")
    assert "CRITICAL" in by_path["nsfw"].text.upper()
    assert "Reviewed in a real browser" in by_path["description"].text
    browser.find_element(By.ID, "review-panel").screenshot(str(tmp_path / "proposal-diff.png"))
    browser.save_screenshot(str(tmp_path / "proposal-page.png"))

    # Approve, then apply.
    click_and_wait(browser, By.ID, "approve-button")
    assert "Approved 1" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert browser.find_element(By.ID, "proposal-status").text == "approved"
    click_and_wait(browser, By.ID, "apply-button")
    assert f"Applied 1 (#{proposal.pk})." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert browser.find_element(By.ID, "proposal-status").text == "applied"
    assert not browser.find_elements(By.ID, "apply-button")

    proposal.refresh_from_db()
    assert proposal.status == Status.APPLIED and proposal.applied_by_name == "ann"
    assert ChangeProposal.objects.count() == 1

    # The read API serves the new record (the commit moved the revision pointer).
    status, after = api_record(base)
    assert status == 200
    assert after["description"] == "Reviewed in a real browser" and after["nsfw"] is True


def test_an_approver_logs_in_with_an_api_key_and_curates_with_data(
    browser: Any, live_server: Any, horde: Any, tmp_path: Path
) -> None:
    """Dashboard, record list (columns, a filter) and a proposal page, after an API-key login."""
    from django.utils import timezone
    from selenium.webdriver.common.by import By

    from sync.models import DownloadLinkCheck, SyncRun

    record_create(category=SD, name=NAME, payload=sd_payload(NAME), actor=Actor.system("seed"), source="sync")
    record_create(
        category=SD,
        name="Other Model",
        payload=sd_payload("Other Model", nsfw=True),
        actor=Actor.system("seed"),
        source="sync",
    )
    now = timezone.now()
    DownloadLinkCheck.objects.create(
        category=SD,
        model_name=NAME,
        url=f"https://example.invalid/{NAME}.safetensors",
        status="broken",
        previous_status="ok",
        http_status=404,
        checked_at=now,
    )
    SyncRun.objects.create(
        kind="links", status="succeeded", started_at=now, finished_at=now, duration_ms=1200
    )
    proposal = proposal_create_v2(
        category=SD,
        operation="update",
        body=sd_payload(NAME, description="Checked with data"),
        path_name=NAME,
        actor=Actor(kind="horde", id="1", display_name="alice#1"),
    )
    base = live_server.url

    # Log in with the AI Horde API key (the stand-in says it is bob#2, an approver).
    browser.get(f"{base}/admin/login/?next=/admin/")
    assert "Horde Model Reference" in browser.title
    browser.find_element(By.ID, "id_horde_api_key").send_keys("approver-key")
    click_and_wait(browser, By.CSS_SELECTOR, "input[type=submit]")
    assert browser.find_elements(By.ID, "logout-form")
    assert horde.lookups("approver-key") == 1

    # The dashboard.
    dashboard = browser.find_element(By.ID, "curation-dashboard")
    assert "Horde Model Reference administration" in browser.find_element(By.ID, "site-name").text
    pending = browser.find_element(By.CSS_SELECTOR, "#dashboard-pending tr.pending-category")
    assert pending.get_attribute("data-category") == SD and pending.text.endswith("1")
    assert browser.find_element(By.CSS_SELECTOR, "#dashboard-runs tr[data-kind=links]").text.count(
        "succeeded"
    )
    assert NAME in dashboard.find_element(By.ID, "dashboard-links").text
    assert "No usage statistics yet" in dashboard.find_element(By.ID, "dashboard-usage").text
    browser.save_screenshot(str(tmp_path / "dashboard.png"))

    # The record list: the curation columns, then the NSFW filter.
    browser.get(f"{base}/admin/references/modelrecord/")
    headers = [
        th.text.strip().lower() for th in browser.find_elements(By.CSS_SELECTOR, "#result_list thead th")
    ]
    for column in ("baseline", "nsfw", "style", "size", "usage (day)", "usage (month)", "workers", "links"):
        assert column in headers, headers
    broken = browser.find_element(By.CSS_SELECTOR, "#result_list td.field-link_status_badge .link-broken")
    assert broken.text == "broken"
    browser.get(f"{base}/admin/references/modelrecord/?nsfw=True")
    names = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#result_list th.field-name a")]
    assert names == ["Other Model"]

    # The proposal page: the diff, and beside it what the change affects.
    browser.get(f"{base}/admin/pending_queue/changeproposal/{proposal.pk}/change/")
    assert browser.find_element(By.ID, "proposal-diff")
    affected = browser.find_element(By.ID, "affected-model").text
    assert "workers: —" in affected and "broken" in affected
    browser.save_screenshot(str(tmp_path / "proposal-with-data.png"))
    assert User.objects.get(username="horde:2").has_perm("pending_queue.approve_changeproposal")
