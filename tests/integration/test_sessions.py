"""checkout.sessions: Django's cached_db sessions, a changed session saved in one UPDATE."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.cached_db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from checkout.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_created_as_django_creates_it() -> None:
    store = SessionStore()
    store["cart"] = "c-1"
    store.save()
    assert store.session_key
    assert Session.objects.get(session_key=store.session_key).get_decoded() == {"cart": "c-1"}
    assert DjangoStore(session_key=store.session_key)["cart"] == "c-1"


def test_a_changed_session_is_one_update_read_back_from_cache_and_database() -> None:
    store = SessionStore()
    store["cart"] = "c-1"
    store.save()
    store = SessionStore(session_key=store.session_key)
    store["cart"] = "c-2"
    store["attempt"] = "a-1"
    with CaptureQueriesContext(connection) as queries:
        store.save()
    # Django's engine: SAVEPOINT, UPDATE, RELEASE here (BEGIN, UPDATE, COMMIT in autocommit).
    assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
    assert SessionStore(session_key=store.session_key).load() == {"cart": "c-2", "attempt": "a-1"}
    caches["default"].clear()
    assert SessionStore(session_key=store.session_key).load() == {"cart": "c-2", "attempt": "a-1"}


def test_the_update_moves_the_expiry_date() -> None:
    store = SessionStore()
    store["cart"] = "c-1"
    store.save()
    store.set_expiry(3600)
    store.save()
    row = Session.objects.get(session_key=store.session_key)
    expected = timezone.now() + dt.timedelta(seconds=3600)
    assert abs((row.expire_date - expected).total_seconds()) < 10


def test_a_session_deleted_meanwhile_is_not_recreated() -> None:
    store = SessionStore()
    store["cart"] = "c-1"
    store.save()
    key = store.session_key
    Session.objects.filter(session_key=key).delete()
    store["cart"] = "c-2"
    with pytest.raises(UpdateError):
        store.save()
    assert not Session.objects.filter(session_key=key).exists()
