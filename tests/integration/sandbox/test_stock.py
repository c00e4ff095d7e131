"""``POST /_sandbox/stock``: a load test restocks the catalog; sold-out variants stay so."""

from __future__ import annotations

import pytest
import requests

from checkout.testing.servers import SandboxProcess

from .helpers import Client

pytestmark = pytest.mark.integration


def _variants(api: Client) -> list[dict[str, object]]:
    variants: list[dict[str, object]] = []
    for page in range(1, 100):
        products = api.get("/api/v1/products", params={"page": page}).json()["data"]
        if not products:
            return variants
        variants += [v for p in products for v in p["variants"]]
    raise AssertionError("the catalog does not end")


def test_restock_gives_every_variant_in_stock_the_quantity(
    sandbox: SandboxProcess, api: Client
) -> None:
    before = _variants(api)
    sold_out = {v["id"] for v in before if v["quantity_available"] == 0}
    assert sold_out
    answer = requests.post(
        f"{sandbox.control_base}/stock", json={"quantity_available": 5000}, timeout=5
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["variants"] == len(before) - len(sold_out)
    after = {v["id"]: v["quantity_available"] for v in _variants(api)}
    assert all(after[i] == 0 for i in sold_out)
    assert {q for i, q in after.items() if i not in sold_out} == {5000}


@pytest.mark.parametrize("body", [{"quantity_available": 0}, {"quantity_available": "many"}, {}])
def test_restock_refuses_a_quantity_that_is_not_one_or_more(
    sandbox: SandboxProcess, body: dict[str, object]
) -> None:
    answer = requests.post(f"{sandbox.control_base}/stock", json=body, timeout=5)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
