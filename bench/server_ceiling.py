"""How fast can each server set-up answer at all? A constant body, no Django, against nginx.

The read API's small-body routes are bounded by the HTTP server's own cost per
request, not by our code. This measures that bound for the two set-ups the
project supports, serving a constant body of ``--size`` bytes from a trivial
application (no Django, no database): gunicorn ``gthread`` on a WSGI callable and
gunicorn with uvicorn workers on an ASGI callable, both with 2 workers, and nginx
serving the same bytes as a static file. ``wrk`` as in ``bench/read_api.py``.

    .venv/bin/python bench/server_ceiling.py [--duration S] [--size BYTES] [--no-write]

The table is written to bench/README.md (section "Server ceiling") unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.common import (  # noqa: E402
    README,
    free_port,
    machine_facts,
    replace_readme_section,
    wait_for_quiet_cpu,
)
from bench.read_api import (  # noqa: E402
    UVICORN_WORKER,
    WrkResult,
    ensure_debian_package,
    log,
    run_wrk,
    running,
    start_nginx,
    tool_versions,
    wait_for_heartbeat,
)

SECTION_TITLE = "## Server ceiling (`bench/server_ceiling.py`)"

TRIVIAL_APP = """\
BODY = (Path(__file__).parent / "body.json").read_bytes()
LENGTH = str(len(BODY))


def wsgi(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", LENGTH)])
    return [BODY]


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", LENGTH.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BODY})
"""

SET_UPS = {
    "gunicorn gthread (WSGI), 4 threads": ["trivial:wsgi", "--worker-class", "gthread", "--threads", "4"],
    "gunicorn uvicorn worker (ASGI)": ["trivial:asgi", "--worker-class", UVICORN_WORKER],
}


def serve_and_measure(wrk: str, scratch: Path, args: argparse.Namespace, set_up: list[str]) -> WrkResult:
    local = Path(sys.executable).parent / "gunicorn"
    port = free_port()
    server_log = scratch / f"gunicorn-{port}.log"
    command = [
        *([str(local)] if local.exists() else [sys.executable, "-m", "gunicorn"]),
        *set_up,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
        "--chdir",
        str(scratch),
    ]
    with server_log.open("wb") as output:
        proc = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    with running(proc, "gunicorn"):
        wait_for_heartbeat(proc, port, server_log, timeout=30, path="/")
        wait_for_quiet_cpu()
        return run_wrk(wrk, port, "/", args)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per server (10)")
    parser.add_argument("--size", type=int, default=800, help="body size in bytes (800, as a single model)")
    parser.add_argument("--no-write", action="store_true", help="do not write the table into bench/README.md")
    args = parser.parse_args()
    args.wrk_threads, args.connections = 2, 32
    wrk = ensure_debian_package("wrk", "wrk")
    nginx = ensure_debian_package("nginx", "nginx")
    results: list[tuple[str, WrkResult]] = []
    with tempfile.TemporaryDirectory(prefix="hmr-ceiling-") as scratch_name:
        scratch = Path(scratch_name)
        scratch.chmod(0o755)
        (scratch / "body.json").write_bytes(b"x" * args.size)
        (scratch / "trivial.py").write_text("from pathlib import Path\n\n" + TRIVIAL_APP)
        for label, set_up in SET_UPS.items():
            log(f"{label}: wrk {args.duration} s")
            results.append((label, serve_and_measure(wrk, scratch, args, set_up)))
        prefix = scratch / "nginx"
        (prefix / "root").mkdir(parents=True)
        (prefix / "root" / "body.json").write_bytes(b"x" * args.size)
        nginx_proc, nginx_port = start_nginx(nginx, prefix)
        with running(nginx_proc, "nginx"):
            wait_for_quiet_cpu()
            log(f"nginx: wrk {args.duration} s")
            nginx_result = run_wrk(wrk, nginx_port, "/body.json", args)
    lines = [
        "| server | req/s | p50 (ms) | p99 (ms) | ratio to nginx |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {label} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.requests_per_s / nginx_result.requests_per_s:.3f} |"
            for label, r in results
        ),
        f"| nginx (static file) | {nginx_result.requests_per_s:,.0f} | {nginx_result.p50_ms:.2f} "
        f"| {nginx_result.p99_ms:.2f} | 1.000 |",
    ]
    print("\n".join(lines))
    facts = machine_facts("-")
    section = "\n".join(
        [
            SECTION_TITLE,
            "",
            textwrap.fill(
                "The most each server set-up can do: a trivial application (no Django) answering a constant "
                f"{args.size}-byte body, 2 gunicorn workers, against nginx serving the same bytes; wrk on "
                f"loopback, 2 threads, 32 connections, {args.duration} s each. The read API's small-body "
                "routes cannot beat the ratio of their server set-up here; this is why production runs "
                "uvicorn workers.",
                width=100,
                break_on_hyphens=False,
            ),
            "",
            f"Measured {facts['date']} on `{facts['host']}` ({facts['nproc']} cores {facts['cpu']}; "
            f"{tool_versions(wrk, nginx)}), `bench/server_ceiling.py`:",
            "",
            *lines,
            "",
        ]
    )
    if not args.no_write:
        replace_readme_section(README, SECTION_TITLE, section)
        log("results written to bench/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
