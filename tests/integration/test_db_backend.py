"""checkout.db.backends.postgresql: the health check reads the socket, on real PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import connections

from checkout.db.backends.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def wrapper() -> Iterator[DatabaseWrapper]:
    settings_dict = dict(connections["default"].settings_dict)
    settings_dict.update(ENGINE="checkout.db.backends.postgresql", CONN_HEALTH_CHECKS=True)
    db = DatabaseWrapper(settings_dict, alias="health_probe")
    db.ensure_connection()
    yield db
    db.close()


def _admin() -> psycopg.Connection[Any]:
    s = connections["default"].settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        dbname="postgres",
        autocommit=True,
    )


def test_the_default_database_uses_it() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)


def test_a_healthy_connection_passes_without_a_query(
    wrapper: DatabaseWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_query(*args: object, **kwargs: object) -> None:
        raise AssertionError("the check sent a query")

    monkeypatch.setattr(type(wrapper.connection), "cursor", no_query)
    assert wrapper.is_usable()


def test_a_connection_the_server_ended_fails_and_is_replaced(wrapper: DatabaseWrapper) -> None:
    pid = wrapper.connection.info.backend_pid
    with _admin() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while wrapper.is_usable() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not wrapper.is_usable()
    # What Django does at the start of a request: the check fails, a new connection follows.
    wrapper.health_check_done = False
    wrapper.close_if_health_check_failed()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_a_closed_connection_is_not_usable(wrapper: DatabaseWrapper) -> None:
    wrapper.connection.close()
    assert not wrapper.is_usable()
