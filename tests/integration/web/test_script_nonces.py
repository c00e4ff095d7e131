"""A site whose Content-Security-Policy is built on nonces: the checkout's scripts carry it."""

from __future__ import annotations

import re
from typing import Any

import django
import pytest
from django.test import Client

from .conftest import add_to_cart, complete_information, complete_shipping
from .test_csp import HEADER, directives

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def nonce_policy(settings: Any) -> None:
    """The site's scripts run by nonce alone ('strict-dynamic' ignores origins)."""
    if django.VERSION >= (6, 0):
        from django.utils.csp import CSP

        settings.SECURE_CSP = {**settings.SECURE_CSP, "script-src": [CSP.NONCE, CSP.STRICT_DYNAMIC]}
    else:
        from csp.constants import NONCE, STRICT_DYNAMIC

        config = settings.CONTENT_SECURITY_POLICY
        settings.CONTENT_SECURITY_POLICY = {
            **config,
            "DIRECTIVES": {**config["DIRECTIVES"], "script-src": [NONCE, STRICT_DYNAMIC]},
        }


def test_every_checkout_script_carries_the_pages_nonce(
    client: Client, shop: Any, nonce_policy: None
) -> None:
    add_to_cart(client)
    complete_information(client)
    complete_shipping(client)
    response = client.get("/checkout/payment/")
    assert response.status_code == 200
    nonces = [s for s in directives(response[HEADER])["script-src"] if s.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    scripts = re.findall(r"<script src=[^>]*>", response.content.decode())
    assert len(scripts) == 2  # checkout.js and Stripe.js
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag
