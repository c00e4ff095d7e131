"""Catalog, paging, envelope and authentication/authorization against the running sandbox."""

from __future__ import annotations

import pytest
import requests

from checkout.testing.servers import SandboxProcess

from .helpers import CABLE, Client

pytestmark = pytest.mark.integration


def test_products_are_paginated(api: Client) -> None:
    first = api.get("/api/v1/products").json()
    assert first["success"] is True
    total = first["pagination"]["total"]
    assert 12 <= total <= 20
    assert first["pagination"] == {"total": total, "page": 1, "per_page": 25, "total_pages": 1}

    page = api.get("/api/v1/products", params={"per_page": 5, "page": 2}).json()
    assert [p["id"] for p in page["data"]] == [6, 7, 8, 9, 10]
    assert page["pagination"]["total_pages"] == -(-total // 5)
    assert api.get("/api/v1/products", params={"page": 99}).json()["data"] == []
    clamped = api.get("/api/v1/products", params={"per_page": 500}).json()["pagination"]
    assert clamped["per_page"] == 100
    assert api.get("/api/v1/products", params={"page": 0}).status_code == 422


def test_product_shape_and_images(api: Client, sandbox: SandboxProcess) -> None:
    products = api.get("/api/v1/products", params={"per_page": 100}).json()["data"]
    variants = [v for p in products for v in p["variants"]]
    assert max(len(p["variants"]) for p in products) >= 20
    assert any(v["quantity_available"] == 0 for v in variants)
    assert any(v["price"] < 10 for v in variants)
    assert len({v["sku"] for v in variants}) == len(variants)
    product = api.get("/api/v1/products/1").json()["data"]
    assert {"id", "name", "slug", "description", "category", "brand", "variants"} <= set(product)
    variant = product["variants"][0]
    assert isinstance(variant["id"], int)
    assert set(variant["attributes"]) == {"color", "storage", "condition", "carrier"}
    assert {"sku", "price", "compare_at_price", "quantity_available", "weight_oz"} <= set(variant)
    image = requests.get(variant["image_url"], timeout=5)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/svg+xml"
    assert variant["image_url"].startswith(sandbox.base_url)
    categories = api.get("/api/v1/categories").json()["data"]
    assert {c["slug"] for c in categories} >= {"phones", "tablets", "accessories"}
    assert api.get("/api/v1/products/999").status_code == 404


def test_both_key_headers_work(sandbox: SandboxProcess) -> None:
    for header in ("bearer", "x-api-key"):
        response = Client(sandbox, sandbox.test_key, header).get("/api/v1/categories")
        assert response.status_code == 200


@pytest.mark.parametrize("key", [None, "spk_test_nope", "sk_test_sandbox"])
def test_missing_or_bad_key_is_401(sandbox: SandboxProcess, key: str | None) -> None:
    for path in ("/api/v1/products", "/commerce-api/v1/cart"):
        response = (
            Client(sandbox, key).get(path)
            if "products" in path
            else Client(sandbox, key).post(path)
        )
        assert response.status_code == 401
        body = response.json()
        assert body["success"] is False
        assert body["error"]["code"] in {"authentication_required", "invalid_api_key"}
        assert (key or "spk_") not in body["error"]["message"]


def test_missing_scope_is_403_and_revoked_key_401(sandbox: SandboxProcess) -> None:
    added = requests.post(
        f"{sandbox.control_base}/keys",
        json={"key": "spk_test_catalog_only", "scopes": ["catalog:read"]},
        timeout=5,
    )
    assert added.status_code == 201
    reader = Client(sandbox, "spk_test_catalog_only")
    assert reader.get("/api/v1/products").status_code == 200
    assert reader.post("/commerce-api/v1/cart").status_code == 201
    for response in (reader.get("/api/v1/orders"), reader.post("/api/v1/orders", json={})):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "insufficient_scope"
    assert reader.get("/api/v1/webhooks").status_code == 403
    requests.delete(f"{sandbox.control_base}/keys/spk_test_catalog_only", timeout=5)
    assert reader.get("/api/v1/products").status_code == 401


def test_error_classes(api: Client) -> None:
    malformed = api.post(
        "/commerce-api/v1/cart/x/items",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_json"
    assert api.post("/api/v1/orders", data=b"[1, 2]").status_code == 400
    assert api.get("/api/v1/nothing-here").status_code == 404
    assert api.get("/commerce-api/v1/cart/00000000-0000-0000-0000-000000000000").status_code == (
        404
    )
    cart = api.cart()
    bad_variant = api.post(
        f"/commerce-api/v1/cart/{cart['id']}/items", json={"variant_id": 1, "quantity": 1}
    )
    assert bad_variant.status_code == 422
    assert "variant_id" in bad_variant.json()["error"]["fields"]
    too_many = api.post(
        f"/commerce-api/v1/cart/{cart['id']}/items", json={"variant_id": CABLE, "quantity": 10**6}
    )
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "insufficient_stock"
