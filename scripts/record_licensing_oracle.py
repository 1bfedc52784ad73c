"""Record the established service's licensing answers as test fixtures.

Run with the oracle virtual environment (horde-model-reference==8.6.2, Python 3.12):

    /tmp/oracle-venv/bin/python scripts/record_licensing_oracle.py tests/licensing/fixtures

The service runs in process (FastAPI's TestClient), offline, over a fresh cache
directory holding two codeformer records (one with a reviewed ``licensing`` block
and a per-file override, one without, which gets the NOASSERTION default) beside the
package's bundled license definitions and non-model assets. Nothing is sent over the
network. (The oracle environment needs ``fastapi`` installed for its service module.)
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

CODEFORMER_RECORDS = {
    "CodeFormers": {
        "name": "CodeFormers",
        "record_type": "codeformer",
        "description": "Upscaler.",
        "version": "0.1.0",
        "config": {
            "download": [
                {
                    "file_name": "CodeFormers.pth",
                    "file_url": "https://github.com/sczhou/CodeFormer/releases/download/v0.1.0/codeformer.pth",
                    "sha256sum": "1009e537e0c2a07d4cabce6355f53cb66767cd4b4297ec7a4a64ca4b8a5684b7",
                }
            ]
        },
        "licensing": {
            "license_expression": "LicenseRef-S-Lab-1.0",
            "license_ids": ["LicenseRef-S-Lab-1.0"],
            "commercial_use": "prohibited",
            "redistribution": "allowed_with_conditions",
            "obligations": ["attribution", "include_license"],
            "reviewed_by": "hordelib-license-audit",
            "reviewed_at": "2026-06-29",
            "files": {
                "CodeFormers.pth": {
                    "license_expression": "LicenseRef-S-Lab-1.0 AND MIT",
                    "license_ids": ["LicenseRef-S-Lab-1.0", "MIT"],
                    "commercial_use": "prohibited",
                    "redistribution": "allowed_with_conditions",
                }
            },
        },
    },
    "codeformer-unreviewed": {
        "name": "codeformer-unreviewed",
        "record_type": "codeformer",
        "description": "A record without licensing.",
        "version": "0.1.0",
        "config": {"download": []},
    },
}


def main(target: Path) -> None:
    cache_home = tempfile.mkdtemp(prefix="oracle-licensing-")
    os.environ["AIWORKER_CACHE_HOME"] = cache_home
    os.environ["HORDE_MODEL_REFERENCE_OFFLINE"] = "true"
    os.environ["HORDE_MODEL_REFERENCE_REPLICATE_MODE"] = "PRIMARY"
    os.environ["HORDE_MODEL_REFERENCE_MAKE_FOLDERS"] = "true"
    records_dir = Path(cache_home) / "horde_model_reference"
    records_dir.mkdir(parents=True, exist_ok=True)
    (records_dir / "codeformer.json").write_text(json.dumps(CODEFORMER_RECORDS))
    from fastapi.testclient import TestClient  # type: ignore[import-not-found]

    from horde_model_reference.service.app import app  # type: ignore[import-not-found]

    client = TestClient(app)
    base = "/api/model_references/v2/licensing"
    answers = {
        "licensing_export.json": f"{base}/export",
        "licensing_summary.json": f"{base}/summary",
        "licensing_licenses.json": f"{base}/licenses?limit=3&offset=1",
        "licensing_assets.json": f"{base}/assets?limit=2",
        "licensing_license_missing.json": f"{base}/licenses/Nope-1.0",
        "licensing_model_codeformers.json": f"{base}/models/codeformer/CodeFormers",
        "licensing_model_unreviewed.json": f"{base}/models/codeformer/codeformer-unreviewed",
        "licensing_model_missing.json": f"{base}/models/codeformer/nope",
        "licensing_asset_bad_kind.json": f"{base}/assets/model/codeformer:CodeFormers",
    }
    target.mkdir(parents=True, exist_ok=True)
    for file_name, url in answers.items():
        response = client.get(url)
        document = {"status": response.status_code, "body": response.json()}
        (target / file_name).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
        print(file_name, response.status_code)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "tests/licensing/fixtures"))
