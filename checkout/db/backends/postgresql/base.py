"""Django's PostgreSQL backend, with a health check that needs no round trip to the server.

With ``CONN_HEALTH_CHECKS = True`` Django checks a persistent connection before its first
use in each request by sending ``SELECT 1``: one round trip, about 0.1 ms, on every
request that touches the database (a tenth of a webhook delivery's cost). This backend
looks at the connection's socket instead. A server that ended the session (restarted,
``pg_terminate_backend``, an idle timeout, a proxy that dropped it) has sent its goodbye
or closed the socket, so the socket has something to read; an idle healthy connection
has nothing. Only when there is something to read does the check fall back to Django's
``SELECT 1``, which then decides. A connection whose network path died silently passes
this check as it would often pass no check at all: the query fails, Django marks the
connection unusable and closes it at the end of that request, as it does today.

    DATABASES = {"default": {"ENGINE": "checkout.db.backends.postgresql", ...}}

Everything else is Django's backend, unchanged.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

__all__ = ["DatabaseWrapper"]


class DatabaseWrapper(PostgresWrapper):
    """``django.db.backends.postgresql`` with ``is_usable`` checked on the socket."""

    def is_usable(self) -> bool:
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        try:
            readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
        except Exception:  # psycopg has no socket any more, or select refused it
            return False
        if not readable:
            return True
        # Something arrived while idle (a termination notice, or end of file): ask.
        return bool(super().is_usable())
