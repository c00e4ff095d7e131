"""An email backend for the benchmark: records each message (recipient, subject, time) in Redis.

The webhook-to-email measurement reads the list to compute latency and to count lost
and doubled emails; nothing is sent anywhere.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Sequence

import redis
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage


def email_log_key() -> str:
    """The Redis list the messages are recorded in: ``BENCH_EMAIL_LOG_KEY`` (bench.settings).

    Read with ``getattr``: the type checker knows the test settings, not the bench's.
    """
    return str(getattr(settings, "BENCH_EMAIL_LOG_KEY", "bench:emails"))


class RedisRecordingBackend(BaseEmailBackend):
    """Append ``{"to", "subject", "at"}`` per message to ``email_log_key()``."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        key = email_log_key()
        now = time.time()
        for message in email_messages:
            record = {"to": list(message.to), "subject": message.subject, "at": now}
            _redis().rpush(key, json.dumps(record))
        return len(email_messages)


@functools.cache
def _redis() -> redis.Redis:
    """One client (and connection pool) per process: Django builds a backend for every
    send, and a new connection per email would charge the worker a cost no real delivery
    has in this form."""
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)
