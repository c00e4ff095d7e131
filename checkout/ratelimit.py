"""Rate limits against abuse: card testing on the pay endpoint, code guessing on promo and
gift-card checks.

Limits come from ``CHECKOUT_RATE_LIMITS``: a scope name mapped to rules such as
``"10/10m session"`` (ten hits per ten minutes per session) or ``"30/h ip"`` (per client
address). A hit is allowed only when every rule of its scope allows it.

Counting is a sliding window approximated with two fixed buckets (the current and the
previous window, the previous weighted by how much of it still overlaps), kept in
Django's cache with atomic ``add``/``incr``. With a shared cache (Redis in production)
the limits hold across processes and machines; LocMem is enough for one process and
the tests. Only allowed hits count, so a blocked client's ``Retry-After`` is honest.
Only Django's cache API is used, so any backend the site configures works.
If the cache is down the limiter fails open (and logs): a cache outage must not stop
checkouts.

The client address is ``REMOTE_ADDR``. Behind ``N`` reverse proxies that each append to
``X-Forwarded-For``, set ``CHECKOUT_TRUSTED_PROXY_COUNT = N``: the address the outermost
trusted proxy saw is then used (``X-Forwarded-For``'s N-th entry from the right); entries
further left are the client's own claims and are never trusted. With
``CHECKOUT_TRUSTED_PROXIES`` (addresses or networks) the header is believed only when the
request comes from one of them, so a client that reaches the app's port directly cannot
rotate the header to escape the per-address limits. A site behind a proxy it does not
declare gets system check warnings (``checkout.W030`` from its settings, ``W031`` once a
request arrives with ``X-Forwarded-For``) rather than one shared address for every
shopper. IPv6 addresses are counted per /64, the block one subscriber usually gets.

How the default limits are sized (``CHECKOUT_RATE_LIMITS`` in ``checkout/conf.py``):

- Per-session rules are the first line. A shopper pays once, or a few times after a
  decline or a 3-D Secure failure; ``8/10m session`` on ``pay`` never stops a person and
  stops a script that keeps its cookie after 8 cards.
- Per-address rules must not lump a crowd together. One IPv4 address can stand for an
  office, a university, a hotel, or a mobile carrier's carrier-grade NAT, which puts
  hundreds of subscribers behind each public address; on a sale day, a few hundred of
  them may pay within minutes of the announcement. ``200/10m ip`` lets 200 shoppers
  behind one address pay inside ten minutes (each also places once, so ``place`` allows
  ``600/10m ip``), and ``1000/d ip`` a thousand payments from that address in a day, far
  more than any one address sends to one shop.
- A card-testing script that drops its cookie to dodge the session rule is stopped by
  the address rules: at one card a second it is refused after 200 cards in ten minutes,
  gets at most 200 per ten minutes after that, and is cut off for the rest of the day
  once it reaches 1,000, within the hour. Scripts that rotate addresses are beyond any
  per-address rule: that is Stripe Radar's job, and the per-session rule's.
- Promo codes are entered by everyone on a sale day (``200/10m ip``, ``1000/d ip``); gift
  cards by fewer shoppers and their codes are worth money (``100/10m ip``, ``300/d ip``);
  the guest order lookup is rare and may send an email (``20/h ip``).

Sites that see bigger crowds behind one address raise the ``ip`` rules; the session rules
need no change.

Views use ``@rate_limited(scope)``; see its docstring for JSON and form views.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from checkout.conf import app_settings
from checkout.proxies import FORWARDED_UNTRUSTED, PEER_NOT_TRUSTED, proxy_sighting_note

logger = logging.getLogger(__name__)

__all__ = [
    "RateLimitResult",
    "RateRule",
    "client_ip",
    "from_trusted_proxy",
    "rate_limit_form_error",
    "rate_limit_hit",
    "rate_limit_message",
    "rate_limit_reset",
    "rate_limit_rules",
    "rate_limited",
    "rate_limited_json",
    "rate_limits_validate",
]

Key = Literal["session", "ip"]
KEY_KINDS: tuple[Key, ...] = ("session", "ip")
CACHE_PREFIX = "checkout:rl"
_EPSILON = 1e-6  # float slack in the weighted count
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s+(session|ip)\s*$")


@dataclass(frozen=True)
class RateRule:
    """``limit`` hits per ``window`` seconds, counted per ``key`` (session or ip)."""

    limit: int
    window: int
    key: Key

    @classmethod
    def parse(cls, text: str) -> RateRule:
        """Parse ``"<count>/<period> <session|ip>"``; period like ``30s``, ``10m``, ``h``."""
        match = _RULE_RE.match(str(text))
        if match is None:
            raise ImproperlyConfigured(
                f"Rate limit rule {text!r} is not like '10/10m session' or '30/h ip'."
            )
        count, amount, unit, key = match.groups()
        window = int(amount or 1) * _UNITS[unit]
        if window <= 0:
            raise ImproperlyConfigured(f"Rate limit rule {text!r} has an empty period.")
        return cls(limit=int(count), window=window, key=key)  # type: ignore[arg-type]


@dataclass(frozen=True)
class RateLimitResult:
    """Whether a hit is allowed; ``retry_after`` seconds to wait when it is not."""

    allowed: bool
    retry_after: int = 0
    scope: str = ""
    rule: RateRule | None = None  # the rule that refused the hit

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def message(self) -> str:
        return rate_limit_message(self.scope, self.retry_after)


# --- Rules -------------------------------------------------------------------------------


def rate_limit_rules(scope: str) -> tuple[RateRule, ...]:
    """Return the parsed rules of ``scope``; an unknown scope is a configuration error."""
    limits = app_settings.RATE_LIMITS
    if scope not in limits:
        raise ImproperlyConfigured(
            f"No rate limit scope {scope!r} in CHECKOUT_RATE_LIMITS (have: {sorted(limits)})."
        )
    rules = limits[scope]
    if not rules:
        return ()  # switched off
    if isinstance(rules, str):
        rules = (rules,)
    return tuple(RateRule.parse(rule) for rule in rules)


def rate_limits_validate() -> list[str]:
    """Return a description of every invalid rule in ``CHECKOUT_RATE_LIMITS`` (for a check)."""
    problems = []
    for scope in app_settings.RATE_LIMITS:
        try:
            rate_limit_rules(scope)
        except ImproperlyConfigured as exc:
            problems.append(f"{scope}: {exc}")
    return problems


# --- Who is asking -------------------------------------------------------------------------


def _normalize_ip(value: str) -> str:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def trusted_proxy_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Return ``CHECKOUT_TRUSTED_PROXIES`` as networks; an invalid entry raises ValueError."""
    return tuple(
        ipaddress.ip_network(entry.strip(), strict=False) for entry in app_settings.TRUSTED_PROXIES
    )


