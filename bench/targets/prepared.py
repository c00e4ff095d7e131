"""Prepared state: sessions, attempts, orders and signed webhooks written before a run.

Sessions, attempts and orders are written straight to the bench database (through the
models, in bulk) so a run measures the request, not the set-up.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection
from django.utils import timezone

from bench import stubs
from bench.loadgen import Spec
from checkout.testing.signing import sign_webhook_body

if TYPE_CHECKING:
    from checkout.models import CheckoutAttempt, Order

CENT = Decimal("0.01")
ADDRESS = {
    "name": "Ada Shopper",
    "address1": "1 Loop Road",
    "address2": "Suite 2",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
    "country": "US",
}
RATE_PRICE = Decimal("8.99")
RATE: dict[str, Any] = {
    "carrier": "UPS",
    "service": "Ground",
    "service_code": "ups_ground",
    "method": "ground",
    "price": str(RATE_PRICE),
    "estimated_delivery": None,  # set to what the stub answers today (see rate_today)
    "transit_days": 5,
}


def rate_today() -> dict[str, Any]:
    """The stored rate exactly as the quote would store the stub's fresh rate."""
    stamp = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 86400))
    return {**RATE, "estimated_delivery": stamp}


CART_LINES = 3  # a realistic cart
SIGNING_SECRET = "whsec_bench"  # noqa: S105 - CHECKOUT_WEBHOOK_SECRET in bench.settings


def cart_id(lines: int = CART_LINES) -> str:
    return f"bench-L{lines}-{uuid.uuid4().hex}"


def cart_totals(cart: str, shipping: Decimal) -> dict[str, Decimal]:
    subtotal = Decimal(str(stubs.cart_payload(cart)["subtotal"])).quantize(CENT)
    tax = (subtotal * stubs.TAX_RATE).quantize(CENT)
    return {
        "subtotal": subtotal,
        "shipping_total": shipping,
        "tax_estimate": tax,
        "amount_due": subtotal + shipping + tax,
    }


def sessions_create(datas: list[dict[str, Any]], keys: list[str] | None = None) -> list[str]:
    """Create one session per dict (in bulk for the database engines); return the keys."""
    from importlib import import_module

    engine = import_module(settings.SESSION_ENGINE)
    store_cls: type[SessionBase] = engine.SessionStore
    keys = list(keys) if keys is not None else [secrets.token_hex(16) for _ in datas]
    from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbStore
    from django.contrib.sessions.backends.db import SessionStore as DbStore

    if issubclass(store_cls, DbStore):
        from django.contrib.sessions.models import Session

        expire = timezone.now() + dt.timedelta(days=1)
        rows = [
            Session(session_key=key, session_data=store_cls().encode(data), expire_date=expire)
            for key, data in zip(keys, datas, strict=True)
        ]
        Session.objects.bulk_create(rows, batch_size=1000)
        if issubclass(store_cls, CachedDbStore):
            # A shopper's session was saved by their previous request, and cached_db
            # saves through the cache: it is read from Redis, as here.
            from django.core.cache import caches

            prefix = CachedDbStore.cache_key_prefix
            caches[settings.SESSION_CACHE_ALIAS].set_many(
                {prefix + key: data for key, data in zip(keys, datas, strict=True)},
                timeout=24 * 60 * 60,
            )
        return keys
    for key, data in zip(keys, datas, strict=True):
        store = store_cls(session_key=key)
        # Not ``update()``: that loads the session first, and loading a key the store
        # does not have yet gives the session a new one.
        store._session_cache = dict(data)  # type: ignore[attr-defined]
        store.save(must_create=True)
    return keys


def attempts_create(
    n: int, *, step: str, lines: int = CART_LINES, authorized: bool = False
) -> list[tuple[str, CheckoutAttempt]]:
    """Create ``n`` carts-with-attempts at ``step``; return (session key, attempt) pairs.

    Each session holds its cart, its attempt and the owner token its attempt is bound to
    (``checkout.services.cart.session_owner``), as after the shopper's earlier steps.
    """
    from checkout.languages import supported_language
    from checkout.models import CheckoutAttempt
    from checkout.services.cart import owner_hash

    attempts = []
    carts = [cart_id(lines) for _ in range(n)]
    session_keys = [secrets.token_hex(16) for _ in range(n)]
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    for cart, token in zip(carts, tokens, strict=True):
        attempt = CheckoutAttempt(cart_id=cart, owner=owner_hash(token))
        if step in ("shipping", "payment"):
            # As the information POST leaves it: the shopper's language is kept then.
            attempt.language = supported_language(settings.LANGUAGE_CODE)
            attempt.email = "ada@example.com"
            attempt.phone = "+1 512 555 0100"
            attempt.shipping_address = dict(ADDRESS)
        if step == "payment":
            attempt.shipping_rate = rate_today()
            for name, value in cart_totals(cart, RATE_PRICE).items():
                setattr(attempt, name, value)
        if authorized:
            cents = int(attempt.amount_due * 100)
            attempt.state = CheckoutAttempt.State.PAYMENT_AUTHORIZED
            attempt.payment_intent_id = f"pi_benchc{cents}x{uuid.uuid4().hex[:12]}"
            attempt.authorized_at = timezone.now()
        attempts.append(attempt)
    CheckoutAttempt.objects.bulk_create(attempts, batch_size=1000)
    from checkout.services.cart import SESSION_CART_COUNT, SESSION_CART_ID, SESSION_OWNER
    from checkout.views.common import SESSION_ATTEMPT

    datas = [
        {
            SESSION_CART_ID: a.cart_id,
            SESSION_CART_COUNT: sum(i["quantity"] for i in stubs.cart_payload(a.cart_id)["items"]),
            SESSION_ATTEMPT: str(a.public_id),
            SESSION_OWNER: token,
        }
        for a, token in zip(attempts, tokens, strict=True)
    ]
    sessions_create(datas, keys=session_keys)
    return list(zip(session_keys, attempts, strict=True))


