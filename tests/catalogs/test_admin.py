"""The catalogs are visible in the admin, read-only (changes go through the audited services)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from catalogs.models import CatalogState, ImageBaseline

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["catalogstate", "guidanceprofile", "guidanceassignment", "imagebaseline"])
def test_every_catalog_model_is_listed(admin_client: Client, baselines: dict[str, Any], model: str) -> None:
    assert admin_client.get(f"/admin/catalogs/{model}/").status_code == 200
    assert admin_client.get(f"/admin/catalogs/{model}/add/").status_code == 403


def test_a_baseline_page_shows_its_document_and_cannot_be_changed(
    admin_client: Client, baselines: dict[str, Any]
) -> None:
    row = ImageBaseline.objects.get(name="flux_1")
    page = admin_client.get(f"/admin/catalogs/imagebaseline/{row.pk}/change/")
    assert page.status_code == 200 and b"native_resolution" in page.content
    response = admin_client.post(f"/admin/catalogs/imagebaseline/{row.pk}/change/", {"name": "x"})
    assert response.status_code == 403
    assert CatalogState.objects.get(catalog="image_baselines").revision == 1
