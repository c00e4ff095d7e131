"""checkout.csp: the checkout's pages allow Stripe.js, alone or within the site's own policy.

Responses go through the real host middlewares: django-csp 4 (a dev dependency, on every
supported Django) and, on Django 6, Django's own ``ContentSecurityPolicyMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django
import pytest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.test import RequestFactory
from django.utils.module_loading import import_string

from checkout.csp import checkout_csp, checkout_policy, extended

HEADER = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"
NO_HOST_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]


def directives(policy: str) -> dict[str, list[str]]:
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def django_csp_settings(policy: dict[str, Any], report_only: dict[str, Any] | None) -> dict:
    return {
        "CONTENT_SECURITY_POLICY": {"DIRECTIVES": policy} if policy else None,
        "CONTENT_SECURITY_POLICY_REPORT_ONLY": {"DIRECTIVES": report_only} if report_only else None,
    }


def django_settings(policy: dict[str, Any], report_only: dict[str, Any] | None) -> dict:
    return {"SECURE_CSP": policy, "SECURE_CSP_REPORT_ONLY": report_only or {}}


HOSTS = [pytest.param(("csp.middleware.CSPMiddleware", django_csp_settings), id="django-csp")]
if django.VERSION >= (6, 0):
    HOSTS.append(
        pytest.param(
            ("django.middleware.csp.ContentSecurityPolicyMiddleware", django_settings),
            id="django",
        )
    )

Host = Callable[..., HttpResponseBase]


@pytest.fixture(params=HOSTS)
def host(request: pytest.FixtureRequest, settings: Any) -> Host:
    """Serve a view through the site's CSP middleware, configured with the given policy."""
    path, configure = request.param

    def serve(
        view: Callable[[HttpRequest], HttpResponseBase],
        policy: dict[str, Any],
        report_only: dict[str, Any] | None = None,
    ) -> HttpResponseBase:
        settings.MIDDLEWARE = [*NO_HOST_MIDDLEWARE, path]
        for name, value in configure(policy, report_only).items():
            setattr(settings, name, value)
        middleware = import_string(path)(view)
        return middleware(RequestFactory().get("/page/"))

    return serve


@pytest.fixture(autouse=True)
def stripe(settings: Any) -> None:
    settings.CHECKOUT_STRIPE_JS_URL = "https://js.stripe.com/v3/"
    settings.CHECKOUT_STRIPE_API_BASE = None
    settings.CHECKOUT_SPECTRA_API_BASE = "https://api.spectradiag.com/api/v1"
    settings.CHECKOUT_CSP_IMG_SOURCES = ()


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<!doctype html><title>page</title>")


checkout_page = checkout_csp(page)

SITE_POLICY = {
    "default-src": ["'self'", "https://cdn.example.com"],
    "style-src": ["'self'", "https://fonts.example.com"],
    "frame-ancestors": ["'none'"],
    "report-uri": ["/csp-report/"],
}


