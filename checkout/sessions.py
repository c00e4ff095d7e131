"""A session engine: Django's ``cached_db``, with a changed session saved in one statement.

Django's database session store saves an existing session with ``Model.save()`` inside
``transaction.atomic()``: BEGIN, UPDATE, COMMIT, three round trips to the database for
one row. Placing an order and posting the checkout's information step both change the
session, so each paid for two round trips they did not need. This engine saves a
changed session as one ``UPDATE`` (a single statement is atomic on its own), and
leaves creating a session, reading it and the cache write-through to Django::

    SESSION_ENGINE = "checkout.sessions"

As with Django's engine, a session deleted while the request ran (a logout in another
tab) is not silently re-created: the save raises ``UpdateError`` and the session
middleware answers 400.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
from django.db import router

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
        updated = (
            model._default_manager.using(using)
            .filter(session_key=self.session_key)
            .update(session_data=self.encode(data), expire_date=self.get_expiry_date())
        )
        if not updated:
            raise UpdateError
        try:
            cache = self._cache  # type: ignore[attr-defined]
            cache.set(self.cache_key, self._session, self.get_expiry_age())  # type: ignore[attr-defined]
        except Exception:
            logger.exception("Error saving to cache (%s)", self._cache)  # type: ignore[attr-defined]
