"""Plumbing the benchmarks share: a fresh PostgreSQL database, Redis, the server's environment,
child processes and their answers, the figures' section in bench/README.md."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "bench" / "README.md"
REFERENCE_DATA = REPO_ROOT.parent / "shared" / "reference-data"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
RESULT_PREFIX = "RESULT "


def fresh_database(name: str) -> str:
    """Drop and re-create a bench database; return the PostgreSQL server version."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def production_env(
    database_url: str, redis_url: str, allowed_hosts: str = "127.0.0.1,localhost"
) -> dict[str, str]:
    """The environment of a server run as in production (DEBUG off, a random secret)."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": allowed_hosts,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")]),
        }
    )
    return env


def machine_facts(postgres_version: str) -> dict[str, str]:
    """What the figures were measured on: date, CPU, cores, memory, Python, PostgreSQL."""
    import contextlib
    import platform
    import time

    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "host": platform.node(),
        "cpu": model,
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "python": platform.python_version(),
        "postgres": postgres_version,
    }


def replace_readme_section(readme: Path, title: str, section: str) -> None:
    """Put ``section`` in place of the one headed ``title`` (or append it), keeping the rest."""
    import re

    text = readme.read_text()
    start = text.find(title)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        following = re.search(r"^## ", text[start + len(title) :], re.MULTILINE)
        end = start + len(title) + following.start() if following else len(text)
        rest = text[end:]
        text = text[:start] + section + ("\n" + rest if rest else "")
    readme.write_text(text.rstrip("\n") + "\n")


def cpu_busy_percent(seconds: float = 2.0) -> float:
    """How busy the CPUs were over the next ``seconds`` (0-100), from /proc/stat.

    Unlike the load average, which decays over minutes, this tells whether something
    is running right now (say, the benchmark that just finished has not).
    """
    import time

    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields), idle

    try:
        total_before, idle_before = sample()
        time.sleep(seconds)
        total_after, idle_after = sample()
    except (OSError, ValueError, IndexError):
        return -1.0
    total = total_after - total_before
    return 100.0 * (1 - (idle_after - idle_before) / total) if total > 0 else 0.0


def wait_for_quiet_cpu(limit_percent: float = 10.0, timeout_s: float = 90.0) -> float:
    """Wait (up to ``timeout_s``) until the CPUs are mostly idle; return the last reading."""
    import time

    deadline = time.monotonic() + timeout_s
    busy = cpu_busy_percent()
    while busy > limit_percent and time.monotonic() < deadline:
        busy = cpu_busy_percent()
    return busy


def horde_stand_in(workers: int = 500) -> Any:
    """The local AI Horde stand-in (tests/horde_stub.py) with statistics for the real model
    names (~1,000 model names with backend and quant spellings, ``workers`` workers), as a
    context manager yielding the running stub (its ``url`` is the AI Horde API root)."""
    import sys

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.horde_stub import HordeStub

    stub = HordeStub()
    stub.load_reference_statistics(workers=workers)
    return stub.running()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def child_env(database_url: str) -> dict[str, str]:
    """The environment of a bench child run on the test settings: ``database_url``, no Redis."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    env.pop("REDIS_URL", None)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "client")])
    return env


def python_child(env: dict[str, str], code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python (this one) from the repository root, output captured."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def last_line_json(stdout: str) -> dict[str, Any]:
    """The JSON object a child printed last."""
    return dict(json.loads(stdout.strip().splitlines()[-1]))


def result_line(stdout: str) -> str | None:
    """The first line a child printed with ``RESULT_PREFIX``, without the prefix (None: none)."""
    line = next((x for x in stdout.splitlines() if x.startswith(RESULT_PREFIX)), None)
    return None if line is None else line[len(RESULT_PREFIX) :]


def child_json(env: dict[str, str], code: str, *args: str, stderr_chars: int | None = None) -> dict[str, Any]:
    """Run a bench child and return the JSON object it printed last; exit when it failed,
    showing its stderr (the last ``stderr_chars`` characters, or all of it)."""
    result = python_child(env, code, *args)
    if result.returncode != 0:
        stderr = result.stderr if stderr_chars is None else result.stderr[-stderr_chars:]
        raise SystemExit(f"benchmark child failed:\n{stderr}")
    return last_line_json(result.stdout)


def measured_line(facts: dict[str, str], busy: float, command: str, *, postgres: str | None = None) -> str:
    """The "Measured ... on ..." line of a figures section: the machine, how busy its CPUs were
    just before the run, and the command that measured (``postgres``: the server's version)."""
    database = "" if postgres is None else f", PostgreSQL {postgres}"
    return (
        f"Measured {facts['date']} on `{facts['host']}` ({facts['nproc']} cores {facts['cpu']}, "
        f"{facts['memory']}, Python {facts['python']}{database}; CPUs {busy:.0f}% busy just before the run), "
        f"`{command}`:"
    )


def write_figures_section(
    title: str, intro: list[str], measured: str, lines: list[str], verdicts: list[str]
) -> None:
    """Put a figures section (title, intro, the measured line, the table, the verdicts) in bench/README.md."""
    section = "\n".join([title, "", *intro, "", measured, "", *lines, "", "; ".join(verdicts) + ".", ""])
    replace_readme_section(README, title, section)