def test_without_a_site_policy_the_checkout_allows_stripe_and_nothing_else(settings: Any) -> None:
    settings.MIDDLEWARE = NO_HOST_MIDDLEWARE
    response = checkout_page(RequestFactory().get("/checkout/payment/"))
    policy = directives(response[HEADER])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", "https://js.stripe.com"]
    assert policy["frame-src"] == ["https://js.stripe.com", "https://hooks.stripe.com"]
    assert policy["connect-src"] == ["'self'", "https://js.stripe.com", "https://api.stripe.com"]
    assert policy["img-src"] == ["'self'", "data:", "https://api.spectradiag.com"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    everything = " ".join(" ".join(v) for v in policy.values())
    assert "unsafe" not in everything
    assert "*" not in everything


def test_the_payment_element_may_load_stripe_js_subdomains(settings: Any) -> None:
    settings.MIDDLEWARE = NO_HOST_MIDDLEWARE
    settings.CHECKOUT_PAYMENT_UI = "payment_element"
    response = checkout_page(RequestFactory().get("/checkout/payment/"))
    policy = directives(response[HEADER])
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert policy["frame-src"] == [
        "https://js.stripe.com",
        "https://*.js.stripe.com",
        "https://hooks.stripe.com",
    ]
    assert policy["connect-src"] == ["'self'", "https://js.stripe.com", "https://api.stripe.com"]


def test_with_localstripe_its_origin_takes_stripes_places(settings: Any) -> None:
    settings.CHECKOUT_STRIPE_JS_URL = "http://127.0.0.1:8420/js.stripe.com/v3/"
    settings.CHECKOUT_STRIPE_API_BASE = "http://127.0.0.1:8420"
    settings.CHECKOUT_CSP_IMG_SOURCES = ("https://images.example.com",)
    policy = checkout_policy()
    assert policy["script-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert policy["frame-src"] == ["http://127.0.0.1:8420"]
    assert policy["connect-src"] == ["'self'", "http://127.0.0.1:8420"]
    assert policy["img-src"] == [
        "'self'",
        "data:",
        "https://api.spectradiag.com",
        "https://images.example.com",
    ]
    assert "stripe.com" not in str(policy)


def test_without_a_site_policy_other_pages_get_none(settings: Any) -> None:
    settings.MIDDLEWARE = NO_HOST_MIDDLEWARE
    assert HEADER not in page(RequestFactory().get("/about/"))


def test_the_checkout_extends_the_sites_policy(host: Host) -> None:
    policy = directives(host(checkout_page, SITE_POLICY)[HEADER])
    # Directives the site left to default-src start from it, then allow Stripe.
    assert policy["script-src"] == ["'self'", "https://cdn.example.com", "https://js.stripe.com"]
    assert policy["connect-src"] == [
        "'self'",
        "https://cdn.example.com",
        "https://js.stripe.com",
        "https://api.stripe.com",
    ]
    assert policy["frame-src"][-2:] == ["https://js.stripe.com", "https://hooks.stripe.com"]
    assert policy["img-src"][-1] == "https://api.spectradiag.com"
    # The site's own directives stay as they are.
    assert policy["default-src"] == ["'self'", "https://cdn.example.com"]
    assert policy["style-src"] == ["'self'", "https://fonts.example.com"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["report-uri"] == ["/csp-report/"]


def test_the_sites_other_pages_keep_the_sites_policy(host: Host) -> None:
    policy = directives(host(page, SITE_POLICY)[HEADER])
    assert "script-src" not in policy
    assert "stripe" not in str(policy)
    assert policy["default-src"] == ["'self'", "https://cdn.example.com"]


def test_a_report_only_policy_is_extended_too(host: Host) -> None:
    report_only = {"default-src": ["'self'"], "script-src": ["'self'"]}
    response = host(checkout_page, SITE_POLICY, report_only)
    assert directives(response[REPORT_ONLY])["script-src"] == ["'self'", "https://js.stripe.com"]
    assert "https://js.stripe.com" in directives(response[HEADER])["script-src"]
    assert "stripe" not in host(page, SITE_POLICY, report_only)[REPORT_ONLY]


def test_a_site_that_only_reports_still_gets_the_checkouts_policy_enforced(host: Host) -> None:
    response = host(checkout_page, {}, {"default-src": ["'self'"]})
    assert directives(response[HEADER])["script-src"] == ["'self'", "https://js.stripe.com"]
    assert directives(response[REPORT_ONLY])["script-src"] == ["'self'", "https://js.stripe.com"]


def test_a_header_the_view_set_is_kept(host: Host) -> None:
    def own(request: HttpRequest) -> HttpResponse:
        response = page(request)
        response[HEADER] = "default-src 'none'"
        return response

    assert host(checkout_csp(own), SITE_POLICY)[HEADER] == "default-src 'none'"


def test_json_responses_get_nothing_from_the_checkout(host: Host, settings: Any) -> None:
    api = checkout_csp(lambda request: JsonResponse({"ok": True}))
    assert "stripe" not in host(api, SITE_POLICY)[HEADER]
    settings.MIDDLEWARE = NO_HOST_MIDDLEWARE
    assert HEADER not in api(RequestFactory().get("/api/"))


def test_extending_keeps_nonces_and_drops_none() -> None:
    nonce = object()  # each middleware's nonce sentinel is its own object
    policy = {
        "default-src": ["'none'"],
        "script-src": ["'self'", nonce],
        "script-src-elem": ["'self'"],
        "frame-src": ["'none'"],
    }
    result = extended(policy, {"script-src": ["https://js.stripe.com"], "frame-src": ["https://f"]})
    assert result["script-src"] == ["'self'", nonce, "https://js.stripe.com"]
    assert result["script-src-elem"] == ["'self'", "https://js.stripe.com"]
    assert result["frame-src"] == ["https://f"]
    assert result["default-src"] == ["'none'"]


def test_directives_the_site_leaves_unrestricted_stay_unrestricted() -> None:
    policy = {"frame-ancestors": ["'none'"], "child-src": ["'self'"]}
    result = extended(policy, {"script-src": ["https://js.stripe.com"], "frame-src": ["https://f"]})
    assert "script-src" not in result  # no default-src: every script is allowed already
    assert result["frame-src"] == ["'self'", "https://f"]  # frame-src falls back to child-src
