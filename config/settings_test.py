"""Test settings: the real settings, plus what only tests want.

The database and cache still come from DATABASE_URL / REDIS_URL, so the same suite
runs on SQLite + local memory and on PostgreSQL + Redis.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
os.environ.setdefault("DEBUG", "false")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = ""
# Eagerly, every record change in the suite would publish an export; the tests of
# that behaviour turn it on.
EXPORT_ON_CHANGE = False
# Keys from parallel or repeated runs never meet in a shared Redis.
if REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"hmr-test-{os.getpid()}"  # noqa: F405
# Revision files of the in-memory test database: private to this process, never
# beside a real database file.
if not os.environ.get("REVISION_SIGNAL_DIR"):
    import atexit
    import shutil
    import tempfile

    REVISION_SIGNAL_DIR = tempfile.mkdtemp(prefix="hmr-test-revisions-")
    atexit.register(shutil.rmtree, REVISION_SIGNAL_DIR, True)