def quotes_shown(pairs: list[tuple[str, CheckoutAttempt]]) -> None:
    """Leave each attempt's quote cached as its payment page's first visit does.

    A shopper pays from the payment page, which quoted the cart (three API calls) and
    cached the quote that ``attempt_pay`` then authorizes. The first attempt is quoted
    through that very code (``checkout_snapshot`` against the stub); the bench's carts
    differ only by id, so the others get the same quote under their own cart version and
    attempt fingerprint.
    """
    from checkout.services import orders, quotes

    if not pairs:
        return
    _session_key, first = pairs[0]
    snapshot = orders.checkout_snapshot(cart_id=first.cart_id, owner=first.owner, with_rates=True)
    if snapshot.quote is None or snapshot.quote.amount_due != first.amount_due:
        raise RuntimeError(f"quote of {first.cart_id}: {snapshot.quote} {snapshot.error}")
    for _key, attempt in pairs[1:]:
        token, _cached = quotes.quote_cache_get(cart_id=attempt.cart_id)
        quotes.quote_cache_set(
            cart_id=attempt.cart_id,
            token=token,
            attempt=attempt,
            quote=snapshot.quote,
            rates=snapshot.rates,
            item_count=snapshot.item_count,
        )


def cookie(session_key: str, csrf: str) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={session_key}; {settings.CSRF_COOKIE_NAME}={csrf}"


def orders_create(n: int, *, status: str = "processing", start: int | None = None) -> list[Order]:
    """Insert ``n`` orders (3 items each) and return them."""
    from checkout.models import Order

    base = start if start is not None else 1_000_000 + int(time.time() * 1000) % 10**8 * 10
    now = timezone.now()
    cart = cart_id()
    items = [
        {k: i[k] for k in ("id", "sku", "name", "quantity", "unit_price", "line_total")}
        for i in stubs.cart_payload(cart)["items"]
    ]
    rows = [
        Order(
            spectra_id=base + i,
            order_number=f"ORD-20260101-B{base + i}",
            cart_id=cart,
            email=f"o{base + i}@bench.example.com",
            customer_name="Ada Shopper",
            status=status,
            payment_status="captured",
            subtotal=Decimal("648.97"),
            shipping_total=Decimal("8.99"),
            tax_total=Decimal("53.54"),
            grand_total=Decimal("711.50"),
            amount_charged=Decimal("711.50"),
            billing={**ADDRESS, "email": "ada@example.com"},
            shipping=dict(ADDRESS),
            shipping_method={
                "method": "ground",
                "carrier": "UPS",
                "service": "Ground",
                "cost": 8.99,
            },
            items=items,
            placed_at=now - dt.timedelta(seconds=i),
        )
        for i in range(n)
    ]
    return Order.objects.bulk_create(rows, batch_size=2000)


def orders_bulk_sql(n: int) -> None:
    """Insert ``n`` orders quickly with one INSERT ... SELECT (for the 100,000-order admin)."""
    from checkout.models import Order

    table = Order._meta.db_table
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(spectra_id), 0) FROM {table}")  # noqa: S608
        start = int(cur.fetchone()[0]) + 1
        cur.execute(
            f"""
            INSERT INTO {table} (spectra_id, order_number, cart_id, email, customer_name,
              status, payment_status, is_test, currency, subtotal, shipping_total,
              discount_total, tax_total, gift_card_total, grand_total, amount_charged,
              billing, shipping, shipping_method, items, promo_code, payment_intent_id,
              tracking_number, shipping_carrier, raw, placed_at, created_at, updated_at,
              capture_state, captured_amount, language)
            SELECT %(start)s + g, 'ORD-20250101-S' || (%(start)s + g), 'bench-L3-sql',
              'o' || (%(start)s + g) || '@bench.example.com', 'Shopper ' || g,
              (ARRAY['pending','processing','shipped','delivered'])[1 + g %% 4], 'captured',
              g %% 10 = 0, 'USD', 648.97, 8.99, 0, 53.54, 0, 711.50, 711.50,
              '{{}}'::jsonb, '{{}}'::jsonb, '{{}}'::jsonb, '[]'::jsonb, '', '', '', '',
              '{{}}'::jsonb, now() - (g || ' minutes')::interval, now(), now(),
              'captured', 711.50, ''
            FROM generate_series(0, %(n)s - 1) AS g
            """,  # noqa: S608
            {"start": start, "n": n},
        )
        cur.execute(f"ANALYZE {table}")


def admin_session() -> str:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    user_model = get_user_model()
    user = user_model.objects.filter(username="bench-admin").first()
    if user is None:
        user = user_model.objects.create_superuser(
            "bench-admin", "admin@example.com", secrets.token_hex(16)
        )
    data = {
        SESSION_KEY: str(user.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: user.get_session_auth_hash(),
    }
    return sessions_create([data])[0]


def signed_webhook(event: str, data: dict[str, Any], stamp: str) -> Spec:
    body = json.dumps({"event": event, "timestamp": stamp, "data": data}).encode()
    return Spec(
        "POST",
        "/webhooks/spectra/",
        {
            "Content-Type": "application/json",
            "X-Webhook-Event": event,
            "X-Webhook-Signature": sign_webhook_body(body, SIGNING_SECRET),
        },
        body,
    )


def order_data(order: Order, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": order.spectra_id,
        "order_number": order.order_number,
        "status": status,
        "payment_status": "captured",
        "grand_total": float(order.grand_total),
        "is_test": False,
        "email": order.email,
        "items": order.items,
        "updated_at": timezone.now().isoformat(),
        **extra,
    }
