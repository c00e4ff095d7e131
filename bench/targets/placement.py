"""Paying and placing: the pay and place-order POSTs, and the floors they are read against
(the least a placement can do here, and one PostgreSQL write; see ``bench/floors.py``)."""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from bench.loadgen import Spec
from bench.targets.checks import VIEWS, Check, Context, pool_size
from bench.targets.prepared import attempts_create, cookie, quotes_shown

if TYPE_CHECKING:
    from bench.run import Mode


def json_posts(
    ctx: Context, mode: Mode, path: str, body: dict[str, Any], *, authorized: bool
) -> list[Spec]:
    """One JSON POST of ``body`` to ``path`` per fresh attempt at the payment step.

    ``authorized``: the attempt's card is already authorized (placing); otherwise it has
    the quote its payment page cached (paying).
    """
    pairs = attempts_create(pool_size(mode), step="payment", authorized=authorized)
    if not authorized:
        quotes_shown(pairs)
    raw = json.dumps(body).encode()
    return [
        Spec(
            "POST",
            path,
            {
                "Cookie": cookie(key, ctx.csrf),
                "X-CSRFToken": ctx.csrf,
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            raw,
        )
        for key, _ in pairs
    ]


def pay_posts(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return json_posts(
        ctx, mode, "/checkout/pay/", {"payment_method_id": "pm_card_visa"}, authorized=False
    )


def place_posts(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return json_posts(ctx, mode, "/checkout/place/", {}, authorized=True)


def place_floor_posts(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return json_posts(ctx, mode, "/bench/place-floor/", {}, authorized=True)


def write_floor_posts(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return [
        Spec(
            "POST",
            "/bench/write-floor/",
            {"Cookie": cookie(secrets.token_hex(16), ctx.csrf), "X-CSRFToken": ctx.csrf},
        )
        for _ in range(16)
    ]


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            "post_pay",
            "pay POST (creates the PaymentIntent)",
            {"ratio_min": 0.06},
            ctx,
            once=True,
            needs=VIEWS,
            url_name="checkout:checkout-pay",
            expect_text=b'"authorized"',
            prepare_fn=pay_posts,
        ),
        Check(
            "post_place",
            "place-order POST",
            # Relative to the floor measured in the same run: what our own code adds to
            # the least any placement costs in this stack.
            {"floor": "post_place_floor", "floor_ratio_min": 0.5},
            ctx,
            once=True,
            needs=VIEWS,
            url_name="checkout:checkout-place",
            expect_text=b'"placed"',
            prepare_fn=place_posts,
        ),
        Check(
            # No goal: the least any place-order view does in this stack (bench/floors.py),
            # measured in the same run as the real one, so its gap is our code's cost.
            "post_place_floor",
            "place-order floor (claim, POST /orders, verify and capture the hold, "
            "one record statement, session write)",
            {},
            ctx,
            once=True,
            url_name="bench-place-floor",
            expect_text=b'"placed"',
            prepare_fn=place_floor_posts,
        ),
        Check(
            # No goal: the goals' anchor "one PostgreSQL write" (0.25 where they were set),
            # measured here.
            "floor_one_write",
            "one PostgreSQL write (the goals' anchor, 0.25 where they were set)",
            {},
            ctx,
            url_name="bench-write-floor",
            expect_text=b'"written"',
            prepare_fn=write_floor_posts,
        ),
    ]
