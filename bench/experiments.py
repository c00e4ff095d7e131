"""Prototypes of fixes, measured in the bench stack only: ``BENCH_EXPERIMENTS=a,b make bench``.

Each experiment patches the running app the way a proposed fix in the app's own code
would behave, so the benchmark can record before and after without editing another
engineer's files. Off by default; a normal ``make bench`` measures the code as it is.
The real fixes are described in docs/performance.md.

- ``session_write``: the cart service writes the cart id and count into the session only
  when they change (today every page view rewrites the session row).
- ``cart_once``: one ``GET /cart/{id}`` and one ``shipping-rates`` call per request
  (today the step guard and the quote each fetch the cart, and the shipping page fetches
  the rates twice).
- ``select_cache``: the address form's selects render from cached HTML instead of one
  template render per option (57 for the state select).
- ``session_cache``: sessions kept in Redis only (Django's ``cache`` engine) instead of
  read from Redis and written through to PostgreSQL (``checkout.sessions``). A setting,
  so ``bench.settings`` applies it; it gives up the database copy that survives a lost
  or flushed cache, which is why the stack does not ship it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from django.core.signals import request_started

_local = threading.local()


def _reset(**kwargs: Any) -> None:
    _local.memo = {}


def _session_write() -> None:
    from checkout.services import cart

    def remember(request: Any, value: Any) -> Any:
        session = request.session
        if session.get(cart.SESSION_CART_ID) != value.id:
            session[cart.SESSION_CART_ID] = value.id
        if session.get(cart.SESSION_CART_COUNT) != value.item_count:
            session[cart.SESSION_CART_COUNT] = value.item_count
        return value

    cart._remember = remember  # type: ignore[assignment]


def _cart_once() -> None:
    from checkout.services.spectra.client import SpectraClient

    request_started.connect(_reset, weak=False)
    get_cart = SpectraClient.get_cart
    get_rates = SpectraClient.get_shipping_rates

    def memo(key: tuple[Any, ...], compute: Any) -> Any:
        store = getattr(_local, "memo", None)
        if store is None:
            return compute()
        if key not in store:
            store[key] = compute()
        return store[key]

    def cart_memo(self: SpectraClient, cart_id: str) -> Any:
        return memo(("cart", cart_id), lambda: get_cart(self, cart_id))

    def rates_memo(self: SpectraClient, cart_id: str, *, address: Any) -> Any:
        key = ("rates", cart_id, tuple(sorted(address.items())))
        return memo(key, lambda: get_rates(self, cart_id, address=address))

    SpectraClient.get_cart = cart_memo  # type: ignore[method-assign]
    SpectraClient.get_shipping_rates = rates_memo  # type: ignore[method-assign]


def _select_cache() -> None:
    from django.forms import widgets

    render = widgets.Select.render
    cache: dict[tuple[Any, ...], Any] = {}

    def cached_render(
        self: widgets.Select, name: str, value: Any, attrs: Any = None, renderer: Any = None
    ) -> Any:
        try:
            key = (
                type(self),
                name,
                str(value),
                tuple(sorted((attrs or {}).items())),
                tuple(sorted(self.attrs.items())),
                tuple((str(k), str(v)) for k, v in self.choices),
            )
        except (TypeError, ValueError):
            return render(self, name, value, attrs, renderer)
        if key not in cache:
            if len(cache) > 1000:
                cache.clear()
            cache[key] = render(self, name, value, attrs, renderer)
        return cache[key]

    widgets.Select.render = cached_render  # type: ignore[method-assign]


def _applied_by_settings() -> None:
    """Nothing to patch: ``bench.settings`` reads ``BENCH_EXPERIMENTS`` itself."""


EXPERIMENTS = {
    "session_write": _session_write,
    "cart_once": _cart_once,
    "select_cache": _select_cache,
    "session_cache": _applied_by_settings,
}


def apply() -> list[str]:
    """Apply the experiments named in ``BENCH_EXPERIMENTS``; return their names."""
    names = [n for n in os.environ.get("BENCH_EXPERIMENTS", "").split(",") if n]
    for name in names:
        EXPERIMENTS[name]()
    return names
