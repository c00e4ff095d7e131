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

logger = logging.getLogger(__name__)


def outbox_enqueue(*, task_name: str, **kwargs: Any) -> OutboxMessage:
    """Write an outbox row for ``task_name(**kwargs)``; kwargs must be JSON (ids only)."""
    message = OutboxMessage.objects.create(task_name=task_name, kwargs=kwargs)
    logger.debug("outbox %s queued %s(%s)", message.pk, task_name, kwargs)
    return message
