"""Staff preview an order's emails in admin: in the order's language, as they would be sent,
behind the order's view permission, sending and writing nothing."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse

from checkout.models import EmailNotification, Order, OrderEvent, OutboxMessage
from checkout.services.notifications import email_schedule, email_send

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NUMBERS = itertools.count(1)


def make_order(*, language: str = "en", status: str = "pending", **fields: Any) -> Order:
    n = next(NUMBERS)
    values: dict[str, Any] = {
        "spectra_id": 9000 + n,
        "order_number": f"ORD-20260515-{n:04d}",
        "email": "ada@example.com",
        "customer_name": "Ada Lovelace",
        "subtotal": Decimal("1299.00"),
        "shipping_total": Decimal("12.50"),
        "tax_total": Decimal("107.17"),
        "grand_total": Decimal("1418.67"),
        "amount_charged": Decimal("1418.67"),
        "items": [{"sku": "SPX-12", "name": "Spectra X12", "quantity": 1, "line_total": 1299.0}],
        "shipping": {"name": "Ada Lovelace", "address1": "1 Analytical Way", "country": "US"},
        "language": language,
        "status": status,
    }
    values.update(fields)
    return Order.objects.create(**values)


def preview_url(order: Order, kind: str | None = None, *, part: str = "") -> str:
    if kind is None:
        return reverse("admin:checkout_order_email_previews", args=[order.pk])
    name = "admin:checkout_order_email_preview" + ("_html" if part == "html" else "")
    return reverse(name, args=[order.pk, kind])


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def ledger_column(response: Any) -> dict[str, str]:
    """The preview list's rows: each email's name and what the ledger holds of it."""
    rows = re.findall(
        r'<th scope="row">(.*?)</th>\s*<td>(.*?)</td>', response.content.decode(), flags=re.S
    )
    return {
        html.unescape(re.sub(r"<[^>]+>", "", name)).strip(): html.unescape(ledger).strip()
        for name, ledger in rows
    }


@pytest.fixture
def viewer(staff_user: Callable[..., User], login: Callable[[User], Client]) -> Client:
    """A support member: the view permissions and nothing else."""
    return login(staff_user())


@pytest.fixture(autouse=True)
def site_url(settings: Any) -> None:
    settings.CHECKOUT_SITE_URL = "https://shop.example.com"


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "total_label"),
    [
        ("de", "Bestellung {number} bestätigt", "Vielen Dank für Ihre Bestellung", "Zwischensumme"),
        ("en", "Order {number} confirmed", "Thank you for your order", "Subtotal"),
    ],
)
def test_staff_preview_an_email_in_the_orders_language(
    viewer: Client, language: str, subject: str, greeting: str, total_label: str
) -> None:
    order = make_order(language=language)
    expected_subject = subject.format(number=order.order_number)

    page = viewer.get(preview_url(order, "confirmation"))
    assert page.status_code == 200
    text = page_text(page)
    assert expected_subject in text
    assert total_label in text  # the text part, shown on the page
    assert "Text part" in text  # the admin itself stays in the staff member's language
    assert f'src="{preview_url(order, "confirmation", part="html")}"' in text

    framed = viewer.get(preview_url(order, "confirmation", part="html"))
    assert framed.status_code == 200
    body = page_text(framed)
    assert f'<html lang="{language}">' in body
    assert greeting in body
    assert re.search(r'class="email-button"[^>]*style="[^"]*background: #3e4c59', body)
    # The email is framed alone: its own policy, no script, framed by this site only.
    policy = framed["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert "default-src 'none'" in policy
    assert "frame-ancestors 'self'" in policy
    assert framed["X-Frame-Options"] == "SAMEORIGIN"
    # The page that frames it may frame this site (the demo's policy says frame-src 'none').
    assert "frame-src 'self'" in page["Content-Security-Policy"]


def test_the_preview_is_the_email_the_customer_gets(viewer: Client) -> None:
    """Same subject, text and HTML as the sent email (only the status link's signature,
    which carries the time it was made, may differ)."""
    order = make_order(
        language="de", status="shipped", tracking_number="1Z9", shipping_carrier="UPS"
    )

    page = page_text(viewer.get(preview_url(order, "shipped")))
    framed = viewer.get(preview_url(order, "shipped", part="html")).content.decode()
    notification = email_schedule(order=order, kind="shipped")
    assert notification is not None
    email_send(notification_id=notification.pk)
    [message] = mail.outbox
    assert isinstance(message, EmailMultiAlternatives)

    def unsigned(text: str) -> str:
        return re.sub(r"/orders/status/[^/\"\s]+/", "/orders/status/TOKEN/", text)

    assert f'<td class="checkout-email-subject">{message.subject}</td>' in page
    assert unsigned(str(message.body)) in unsigned(page)
    assert unsigned(framed) == unsigned(str(message.alternatives[0][0]))


def test_previewing_sends_nothing_and_writes_nothing(viewer: Client) -> None:
    order = make_order(status="delivered", tracking_number="1Z9", shipping_carrier="UPS")
    counts = (
        EmailNotification.objects.count(),
        OutboxMessage.objects.count(),
        OrderEvent.objects.count(),
    )

    listing = viewer.get(preview_url(order))
    assert listing.status_code == 200
    for kind in ("confirmation", "shipped", "delivered", "order_lookup"):
        assert viewer.get(preview_url(order, kind)).status_code == 200
        assert viewer.get(preview_url(order, kind, part="html")).status_code == 200
    # A GET only: a POST is refused rather than taken for a send.
    assert viewer.post(preview_url(order, "delivered")).status_code == 405

    assert mail.outbox == []
    assert counts == (
        EmailNotification.objects.count(),
        OutboxMessage.objects.count(),
        OrderEvent.objects.count(),
    )


def test_the_list_offers_the_kinds_that_apply_to_the_order(viewer: Client) -> None:
    pending = make_order()
    text = page_text(viewer.get(preview_url(pending)))
    assert "Order confirmation" in text
    assert "Order lookup (status link)" in text
    for kind in ("shipped", "delivered", "cancelled", "refunded"):
        assert preview_url(pending, kind) not in text

    # Refunded after delivery: the ledger remembers the emails of the way there.
    refunded = make_order(status="refunded")
    for kind in ("confirmation", "shipped", "delivered"):
        EmailNotification.objects.create(
            order=refunded, kind=kind, to_email=refunded.email, status="sent"
        )
    listing = viewer.get(preview_url(refunded))
    text = page_text(listing)
    for kind in ("confirmation", "shipped", "delivered", "refunded", "order_lookup"):
        assert preview_url(refunded, kind) in text, kind
    assert preview_url(refunded, "cancelled") not in text
    assert ledger_column(listing) == {
        "Order confirmation": "Sent",
        "Shipped": "Sent",
        "Delivered": "Sent",
        "Refunded": "Never queued",  # due with the status, not in the ledger (yet)
        "Order lookup (status link)": "Sent on request, outside the ledger",
    }


def test_an_unknown_or_inapplicable_kind_is_a_clear_404(viewer: Client) -> None:
    order = make_order()

    unknown = viewer.get(preview_url(order, "invoice"))
    assert unknown.status_code == 404
    text = page_text(unknown)
    assert "There is no email called “invoice”." in text
    assert preview_url(order, "confirmation") in text  # the kinds there are, to pick from
    assert viewer.get(preview_url(order, "invoice", part="html")).status_code == 404

    inapplicable = viewer.get(preview_url(order, "delivered"))
    assert inapplicable.status_code == 404
    assert "The Delivered email does not apply to this order" in page_text(inapplicable)
    assert viewer.get(preview_url(order, "delivered", part="html")).status_code == 404
    assert mail.outbox == []


def test_the_preview_needs_the_orders_view_permission(
    client: Client, staff_user: Callable[..., User]
) -> None:
    order = make_order()
    url = preview_url(order, "confirmation")
    html_url = preview_url(order, "confirmation", part="html")

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))

    client.force_login(User.objects.create_user("shopper", password="pw-shopper-123"))
    assert client.get(url).status_code == 302  # not staff: the admin's login

    bare = User.objects.create_user("new-hire", password="pw-staff-123", is_staff=True)
    client.force_login(bare)
    for target in (url, html_url, preview_url(order)):
        assert client.get(target).status_code == 403, target

    client.force_login(staff_user())
    assert client.get(url).status_code == 200


def test_the_order_page_and_the_resend_form_link_the_previews(
    staff_user: Callable[..., User], login: Callable[[User], Client]
) -> None:
    order = make_order(status="shipped", tracking_number="1Z9", shipping_carrier="UPS")
    EmailNotification.objects.create(
        order=order, kind="confirmation", to_email=order.email, status="sent"
    )
    client = login(staff_user("resend_email"))

    change = page_text(client.get(reverse("admin:checkout_order_change", args=[order.pk])))
    assert f'href="{preview_url(order)}"' in change
    assert "Preview emails" in change

    resend_url = reverse("admin:checkout_order_action", args=[order.pk, "resend-email"])
    form = page_text(client.get(resend_url))
    assert "Preview before resending" in form
    assert preview_url(order, "confirmation") in form
    assert preview_url(order, "shipped") not in form  # not produced, so not offered

    # The preview links back to resending the kinds the resend offers ...
    listing = page_text(client.get(preview_url(order)))
    assert f"{resend_url}?kind=confirmation" in listing
    assert f"{resend_url}?kind=shipped" not in listing
    # ... and that link opens the resend form with the kind chosen.
    chosen = page_text(client.get(f"{resend_url}?kind=confirmation"))
    assert re.search(r'<option value="confirmation" selected>', chosen)

    # Without the resend permission, the preview offers no resend.
    viewer = login(staff_user())
    assert resend_url not in page_text(viewer.get(preview_url(order)))
