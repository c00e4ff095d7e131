"""The app's migrations describe its models on the installed Django release, and the
ones that change stored rows apply forwards and backwards without losing them.

A new Django release can change how a field or constraint deconstructs; the support matrix
runs this on each one, so a merchant never finds a migration missing from the package.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from checkout.models import OrderEvent

pytestmark = pytest.mark.django_db


def test_the_models_need_no_new_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "checkout", check=True, dry_run=True, stdout=out)
    except SystemExit:
        pytest.fail(f"makemigrations would write a migration:\n{out.getvalue()}")


BEFORE = [("checkout", "0007_attempt_order_user")]
AFTER = [("checkout", "0008_orderevent_message_id")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # the applied set changed: read it again
    return executor


def _orderevent_columns() -> set[str]:
    with connection.cursor() as cursor:
        return {
            column.name
            for column in connection.introspection.get_table_description(
                cursor, "checkout_orderevent"
            )
        }


@pytest.mark.django_db(transaction=True)
def test_0008_keeps_older_timeline_lines_and_reverses() -> None:
    """Message ids arrive (0008) without losing a line written before them, and leave
    again (backwards) with the text still in place."""
    executor = _migrate(BEFORE)
    try:
        old_apps = executor.loader.project_state(BEFORE).apps
        order = old_apps.get_model("checkout", "Order").objects.create(
            spectra_id=9401, order_number="ORD-9401"
        )
        old_event = old_apps.get_model("checkout", "OrderEvent").objects.create(
            order=order, kind="status", message="Status von pending auf shipped geändert."
        )
        assert "message_id" not in _orderevent_columns()

        _migrate(AFTER)
        assert {"message_id", "message_params"} <= _orderevent_columns()
        event = OrderEvent.objects.get(pk=old_event.pk)
        assert (event.message_id, event.message_params) == ("", {})
        with translation.override("en"):
            assert event.get_message_display() == "Status von pending auf shipped geändert."

        executor = _migrate(BEFORE)
        assert "message_id" not in _orderevent_columns()
        old_apps = executor.loader.project_state(BEFORE).apps
        kept = old_apps.get_model("checkout", "OrderEvent").objects.get(pk=old_event.pk)
        assert kept.message == "Status von pending auf shipped geändert."
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
