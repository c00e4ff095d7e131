"""The shopper's pages: the checkout steps' GETs, the information POST, the order status
page, and the queries each checkout page makes."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any

from bench import loadgen
from bench.loadgen import Spec
from bench.stack import HOST
from bench.targets.checks import VIEWS, Check, Context, api_calls, count_queries, pool_size
from bench.targets.prepared import (
    ADDRESS,
    CART_LINES,
    attempts_create,
    cookie,
    orders_create,
    quotes_shown,
)

if TYPE_CHECKING:
    from bench.run import Mode


def page_gets(
    ctx: Context, step: str, *, n: int = 64, lines: int = CART_LINES, quote_cached: bool = False
) -> list[Spec]:
    """GETs of ``/checkout/<step>/`` by ``n`` shoppers whose attempts are at ``step``
    (``quote_cached``: with the quote of each attempt as it is cached)."""
    pairs = attempts_create(n, step=step, lines=lines)
    if quote_cached:
        quotes_shown(pairs)
    return [
        Spec("GET", f"/checkout/{step}/", {"Cookie": cookie(key, ctx.csrf)}) for key, _ in pairs
    ]


def information_page(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return page_gets(ctx, "information")


def shipping_page(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return page_gets(ctx, "shipping")


def payment_page(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    """As shoppers arrive from the shipping POST: it cached their quote, priced with the
    rate they chose, so the first visit renders the page and asks the API nothing.
    ``page_payment_first`` measures a first visit whose quote is not cached."""
    return page_gets(ctx, "payment", quote_cached=True)


def payment_page_first(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return page_gets(ctx, "payment", n=pool_size(mode, per_second=300))


def information_posts(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    """Valid information POSTs, each a real change of the shopper's address.

    Two addresses per session, alternating in the rotation: (nearly) every POST is a real
    change that is saved, not a resubmit of what the attempt already holds (which the
    service recognises and does not write). 512 shoppers, so a round saves each attempt a
    few times, as shoppers do; with 64, each row was rewritten ~50 times a round and the
    attempt indexes bloated with dead entries, making every later round slower than the
    first. Each shopper has seen the page first.
    """
    pairs = attempts_create(512, step="information")
    for key, _attempt in pairs:
        seen = Spec("GET", "/checkout/information/", {"Cookie": cookie(key, ctx.csrf)})
        status, _body = loadgen.send_one(seen, host=HOST, port=ctx.stack.web_port)
        if status != 200:
            raise RuntimeError(f"information page answered {status} before the POST")
    bodies = []
    for line in (ADDRESS["address1"], "2 " + ADDRESS["address1"]):
        form = {
            "csrfmiddlewaretoken": ctx.csrf,
            "email": "ada@example.com",
            "phone": "+1 512 555 0100",
            **ADDRESS,
            "address1": line,
        }
        bodies.append(urllib.parse.urlencode(form, quote_via=urllib.parse.quote).encode())
    return [
        Spec(
            "POST",
            "/checkout/information/",
            {
                "Cookie": cookie(key, ctx.csrf),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body,
        )
        for body in bodies
        for key, _ in pairs
    ]


def status_pages(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    from checkout.links import order_status_url

    return [Spec("GET", order_status_url(o)) for o in orders_create(64)]


def queries_pages(ctx: Context, mode: Mode) -> dict[str, Any]:
    """Queries and API calls of each checkout page, for a cart of 1 line and of 50."""
    result: dict[str, Any] = {"counts": {}, "pages": {}}
    equal = True
    for step in ("information", "shipping", "payment"):
        counts: dict[str, float] = {}
        for label, lines in (("small", 1), ("large", 50)):
            key, _ = attempts_create(1, step=step, lines=lines)[0]
            spec = Spec("GET", f"/checkout/{step}/", {"Cookie": cookie(key, ctx.csrf)})
            calls = api_calls(ctx)
            counts[label] = count_queries(ctx, spec)
            # count_queries sends the request twice (a warm-up, then the counted one).
            counts[f"{label}_api_calls"] = (api_calls(ctx) - calls) / 2
        result["pages"][step] = counts
        equal = equal and counts["small"] == counts["large"]
    result["counts"] = {
        "small": "/".join(str(result["pages"][s]["small"]) for s in result["pages"]),
        "large": "/".join(str(result["pages"][s]["large"]) for s in result["pages"]),
    }
    result["api_calls"] = "/".join(
        f"{result['pages'][s]['small_api_calls']:g}" for s in result["pages"]
    )
    result["equal"] = equal
    result["title"] = "checkout pages information/shipping/payment, 1 vs 50 cart lines"
    return result


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            "page_information",
            "information page GET",
            {"ratio_min": 0.15},
            ctx,
            needs=VIEWS,
            url_name="checkout:checkout-information",
            expect_text=b'name="email"',
            prepare_fn=information_page,
        ),
        Check(
            "page_shipping",
            "shipping page GET",
            {"ratio_min": 0.15},
            ctx,
            needs=VIEWS,
            url_name="checkout:checkout-shipping",
            expect_text=b"ups_ground",
            prepare_fn=shipping_page,
        ),
        Check(
            "page_payment",
            "payment page GET",
            {"ratio_min": 0.15},
            ctx,
            needs=VIEWS,
            url_name="checkout:checkout-payment",
            expect_text=b"billing-",
            prepare_fn=payment_page,
        ),
        Check(
            # No goal: the cost of a page's first visit (nothing cached for the cart yet:
            # the cart, rates and tax fetched, the quote and page rendered and cached), to
            # read next to the revisit figures above, which are served from the caches.
            "page_payment_first",
            "payment page GET, first visit (quote and page not cached)",
            {},
            ctx,
            generator="python",
            once=True,
            needs=VIEWS,
            url_name="checkout:checkout-payment",
            expect_text=b"billing-",
            prepare_fn=payment_page_first,
        ),
        Check(
            "post_information",
            "information POST (valid, redirect)",
            {"ratio_min": 0.12},
            ctx,
            needs=VIEWS,
            url_name="checkout:checkout-information",
            expect=(302,),
            prepare_fn=information_posts,
        ),
        Check(
            "page_order_status",
            "order status page GET",
            {"ratio_min": 0.20},
            ctx,
            needs=(*VIEWS, "checkout.links"),
            expect_text=b"ORD-",
            prepare_fn=status_pages,
        ),
        Check(
            "queries_pages",
            "queries per request, checkout pages, 1 vs 50 cart lines",
            {"equal": True},
            ctx,
            kind="queries",
            needs=VIEWS,
            url_name="checkout:checkout-information",
            run_fn=queries_pages,
        ),
    ]
