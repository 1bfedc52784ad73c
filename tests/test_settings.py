"""Start-up refuses unsafe production settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

UNSET = ("SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL")


def start(
    env_overrides: dict[str, str], code: str = "import django; django.setup()"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(env_overrides)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"DEBUG": "false"},
        {"DEBUG": "false", "SECRET_KEY": "django-insecure-local-development-only-change-me"},
    ],
)
def test_production_refuses_missing_or_default_secret_key(overrides: dict[str, str]) -> None:
    result = start(overrides)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_debug_starts_with_the_development_defaults() -> None:
    assert start({"DEBUG": "true"}).returncode == 0


def test_production_starts_with_a_real_secret_key() -> None:
    result = start({"DEBUG": "false", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "models.example"})
    assert result.returncode == 0, result.stderr


def test_a_server_without_redis_warns_but_commands_do_not() -> None:
    production = {"DEBUG": "false", "SECRET_KEY": "x" * 50}
    server = start(production, "import config.asgi")
    assert server.returncode == 0, server.stderr
    assert "REDIS_URL is not set" in server.stderr
    command = start(production)
    assert command.returncode == 0 and "REDIS_URL" not in command.stderr
    shared = start({**production, "REDIS_URL": "redis://127.0.0.1:6379/15"}, "import config.wsgi")
    assert shared.returncode == 0 and "REDIS_URL" not in shared.stderr


def test_without_redis_on_sqlite_the_warning_names_the_revision_files() -> None:
    server = start({"DEBUG": "false", "SECRET_KEY": "x" * 50}, "import config.wsgi")
    assert server.returncode == 0, server.stderr
    assert "revision files" in server.stderr and "db.sqlite3-revisions" in server.stderr


def test_redis_calls_have_short_socket_timeouts() -> None:
    # Without them a hung Redis blocks every thread that touches it.
    check = (
        "import django; django.setup(); from django.conf import settings as s; "
        "o = s.CACHES['default']['OPTIONS']; "
        "assert 0 < o['SOCKET_TIMEOUT'] <= 0.5 and 0 < o['SOCKET_CONNECT_TIMEOUT'] <= 0.5, o"
    )
    result = start({"DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/15"}, check)
    assert result.returncode == 0, result.stderr


def test_behind_a_tls_proxy() -> None:
    check = (
        "import django; django.setup(); from django.conf import settings as s; "
        "assert s.SECURE_PROXY_SSL_HEADER == ('HTTP_X_FORWARDED_PROTO', 'https'); "
        "assert s.SESSION_COOKIE_SECURE and s.CSRF_COOKIE_SECURE; "
        "assert s.CSRF_TRUSTED_ORIGINS == ['https://models.example', 'https://admin.example']"
    )
    result = start(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "BEHIND_TLS_PROXY": "true",
            "CSRF_TRUSTED_ORIGINS": "https://models.example,https://admin.example",
        },
        check,
    )
    assert result.returncode == 0, result.stderr
