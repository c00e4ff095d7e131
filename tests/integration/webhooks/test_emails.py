"""Each email, rendered: order number, items and the right status details, text and HTML."""

from __future__ import annotations

import re
import threading
import time
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import translation

from checkout.models import EmailNotification, Order
from checkout.services.notifications import email_render, email_schedule, email_send

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def order(settings: Any) -> Order:
    settings.CHECKOUT_SITE_URL = "https://shop.example.com"
    return Order.objects.create(
        spectra_id=4242,
        order_number="ORD-20260515-0042",
        email="ada@example.com",
        customer_name="Ada Lovelace",
        subtotal=Decimal("1299.00"),
        shipping_total=Decimal("12.50"),
        tax_total=Decimal("107.17"),
        grand_total=Decimal("1418.67"),
        amount_charged=Decimal("1418.67"),
        items=[
            {
                "sku": "SPX-12-128-BLK",
                "name": "Spectra X12 128 GB Black",
                "quantity": 1,
                "unit_price": 1299.0,
                "line_total": 1299.0,
            },
        ],
        shipping={
            "name": "Ada Lovelace",
            "address1": "1 Analytical Way",
            "city": "Austin",
            "state": "TX",
            "zip": "78701",
            "country": "US",
        },
        tracking_number="1Z999AA10123456784",
        shipping_carrier="UPS",
    )


DETAILS = {
    "confirmation": ["Thank you for your order"],
    "shipped": [
        "1Z999AA10123456784",
        "UPS",
        "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    ],
    "delivered": ["delivered"],
    "cancelled": ["cancelled"],
    "refunded": ["refunded", "$1,418.67"],
}


@pytest.mark.parametrize("kind", ["confirmation", "refunded"])
def test_email_money_is_in_the_language_and_the_order_currency(order: Order, kind: str) -> None:
    # Emails are rendered in the order's language; amounts follow it and the order's currency.
    order.language = "de"
    rendered = email_render(order=order, kind=kind)
    # The inliner writes the no-break space as &nbsp;: the same text to a mail client.
    for body in (rendered.text, unescape(rendered.html)):
        assert "1.418,67\xa0$" in body
        assert "1.299,00\xa0$" in body or kind == "refunded"
        assert "$1,418.67" not in body
    order.language = "en"
    order.currency = "EUR"
    rendered = email_render(order=order, kind=kind)
    assert "€1,418.67" in rendered.text


def test_the_confirmation_gives_the_billing_address_as_its_country_writes_it(
    order: Order,
) -> None:
    # A German cardholder's order shipped to the US (where the shop ships): the email
    # names the address the card is billed to, in Germany's format and the order's language.
    order.language = "de"
    order.billing = {
        "name": "Erika Mustermann",
        "address1": "Invalidenstraße 117",
        "zip": "10115",
        "city": "Berlin",
        "country": "DE",
        "phone": "+49301234567",
        "email": "ada@example.com",
    }
    rendered = email_render(order=order, kind="confirmation")
    line = "Rechnungsadresse: Erika Mustermann, Invalidenstraße 117, 10115 Berlin, Deutschland"
    assert line in rendered.text.splitlines()
    assert line in rendered.html
    # Later emails are about the parcel: the shipping address only.
    assert "Rechnungsadresse" not in email_render(order=order, kind="shipped").text


@pytest.mark.parametrize("kind", list(DETAILS))
def test_email_shows_order_items_totals_link_and_status(order: Order, kind: str) -> None:
    rendered = email_render(order=order, kind=kind)
    assert order.order_number in rendered.subject
    assert "\n" not in rendered.subject
    for body in (rendered.text, rendered.html):
        assert order.order_number in body
        assert "Spectra X12 128 GB Black" in body
        assert "$1,418.67" in body
        assert "https://shop.example.com/orders/status/" in body
        for detail in DETAILS[kind]:
            assert detail in body, (kind, detail)
    assert "<html" in rendered.html
    assert "<link" not in rendered.html
    assert "<script" not in rendered.html
    assert "&lt;" not in rendered.text


def test_schedule_is_once_per_kind_and_suppresses_test_orders(order: Order, settings: Any) -> None:
    first = email_schedule(order=order, kind="shipped")
    assert first is not None
    assert first.status == EmailNotification.Status.QUEUED
    assert email_schedule(order=order, kind="shipped") is None
    order.is_test = True
    assert email_schedule(order=order, kind="delivered").status == "suppressed"  # type: ignore[union-attr]
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True
    assert email_schedule(order=order, kind="cancelled").status == "queued"  # type: ignore[union-attr]
    settings.CHECKOUT_EMAIL_KINDS = ("confirmation",)
    assert email_schedule(order=order, kind="refunded").status == "suppressed"  # type: ignore[union-attr]


@pytest.mark.django_db(transaction=True)
def test_email_goes_out_while_another_transaction_holds_the_order(order: Order) -> None:
    """A webhook applying the next status locks the order; the queued email still goes.

    The holder commits after half a second, as a status change would; the send must not
    skip the row in the meantime (it would wait for the sweep, a minute or more).
    """
    notification = EmailNotification.objects.create(
        order=order, kind="confirmation", to_email=order.email
    )
    assert notification.status == EmailNotification.Status.QUEUED
    locked = threading.Event()

    def hold_order() -> None:
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=order.pk)
                locked.set()
                time.sleep(0.5)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_order)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        sent = email_send(notification_id=notification.pk)
    finally:
        holder.join(timeout=30)
    assert sent is not None
    assert [m.subject for m in mail.outbox] == [sent.subject]
    notification.refresh_from_db()
    assert notification.status == EmailNotification.Status.SENT


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "total_label"),
    [
        (
            "de",
            "Bestellung ORD-20260515-0042 bestätigt",
            "Vielen Dank für Ihre Bestellung",
            "Zwischensumme",
        ),
        ("fr", "Commande ORD-20260515-0042 confirmée", "Merci pour votre commande", "Sous-total"),
        ("", "Order ORD-20260515-0042 confirmed", "Thank you for your order", "Subtotal"),
        ("xx", "Order ORD-20260515-0042 confirmed", "Thank you for your order", "Subtotal"),
    ],
)
def test_email_is_written_in_the_orders_language(
    order: Order, language: str, subject: str, greeting: str, total_label: str
) -> None:
    """The shopper's language (blank or unknown: the site's); the worker has no request."""
    order.language = language
    order.save(update_fields=["language"])
    notification = email_schedule(order=order, kind="confirmation")
    assert notification is not None

    with translation.override("en"):  # the worker's own language
        email_send(notification_id=notification.pk)

    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject == subject
    html = str(message.alternatives[0][0])
    for body in (message.body, html):
        assert greeting in body
        assert total_label in body
    assert f'<html lang="{language if language in ("de", "fr") else "en"}' in html
    # Staff read the timeline in the worker's language, whatever the shopper's.
    assert order.events.filter(message__startswith="Order confirmation email sent to").exists()


