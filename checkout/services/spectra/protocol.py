"""What travels between the client and the Spectra API, apart from the client itself.

The call record observers receive, the answer envelope, bearer auth that keeps the key out
of reprs, the JSON encoder for ``Decimal``, URL path segments, ``Retry-After`` parsing,
and the answer parsers that turn an envelope into ``results`` or raise
``ResponseFormatError``. ``client`` builds on these.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar
from urllib.parse import quote

import requests
import urllib3.exceptions

from checkout.exceptions import (
    SpectraAuthenticationError,
    SpectraBadRequest,
    SpectraConflict,
    SpectraError,
    SpectraNotFound,
    SpectraPaymentRefused,
    SpectraPermissionError,
    SpectraUnknownOutcome,
    SpectraValidationError,
)

from .results import (
    Cart,
    Order,
    Page,
    ResponseFormatError,
)

T = TypeVar("T")

MAX_PER_PAGE = 100
"""The API's largest page."""

MAX_RETRY_AFTER = 60.0
"""Longest ``Retry-After`` we wait out inside a call; beyond it the 429 goes to the caller."""

ERROR_BODY_LIMIT = 500
"""How much of an error body an exception keeps."""

_STATUS_ERRORS: dict[int, type[SpectraError]] = {
    400: SpectraBadRequest,
    401: SpectraAuthenticationError,
    402: SpectraPaymentRefused,
    403: SpectraPermissionError,
    404: SpectraNotFound,
    409: SpectraConflict,
    422: SpectraValidationError,
}

# Anything that looks like a Spectra key, should an answer echo one.
_SECRET_PATTERN = re.compile(r"spk_[A-Za-z0-9_\-]+")


class _Retry(Enum):
    """How a call may be repeated (see the module docstring)."""

    IDEMPOTENT = "idempotent"
    CONNECT_ONLY = "connect_only"
    NEVER = "never"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP attempt against the API, as observers and the admin see it."""

    method: str
    path: str
    status: int | None
    duration_ms: float
    error_code: str
    attempt: int
    ok: bool
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


CallObserver = Callable[[CallRecord], None]


@dataclass(frozen=True, slots=True)
class _Envelope:
    """The ``data`` and ``pagination`` of a successful answer."""

    data: Any
    pagination: Mapping[str, Any] | None
    method: str
    path: str
    status: int | None


class _BearerAuth(requests.auth.AuthBase):
    """Add ``Authorization: Bearer <key>`` without showing the key in any repr."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._key}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


class _JSONEncoder(json.JSONEncoder):
    """Encode ``Decimal`` amounts as JSON numbers (the API wants ``8.99``, not ``"8.99"``)."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            # Two-place amounts survive float's shortest repr exactly.
            return float(o)
        if isinstance(o, dt.datetime | dt.date):
            return o.isoformat()
        return super().default(o)


def _segment(value: int | str) -> str:
    """Return an id quoted for use as one URL path segment.

    Quoting leaves dots alone, and a server resolves "." and ".." as path steps, so
    those (and an empty id) are refused rather than sent somewhere else in the API.
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"{text!r} is not a valid id in an API path")
    return quote(text, safe="")


def _never_sent(err: BaseException | None) -> bool:
    """Return whether a transport error happened before any byte reached the server."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(err, requests.exceptions.ConnectionError) or isinstance(
        err, requests.exceptions.SSLError | requests.exceptions.ProxyError
    ):
        return False
    reason: Any = err.args[0] if err.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    # NewConnectionError (refused, DNS) is a ConnectTimeoutError subclass in urllib3.
    return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _fields(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): [str(m) for m in v] if isinstance(v, list | tuple) else [str(v)]
        for k, v in value.items()
    }


def _as_list(value: Any, what: str) -> list[Any]:
    # Tolerate ``{"rates": [...]}``-style wrapping of a list answer.
    if isinstance(value, Mapping) and isinstance(value.get(what), list):
        value = value[what]
    if not isinstance(value, list):
        raise ResponseFormatError(f"expected a list of {what}")
    return value


def _as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ResponseFormatError(f"expected {what} object")
    return value


# --- Answer parsers: each turns an envelope into a result, or raises ResponseFormatError.


def _one(build: Callable[[Mapping[str, Any]], T], what: str) -> Callable[[_Envelope], T]:
    """Return a parser for an answer whose ``data`` is one object."""
    return lambda envelope: build(_as_mapping(envelope.data, what))


def _many(build: Callable[[Mapping[str, Any]], T], what: str) -> Callable[[_Envelope], list[T]]:
    """Return a parser for an answer whose ``data`` is a list of objects."""
    return lambda envelope: [
        build(_as_mapping(item, f"an item of {what}")) for item in _as_list(envelope.data, what)
    ]


def _paged(
    build: Callable[[Mapping[str, Any]], T], params: Mapping[str, Any]
) -> Callable[[_Envelope], Page[T]]:
    """Return a parser for a paginated list; a missing ``pagination`` means one page."""

    def parse(envelope: _Envelope) -> Page[T]:
        items = tuple(_many(build, "items")(envelope))
        paging = envelope.pagination or {}
        try:
            page = int(paging.get("page") or params["page"])
            per_page = int(paging.get("per_page") or params["per_page"])
            total = int(paging.get("total", len(items)))
            total_pages = int(paging.get("total_pages", page))
        except (TypeError, ValueError) as err:
            raise ResponseFormatError("pagination: expected integers") from err
        return Page(items, total=total, page=page, per_page=per_page, total_pages=total_pages)

    return parse


def _ignore(envelope: _Envelope) -> None:
    """Accept any successful answer (``DELETE`` may answer 204 or an envelope)."""
    return None


_CART = _one(Cart.from_api, "a cart")
_ORDER = _one(Order.from_api, "an order")


def _order_if_full(envelope: _Envelope) -> Order | None:
    """Parse a write's answer: the order when it is a full one, else None.

    The docs show no answer for ``PATCH /orders/{id}/status`` or ``POST .../tracking``: an
    API may answer ``{"success": true}``, ``{"id", "status"}`` or the whole order. Only the
    whole order is applied as such; for anything less the caller reads the order.
    """
    if not isinstance(envelope.data, Mapping):
        return None
    try:
        return Order.from_api(envelope.data)
    except ResponseFormatError:
        return None


def _parse(parse: Callable[[_Envelope], T], envelope: _Envelope, *, unknown_outcome: bool) -> T:
    """Parse an envelope, turning a shape mismatch into a Spectra error."""
    try:
        return parse(envelope)
    except ResponseFormatError as err:
        # After POST /orders a 2xx we cannot read still means the order probably exists.
        error_class = SpectraUnknownOutcome if unknown_outcome else SpectraError
        raise error_class(
            f"Unexpected answer: {err}",
            status=envelope.status,
            code="invalid_response",
            method=envelope.method,
            path=envelope.path,
        ) from err


def _walk(fetch: Callable[[int], Page[T]], *, key: Callable[[T], Any]) -> Iterator[T]:
    """Yield the items of every page, fetching pages until the last (or an empty one)."""
    # Lists shift while we walk them (a new order pushes the others down a page), so an
    # item may show up twice; yield it once.
    seen: set[Any] = set()
    number = 1
    while True:
        page = fetch(number)
        for item in page.items:
            if key(item) not in seen:
                seen.add(key(item))
                yield item
        if not page.items or number >= page.total_pages:
            return
        number += 1
