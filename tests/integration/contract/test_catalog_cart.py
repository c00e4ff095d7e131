"""Contract: catalog, cart and checkout-helper calls answer typed results from the sandbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from checkout.services.spectra import Cart, Category, Page, Product, ShippingRate, Variant

from .conftest import ADDRESS, CABLE, IPHONE, Contract

pytestmark = [pytest.mark.integration]


def test_list_products_is_a_typed_page(contract: Contract) -> None:
    client = contract.client()

    page = client.list_products(page=2, per_page=5)

    assert isinstance(page, Page)
    assert (page.page, page.per_page, page.total, page.total_pages) == (2, 5, 16, 4)
    assert page.has_next
    assert [p.id for p in page.items] == [6, 7, 8, 9, 10]
    product = page.items[0]
    assert isinstance(product, Product)
    assert product.name
    assert product.slug
    assert product.category == "phones"
    variant = product.variants[0]
    assert isinstance(variant, Variant)
    assert isinstance(variant.price, Decimal)
    assert variant.price == variant.price.quantize(Decimal("0.01"))
    assert isinstance(variant.weight_oz, Decimal)
    assert variant.image_url.startswith(contract.sandbox.base_url)

    last = client.list_products(page=4, per_page=5)
    assert [p.id for p in last.items] == [16]
    assert not last.has_next
    past_end = client.list_products(page=9, per_page=5)
    assert past_end.items == ()
    assert past_end.total == 16


def test_iter_products_walks_every_page(contract: Contract) -> None:
    client = contract.client()

    products = list(client.iter_products(per_page=5))

    assert [p.id for p in products] == list(range(1, 17))
    pages = contract.recorder.attempts("GET", "/api/v1/products")
    assert len(pages) == 4
    assert all(c.ok and c.status == 200 for c in pages)
    assert sum(len(p.variants) for p in products) == 182
    assert sum(1 for p in products for v in p.variants if not v.in_stock) >= 1


def test_iter_products_by_category(contract: Contract) -> None:
    products = list(contract.client().iter_products(per_page=2, category="accessories"))

    assert [p.id for p in products] == [13, 14, 15, 16]
    assert {p.category for p in products} == {"accessories"}


def test_get_product_and_categories(contract: Contract) -> None:
    client = contract.client()

    cable = client.get_product(13)
    categories = client.list_categories()

    variant = cable.get_variant(CABLE)
    assert variant is not None
    assert variant.price == Decimal("9.99")
    assert variant.quantity_available == 500
    iphone = client.get_product(1).get_variant(IPHONE)
    assert iphone is not None
    assert iphone.price == Decimal("698.99")
    assert iphone.quantity_available == 25
    assert all(isinstance(c, Category) for c in categories)
    assert {"phones", "tablets", "watches", "accessories"} <= {c.slug for c in categories}


def test_catalog_cache_serves_the_second_read_without_http(contract: Contract) -> None:
    client = contract.client(cache_ttl=300)

    first = client.list_products(page=1, per_page=10)
    served = contract.requests_served()
    calls = len(contract.recorder.calls)
    second = client.list_products(page=1, per_page=10)
    product = client.get_product(13)
    product_again = client.get_product(13)

    assert second == first
    assert second.items[0].variants[0].price == first.items[0].variants[0].price
    assert product_again == product
    # One HTTP call for get_product's first read; none for either repeat.
    assert len(contract.recorder.calls) == calls + 1
    assert contract.requests_served() == served + 1
    # Another page is another cache key: a real call.
    client.list_products(page=2, per_page=10)
    assert len(contract.recorder.calls) == calls + 2


def test_catalog_cache_is_per_key(contract: Contract) -> None:
    contract.add_key("spk_test_other", scopes="*")
    contract.client(cache_ttl=300).list_categories()
    calls = len(contract.recorder.calls)

    contract.client(cache_ttl=300, api_key="spk_test_other").list_categories()

    assert len(contract.recorder.calls) == calls + 1


def test_cart_lifecycle(contract: Contract) -> None:
    client = contract.client()

    cart = client.create_cart()
    assert isinstance(cart, Cart)
    assert cart.is_empty
    assert cart.subtotal == Decimal("0.00")
    assert cart.item_count == 0
    assert not cart.locked
    assert cart.order_id is None

    cart = client.add_cart_item(cart.id, variant_id=CABLE, quantity=2)
    (item,) = cart.items
    assert (item.variant_id, item.quantity) == (CABLE, 2)
    assert item.unit_price == Decimal("9.99")
    assert item.line_total == Decimal("19.98")
    assert cart.subtotal == Decimal("19.98")
    assert cart.item_count == 2
    assert item.sku
    assert item.name

    cart = client.add_cart_item(cart.id, variant_id=CABLE, quantity=1)
    assert cart.items[0].quantity == 3  # the same variant adds to its line

    cart = client.update_cart_item(cart.id, item.id, quantity=5)
    assert cart.get_item(item.id) is not None
    assert cart.items[0].line_total == Decimal("49.95")
    assert client.get_cart(cart.id) == cart

    cart = client.add_cart_item(cart.id, variant_id=IPHONE, quantity=1)
    assert cart.subtotal == Decimal("49.95") + Decimal("698.99")
    phone_line = next(i for i in cart.items if i.variant_id == IPHONE)
    cart = client.remove_cart_item(cart.id, phone_line.id)
    assert [i.variant_id for i in cart.items] == [CABLE]
    cart = client.update_cart_item(cart.id, item.id, quantity=0)
    assert cart.is_empty
    assert cart.subtotal == Decimal("0.00")


def test_shipping_rates_are_typed_and_cheapest_first(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (IPHONE, 1))

    rates = client.get_shipping_rates(cart.id, address=ADDRESS)

    assert len(rates) == 7
    assert all(isinstance(r, ShippingRate) for r in rates)
    assert [r.price for r in rates] == sorted(r.price for r in rates)
    ground = next(r for r in rates if r.service == "UPS Ground")
    assert ground.price == Decimal("0.00")  # 698.99 is over the free-shipping threshold
    assert ground.carrier == "UPS"
    assert ground.service_code
    for rate in rates:
        assert isinstance(rate.price, Decimal)
        assert isinstance(rate.estimated_delivery, dt.date)
        assert not isinstance(rate.estimated_delivery, dt.datetime)
        assert rate.transit_days is not None
        assert rate.transit_days >= 1


def test_ground_shipping_below_the_threshold(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 1))

    rates = client.get_shipping_rates(cart.id, address=ADDRESS)

    assert next(r for r in rates if r.service == "UPS Ground").price > Decimal("0")


def test_calculate_tax(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 10))

    ny = client.calculate_tax(cart.id, shipping_state="NY")
    oregon = client.calculate_tax(cart.id, shipping_state="OR")

    assert isinstance(ny.tax_amount, Decimal)
    assert ny.tax_amount == (Decimal("99.90") * Decimal("0.08875")).quantize(Decimal("0.01"))
    # A fraction, not a percentage: the quote service multiplies by it.
    assert ny.tax_rate == Decimal("0.08875")
    assert oregon.tax_amount == Decimal("0.00")


def test_validate_promo(contract: Contract) -> None:
    client = contract.client()
    cart = contract.cart(client, (CABLE, 10))

    save10 = client.validate_promo(cart.id, code="save10", email="alice@example.com")
    expired = client.validate_promo(cart.id, code="EXPIRED15", email="alice@example.com")
    unknown = client.validate_promo(cart.id, code="NOPE", email="alice@example.com")
    freeship = client.validate_promo(cart.id, code="FREESHIP", email="alice@example.com")

    assert save10.valid
    assert save10.discount_amount == Decimal("9.99")
    assert save10.code.upper() == "SAVE10"
    assert not expired.valid
    assert expired.message
    assert not unknown.valid
    assert unknown.message
    assert unknown.discount_amount == Decimal("0")
    assert freeship.valid
    assert freeship.free_shipping


def test_validate_gift_card(contract: Contract) -> None:
    client = contract.client()

    active = client.validate_gift_card("CARD-25BA-LANC-EABC")
    redeemed = client.validate_gift_card("CARDREDEEMEDXYZW")
    missing = client.validate_gift_card("ZZZZZZZZZZZZZZZZ")

    assert active.valid
    assert active.balance == Decimal("25.00")
    assert active.status == "active"
    assert isinstance(active.balance, Decimal)
    assert not redeemed.valid
    assert redeemed.status == "redeemed"
    assert not missing.valid
    assert missing.status == "not_found"