def from_trusted_proxy(remote: str) -> bool:
    """Whether ``remote`` may speak for the client (any peer when no proxy is listed)."""
    try:
        networks = trusted_proxy_networks()
    except ValueError:  # reported by system check checkout.E024
        return False
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(remote.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """Return the client's address (IPv6 as its /64), honouring trusted proxies only.

    A request that carries ``X-Forwarded-For`` the settings do not let it use is noted
    for ``checkout.W031``/``W032`` and the doctor (``checkout/proxies.py``).
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = app_settings.TRUSTED_PROXY_COUNT
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    trusted = proxies > 0 and from_trusted_proxy(remote)
    if header.strip() and not trusted:
        proxy_sighting_note(FORWARDED_UNTRUSTED if proxies == 0 else PEER_NOT_TRUSTED, peer=remote)
    if trusted:
        forwarded = [part.strip() for part in header.split(",") if part.strip()]
        if len(forwarded) >= proxies:
            candidate = _normalize_ip(forwarded[-proxies])
            if candidate:
                return candidate
    return _normalize_ip(remote) or "unknown"


def _identity(request: HttpRequest, key: Key) -> str | None:
    if key == "ip":
        return client_ip(request)
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    # No session yet: nothing to count per session (the ip rule still applies).
    return str(session_key) if session_key else None


def _cache_key(scope: str, rule: RateRule, identity: str, bucket: int) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
    return f"{CACHE_PREFIX}:{scope}:{rule.key}:{rule.window}:{digest}:{bucket}"


# --- Counting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """One rule's two buckets for this caller at this moment."""

    rule: RateRule
    previous_key: str
    current_key: str
    elapsed: float  # seconds into the current bucket

    @property
    def ttl(self) -> int:
        return self.rule.window * 2 + 5

    def refusal(self, previous: int, current: int) -> int | None:
        """``None`` if the hit fits, else its Retry-After; ``current`` includes the hit."""
        rule = self.rule
        weight = 1 - self.elapsed / rule.window
        if previous * weight + current <= rule.limit + _EPSILON:
            return None
        return _wait(rule, previous, current - 1, self.elapsed)


def _windows(request: HttpRequest, scope: str, now: float) -> list[_Window]:
    windows = []
    for rule in rate_limit_rules(scope):
        identity = _identity(request, rule.key)
        if identity is None:
            continue
        bucket = int(now // rule.window)
        windows.append(
            _Window(
                rule,
                _cache_key(scope, rule, identity, bucket - 1),
                _cache_key(scope, rule, identity, bucket),
                now - bucket * rule.window,
            )
        )
    return windows


def _increment(key: str, ttl: int) -> int:
    """Add one to a bucket, creating it with its time to live on the first hit."""
    try:
        return int(cache.incr(key))  # the usual case: the bucket exists
    except ValueError:
        if cache.add(key, 1, ttl):
            return 1
        return int(cache.incr(key))  # another request created it meanwhile


def _wait(rule: RateRule, previous: int, current: int, elapsed: float) -> int:
    """Seconds until one more hit fits under the weighted count (for Retry-After).

    ``current`` and ``previous`` count allowed hits only (not the refused one).
    """
    window, limit = rule.window, rule.limit
    if limit <= 0:
        return window
    if current + 1 <= limit and previous:
        # Wait in this window until enough of the previous one has slid out.
        seconds = window * (1 - (limit - current - 1) / previous) - elapsed
    else:
        # This window alone is full: the next one starts with ``current`` as its previous.
        seconds = (window - elapsed) + window * max(0.0, 1 - (limit - 1) / max(current, 1))
    return max(1, math.ceil(seconds - _EPSILON))


Refusal = tuple[RateRule, int]  # the refusing rule and its Retry-After


def _count(windows: list[_Window]) -> Refusal | None:
    """Count the hit in every window through Django's cache API (any backend).

    The previous buckets are read in one round trip. Stops at the first refusing rule;
    the hit is then taken back from every window it was counted in.
    """
    previous = cache.get_many([window.previous_key for window in windows])
    counted: list[str] = []
    for window in windows:
        current = _increment(window.current_key, window.ttl)
        counted.append(window.current_key)
        retry_after = window.refusal(int(previous.get(window.previous_key) or 0), current)
        if retry_after is not None:
            for key in counted:
                cache.decr(key)
            return window.rule, retry_after
    return None


def rate_limit_hit(
    *, request: HttpRequest, scope: str, now: float | None = None
) -> RateLimitResult:
    """Count one hit of ``scope`` for this session and client address.

    Allowed only if every rule of the scope allows it; a refused hit counts nowhere.
    """
    moment = time.time() if now is None else now
    windows = _windows(request, scope, moment)
    if not windows:
        return RateLimitResult(True, 0, scope)
    try:
        refusal = _count(windows)
    except Exception:
        # The cache is down or misbehaving: let the shopper through rather than block
        # every checkout; the log says limits are not being enforced.
        logger.exception("rate limit %s: cache unavailable; not enforced", scope)
        return RateLimitResult(True, 0, scope)
    if refusal is None:
        return RateLimitResult(True, 0, scope)
    rule, retry_after = refusal
    logger.warning(
        "rate limit %s hit (%s/%ss per %s); retry after %ss",
        scope,
        rule.limit,
        rule.window,
        rule.key,
        retry_after,
    )
    return RateLimitResult(False, retry_after, scope, rule)


def rate_limit_reset(*, request: HttpRequest, scope: str, now: float | None = None) -> None:
    """Forget the counts of ``scope`` for this session and address (staff, tests)."""
    moment = time.time() if now is None else now
    windows = _windows(request, scope, moment)
    cache.delete_many([key for w in windows for key in (w.previous_key, w.current_key)])


# --- Messages and responses ----------------------------------------------------------------


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


def rate_limit_message(scope: str, retry_after: int) -> str:
    """The shopper's message for a refused hit of ``scope``."""
    wait = _wait_text(max(1, retry_after))
    if scope == "promo":
        return _("Too many promo code attempts. Please try again in %(wait)s.") % {"wait": wait}
    if scope == "gift_card":
        return _("Too many gift card attempts. Please try again in %(wait)s.") % {"wait": wait}
    if scope == "pay":
        return _(
            "Too many payment attempts. Your card was not charged. Please try again in %(wait)s."
        ) % {"wait": wait}
    return _("Too many attempts. Please try again in %(wait)s.") % {"wait": wait}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json"
    )


def rate_limited_json(result: RateLimitResult) -> JsonResponse:
    """The 429 answer of a machine endpoint.

    ``reason``/``message`` are what checkout.js reads from every JSON error; ``error`` is
    the same in the ``{"error": {"code", "message"}}`` shape for other clients.
    """
    message = result.message
    response = JsonResponse(
        {
            "reason": "rate_limited",
            "message": message,
            "retry_after": result.retry_after,
            "error": {"code": "rate_limited", "message": message},
        },
        status=429,
    )
    response["Retry-After"] = str(result.retry_after)
    return response


def _rate_limited_html(result: RateLimitResult) -> HttpResponse:
    # A plain page for views that did not opt in to re-rendering their form.
    title = escape(_("Too many attempts"))
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body><h1>{title}</h1><p role="alert">{escape(result.message)}</p></body></html>'
    )
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(result.retry_after)
    return response


