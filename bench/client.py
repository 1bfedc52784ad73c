"""Speed and size of the client package, each figure from a fresh process.

    .venv/bin/python bench/client.py [--reference-data DIR] [--repeat N]

It builds a reference from the real data (a temporary SQLite database), exports it,
serves it with this project's Django app, and then runs the client in fresh child
processes, using the virtual environment without Django (``.venv-client``) when it
exists:

1. from the export directory: import time of the package, time to load every
   category, the time of a cached call, and peak RSS;
2. the same against the running server (through a small counting proxy);
3. a second process with the first one's disk cache and a zero TTL: a warm poll of
   every category, which must cost only 304s.

Targets: import + load all categories < 0.25 s, peak RSS < 50 MiB, a cached call
< 0.1 ms, and the warm poll all 304s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import REFERENCE_DATA, free_port  # noqa: E402

SERVER_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
CLIENT_PYTHON = REPO_ROOT / ".venv-client" / "bin" / "python"

CHILD = r"""
import json, resource, sys, time, timeit
started = time.perf_counter()
import horde_model_reference
from horde_model_reference import MODEL_REFERENCE_CATEGORY, ModelReferenceManager
imported = time.perf_counter() - started
mode, location = sys.argv[1], sys.argv[2]
if mode == "export":
    from horde_model_reference.backends.export import ExportSource
    manager = ModelReferenceManager(sources=[ExportSource(location)])
else:
    manager = ModelReferenceManager()
started = time.perf_counter()
references = manager.get_all_model_references()
loaded = time.perf_counter() - started
counts = {str(c): len(r or {}) for c, r in references.items()}
category = MODEL_REFERENCE_CATEGORY.image_generation
cached = float("nan")
if mode != "poll":  # with a zero TTL every call revalidates: no cached-call figure
    manager.get_model_reference(category)
    calls = 20000
    cached = timeit.timeit(lambda: manager.get_model_reference(category), number=calls) / calls
rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    import django  # noqa: F401
    django_present = True
except ImportError:
    django_present = False
print(json.dumps({"import_s": imported, "load_s": loaded, "cached_s": cached, "rss_mib": rss_kib / 1024,
                  "counts": counts, "django_installed": django_present}))
"""


class CountingProxy:
    """Forwards GETs to the server and records each answer's status."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.statuses: list[int] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in ("if-none-match", "accept-encoding")
                }
                request = urllib.request.Request(proxy.upstream + self.path, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, body, reply = response.status, response.read(), response.headers
                except urllib.error.HTTPError as error:
                    status, body, reply = error.code, error.read(), error.headers
                proxy.statuses.append(status)
                self.send_response(status)
                for name in ("Content-Type", "ETag", "Content-Encoding", "Last-Modified", "Cache-Control"):
                    if reply.get(name):
                        self.send_header(name, reply[name])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


def run(cmd: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def child(python: Path, mode: str, location: str, env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(run([str(python), "-c", CHILD, mode, location], env).strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference-data", type=Path, default=REFERENCE_DATA)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    python = CLIENT_PYTHON if CLIENT_PYTHON.exists() else SERVER_PYTHON
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        server_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "DATABASE_"))},
            "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
            "DEBUG": "true",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
        }
        run([str(SERVER_PYTHON), "manage.py", "migrate", "-v0"], server_env)
        run(
            [str(SERVER_PYTHON), "manage.py", "import_legacy", "--source", str(args.reference_data)],
            server_env,
        )
        run([str(SERVER_PYTHON), "manage.py", "export_reference", "--dest", str(work / "export")], server_env)
        client_env = {k: v for k, v in os.environ.items() if not k.startswith("HORDE_MODEL_REFERENCE_")}
        client_env.pop("PYTHONPATH", None)
        if python == SERVER_PYTHON:
            client_env["PYTHONPATH"] = str(REPO_ROOT / "client")
        # The export-directory figures come first, with no server running beside them.
        rows: list[tuple[str, dict[str, Any]]] = []
        for attempt in range(args.repeat):
            env = {**client_env, "HORDE_MODEL_REFERENCE_CACHE_DIR": str(work / f"cache-export-{attempt}")}
            rows.append(("export directory", child(python, "export", str(work / "export"), env)))
        port = free_port()
        server = subprocess.Popen(
            [str(SERVER_PYTHON), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=REPO_ROOT,
            env=server_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/heartbeat", timeout=2).read()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            proxy = CountingProxy(f"http://127.0.0.1:{port}")
            for attempt in range(args.repeat):
                cache_dir = str(work / f"cache-server-{attempt}")
                env = {
                    **client_env,
                    "HORDE_MODEL_REFERENCE_PRIMARY_API_URL": proxy.url + "/api",
                    "HORDE_MODEL_REFERENCE_CACHE_DIR": cache_dir,
                    "HORDE_MODEL_REFERENCE_ENABLE_GITHUB_FALLBACK": "false",
                }
                rows.append(("server (cold)", child(python, "server", "", env)))
            proxy.statuses.clear()
            warm_env = {**env, "HORDE_MODEL_REFERENCE_CACHE_TTL_SECONDS": "0"}
            rows.append(("server (warm poll)", child(python, "poll", "", warm_env)))
            warm_statuses = list(proxy.statuses)
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"client interpreter: {python} (Django installed: {rows[0][1]['django_installed']})")
    header = f"{'source':<20} {'import ms':>10} {'load all ms':>12} {'sum ms':>8} {'cached µs':>10}"
    print(f"{header} {'peak RSS MiB':>13}")
    for label, row in rows:
        total = row["import_s"] + row["load_s"]
        print(
            f"{label:<20} {row['import_s'] * 1e3:>10.1f} {row['load_s'] * 1e3:>12.1f} {total * 1e3:>8.1f} "
            f"{row['cached_s'] * 1e6:>10.2f} {row['rss_mib']:>13.1f}"
        )
    counts = rows[0][1]["counts"]
    print("records per category:", {k: v for k, v in counts.items() if v})
    export_sums = sorted(r["import_s"] + r["load_s"] for label, r in rows if label == "export directory")
    best = export_sums[0]
    median = export_sums[len(export_sums) // 2]
    print(f"export directory, import + load all: best {best * 1e3:.0f} ms, median {median * 1e3:.0f} ms")
    worst_rss = max(r["rss_mib"] for _, r in rows)
    worst_cached = max(r["cached_s"] for label, r in rows if label != "server (warm poll)")
    print(
        f"warm poll of every category: {len(warm_statuses)} requests, statuses {sorted(set(warm_statuses))}"
    )
    verdicts = {
        "import + load all < 0.25 s (export dir, best)": best < 0.25,
        "peak RSS < 50 MiB (worst)": worst_rss < 50,
        "cached call < 0.1 ms (worst)": worst_cached < 1e-4,
        "warm poll costs only 304s": bool(warm_statuses) and set(warm_statuses) == {304},
    }
    for name, ok in verdicts.items():
        print(f"{'PASS' if ok else 'MISS'}: {name}")
    sys.exit(0 if all(verdicts.values()) else 1)


if __name__ == "__main__":
    main()
