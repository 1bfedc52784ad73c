"""The Swagger UI and ReDoc pages load everything from this service (issue 14).

Pages that pull their scripts from a public CDN are blank on a network without it, so
every script, stylesheet and icon they reference must be a local static URL, and that
URL must answer: through WhiteNoise after ``collectstatic`` (production) and through
the staticfiles finders when ``DEBUG`` is on (``runserver``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = pytest.mark.django_db

PAGES = ["/api/docs", "/docs", "/api/redoc", "/redoc"]


class _AssetCollector(HTMLParser):
    """Collects the URLs a page loads: script sources and link hrefs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") if tag == "script" else values.get("href") if tag == "link" else None
        if url:
            self.urls.append(url)


def _assets(client: Client, page: str) -> tuple[str, list[str]]:
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    html = response.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    return html, collector.urls


@pytest.mark.parametrize("page", PAGES)
def test_docs_pages_reference_only_local_static_files(client: Client, page: str) -> None:
    html, urls = _assets(client, page)
    assert urls, f"{page} loads no script or stylesheet"
    # No absolute or protocol-relative source anywhere on the page (a preconnect or a
    # web font counts too: the page must not reach out at all).
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]", html, re.IGNORECASE), html
    assert "cdn." not in html.lower()
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    for url in urls:
        assert url.startswith(static_prefix), (page, url)
    if "redoc" not in page:
        # Swagger UI's default validator badge would send the schema URL to swagger.io.
        assert '"validatorUrl": null' in html


def _all_assets(client: Client) -> set[str]:
    return {url for page in PAGES for url in _assets(client, page)[1]}


def test_docs_assets_are_served_after_collectstatic(client: Client, tmp_path: Path) -> None:
    urls = _all_assets(client)
    # The production path: collectstatic into STATIC_ROOT, WhiteNoise serves it with
    # DEBUG off (the test settings' default).
    with override_settings(STATIC_ROOT=tmp_path / "static", WHITENOISE_USE_FINDERS=False):
        call_command("collectstatic", "--no-input", verbosity=0)
        served = Client()  # a new handler, so WhiteNoise indexes the new STATIC_ROOT
        for url in urls:
            response = served.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert b"".join(response.streaming_content), url  # type: ignore[attr-defined]


def test_docs_assets_are_served_from_the_finders_in_debug(client: Client, tmp_path: Path) -> None:
    urls = _all_assets(client)
    # runserver with DEBUG on: nothing collected, the files come from the apps.
    with override_settings(DEBUG=True, STATIC_ROOT=tmp_path / "empty"):
        served = Client()
        for url in urls:
            response = served.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert b"".join(response.streaming_content), url  # type: ignore[attr-defined]
