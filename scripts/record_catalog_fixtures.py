"""Record the established 8.6.2 service's catalog export answers as test fixtures.

Run with the oracle environment (Python 3.12, horde-model-reference==8.6.2), from the
repository root:

    /tmp/oracle-venv/bin/python scripts/record_catalog_fixtures.py

It starts the established FastAPI application in process (its TestClient; nothing leaves
the machine: the service runs as PRIMARY on a scratch directory, no GitHub, no AI Horde)
and writes the JSON answers of its catalog export routes to ``tests/catalogs/fixtures/``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "catalogs" / "fixtures"
ROUTES = {
    "text_guidance.json": "/api/model_references/v2/text_generation/guidance/export",
    "image_baselines.json": "/api/model_references/v2/image_generation/baselines/export",
    "image_baselines_page.json": "/api/model_references/v2/image_generation/baselines/",
    "image_baseline_flux_1.json": "/api/model_references/v2/image_generation/baselines/flux_1",
    "text_guidance_profiles.json": "/api/model_references/v2/text_generation/guidance/profiles",
    "text_guidance_assignments.json": "/api/model_references/v2/text_generation/guidance/assignments",
}


def main() -> int:
    scratch = tempfile.mkdtemp(prefix="hmr-oracle-")
    os.environ.setdefault("AIWORKER_CACHE_HOME", scratch)
    os.environ.setdefault("HORDE_MODEL_REFERENCE_REPLICATE_MODE", "PRIMARY")
    os.environ.setdefault("HORDE_MODEL_REFERENCE_CANONICAL_FORMAT", "v2")
    from fastapi.testclient import TestClient  # type: ignore[import-not-found]  # the oracle venv only

    from horde_model_reference.service.app import app  # type: ignore[import-not-found]

    FIXTURES.mkdir(parents=True, exist_ok=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        for file_name, route in ROUTES.items():
            response = client.get(route)
            print(route, response.status_code, file=sys.stderr)
            response.raise_for_status()
            (FIXTURES / file_name).write_text(json.dumps(response.json(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
