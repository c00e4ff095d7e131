"""Fixtures for the admin tests: live sandbox + localstripe, placed orders, staff users.

``placed_order`` goes the shopper's way (cart, details, card, placement) so the order
page has a real story to show; ``staff_user`` builds a staff account with exactly the
permissions a test names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import stripe
from django.contrib.auth.models import Permission, User
from django.test import Client

from checkout.models import CheckoutAttempt, Order
from checkout.services import orders
from checkout.testing.servers import LocalstripeProcess, SandboxProcess
from tests.integration.checkout.support import ADDRESS, Live

VIEW_PERMS = (
    "view_order",
    "view_checkoutattempt",
    "view_webhookevent",
    "view_emailnotification",
    "view_outboxmessage",
)


@pytest.fixture
def live(
    settings: Any,
    checkout_live_settings: SandboxProcess,
    localstripe: LocalstripeProcess,
    localstripe_stripe_client: stripe.StripeClient,
) -> Live:
    """Point the app at the live sandbox and localstripe, both freshly reset."""
    settings.CHECKOUT_SEND_TEST_ORDER_EMAILS = True
    return Live(checkout_live_settings, localstripe, localstripe_stripe_client)


@pytest.fixture
def authorized_attempt(live: Live) -> Callable[[], CheckoutAttempt]:
    """Return a factory: an attempt whose card is authorized, not yet placed."""

    def make() -> CheckoutAttempt:
        attempt = orders.attempt_for_cart(cart_id=live.cart(), owner="s1")
        assert attempt is not None
        attempt = orders.attempt_save_information(
            attempt=attempt, email="alice@example.com", phone="555-1234", shipping_address=ADDRESS
        )
        rates = orders.attempt_shipping_rates(attempt=attempt)
        code = rates[0].service_code
        attempt = orders.attempt_choose_shipping(attempt=attempt, service_code=code)
        attempt = orders.attempt_set_billing(
            attempt=attempt, same_as_shipping=True, billing_address=None
        )
        outcome = orders.attempt_pay(attempt=attempt, payment_method_id=live.payment_method())
        assert outcome.status == "authorized"
        attempt.refresh_from_db()
        return attempt

    return make


@pytest.fixture
def placed_order(authorized_attempt: Callable[[], CheckoutAttempt]) -> Callable[[], Order]:
    """Return a factory: an order placed through the checkout services."""

    def make() -> Order:
        result = orders.order_place(attempt=authorized_attempt())
        assert result.status == "placed", result
        assert result.order is not None
        return result.order

    return make


@pytest.fixture
def staff_user(db: Any) -> Callable[..., User]:
    """Return a factory: a staff user with the view permissions plus the given codenames."""
    counter = iter(range(1, 1000))

    def make(*codenames: str) -> User:
        user = User.objects.create_user(
            username=f"staff{next(counter)}", password="pw-staff-123", is_staff=True
        )
        perms = Permission.objects.filter(
            content_type__app_label="checkout", codename__in=[*VIEW_PERMS, *codenames]
        )
        assert perms.count() == len(VIEW_PERMS) + len(codenames)
        user.user_permissions.set(perms)
        return user

    return make


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def do(user: User) -> Client:
        client.force_login(user)
        return client

    return do


@pytest.fixture
def superuser_client(client: Client, django_user_model: type[User]) -> Client:
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(user)
    return client