def rate_limit_form_error(request: HttpRequest, form: Any) -> bool:
    """If this request was refused by ``@rate_limited(..., form_view=True)``, say so on ``form``.

    Adds the message as a form-level error and returns True; the view then re-renders
    the form (the decorator makes the answer a 429) instead of acting on it.
    """
    result: RateLimitResult | None = getattr(request, "rate_limited", None)
    if result is None or result.allowed:
        return False
    request._rate_limit_acknowledged = True  # type: ignore[attr-defined]
    form.add_error(None, result.message)
    return True


def rate_limited(
    scope: str,
    *,
    methods: tuple[str, ...] = ("POST",),
    form_view: bool = False,
    exempt: Callable[[HttpRequest], bool] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Limit a view's ``methods`` (POST by default) by the rules of ``scope``.

    A refused request never reaches the service the view would call:

    - JSON requests (``Accept``/``Content-Type: application/json``, as checkout.js sends
      to pay and place): 429 ``{"reason": "rate_limited", "message", "retry_after",
      "error": {"code", "message"}}`` with ``Retry-After``; the view is not called.
    - ``form_view=True``: the view *is* called, with ``request.rate_limited`` set to the
      refusal; it must call ``rate_limit_form_error(request, form)`` before acting and,
      when that returns True, re-render the form with status 429. The decorator makes
      sure the answer is a 429 with ``Retry-After`` whatever the view returned.
    - Otherwise: a plain 429 page with the message and ``Retry-After``.

    ``exempt(request)`` true: the request is neither counted nor refused (removing a code
    the shopper applied guesses nothing).

    Allowed requests get ``request.rate_limited = None``.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.rate_limited = None  # type: ignore[attr-defined]
            if request.method not in methods or (exempt is not None and exempt(request)):
                return view(request, *args, **kwargs)
            result = rate_limit_hit(request=request, scope=scope)
            if result.allowed:
                return view(request, *args, **kwargs)
            if _wants_json(request):
                return rate_limited_json(result)
            if not form_view:
                return _rate_limited_html(result)
            request.rate_limited = result  # type: ignore[attr-defined]
            response = view(request, *args, **kwargs)
            if not getattr(request, "_rate_limit_acknowledged", False):
                # The view did not show the refusal on its form (it redirected, say): a 429
                # stamped on its answer would be a blank page, so answer with the message.
                logger.warning("rate limit %s: %s answered without the form", scope, view.__name__)
                return _rate_limited_html(result)
            response.status_code = 429
            response["Retry-After"] = str(result.retry_after)
            return response

        wrapper.rate_limit_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate
