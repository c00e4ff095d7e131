"""Admin's badges and formatting: readable, colored, escaped, tolerant of unknown values."""

from __future__ import annotations

from decimal import Decimal

from checkout.admin import display
from checkout.models import Order


def test_a_known_status_gets_its_label_and_color() -> None:
    html = display.order_status_badge(Order(status="shipped"))
    assert "checkout-badge--primary" in html
    assert ">Shipped<" in html


def test_an_unknown_status_is_shown_as_it_came_escaped() -> None:
    html = display.order_status_badge(Order(status="<b>on_hold</b>"))
    assert "checkout-badge--muted" in html
    assert "&lt;b&gt;on_hold&lt;/b&gt;" in html


def test_payment_badges() -> None:
    assert "Partially refunded" in display.payment_status_badge("partially_refunded")
    assert "checkout-badge--danger" in display.payment_status_badge("failed")
    assert ">-<" in display.payment_status_badge("")


def test_money_and_addresses() -> None:
    assert display.money_text(Decimal("1234.5")) == "$1,234.50"
    assert display.money_text(Decimal("3"), "eur") == "3.00 EUR"
    html = display.address_html(
        {
            "name": "Ann <x>",
            "address1": "1 Main St",
            "city": "Brooklyn",
            "state": "NY",
            "zip": "11201",
            "country": "US",
            "phone": "+12125550100",
        }
    )
    assert "Ann &lt;x&gt;" in html
    assert "<div>Brooklyn, NY 11201</div><div>United States of America</div>" in html
    assert "<div>+1 212-555-0100</div>" in html
    german = display.address_html(
        {"name": "Erika", "address1": "Heidestraße 17", "city": "Köln", "zip": "51147"}
        | {"country": "DE"}
    )
    assert "<div>51147 Köln</div><div>Germany</div>" in german
    assert display.address_html({}) == "-"
