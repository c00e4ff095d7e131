"""A merchant's own site for the test client: its own home page and product page, the
checkout mounted under ``checkout/`` as docs/install.md says, no demo catalog."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

PRODUCT_PAGE = engines["django"].from_string(
    "{% load checkout_tags %}<h1>Merchant product</h1>"
    "{% checkout_add_to_cart variant_id next=request.get_full_path %}"
    '{% checkout_add_to_cart sku=sku label="Buy by SKU" show_quantity=False %}'
)


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Merchant home")


def product(request: HttpRequest, variant_id: int) -> HttpResponse:
    sku = request.GET.get("sku", "")
    return HttpResponse(PRODUCT_PAGE.render({"variant_id": variant_id, "sku": sku}, request))


urlpatterns = [
    path("", home, name="home"),
    path("mine/<int:variant_id>/", product, name="merchant-product"),
    path("checkout/", include("checkout.urls")),
]
