"""config.celery_app: a worker keeps a healthy database connection across tasks and drops
a failed or expired one, as Django does across requests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction

from config.celery_app import app, close_old_database_connections

pytestmark = pytest.mark.django_db(transaction=True)


def _task(*, eager: bool = False) -> Any:
    return SimpleNamespace(request=SimpleNamespace(is_eager=eager))


def _connected() -> Any:
    connection.ensure_connection()
    return connection.connection


def test_celery_does_not_close_the_connection_around_every_task() -> None:
    # Without this setting Celery's Django fixup closes it before and after each task.
    assert app.conf.get("CELERY_DB_REUSE_MAX") >= 100


def test_a_healthy_connection_is_kept_across_tasks() -> None:
    raw = _connected()
    connection.close_at = None  # CONN_MAX_AGE = None: persistent
    close_old_database_connections(sender=_task())
    close_old_database_connections(sender=_task())
    assert connection.connection is raw
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_an_expired_connection_is_closed() -> None:
    _connected()
    connection.close_at = 0  # CONN_MAX_AGE elapsed
    close_old_database_connections(sender=_task())
    assert connection.connection is None


def test_a_failed_connection_is_closed() -> None:
    raw = _connected()
    connection.close_at = None
    connection.errors_occurred = True
    raw.close()  # what a server restart leaves behind
    close_old_database_connections(sender=_task())
    assert connection.connection is None
    with connection.cursor() as cursor:  # the next task connects afresh
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_eager_tasks_and_open_transactions_are_left_alone() -> None:
    raw = _connected()
    connection.close_at = 0
    close_old_database_connections(sender=_task(eager=True))
    assert connection.connection is raw
    with transaction.atomic():
        close_old_database_connections(sender=_task())
        assert connection.connection is raw
