"""Every Spectra endpoint: the request the client sends and the result it returns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import responses
from django.test import override_settings
from responses import matchers

from checkout.exceptions import SpectraError, SpectraNotFound
from checkout.services.spectra import (
    Cart,
    Order,
    Page,
    Product,
    SpectraClient,
    WebhookSubscription,
)
from tests.unit.spectra_data import (
    API,
    CART,
    CART_ID,
    COMMERCE,
    KEY,
    ORDER,
    ORDER_PAYLOAD,
    PRODUCT,
    ok,
    order,
    sent_kwargs,
    sent_params,
)

Mock = responses.RequestsMock


def page_meta(page: int, total_pages: int, *, total: int = 0, per_page: int = 25) -> dict[str, int]:
    return {"total": total, "page": page, "per_page": per_page, "total_pages": total_pages}


# --- Catalog ------------------------------------------------------------------------


def test_list_products_sends_paging_and_filter_and_parses_a_page(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(
        f"{API}/products",
        match=[matchers.query_param_matcher({"page": "2", "per_page": "10", "category": "phones"})],
        json=ok([PRODUCT], page_meta(2, 3, total=21, per_page=10)),
    )

    page = spectra.list_products(page=2, per_page=10, category="phones")

    assert isinstance(page, Page)
    assert (page.page, page.per_page, page.total, page.total_pages) == (2, 10, 21, 3)
    assert page.has_next
    [product] = page.items
    assert isinstance(product, Product)
    assert product.name == "iPhone 13"
    assert product.variants[0].price == Decimal("499.99")


def test_list_products_uses_the_page_size_setting_and_clamps_to_100(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(
        f"{API}/products",
        match=[matchers.query_param_matcher({"page": "1", "per_page": "40"})],
        json=ok([], page_meta(1, 1)),
    )
    spectra_http.get(
        f"{API}/products",
        match=[matchers.query_param_matcher({"page": "1", "per_page": "100"})],
        json=ok([], page_meta(1, 1)),
    )

    with override_settings(CHECKOUT_SPECTRA_PAGE_SIZE=40):
        spectra.list_products()
    spectra.list_products(per_page=500)


def test_iter_products_walks_every_page(spectra: SpectraClient, spectra_http: Mock) -> None:
    for number in (1, 2, 3):
        spectra_http.get(
            f"{API}/products",
            match=[matchers.query_param_matcher({"page": str(number), "per_page": "2"})],
            json=ok(
                [{**PRODUCT, "id": number * 10}, {**PRODUCT, "id": number * 10 + 1}],
                page_meta(number, 3, total=6, per_page=2),
            ),
        )

    ids = [p.id for p in spectra.iter_products(per_page=2)]

    assert ids == [10, 11, 20, 21, 30, 31]


def test_iter_products_stops_on_an_empty_page_even_if_total_pages_says_more(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(f"{API}/products", json=ok([PRODUCT], page_meta(1, 5)))
    spectra_http.get(f"{API}/products", json=ok([], page_meta(2, 5)))

    assert [p.id for p in spectra.iter_products()] == [7]
    assert len(spectra_http.calls) == 2


def test_a_list_without_pagination_is_one_page(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products", json=ok([PRODUCT, {**PRODUCT, "id": 8}]))

    page = spectra.list_products()

    assert (page.total, page.total_pages, page.has_next) == (2, 1, False)
    assert [p.id for p in spectra.iter_products()] == [7, 8]


def test_get_product(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products/7", json=ok(PRODUCT))

    product = spectra.get_product(7)

    assert product.id == 7
    assert [v.in_stock for v in product.variants] == [True, False]


def test_list_categories(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(
        f"{API}/categories",
        json=ok([{"id": 1, "name": "Phones", "slug": "phones"}, {"id": 2, "name": "Tablets"}]),
    )

    categories = spectra.list_categories()

    assert [(c.id, c.name, c.slug) for c in categories] == [
        (1, "Phones", "phones"),
        (2, "Tablets", ""),
    ]


# --- Catalog cache --------------------------------------------------------------------


def test_catalog_reads_are_cached(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products/7", json=ok(PRODUCT))

    first = spectra.get_product(7)
    second = spectra.get_product(7)

    assert len(spectra_http.calls) == 1
    assert second == first


def test_catalog_cache_is_keyed_by_params(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products", json=ok([PRODUCT], page_meta(1, 2)))
    spectra_http.get(f"{API}/products", json=ok([{**PRODUCT, "id": 8}], page_meta(2, 2)))

    assert spectra.list_products(page=1).items[0].id == 7
    assert spectra.list_products(page=2).items[0].id == 8
    assert spectra.list_products(page=1).items[0].id == 7
    assert len(spectra_http.calls) == 2


def test_catalog_cache_is_keyed_by_api_key_without_storing_it(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    other_tenant = SpectraClient(api_base=API, commerce_base=COMMERCE, api_key="spk_test_other")
    spectra_http.get(f"{API}/categories", json=ok([{"id": 1, "name": "Ours"}]))
    spectra_http.get(f"{API}/categories", json=ok([{"id": 2, "name": "Theirs"}]))

    assert spectra.list_categories()[0].name == "Ours"
    assert other_tenant.list_categories()[0].name == "Theirs"

    cache_key = spectra._cache_key(f"{API}/categories", None)
    assert KEY not in cache_key
    assert cache_key != other_tenant._cache_key(f"{API}/categories", None)


@override_settings(CHECKOUT_CATALOG_CACHE_TTL=0)
def test_catalog_cache_ttl_zero_disables_it(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products/7", json=ok(PRODUCT))
    spectra_http.get(f"{API}/products/7", json=ok({**PRODUCT, "name": "iPhone 13 (renamed)"}))

    assert spectra.get_product(7).name == "iPhone 13"
    assert spectra.get_product(7).name == "iPhone 13 (renamed)"
    assert len(spectra_http.calls) == 2


def test_errors_are_not_cached(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/products/7", status=404, json={"success": False, "error": {}})
    spectra_http.get(f"{API}/products/7", json=ok(PRODUCT))

    with pytest.raises(SpectraNotFound):
        spectra.get_product(7)
    assert spectra.get_product(7).id == 7


def test_orders_are_never_cached(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))
    spectra_http.get(f"{API}/orders/1234", json=ok(order(status="shipped")))

    assert spectra.get_order(1234).status == "pending"
    assert spectra.get_order(1234).status == "shipped"


# --- Cart ---------------------------------------------------------------------------


def test_create_cart(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/cart",
        status=201,
        json=ok({"id": CART_ID, "items": [], "subtotal": 0.0, "item_count": 0}),
    )

    cart = spectra.create_cart()

    assert cart == Cart(id=CART_ID, items=(), subtotal=Decimal("0.00"), item_count=0)
    assert cart.is_empty
    assert not cart.locked


def test_get_cart(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{COMMERCE}/cart/{CART_ID}", json=ok(CART))

    cart = spectra.get_cart(CART_ID)

    assert cart.subtotal == Decimal("999.98")
    assert cart.item_count == 2
    assert cart.get_item(11) is not None
    assert cart.get_item("11") == cart.items[0]


def test_cart_id_cannot_escape_its_path_segment(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{COMMERCE}/cart/..%2Forders", json=ok(CART))

    spectra.get_cart("../orders")

    assert spectra_http.calls[0].request.path_url == "/commerce-api/v1/cart/..%2Forders"


def test_add_cart_item(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/cart/{CART_ID}/items",
        match=[matchers.json_params_matcher({"variant_id": 101, "quantity": 2})],
        json=ok(CART),
    )

    cart = spectra.add_cart_item(CART_ID, variant_id=101, quantity=2)

    assert cart.items[0].line_total == Decimal("999.98")
    assert spectra_http.calls[0].request.headers["Content-Type"] == "application/json"


def test_update_cart_item(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.patch(
        f"{COMMERCE}/cart/{CART_ID}/items/11",
        match=[matchers.json_params_matcher({"quantity": 1})],
        json=ok({**CART, "items": [{**CART["items"][0], "quantity": 1, "line_total": 499.99}]}),
    )

    cart = spectra.update_cart_item(CART_ID, 11, quantity=1)

    assert cart.items[0].quantity == 1


def test_remove_cart_item(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.delete(
        f"{COMMERCE}/cart/{CART_ID}/items/11",
        json=ok({"id": CART_ID, "items": [], "subtotal": 0, "item_count": 0}),
    )

    cart = spectra.remove_cart_item(CART_ID, 11)

    assert cart.is_empty
    assert spectra_http.calls[0].request.body is None


def test_locked_cart_carries_its_order(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(
        f"{COMMERCE}/cart/{CART_ID}", json=ok({**CART, "locked": True, "order_id": 1234})
    )

    cart = spectra.get_cart(CART_ID)

    assert cart.locked
    assert cart.order_id == 1234


# --- Checkout helpers ---------------------------------------------------------------

ADDRESS = {"name": "Alice", "address1": "1 Main", "city": "Brooklyn", "state": "NY", "zip": "11201"}


def test_get_shipping_rates_sends_cart_and_address_and_sorts_cheapest_first(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/shipping-rates",
        match=[matchers.json_params_matcher({"cart_id": CART_ID, "address": ADDRESS})],
        json=ok(
            [
                {
                    "carrier": "FedEx",
                    "service": "FedEx 2Day",
                    "service_code": "FEDEX_2_DAY",
                    "price": 19.5,
                    "estimated_delivery": "2026-05-18",
                    "transit_days": 2,
                },
                {
                    "carrier": "UPS",
                    "service": "UPS Ground",
                    "service_code": "03",
                    "price": 8.99,
                    "estimated_delivery": None,
                    "transit_days": None,
                },
            ]
        ),
    )

    rates = spectra.get_shipping_rates(CART_ID, address=ADDRESS)

    assert [r.service_code for r in rates] == ["03", "FEDEX_2_DAY"]
    assert rates[0].price == Decimal("8.99")
    assert rates[0].estimated_delivery is None
    assert rates[1].estimated_delivery == dt.date(2026, 5, 18)
    assert rates[1].transit_days == 2


def test_get_shipping_rates_accepts_a_wrapped_list(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    rate = {"carrier": "UPS", "service": "Ground", "service_code": "03", "price": 0}
    spectra_http.post(f"{COMMERCE}/checkout/shipping-rates", json=ok({"rates": [rate]}))

    [only] = spectra.get_shipping_rates(CART_ID, address=ADDRESS)

    assert only.price == Decimal("0.00")


def test_calculate_tax(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/calculate-tax",
        match=[matchers.json_params_matcher({"cart_id": CART_ID, "shipping_state": "NY"})],
        json=ok({"tax_amount": 88.75, "tax_rate": 0.08875}),
    )

    quote = spectra.calculate_tax(CART_ID, shipping_state="NY")

    assert quote.tax_amount == Decimal("88.75")
    assert quote.tax_rate == Decimal("0.08875")


def test_validate_promo(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/validate-promo",
        match=[
            matchers.json_params_matcher(
                {"cart_id": CART_ID, "code": "SPRING10", "email": "a@example.com"}
            )
        ],
        json=ok(
            {
                "valid": True,
                "code": "SPRING10",
                "discount_amount": 10,
                "free_shipping": False,
                "message": "10% off",
            }
        ),
    )

    promo = spectra.validate_promo(CART_ID, code="SPRING10", email="a@example.com")

    assert promo.valid
    assert promo.discount_amount == Decimal("10.00")
    assert not promo.free_shipping
    assert promo.message == "10% off"


def test_validate_promo_invalid_answer(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/validate-promo",
        json=ok({"valid": False, "code": "NOPE", "message": "Unknown code"}),
    )

    promo = spectra.validate_promo(CART_ID, code="NOPE", email="a@example.com")

    assert not promo.valid
    assert promo.discount_amount == Decimal("0.00")


def test_validate_gift_card(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{COMMERCE}/checkout/validate-gift-card",
        match=[matchers.json_params_matcher({"code": "ABCDEFGH23456789"})],
        json=ok({"valid": True, "balance": 50, "status": "active"}),
    )

    card = spectra.validate_gift_card("ABCDEFGH23456789")

    assert card.valid
    assert card.balance == Decimal("50.00")
    assert card.status == "active"


# --- Orders -------------------------------------------------------------------------


def test_create_order_posts_the_payload_with_the_order_timeout(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.post(
        f"{API}/orders",
        status=201,
        match=[matchers.json_params_matcher(ORDER_PAYLOAD)],
        json=ok(ORDER),
    )

    placed = spectra.create_order(ORDER_PAYLOAD)

    assert isinstance(placed, Order)
    assert placed.order_number == "ORD-20260515-0042"
    assert placed.grand_total == Decimal("1087.96")
    assert sent_kwargs(spectra_http.calls[0])["timeout"] == (1.5, 25.0)


def test_create_order_sends_decimal_amounts_as_json_numbers(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.post(f"{API}/orders", status=201, json=ok(ORDER))
    payload = {**ORDER_PAYLOAD, "shipping_method": {"method": "ground", "cost": Decimal("8.99")}}

    spectra.create_order(payload)

    assert b'"cost": 8.99' in (spectra_http.calls[0].request.body or b"")


def test_get_order(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/orders/1234", json=ok(ORDER))

    assert spectra.get_order(1234).id == 1234
    assert sent_kwargs(spectra_http.calls[0])["timeout"] == (1.5, 7.0)


def test_list_orders_sends_filters(spectra: SpectraClient, spectra_http: Mock) -> None:
    since = dt.datetime(2026, 5, 15, 10, 0, tzinfo=dt.UTC)
    spectra_http.get(
        f"{API}/orders",
        match=[
            matchers.query_param_matcher(
                {
                    "status": "shipped",
                    "cart_id": CART_ID,
                    "updated_since": "2026-05-15T10:00:00+00:00",
                    "page": "3",
                    "per_page": "50",
                }
            )
        ],
        json=ok([ORDER], page_meta(3, 3, total=101, per_page=50)),
    )

    page = spectra.list_orders(
        status="shipped", cart_id=CART_ID, updated_since=since, page=3, per_page=50
    )

    assert [o.id for o in page] == [1234]
    assert not page.has_next


def test_list_orders_refuses_a_naive_updated_since(spectra: SpectraClient) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        spectra.list_orders(updated_since=dt.datetime(2026, 5, 15))


def test_iter_orders_walks_pages_and_yields_each_order_once(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    # A new order arrived between the two pages and pushed 2 onto page 2 again.
    spectra_http.get(
        f"{API}/orders", json=ok([order(id=3), order(id=2)], page_meta(1, 2, per_page=2))
    )
    spectra_http.get(
        f"{API}/orders", json=ok([order(id=2), order(id=1)], page_meta(2, 2, per_page=2))
    )

    assert [o.id for o in spectra.iter_orders(status="pending", per_page=2)] == [3, 2, 1]
    assert sent_params(spectra_http.calls[1]) == {"page": "2", "per_page": "2", "status": "pending"}


def test_set_order_status(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.patch(
        f"{API}/orders/1234/status",
        match=[matchers.json_params_matcher({"status": "shipped"})],
        json=ok(order(status="shipped")),
    )

    answer = spectra.set_order_status(1234, "shipped")

    assert answer is not None
    assert answer.status == "shipped"


def test_set_tracking(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.post(
        f"{API}/orders/1234/tracking",
        match=[matchers.json_params_matcher({"tracking_number": "1Z999", "carrier": "UPS"})],
        json=ok(order(tracking_number="1Z999", shipping_carrier="UPS")),
    )

    updated = spectra.set_tracking(1234, tracking_number="1Z999", carrier="UPS")

    assert updated is not None
    assert (updated.tracking_number, updated.shipping_carrier) == ("1Z999", "UPS")


@pytest.mark.parametrize(
    "answer",
    [
        {"success": True},
        {"success": True, "data": None},
        {"success": True, "data": {"id": 1234, "status": "shipped"}},
        {"success": True, "data": {"updated": True}},
        {"success": True, "data": "ok"},
    ],
    ids=["no-data", "null", "id-and-status", "flag", "text"],
)
def test_thin_write_answers_are_none_not_errors(
    spectra: SpectraClient, spectra_http: Mock, answer: dict[str, Any]
) -> None:
    spectra_http.patch(f"{API}/orders/1234/status", json=answer)
    spectra_http.post(f"{API}/orders/1234/tracking", json=answer)

    assert spectra.set_order_status(1234, "shipped") is None
    assert spectra.set_tracking(1234, tracking_number="1Z999", carrier="UPS") is None


def test_an_empty_write_answer_is_none(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.patch(f"{API}/orders/1234/status", status=204)

    assert spectra.set_order_status(1234, "shipped") is None


def test_a_read_still_refuses_an_answer_without_data(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.get(f"{API}/orders/1234", json={"success": True})

    with pytest.raises(SpectraError, match="an order"):
        spectra.get_order(1234)


# --- Webhooks -------------------------------------------------------------------------

WEBHOOK: dict[str, Any] = {
    "id": 5,
    "url": "https://shop.example.com/checkout/webhooks/spectra/",
    "events": ["*"],
    "active": True,
    "created_at": "2026-05-01T09:00:00+00:00",
}


def test_register_webhook_returns_the_secret_once(
    spectra: SpectraClient, spectra_http: Mock
) -> None:
    spectra_http.post(
        f"{API}/webhooks",
        status=201,
        match=[matchers.json_params_matcher({"url": WEBHOOK["url"], "events": ["*"]})],
        json=ok({**WEBHOOK, "secret": "whsec_shown_once"}),
    )

    subscription = spectra.register_webhook(url=WEBHOOK["url"])

    assert isinstance(subscription, WebhookSubscription)
    assert subscription.secret == "whsec_shown_once"
    assert "whsec_shown_once" not in repr(subscription)


def test_register_webhook_with_events(spectra: SpectraClient, spectra_http: Mock) -> None:
    events = ["order.created", "order.shipped"]
    spectra_http.post(
        f"{API}/webhooks",
        match=[matchers.json_params_matcher({"url": WEBHOOK["url"], "events": events})],
        json=ok({**WEBHOOK, "events": events, "secret": "s"}),
    )

    assert spectra.register_webhook(url=WEBHOOK["url"], events=events).events == tuple(events)


def test_list_webhooks(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(f"{API}/webhooks", json=ok([WEBHOOK]))

    [subscription] = spectra.list_webhooks()

    assert subscription.secret is None
    assert subscription.created_at == dt.datetime(2026, 5, 1, 9, tzinfo=dt.UTC)


def test_delete_webhook(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.delete(f"{API}/webhooks/5", status=204)

    spectra.delete_webhook(5)
    assert len(spectra_http.calls) == 1


def test_delete_webhook_with_an_envelope(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.delete(f"{API}/webhooks/5", json=ok({"deleted": True}))

    spectra.delete_webhook(5)


def test_list_webhook_deliveries(spectra: SpectraClient, spectra_http: Mock) -> None:
    spectra_http.get(
        f"{API}/webhooks/5/deliveries",
        json=ok(
            [
                {
                    "id": 77,
                    "event": "order.shipped",
                    "url": WEBHOOK["url"],
                    "status_code": 500,
                    "response_body": "oops",
                    "error": "",
                    "duration_ms": 123.4,
                    "delivered_at": "2026-05-18T14:23:00+00:00",
                },
                {"id": 78, "event": "order.created", "status_code": None, "error": "timeout"},
            ]
        ),
    )

    first, second = spectra.list_webhook_deliveries(5)

    assert (first.status_code, first.ok, first.duration_ms) == (500, False, 123.4)
    assert first.delivered_at == dt.datetime(2026, 5, 18, 14, 23, tzinfo=dt.UTC)
    assert (second.status_code, second.error, second.delivered_at) == (None, "timeout", None)
