"""A worker with beat at ``-l info`` does not log the twice-a-second outbox relay while it
has nothing to publish, and still logs a relay that published rows."""

from __future__ import annotations

import logging
import time
import uuid

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from checkout.tasks import RELAY_TASK
from checkout.testing.celery_worker import database_url_from_settings, start_celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]


@pytest.mark.django_db(transaction=True)
def test_an_idle_worker_at_info_does_not_log_the_relay() -> None:
    worker = start_celery_worker(
        broker_url="redis://127.0.0.1:6379/9",
        database_url=database_url_from_settings(),
        queue=f"quiet-relay-{uuid.uuid4().hex[:8]}",
        concurrency=1,
    )
    try:
        time.sleep(4)  # eight relay runs
    finally:
        worker.stop()
    log = worker.log()
    assert "ready." in log
    banner = "  . "  # the start-up banner lists every task once
    relay_lines = [
        line for line in log.splitlines() if "outbox" in line and not line.startswith(banner)
    ]
    assert relay_lines == [], log[-3000:]


def _logged(caplog: pytest.LogCaptureFixture, logger: str, fmt: str, **args: object) -> bool:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        logging.getLogger(logger).info(fmt, {"id": "x", "runtime": 0.001, **args})
    return bool(caplog.records)


def test_a_relay_that_published_rows_and_other_tasks_are_still_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    trace, strategy = "celery.app.trace", "celery.worker.strategy"
    assert not _logged(caplog, trace, LOG_SUCCESS, name=RELAY_TASK, return_value="0")
    assert not _logged(caplog, strategy, LOG_RECEIVED, name=RELAY_TASK, args="()", kwargs="{}")
    assert _logged(caplog, trace, LOG_SUCCESS, name=RELAY_TASK, return_value="3")
    other = "checkout.tasks.email_send"
    assert _logged(caplog, trace, LOG_SUCCESS, name=other, return_value="True")
    assert _logged(caplog, strategy, LOG_RECEIVED, name=other, args="()", kwargs="{}")
    with caplog.at_level(logging.DEBUG, logger=trace):
        logging.getLogger(trace).info(
            LOG_SUCCESS, {"id": "x", "runtime": 0.001, "name": RELAY_TASK, "return_value": "0"}
        )
    assert caplog.records  # at -l debug everything shows
