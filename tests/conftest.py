"""Repository-wide test configuration.

Each pytest process gets its own PostgreSQL test database (``test_<name>_<pid>``), so
several runs on one machine (developers, CI, a benchmark) never drop each other's
database.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["checkout.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    from django.conf import settings

    for db in settings.DATABASES.values():
        if "postgresql" not in db["ENGINE"]:
            continue
        test = db.setdefault("TEST", {})
        base = test.get("NAME") or f"test_{db['NAME']}"
        test["NAME"] = f"{base}_{os.getpid()}"
