"""Test set-up: real PostgreSQL, Redis and Chromium when present; loud skips without them, never under CI.

`make test` exports DATABASE_URL / CELERY_BROKER_URL when the services answer. Tests marked `postgres`,
`celery_worker` or `browser` need the real thing; under CI=true a missing one fails the whole run.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings

CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def redis_url() -> str:
    return settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis") else ""


MISSING = {
    "postgres": None if on_postgres() else "PostgreSQL is not configured (DATABASE_URL is not postgres://…)",
    "celery_worker": None
    if redis_url() and _reachable(redis_url(), 6379)
    else "Redis is not reachable (CELERY_BROKER_URL unset or down)",
    "browser": None if shutil.which(CHROMIUM) else f"Chromium is missing at {CHROMIUM}",
}
if MISSING["celery_worker"] is None and MISSING["postgres"]:
    MISSING["celery_worker"] = "the Celery worker test needs PostgreSQL too"


def pytest_configure(config):
    missing = {k: v for k, v in MISSING.items() if v}
    if CI and missing:
        raise pytest.UsageError("CI=true but required services are missing: " + "; ".join(missing.values()))


def pytest_collection_modifyitems(config, items):
    for item in items:
        for marker, why in MISSING.items():
            if why and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"SKIPPED ({marker}): {why}"))


def pytest_terminal_summary(terminalreporter):
    missing = {k: v for k, v in MISSING.items() if v}
    if missing:
        terminalreporter.section("services missing: tests skipped", sep="!")
        for marker, why in missing.items():
            terminalreporter.write_line(f"  {marker}: {why}", red=True, bold=True)
    else:
        terminalreporter.write_line("PostgreSQL, Redis/Celery and Chromium: all used for real.", green=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """A test database per run, so two runs on one PostgreSQL server never drop each other's."""
    from django.conf import settings as django_settings

    if on_postgres():
        test = django_settings.DATABASES["default"].setdefault("TEST", {})
        test["NAME"] = f"test_l2platform_{os.getpid()}"


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Each test stores originals and renditions in its own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from django.core.files.storage import default_storage, storages
    from django.utils.functional import empty

    default_storage._wrapped = empty  # re-read MEDIA_ROOT
    storages._storages = {}
    yield
    default_storage._wrapped = empty
    storages._storages = {}


@pytest.fixture(autouse=True)
def _verdicts_final_at_once(settings):
    """Verdicts are final at once in tests (no undo window), unless a test of the window sets one."""
    settings.L2_UNDO_WINDOW_SECONDS = 0


@pytest.fixture(autouse=True)
def _eager_celery():
    """Tasks run in process by default; the worker test switches to a real worker over Redis."""
    from screening.celery import app

    # The app reads Django settings under the CELERY_ namespace: override the namespaced keys.
    previous = app.conf.CELERY_TASK_ALWAYS_EAGER
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    yield
    app.conf.CELERY_TASK_ALWAYS_EAGER = previous
