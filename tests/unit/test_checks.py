"""System checks fire on the bad configuration they name, and stay quiet on a good one."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from django.core import checks
from django.test import override_settings

GOOD = {
    "CHECKOUT_SPECTRA_API_KEY": "spk_test_abc",
    "CHECKOUT_SPECTRA_API_BASE": "https://api.spectradiag.com/api/v1",
    "CHECKOUT_SPECTRA_COMMERCE_BASE": "https://api.spectradiag.com/commerce-api/v1",
    "CHECKOUT_STRIPE_SECRET_KEY": "sk_test_abc",
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_test_abc",
    "CHECKOUT_STRIPE_API_BASE": None,
    "CHECKOUT_WEBHOOK_SECRET": "whsec_x",
    "CHECKOUT_SITE_URL": "https://shop.example.com",
    "DEBUG": False,
}


def ids(overrides: Mapping[str, object] | None = None, *, deploy: bool = False) -> set[str]:
    with override_settings(**{**GOOD, **(overrides or {})}):
        found = checks.run_checks(include_deployment_checks=deploy)
    return {m.id for m in found if m.id and m.id.startswith("checkout.")}


def test_good_configuration_is_clean() -> None:
    assert ids() == set()
    assert ids(deploy=True) == set()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"CHECKOUT_SPECTRA_API_KEY": "sk_live_wrong_vendor"}, "checkout.E002"),
        ({"CHECKOUT_SPECTRA_API_KEY": "spk_live_abc", "DEBUG": True}, "checkout.W001"),
        ({"CHECKOUT_SPECTRA_API_BASE": "api.spectradiag.com"}, "checkout.E003"),
        ({"CHECKOUT_STRIPE_SECRET_KEY": "pk_test_swapped"}, "checkout.E006"),
        ({"CHECKOUT_STRIPE_PUBLISHABLE_KEY": "sk_test_swapped"}, "checkout.E007"),
        ({"CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_live_abc"}, "checkout.E008"),
        (
            {
                "CHECKOUT_RATE_LIMITS": {
                    "promo": ("ten per minute",),
                    "gift_card": (),
                    "pay": (),
                    "place": (),
                }
            },
            "checkout.E020",
        ),
        ({"CHECKOUT_RATE_LIMITS": {"promo": ("10/m session",)}}, "checkout.W022"),
        ({"CHECKOUT_EMAIL_KINDS": ("confirmation", "returned")}, "checkout.E022"),
        ({"CHECKOUT_SHIPPING_COUNTRIES": ()}, "checkout.E023"),
        ({"CHECKOUT_SHIPPING_COUNTRIES": ("US", "USA")}, "checkout.E026"),
        ({"CHECKOUT_SHIPPING_COUNTRIES": ("XX",)}, "checkout.E026"),
        ({"CHECKOUT_ALLOWED_COUNTRIES": ("US",)}, "checkout.E027"),
        ({"CHECKOUT_CURRENCY": "EUR"}, "checkout.W020"),
        ({"CHECKOUT_CAPTURE_BY": "stripe"}, "checkout.E040"),
        ({"CHECKOUT_EMAIL_SENDER": {"confirmation": "both"}}, "checkout.E041"),
        ({"CHECKOUT_EMAIL_SENDER": {"returned": "app"}}, "checkout.E041"),
        (
            {
                "CHECKOUT_STRIPE_SECRET_KEY": "sk_live_a",
                "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_live_a",
            },
            "checkout.W002",
        ),
    ],
)
def test_each_check_fires_on_its_bad_setting(overrides: dict[str, object], expected: str) -> None:
    assert expected in ids(overrides)


def test_live_key_without_debug_is_fine() -> None:
    assert "checkout.W001" not in ids(
        {
            "CHECKOUT_SPECTRA_API_KEY": "spk_live_abc",
            "CHECKOUT_STRIPE_SECRET_KEY": "sk_live_a",
            "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_live_a",
        }
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"CHECKOUT_SPECTRA_API_BASE": "http://api.spectradiag.com/api/v1"}, "checkout.E010"),
        ({"CHECKOUT_STRIPE_API_BASE": "http://127.0.0.1:8420"}, "checkout.W010"),
        ({"CHECKOUT_WEBHOOK_SECRET": ""}, "checkout.W011"),
        ({"CHECKOUT_SITE_URL": "http://shop.example.com"}, "checkout.W012"),
        # Missing keys never stop migrate, runserver or the host site's tests.
        ({"CHECKOUT_SPECTRA_API_KEY": ""}, "checkout.E001"),
        ({"CHECKOUT_STRIPE_SECRET_KEY": ""}, "checkout.E004"),
        ({"CHECKOUT_STRIPE_PUBLISHABLE_KEY": ""}, "checkout.E005"),
    ],
)
def test_deploy_checks_fire_only_with_deploy(overrides: dict[str, object], expected: str) -> None:
    assert expected not in ids(overrides)
    assert expected in ids(overrides, deploy=True)


def test_a_site_without_any_keys_passes_the_ordinary_checks() -> None:
    keys = {
        "CHECKOUT_SPECTRA_API_KEY": "",
        "CHECKOUT_STRIPE_SECRET_KEY": "",
        "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "",
    }
    assert ids(keys) == set()
    assert {"checkout.E001", "checkout.E004", "checkout.E005"} <= ids(keys, deploy=True)


def test_messages_never_contain_the_key() -> None:
    secret = "spk_live_SUPERSECRET123"
    with override_settings(**{**GOOD, "CHECKOUT_SPECTRA_API_KEY": secret, "DEBUG": True}):
        found = checks.run_checks(include_deployment_checks=True)
    assert all(secret not in f"{m.msg} {m.hint}" for m in found)


def test_every_check_is_documented_for_merchants() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    source = (root / "checkout" / "checks.py").read_text()
    guide = (root / "docs" / "install.md").read_text()
    ids = set(re.findall(r'id="(checkout\.[EW]\d{3})"', source))
    assert len(ids) >= 19
    # Pairs share a row: "`checkout.E004` / `E005`".
    missing = {i for i in ids if f"`{i}`" not in guide and f"`{i.split('.')[1]}`" not in guide}
    assert not missing, f"add to docs/install.md: {sorted(missing)}"


def test_a_scope_missing_from_the_sites_limits_keeps_its_default_rules() -> None:
    """A scope added in an upgrade is limited by its defaults, not an error that stops
    ``migrate`` on a site that set its own CHECKOUT_RATE_LIMITS before the scope existed."""
    from checkout.ratelimit import rate_limit_rules

    site_limits = {"promo": ("5/10m session",), "gift_card": (), "pay": (), "place": ()}
    with override_settings(CHECKOUT_RATE_LIMITS=site_limits):
        assert len(rate_limit_rules("promo")) == 1  # the site's own rule
        assert rate_limit_rules("order_lookup")  # the default rules, not ImproperlyConfigured
        assert rate_limit_rules("pay") == ()  # the site's own choice (off) stands
        ids = {m.id for m in checks.run_checks() if m.id and m.id.startswith("checkout.")}
    assert "checkout.W022" in ids
    assert not any(i.startswith("checkout.E02") for i in ids)
