"""The transactional outbox: record a Celery task next to the change it follows.

``outbox_enqueue`` must be called inside the caller's ``transaction.atomic`` block, so the
task exists exactly when the change does. Nothing here talks to the broker: publishing is
the relay's job (``outbox_relay``, in the tasks' room), which runs after commit and on a
schedule, so a broker outage delays work and never loses it or fails a request.
"""

from __future__ import annotations

import logging
from typing import Any

from checkout.models import OutboxMessage
from checkout.services.rows import Chain, insert_rows

logger = logging.getLogger(__name__)


def outbox_enqueue(*, task_name: str, **kwargs: Any) -> OutboxMessage:
    """Write an outbox row for ``task_name(**kwargs)``; kwargs must be JSON (ids only)."""
    message = OutboxMessage(task_name=task_name, kwargs=kwargs)
    insert_rows([message])
    logger.debug("outbox %s queued %s(%s)", message.pk, task_name, kwargs)
    return message


def outbox_enqueue_chained(
    chain: Chain, name: str, *, task_name: str, after: str, kwargs_sql: str
) -> OutboxMessage:
    """Add an outbox row to ``chain`` (step ``name``, run after step ``after``), with the
    task's kwargs built in SQL from earlier steps (``jsonb_build_object(...)``). The
    chain's transaction is the caller's change, as for ``outbox_enqueue``."""
    message = OutboxMessage(task_name=task_name, kwargs={})
    chain.insert(name, [message], after=(after,), refs={"kwargs": kwargs_sql})
    return message
