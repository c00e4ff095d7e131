"""Staff: the admin orders list at 100 and at 100,000 orders, and its queries per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.loadgen import Spec
from bench.targets.checks import Check, Context, count_queries
from bench.targets.prepared import cookie, orders_bulk_sql, orders_create

if TYPE_CHECKING:
    from bench.run import Mode

ORDERS_LIST = "/admin/checkout/order/"


def admin_list(ctx: Context, total: int) -> list[Spec]:
    """The orders list, after topping the orders up to ``total``."""
    from checkout.models import Order

    session = ctx.admin_session()
    have = Order.objects.count()
    if have < total:
        if total - have > 1000:
            orders_bulk_sql(total - have)
        else:
            orders_create(total - have)
    return [Spec("GET", ORDERS_LIST, {"Cookie": cookie(session, ctx.csrf)})]


def admin_list_100(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return admin_list(ctx, 100)


def admin_list_100k(ctx: Context, mode: Mode, round_no: int) -> list[Spec]:
    return admin_list(ctx, 100_000)


def queries_admin(ctx: Context, mode: Mode) -> dict[str, Any]:
    """Queries of the orders list with 1 order on the page and with 200 (``?all=``)."""
    from checkout.models import Order

    headers = {"Cookie": cookie(ctx.admin_session(), ctx.csrf)}
    Order.objects.all().delete()
    orders_create(1)
    small = count_queries(ctx, Spec("GET", f"{ORDERS_LIST}?all=", headers))
    orders_create(199)
    large = count_queries(ctx, Spec("GET", f"{ORDERS_LIST}?all=", headers))
    Order.objects.all().delete()
    return {
        "title": "admin orders list, 1 vs 200 rows on the page",
        "counts": {"small": small, "large": large},
        "equal": small == large,
    }


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            "queries_admin",
            "queries per request, admin orders list, 1 vs 200 rows",
            {"equal": True},
            ctx,
            kind="queries",
            needs=("checkout.admin",),
            run_fn=queries_admin,
        ),
        Check(
            "admin_orders_100",
            "admin orders list, 100 orders",
            {},
            ctx,
            needs=("checkout.admin",),
            expect_text=b"result_list",
            prepare_fn=admin_list_100,
        ),
        Check(
            "admin_orders_100k",
            "admin orders list, 100,000 orders",
            {"p50_factor_max": 2.0, "base": "admin_orders_100"},
            ctx,
            needs=("checkout.admin",),
            expect_text=b"result_list",
            prepare_fn=admin_list_100k,
        ),
    ]
