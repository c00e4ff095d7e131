"""The HTTP client for the Spectra API.

``SpectraClient`` owns one ``requests.Session`` with the base URLs, the bearer key, the
User-Agent and a (connect, read) timeout that every call sets. It turns answers into the
frozen dataclasses of ``results`` and failures into the ``checkout.exceptions`` types,
retries what is safe to retry, caches catalog reads, logs one line per call and reports
each call to observers (the order service records them on the checkout attempt).

Retry policy, by what a repeat could do on the server:

- GETs and the read-like checkout helpers (shipping rates, tax, promo and gift-card
  checks create nothing) are retried on timeouts, connection errors, 5xx and 429, with
  capped exponential backoff and full jitter, honouring ``Retry-After``.
- Writes (cart changes, order status, tracking, webhooks) are retried only when the
  connection could not even be opened (connect timeout, refused, DNS failure): then the
  request certainly never reached Spectra. Anything later (a read timeout, a reset, a 5xx)
  may have been applied; repeating it could add an item twice or answer 409 to a status
  move that already happened, so the error goes to the caller.
- ``POST /orders`` is never retried. There is no idempotency key, so a second post could
  create a second order and capture twice. An outcome we cannot know (read timeout,
  connection dropped after sending, 5xx, an unreadable 2xx) raises
  ``SpectraUnknownOutcome``; the order service resolves it by looking the order up. A
  connect failure raises plain ``SpectraTransientError``: nothing was sent, so nothing
  can exist.

The API key never appears in a log line, an exception, a cache key or a repr.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import http.cookiejar
import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

import checkout
from checkout.conf import app_settings
from checkout.exceptions import (
    SpectraError,
    SpectraRateLimited,
    SpectraRejection,
    SpectraTransientError,
    SpectraUnknownOutcome,
)
from checkout.services.http import service_session

from .protocol import (
    _CART,
    _ORDER,
    _SECRET_PATTERN,
    _STATUS_ERRORS,
    ERROR_BODY_LIMIT,
    MAX_PER_PAGE,
    MAX_RETRY_AFTER,
    CallObserver,
    CallRecord,
    T,
    _BearerAuth,
    _Envelope,
    _fields,
    _ignore,
    _JSONEncoder,
    _many,
    _never_sent,
    _one,
    _order_if_full,
    _paged,
    _parse,
    _Retry,
    _segment,
    _walk,
    parse_retry_after,
)
from .results import (
    Cart,
    Category,
    GiftCardBalance,
    Order,
    Page,
    Product,
    PromoValidation,
    ShippingRate,
    TaxQuote,
    WebhookDelivery,
    WebhookSubscription,
)

logger = logging.getLogger(__name__)


class SpectraClient:
    """A client for the Spectra API and its commerce (cart and checkout) API.

    Base URLs, key and timeouts come from ``app_settings`` unless given; the retry,
    backoff, page size and cache settings are read at call time unless given. ``sleep``
    and ``rng`` are injectable so tests never wait.
    """

    def __init__(
        self,
        *,
        api_base: str | None = None,
        commerce_base: str | None = None,
        api_key: str | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        order_timeout: float | None = None,
        max_retries: int | None = None,
        backoff_base: float | None = None,
        backoff_max: float | None = None,
        page_size: int | None = None,
        cache_ttl: int | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
        on_call: CallObserver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.api_base = (api_base or app_settings.SPECTRA_API_BASE).rstrip("/")
        self.commerce_base = (commerce_base or app_settings.SPECTRA_COMMERCE_BASE).rstrip("/")
        key = app_settings.SPECTRA_API_KEY if api_key is None else api_key
        if not key:
            raise ImproperlyConfigured("CHECKOUT_SPECTRA_API_KEY is not set.")
        self._api_key = key
        self.connect_timeout = (
            app_settings.SPECTRA_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        )
        self.read_timeout = (
            app_settings.SPECTRA_READ_TIMEOUT if read_timeout is None else read_timeout
        )
        self.order_timeout = (
            app_settings.SPECTRA_ORDER_TIMEOUT if order_timeout is None else order_timeout
        )
        self._max_retries = max_retries
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._page_size = page_size
        self._cache_ttl = cache_ttl
        self.max_retry_after = max_retry_after
        self.on_call = on_call
        self.sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311  (jitter, not cryptography)
        self._observers: contextvars.ContextVar[tuple[CallObserver, ...]] = contextvars.ContextVar(
            f"spectra_observers_{id(self)}", default=()
        )
        self.session = session or service_session((self.api_base, self.commerce_base))
        self.session.auth = _BearerAuth(key)
        self.session.headers.update(
            {
                "User-Agent": (
                    f"spectra-checkout/{checkout.__version__} "
                    f"python-requests/{requests.__version__}"
                ),
                "Accept": "application/json",
            }
        )
        # One session serves every shopper: never let a cookie from one answer ride along
        # with another shopper's request.
        self.session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def __repr__(self) -> str:
        return f"<SpectraClient api_base={self.api_base!r} commerce_base={self.commerce_base!r}>"

    # --- Settings read at call time --------------------------------------------------

    @property
    def max_retries(self) -> int:
        """Return how many times a retryable call is repeated."""
        value = app_settings.SPECTRA_MAX_RETRIES if self._max_retries is None else self._max_retries
        return max(0, value)

    @property
    def backoff_base(self) -> float:
        """Return the first retry's backoff ceiling in seconds."""
        return (
            app_settings.SPECTRA_BACKOFF_BASE if self._backoff_base is None else self._backoff_base
        )

    @property
    def backoff_max(self) -> float:
        """Return the cap on any retry's backoff in seconds."""
        return app_settings.SPECTRA_BACKOFF_MAX if self._backoff_max is None else self._backoff_max

    @property
    def page_size(self) -> int:
        """Return the default ``per_page``."""
        return app_settings.SPECTRA_PAGE_SIZE if self._page_size is None else self._page_size

    @property
    def cache_ttl(self) -> int:
        """Return the catalog cache lifetime in seconds (0 disables the cache)."""
        return app_settings.CATALOG_CACHE_TTL if self._cache_ttl is None else self._cache_ttl

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    # --- Observers -------------------------------------------------------------------

    @contextmanager
    def observe(self, callback: CallObserver) -> Iterator[None]:
        """Report every call this client makes inside the block (this thread or task)."""
        token = self._observers.set((*self._observers.get(), callback))
        try:
            yield
        finally:
            self._observers.reset(token)

    def _notify(self, record: CallRecord) -> None:
        observers = self._observers.get()
        if self.on_call is not None:
            observers = (self.on_call, *observers)
        for observer in observers:
            try:
                observer(record)
            except Exception:
                # Bookkeeping must never turn a good API answer into a failure.
                logger.exception("Spectra call observer %r failed", observer)

    # --- Catalog (API base, cached) --------------------------------------------------

    def list_products(
        self,
        *,
        page: int = 1,
        per_page: int | None = None,
        category: int | str | None = None,
    ) -> Page[Product]:
        """Return one page of products."""
        params: dict[str, Any] = {"page": page, "per_page": self._per_page(per_page)}
        if category is not None:
            params["category"] = category
        return self._cached_get(self._api_url("products"), params, _paged(Product.from_api, params))

    def iter_products(
        self, *, per_page: int | None = None, category: int | str | None = None
    ) -> Iterator[Product]:
        """Yield every product, walking all pages."""
        return _walk(
            lambda n: self.list_products(page=n, per_page=per_page, category=category),
            key=lambda product: product.id,
        )

    def get_product(self, product_id: int) -> Product:
        """Return one product with its variants."""
        return self._cached_get(
            self._api_url("products", product_id), None, _one(Product.from_api, "a product")
        )

    def list_categories(self) -> list[Category]:
        """Return every category."""
        return self._cached_get(
            self._api_url("categories"), None, _many(Category.from_api, "categories")
        )

    # --- Cart (commerce base) --------------------------------------------------------

    def create_cart(self) -> Cart:
        """Create an empty cart."""
        return self._call(
            "POST", self._commerce_url("cart"), retry=_Retry.CONNECT_ONLY, parse=_CART
        )

    def get_cart(self, cart_id: str) -> Cart:
        """Return a cart."""
        return self._call(
            "GET", self._commerce_url("cart", cart_id), retry=_Retry.IDEMPOTENT, parse=_CART
        )

    def add_cart_item(self, cart_id: str, *, variant_id: int, quantity: int) -> Cart:
        """Add a variant to a cart and return the cart."""
        return self._call(
            "POST",
            self._commerce_url("cart", cart_id, "items"),
            retry=_Retry.CONNECT_ONLY,
            parse=_CART,
            body={"variant_id": variant_id, "quantity": quantity},
        )

    def update_cart_item(self, cart_id: str, item_id: int | str, *, quantity: int) -> Cart:
        """Set a cart line's quantity and return the cart."""
        return self._call(
            "PATCH",
            self._commerce_url("cart", cart_id, "items", item_id),
            retry=_Retry.CONNECT_ONLY,
            parse=_CART,
            body={"quantity": quantity},
        )

    def remove_cart_item(self, cart_id: str, item_id: int | str) -> Cart:
        """Remove a cart line and return the cart."""
        return self._call(
            "DELETE",
            self._commerce_url("cart", cart_id, "items", item_id),
            retry=_Retry.CONNECT_ONLY,
            parse=_CART,
        )

    # --- Checkout helpers (commerce base; read-like POSTs, retried) ------------------

    def get_shipping_rates(self, cart_id: str, *, address: Mapping[str, Any]) -> list[ShippingRate]:
        """Return the shipping options for a cart and address, cheapest first."""
        rates = self._call(
            "POST",
            self._commerce_url("checkout", "shipping-rates"),
            retry=_Retry.IDEMPOTENT,
            parse=_many(ShippingRate.from_api, "rates"),
            body={"cart_id": cart_id, "address": dict(address)},
        )
        # The API sorts too; sort again so the default choice never depends on it.
        return sorted(rates, key=lambda rate: rate.price)

    def calculate_tax(self, cart_id: str, *, shipping_state: str) -> TaxQuote:
        """Return the tax estimate for a cart shipped to a state."""
        return self._call(
            "POST",
            self._commerce_url("checkout", "calculate-tax"),
            retry=_Retry.IDEMPOTENT,
            parse=_one(TaxQuote.from_api, "a tax quote"),
            body={"cart_id": cart_id, "shipping_state": shipping_state},
        )

    def validate_promo(self, cart_id: str, *, code: str, email: str) -> PromoValidation:
        """Return whether a promo code applies to a cart and its value."""
        return self._call(
            "POST",
            self._commerce_url("checkout", "validate-promo"),
            retry=_Retry.IDEMPOTENT,
            parse=_one(PromoValidation.from_api, "a promo"),
            body={"cart_id": cart_id, "code": code, "email": email},
        )

    def validate_gift_card(self, code: str) -> GiftCardBalance:
        """Return a gift card's status and balance."""
        return self._call(
            "POST",
            self._commerce_url("checkout", "validate-gift-card"),
            retry=_Retry.IDEMPOTENT,
            parse=_one(GiftCardBalance.from_api, "a gift card"),
            body={"code": code},
        )

    # --- Orders (API base) -----------------------------------------------------------

    def create_order(self, payload: Mapping[str, Any]) -> Order:
        """Place an order (never retried; an unknown result raises SpectraUnknownOutcome)."""
        return self._call(
            "POST",
            self._api_url("orders"),
            retry=_Retry.NEVER,
            parse=_ORDER,
            body=payload,
            timeout=(self.connect_timeout, self.order_timeout),
        )

    def get_order(self, order_id: int) -> Order:
        """Return one order."""
        return self._call(
            "GET", self._api_url("orders", order_id), retry=_Retry.IDEMPOTENT, parse=_ORDER
        )

    def list_orders(
        self,
        *,
        status: str | None = None,
        cart_id: str | None = None,
        updated_since: dt.datetime | None = None,
        page: int = 1,
        per_page: int | None = None,
    ) -> Page[Order]:
        """Return one page of orders, newest first."""
        params: dict[str, Any] = {"page": page, "per_page": self._per_page(per_page)}
        if status is not None:
            params["status"] = status
        if cart_id is not None:
            params["cart_id"] = cart_id
        if updated_since is not None:
            if updated_since.tzinfo is None:
                raise ValueError("updated_since must be timezone-aware")
            params["updated_since"] = updated_since.isoformat()
        return self._call(
            "GET",
            self._api_url("orders"),
            retry=_Retry.IDEMPOTENT,
            parse=_paged(Order.from_api, params),
            params=params,
        )

    def iter_orders(
        self,
        *,
        status: str | None = None,
        cart_id: str | None = None,
        updated_since: dt.datetime | None = None,
        per_page: int | None = None,
    ) -> Iterator[Order]:
        """Yield every matching order, walking all pages (each order once)."""
        return _walk(
            lambda n: self.list_orders(
                status=status,
                cart_id=cart_id,
                updated_since=updated_since,
                page=n,
                per_page=per_page,
            ),
            key=lambda order: order.id,
        )

    def set_order_status(self, order_id: int, status: str) -> Order | None:
        """Move an order to a new status; return it, or None when the answer is thinner
        than an order (read it with ``get_order``)."""
        return self._call(
            "PATCH",
            self._api_url("orders", order_id, "status"),
            retry=_Retry.CONNECT_ONLY,
            parse=_order_if_full,
            body={"status": status},
        )

    def set_tracking(self, order_id: int, *, tracking_number: str, carrier: str) -> Order | None:
        """Set an order's tracking number and carrier; return the order, or None when the
        answer is thinner than an order (read it with ``get_order``)."""
        return self._call(
            "POST",
            self._api_url("orders", order_id, "tracking"),
            retry=_Retry.CONNECT_ONLY,
            parse=_order_if_full,
            body={"tracking_number": tracking_number, "carrier": carrier},
        )

    # --- Webhooks (API base) ---------------------------------------------------------

    def register_webhook(self, *, url: str, events: Sequence[str] = ("*",)) -> WebhookSubscription:
        """Subscribe a URL to events; the answer is the only one that holds the secret."""
        return self._call(
            "POST",
            self._api_url("webhooks"),
            retry=_Retry.CONNECT_ONLY,
            parse=_one(WebhookSubscription.from_api, "a webhook"),
            body={"url": url, "events": list(events)},
        )

    def list_webhooks(self) -> list[WebhookSubscription]:
        """Return every webhook subscription."""
        return self._call(
            "GET",
            self._api_url("webhooks"),
            retry=_Retry.IDEMPOTENT,
            parse=_many(WebhookSubscription.from_api, "webhooks"),
        )

    def delete_webhook(self, webhook_id: int | str) -> None:
        """Delete a webhook subscription."""
        self._call(
            "DELETE",
            self._api_url("webhooks", webhook_id),
            retry=_Retry.CONNECT_ONLY,
            parse=_ignore,
        )

    def list_webhook_deliveries(self, webhook_id: int | str) -> list[WebhookDelivery]:
        """Return a webhook's last deliveries, as Spectra recorded them."""
        return self._call(
            "GET",
            self._api_url("webhooks", webhook_id, "deliveries"),
            retry=_Retry.IDEMPOTENT,
            parse=_many(WebhookDelivery.from_api, "deliveries"),
        )

    # --- URLs and paging -------------------------------------------------------------

    def _api_url(self, *segments: int | str) -> str:
        return "/".join([self.api_base, *map(_segment, segments)])

    def _commerce_url(self, *segments: int | str) -> str:
        return "/".join([self.commerce_base, *map(_segment, segments)])

    def _per_page(self, per_page: int | None) -> int:
        return max(1, min(MAX_PER_PAGE, per_page or self.page_size))

    # --- Catalog cache ---------------------------------------------------------------

    def _cache_key(self, url: str, params: Mapping[str, Any] | None) -> str:
        # The key's digest keeps tenants apart without the key itself ever being stored.
        key_digest = hashlib.sha256(self._api_key.encode()).hexdigest()[:16]
        material = json.dumps([url, sorted((params or {}).items()), key_digest], default=str)
        return "spectra-checkout:catalog:v1:" + hashlib.sha256(material.encode()).hexdigest()

    def _cached_get(
        self, url: str, params: Mapping[str, Any] | None, parse: Callable[[_Envelope], T]
    ) -> T:
        """GET through the catalog cache; the cache holds the answer's JSON, not objects."""
        ttl = self.cache_ttl
        if ttl <= 0:
            return self._call("GET", url, retry=_Retry.IDEMPOTENT, parse=parse, params=params)
        key = self._cache_key(url, params)
        try:
            hit = cache.get(key)
        except Exception:
            # A cache outage slows the catalog down; it must not take it down.
            logger.warning("Spectra catalog cache read failed", exc_info=True)
            hit = None
        if isinstance(hit, dict):
            envelope = _Envelope(hit["data"], hit.get("pagination"), "GET", urlsplit(url).path, 200)
            return _parse(parse, envelope, unknown_outcome=False)

        def parse_and_keep(envelope: _Envelope) -> tuple[_Envelope, T]:
            return envelope, parse(envelope)

        envelope, result = self._call(
            "GET", url, retry=_Retry.IDEMPOTENT, parse=parse_and_keep, params=params
        )
        try:
            cache.set(key, {"data": envelope.data, "pagination": envelope.pagination}, ttl)
        except Exception:
            logger.warning("Spectra catalog cache write failed", exc_info=True)
        return result

    # --- Transport -------------------------------------------------------------------

    def _call(
        self,
        method: str,
        url: str,
        *,
        retry: _Retry,
        parse: Callable[[_Envelope], T],
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> T:
        """Send a request, retrying as ``retry`` allows, and return the parsed answer."""
        path = urlsplit(url).path
        data = None if body is None else json.dumps(body, cls=_JSONEncoder).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send(
                    method,
                    url,
                    path,
                    parse=parse,
                    params=params,
                    data=data,
                    timeout=timeout or (self.connect_timeout, self.read_timeout),
                    attempt=attempt,
                    unknown_outcome=retry is _Retry.NEVER,
                )
            except SpectraError as exc:
                delay = self._retry_delay(exc, attempt, retry)
                if delay is None:
                    raise
                logger.warning(
                    "Spectra %s %s failed (%s); retry %d of %d in %.2fs",
                    method,
                    path,
                    exc.code or exc.status,
                    attempt,
                    self.max_retries,
                    delay,
                )
                self.sleep(delay)

    def _retry_delay(self, exc: SpectraError, attempt: int, retry: _Retry) -> float | None:
        """Return how long to wait before repeating, or None to give up."""
        if retry is _Retry.NEVER or attempt > self.max_retries:
            return None
        if retry is _Retry.CONNECT_ONLY:
            return self._backoff(attempt) if _never_sent(exc.__cause__) else None
        if isinstance(exc, SpectraRateLimited):
            wait = exc.retry_after or 0.0
            if wait > self.max_retry_after:
                return None
            return max(wait, self._backoff(attempt))
        if isinstance(exc, SpectraTransientError) and not isinstance(exc, SpectraUnknownOutcome):
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        """Return a full-jitter exponential backoff for the given attempt (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling) if ceiling > 0 else 0.0

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        *,
        parse: Callable[[_Envelope], T],
        params: Mapping[str, Any] | None,
        data: bytes | None,
        timeout: tuple[float, float],
        attempt: int,
        unknown_outcome: bool,
    ) -> T:
        """Make one HTTP attempt; log it and report it to the observers."""
        started_at = dt.datetime.now(dt.UTC)
        started = time.monotonic()
        status: int | None = None
        error_code = ""
        try:
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers={"Content-Type": "application/json"} if data is not None else None,
                    timeout=timeout,
                    # A redirected POST turns into a GET; never follow one on a write.
                    allow_redirects=method == "GET",
                )
            except requests.RequestException as err:
                error = self._transport_error(err, method, path, unknown_outcome)
                error_code = error.code
                raise error from err
            status = response.status_code
            try:
                envelope = self._read(response, method, path, unknown_outcome)
                # Parse inside the attempt, so an unreadable 2xx is recorded as a failure.
                return _parse(parse, envelope, unknown_outcome=unknown_outcome)
            except SpectraError as exc:
                error_code = exc.code or f"http_{status}"
                raise
        finally:
            record = CallRecord(
                method=method,
                path=path,
                status=status,
                duration_ms=(time.monotonic() - started) * 1000,
                error_code=error_code,
                attempt=attempt,
                ok=not error_code,
                started_at=started_at,
            )
            logger.log(
                logging.INFO if record.ok else logging.WARNING,
                "Spectra %s %s status=%s error=%s duration_ms=%.1f attempt=%d",
                method,
                path,
                status,
                error_code or "-",
                record.duration_ms,
                attempt,
            )
            self._notify(record)

    def _transport_error(
        self, err: requests.RequestException, method: str, path: str, unknown_outcome: bool
    ) -> SpectraError:
        """Return the exception for a request that got no HTTP answer."""
        if _never_sent(err):
            code = (
                "connect_timeout"
                if isinstance(err, requests.exceptions.ConnectTimeout)
                else "connect_error"
            )
            return SpectraTransientError(
                "Could not connect to Spectra", code=code, method=method, path=path
            )
        if isinstance(err, requests.exceptions.Timeout):
            code, message = "timeout", "Timed out waiting for Spectra's answer"
        elif isinstance(
            err,
            requests.exceptions.ConnectionError
            | requests.exceptions.ChunkedEncodingError
            | requests.exceptions.ContentDecodingError,
        ):
            code, message = "connection_error", "The connection to Spectra broke"
        else:
            # Invalid URL, too many redirects and the like: configuration, not weather.
            return SpectraError(
                f"Could not send the request ({type(err).__name__})",
                code="request_error",
                method=method,
                path=path,
            )
        if unknown_outcome:
            return SpectraUnknownOutcome(
                f"{message}; the request may have been applied", code=code, method=method, path=path
            )
        return SpectraTransientError(message, code=code, method=method, path=path)

    def _read(
        self, response: requests.Response, method: str, path: str, unknown_outcome: bool
    ) -> _Envelope:
        """Return the envelope of a 2xx answer or raise the error it stands for."""
        status = response.status_code
        if not 200 <= status < 300:
            raise self._error(response, method, path, unknown_outcome)
        if status == 204 or not response.content:
            return _Envelope(None, None, method, path, status)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, Mapping) and payload.get("success") is False:
            raise self._error(response, method, path, unknown_outcome)
        # ``{"success": true}`` alone is a thin but valid answer (a write's, say); a
        # parser that needs ``data`` refuses it.
        if not isinstance(payload, Mapping) or (
            "data" not in payload and payload.get("success") is not True
        ):
            error_class = SpectraUnknownOutcome if unknown_outcome else SpectraError
            raise error_class(
                "Spectra answered without the expected JSON envelope",
                status=status,
                code="invalid_response",
                body=self._redact(response.text[:ERROR_BODY_LIMIT]),
                method=method,
                path=path,
            )
        pagination = payload.get("pagination")
        return _Envelope(
            payload.get("data"),
            pagination if isinstance(pagination, Mapping) else None,
            method,
            path,
            status,
        )

    def _error(
        self, response: requests.Response, method: str, path: str, unknown_outcome: bool
    ) -> SpectraError:
        """Return the exception for an error answer."""
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = None
        error: Any = payload.get("error") if isinstance(payload, Mapping) else None
        if isinstance(error, str):
            error = {"message": error}
        if not isinstance(error, Mapping):
            error = {}
        details = {k: v for k, v in error.items() if k not in ("code", "message", "fields")}
        if isinstance(details.get("details"), Mapping):
            details = {**details.pop("details"), **details}
        message = str(error.get("message") or response.reason or f"HTTP {status}")
        kwargs: dict[str, Any] = {
            "status": status,
            "code": str(error.get("code") or ""),
            "body": self._redact(response.text[:ERROR_BODY_LIMIT]),
            "method": method,
            "path": path,
            "fields": _fields(error.get("fields")),
            "details": details,
        }
        message = self._redact(message)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return SpectraRateLimited(message, retry_after=retry_after, **kwargs)
        if status >= 500:
            if unknown_outcome:
                return SpectraUnknownOutcome(message, **kwargs)
            return SpectraTransientError(message, **kwargs)
        if 300 <= status < 400:
            kwargs["code"] = kwargs["code"] or "unexpected_redirect"
            return SpectraError(
                "Spectra answered with a redirect; check the CHECKOUT_SPECTRA_*_BASE settings",
                **kwargs,
            )
        error_class = _STATUS_ERRORS.get(
            status, SpectraRejection if status >= 400 else SpectraError
        )
        return error_class(message, **kwargs)

    def _redact(self, text: str) -> str:
        """Return ``text`` with the API key and anything key-like blanked out."""
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _SECRET_PATTERN.sub("***", text)