class Element:
    """An HTML start tag: its name, attributes and ``style`` declarations."""

    def __init__(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tag = tag
        self.attrs = {name: value or "" for name, value in attrs}
        self.style = {
            name.strip(): value.strip()
            for name, _sep, value in (
                part.partition(":") for part in self.attrs.get("style", "").split(";")
            )
            if name.strip()
        }

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


def elements(html: str) -> list[Element]:
    found: list[Element] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append(Element(tag, attrs))

    Collector().feed(html)
    return found


def with_class(html: str, name: str) -> list[Element]:
    return [element for element in elements(html) if name in element.classes]


def style_blocks(html: str) -> list[str]:
    return re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S)


def test_the_sent_email_carries_its_styles_on_each_element(order: Order) -> None:
    """Mail clients drop <style>: the stylesheet goes into each element's style attribute."""
    notification = email_schedule(order=order, kind="shipped")
    assert notification is not None
    email_send(notification_id=notification.pk)

    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    [button] = with_class(html, "email-button")
    assert button.attrs["href"].startswith("https://shop.example.com/orders/status/")
    assert button.style["background"] == "#3e4c59"
    assert button.style["color"] == "#ffffff"
    [heading] = with_class(html, "email-heading")
    assert heading.tag == "h1"
    assert heading.style["font-size"] == "22px"
    [body] = [element for element in elements(html) if element.tag == "body"]
    assert "Segoe UI" in body.style["font-family"]
    tracking = with_class(html, "email-link")
    assert tracking
    assert all(link.style["color"] == "#2563eb" for link in tracking)
    # Only what cannot be inlined stays in a <style>: the rules for phones.
    [kept] = style_blocks(html)
    assert kept.strip().startswith("@media")
    assert "max-width: 620px" in kept
    assert ".email-button" not in kept


def test_a_sites_own_stylesheet_restyles_the_emails(
    order: Order, settings: Any, tmp_path: Path
) -> None:
    """A site overrides includes/styles.css alone; its rules reach the elements too."""
    folder = tmp_path / "checkout" / "email" / "includes"
    folder.mkdir(parents=True)
    (folder / "styles.css").write_text(
        ".email-button { background: #aa0000; }\n.email-heading { color: #aa0000; }\n"
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]

    html = email_render(order=order, kind="confirmation").html
    [button] = with_class(html, "email-button")
    assert button.style == {"background": "#aa0000"}
    [heading] = with_class(html, "email-heading")
    assert heading.style == {"color": "#aa0000"}
    assert style_blocks(html) == []  # no @media in the site's stylesheet: nothing left over
