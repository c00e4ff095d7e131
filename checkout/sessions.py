"""A session engine: Django's ``cached_db``, with a changed session saved in one statement.

Django's database session store saves an existing session with ``Model.save()`` inside
``transaction.atomic()``: BEGIN, UPDATE, COMMIT, three round trips to the database for
one row. Placing an order and posting the checkout's information step both change the
session, so each paid for two round trips they did not need. This engine saves a
changed session as one ``UPDATE`` (a single statement is atomic on its own) whose SQL is
built once per model and database (the queryset's ``update()`` compiled it again on
every save: a third of a millisecond), and leaves creating a session, reading it and
the cache write-through to Django::

    SESSION_ENGINE = "checkout.sessions"

As with Django's engine, a session deleted while the request ran (a logout in another
tab) is not silently re-created: the save raises ``UpdateError`` and the session
middleware answers 400.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.db import connections, router

__all__ = ["SessionStore"]

logger = logging.getLogger(__name__)


class SessionStore(CachedDbStore):
    """``django.contrib.sessions.backends.cached_db`` with a one-statement update."""

    def save(self, must_create: bool = False) -> None:
        if must_create or self.session_key is None:
            super().save(must_create)
            return
        data = self._get_session()  # type: ignore[attr-defined]
        model = self.model
        using = router.db_for_write(model)
        database = connections[using]
        meta = model._meta
        values = [
            meta.get_field("session_data").get_db_prep_save(self.encode(data), database),
            meta.get_field("expire_date").get_db_prep_save(self.get_expiry_date(), database),
            meta.get_field("session_key").get_db_prep_value(self.session_key, database),
        ]
        with database.cursor() as cursor:
            cursor.execute(_update_sql(model, using), values)
            updated = cursor.rowcount
        if not updated:
            raise UpdateError
        try:
            cache = self._cache  # type: ignore[attr-defined]
            cache.set(self.cache_key, self._session, self.get_expiry_age())  # type: ignore[attr-defined]
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)  # type: ignore[attr-defined]


@functools.cache
def _update_sql(model: Any, using: str) -> str:
    """``UPDATE`` of a session's data and expiry by its key, for ``model`` on ``using``."""
    meta = model._meta
    quote = connections[using].ops.quote_name
    data, expiry, key = (
        quote(meta.get_field(name).column)
        for name in ("session_data", "expire_date", "session_key")
    )
    return f"UPDATE {quote(meta.db_table)} SET {data} = %s, {expiry} = %s WHERE {key} = %s"  # noqa: S608
