"""What the rate limiter learns about the proxies in front of the site, for the checks.

A system check at startup cannot see requests, so ``checkout.ratelimit.client_ip`` reports
here what it sees on the requests it counts:

- ``X-Forwarded-For`` while ``CHECKOUT_TRUSTED_PROXY_COUNT`` is 0: a proxy is in front of
  the site but not trusted, so every shopper behind it shares its address and one rate
  limit (``checkout.W031``);
- ``X-Forwarded-For`` from a peer outside ``CHECKOUT_TRUSTED_PROXIES``: its header is
  ignored, so if that peer is the site's own proxy, every shopper behind it again shares
  one address (``checkout.W032``).

Each process logs one warning per kind and writes a note (the time and the peer's address)
to the cache at most once every ``NOTE_INTERVAL`` seconds, so a busy site pays a dictionary
lookup per request, not a cache write. The notes expire after ``NOTE_SECONDS``; a note is
reported only while the settings still allow the mistake it records, so fixing the
setting silences the warning at once. ``checkout_doctor`` reads them too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal

from django.core.cache import cache

from checkout.conf import app_settings

logger = logging.getLogger(__name__)

Kind = Literal["forwarded-untrusted", "peer-not-trusted"]
FORWARDED_UNTRUSTED: Kind = "forwarded-untrusted"
PEER_NOT_TRUSTED: Kind = "peer-not-trusted"
KINDS: tuple[Kind, ...] = (FORWARDED_UNTRUSTED, PEER_NOT_TRUSTED)
CACHE_PREFIX = "checkout:proxy-note"
NOTE_INTERVAL = 300  # seconds between one process's cache writes of the same note
NOTE_SECONDS = 24 * 3600  # how long a sighting is remembered

# Per process, for throttling only (no correctness depends on it): when this process last
# wrote each note, and which warnings it has logged.
_written: dict[str, float] = {}
_warned: set[str] = set()
_lock = threading.Lock()

_LOG_LINES: dict[str, str] = {
    FORWARDED_UNTRUSTED: (
        "Requests arrive with X-Forwarded-For (from %s), but CHECKOUT_TRUSTED_PROXY_COUNT is "
        "0: every shopper behind the proxy shares one rate limit. Set "
        "CHECKOUT_TRUSTED_PROXY_COUNT and CHECKOUT_TRUSTED_PROXIES (logged once per process)."
    ),
    PEER_NOT_TRUSTED: (
        "Requests with X-Forwarded-For arrive from %s, which is not in "
        "CHECKOUT_TRUSTED_PROXIES: their header is ignored. If it is your proxy, add it "
        "(logged once per process)."
    ),
}


@dataclass(frozen=True)
class ProxySighting:
    """The last time a process noted ``kind``, and the peer address it came from."""

    kind: Kind
    at: dt.datetime
    peer: str


def proxy_sighting_note(kind: Kind, *, peer: str, now: float | None = None) -> None:
    """Record one request that shows ``kind`` (cheap: see the module docstring)."""
    moment = time.time() if now is None else now
    with _lock:
        first_time = kind not in _warned
        _warned.add(kind)
        due = moment - _written.get(kind, float("-inf")) >= NOTE_INTERVAL
        if due:
            _written[kind] = moment
    if first_time:
        logger.warning(_LOG_LINES[kind], peer or "an unknown address")
    if due:
        try:
            cache.set(f"{CACHE_PREFIX}:{kind}", {"at": moment, "peer": peer}, NOTE_SECONDS)
        except Exception:
            logger.warning("proxy note %s not written: cache unavailable", kind)


def _still_true(kind: Kind, peer: str) -> bool:
    """Whether the current settings still allow the mistake a note records."""
    if kind == FORWARDED_UNTRUSTED:
        return app_settings.TRUSTED_PROXY_COUNT == 0
    from checkout.ratelimit import from_trusted_proxy  # it imports this module

    return app_settings.TRUSTED_PROXY_COUNT > 0 and not from_trusted_proxy(peer)


def proxy_sightings() -> list[ProxySighting]:
    """The notes in the cache that the current settings do not yet answer (never raises)."""
    try:
        notes = cache.get_many([f"{CACHE_PREFIX}:{kind}" for kind in KINDS])
    except Exception:
        logger.warning("proxy notes unknown: cache unavailable")
        return []
    found = []
    for kind in KINDS:
        note = notes.get(f"{CACHE_PREFIX}:{kind}")
        if not isinstance(note, dict) or not isinstance(note.get("at"), int | float):
            continue
        peer = str(note.get("peer") or "")
        if _still_true(kind, peer):
            at = dt.datetime.fromtimestamp(float(note["at"]), tz=dt.UTC)
            found.append(ProxySighting(kind=kind, at=at, peer=peer))
    return found


def proxy_sightings_forget() -> None:
    """Forget every note, in the cache and in this process (tests; after a fix)."""
    with _lock:
        _written.clear()
        _warned.clear()
    cache.delete_many([f"{CACHE_PREFIX}:{kind}" for kind in KINDS])
