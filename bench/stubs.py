"""A fast stub of the Spectra API and of Stripe, for measuring our own overhead.

It is not the sandbox: the sandbox is for correctness (state machines, faults, auth);
this stub answers the endpoints the benchmark targets touch with canned JSON, in about
0 ms or after a configurable delay (``POST /_bench/config {"delay_ms": 300}``, and
``"jitter_ms"`` for up to that much more at random), so a run can check that capacity
then follows workers x concurrency / latency.

Carts are derived from their id, so any process can make one without asking the stub:
``bench-L<n>-<anything>`` is a cart with ``n`` lines (default 3). Orders and
PaymentIntents created through the stub are remembered in memory so that retrieve calls
answer consistently. ``GET /_bench/stats`` gives call counts per route.

Run alone: ``python -m bench.stubs --port 8801``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import threading
import time
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/api/v1"
COMMERCE = "/commerce-api/v1"
TAX_RATE = Decimal("0.0825")
CENT = Decimal("0.01")

RATES = [
    ("UPS", "Ground", "ups_ground", "8.99", 5),
    ("FedEx", "Express Saver", "fedex_express_saver", "14.99", 3),
    ("UPS", "2nd Day Air", "ups_2day", "21.50", 2),
    ("FedEx", "Priority Overnight", "fedex_priority_overnight", "39.00", 1),
]


def cart_lines(cart_id: str) -> int:
    """Return how many lines the cart with this id has (``bench-L<n>-...``, else 3)."""
    found = re.match(r"bench-L(\d+)-", cart_id)
    return int(found.group(1)) if found else 3


def cart_payload(cart_id: str) -> dict[str, Any]:
    """Return the API cart object for ``cart_id``."""
    items = []
    subtotal = Decimal(0)
    for n in range(cart_lines(cart_id)):
        unit = (Decimal(199) + Decimal(n * 10) + Decimal("0.99")).quantize(CENT)
        qty = 1 + n % 2
        line = unit * qty
        subtotal += line
        items.append(
            {
                "id": 1000 + n,
                "variant_id": 500 + n,
                "sku": f"SKU-{n:04d}",
                "name": f"Refurbished phone model {n}",
                "unit_price": float(unit),
                "quantity": qty,
                "line_total": float(line),
                "image_url": "",
                "attributes": {"color": "Black", "storage": "128GB", "condition": "Good"},
            }
        )
    return {
        "id": cart_id,
        "items": items,
        "subtotal": float(subtotal),
        "item_count": sum(i["quantity"] for i in items),
    }


def _money(value: Decimal) -> float:
    return float(value.quantize(CENT))


class StubState:
    """In-memory orders, PaymentIntents and call counters, shared by handler threads."""

    def __init__(self, delay_ms: float = 0.0, jitter_ms: float = 0.0) -> None:
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms  # up to this much more per answer, uniformly at random
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.orders: dict[int, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.ids = itertools.count(1)

    def next_id(self) -> int:
        with self.lock:
            return next(self.ids)


def _address(data: dict[str, Any] | None) -> dict[str, Any]:
    return dict(data or {})


def order_payload(state: StubState, body: dict[str, Any]) -> dict[str, Any]:
    """Create an order for a ``POST /orders`` body (totals computed like the API)."""
    cart = cart_payload(str(body.get("cart_id", "")))
    method = body.get("shipping_method") or {}
    shipping = Decimal(str(method.get("cost", "8.99")))
    subtotal = Decimal(str(cart["subtotal"]))
    tax = (subtotal * TAX_RATE).quantize(CENT)
    grand = subtotal + shipping + tax
    number = state.next_id() + 100000
    billing = _address(body.get("billing"))
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    order = {
        "id": number,
        "order_number": f"ORD-20260101-{number}",
        "status": "pending",
        "payment_status": "captured",
        "is_test": True,
        "cart_id": cart["id"],
        "email": billing.get("email", ""),
        "billing": billing,
        "shipping": _address(body.get("shipping")),
        "shipping_method": method,
        "items": [
            {
                "id": i["id"],
                "sku": i["sku"],
                "name": i["name"],
                "quantity": i["quantity"],
                "unit_price": i["unit_price"],
                "line_total": i["line_total"],
                "variant_id": i["variant_id"],
            }
            for i in cart["items"]
        ],
        "subtotal": _money(subtotal),
        "shipping_total": _money(shipping),
        "discount_total": 0.0,
        "tax_total": _money(tax),
        "gift_card_total": 0.0,
        "grand_total": _money(grand),
        "amount_charged": _money(grand),
        "promo_code": "",
        "tracking_number": "",
        "shipping_carrier": "",
        "payment": dict(body.get("payment") or {}),
        "created_at": now,
        "updated_at": now,
    }
    with state.lock:
        state.orders[number] = order
    return order


def synthetic_order(order_id: int) -> dict[str, Any]:
    """Return an order the stub never created (the benchmark seeds orders in the DB)."""
    return {
        "id": order_id,
        "order_number": f"ORD-20260101-{order_id}",
        "status": "pending",
        "payment_status": "captured",
        "is_test": True,
        "grand_total": 218.05,
        "items": [],
        "email": "shopper@example.com",
        "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
    }


def payment_intent(state: StubState, form: dict[str, str]) -> dict[str, Any]:
    """Create a PaymentIntent from Stripe's form-encoded create parameters."""
    pi_id = f"pi_bench{state.next_id():010d}"
    metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
    pi = {
        "id": pi_id,
        "object": "payment_intent",
        "amount": int(form.get("amount", "0")),
        "currency": form.get("currency", "usd"),
        "capture_method": form.get("capture_method", "manual"),
        "client_secret": f"{pi_id}_secret_bench",
        "metadata": metadata,
        "payment_method": form.get("payment_method"),
        "payment_method_types": ["card"],
        "status": "requires_capture" if form.get("confirm") == "true" else "requires_confirmation",
        "livemode": False,
        "created": int(time.time()),
        "next_action": None,
        "last_payment_error": None,
    }
    with state.lock:
        state.payment_intents[pi_id] = pi
    return pi


class Handler(BaseHTTPRequestHandler):
    """Route one request to a canned answer."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    server: StubServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    # --- plumbing ---------------------------------------------------------------
    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _ok(self, data: Any, status: int = 200, **extra: Any) -> None:
        self._send(status, {"success": True, "data": data, **extra})

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        path = url.path.rstrip("/")
        raw = self._body()
        if path.startswith("/_bench"):
            self._control(method, path, raw)
            return
        if state.delay_ms or state.jitter_ms:
            jitter = random.uniform(0, state.jitter_ms) if state.jitter_ms else 0.0
            time.sleep((state.delay_ms + jitter) / 1000)
        route = re.sub(
            r"/(\d+|bench-[^/]+|pi_[A-Za-z0-9]+|pm_[A-Za-z0-9_]+|seti_\w+)", "/{id}", path
        )
        with state.lock:
            state.calls[f"{method} {route}"] += 1
        try:
            if path.startswith("/v1/"):
                self._stripe(method, path, raw)
            else:
                self._spectra(method, path, url.query, raw)
        except (ValueError, KeyError) as err:
            self._send(
                400, {"success": False, "error": {"code": "bad_request", "message": str(err)}}
            )

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # --- control ---------------------------------------------------------------
    def _control(self, method: str, path: str, raw: bytes) -> None:
        state = self.server.state
        if path == "/_bench/config" and method == "POST":
            body = json.loads(raw or b"{}")
            state.delay_ms = float(body.get("delay_ms", state.delay_ms))
            state.jitter_ms = float(body.get("jitter_ms", state.jitter_ms))
            self._send(200, {"delay_ms": state.delay_ms, "jitter_ms": state.jitter_ms})
        elif path == "/_bench/stats":
            with state.lock:
                self._send(
                    200,
                    {
                        "calls": dict(state.calls),
                        "delay_ms": state.delay_ms,
                        "jitter_ms": state.jitter_ms,
                    },
                )
        elif path == "/_bench/reset" and method == "POST":
            with state.lock:
                state.calls.clear()
                state.orders.clear()
                state.payment_intents.clear()
            self._send(200, {"ok": True})
        else:
            self._send(404, {"error": "unknown control route"})

    # --- Spectra -----------------------------------------------------------------
    def _spectra(self, method: str, path: str, query: str, raw: bytes) -> None:
        state = self.server.state
        body: dict[str, Any] = json.loads(raw) if raw else {}
        parts = path.split("/")
        if path.startswith(COMMERCE + "/cart"):
            if path == COMMERCE + "/cart" and method == "POST":
                cart_id = f"bench-L3-{state.next_id()}"
            else:
                cart_id = parts[4]
            self._ok(cart_payload(cart_id), status=201 if method == "POST" else 200)
        elif path == COMMERCE + "/checkout/shipping-rates":
            self._ok(
                [
                    {
                        "carrier": c,
                        "service": s,
                        "service_code": code,
                        "price": float(price),
                        "estimated_delivery": time.strftime(
                            "%Y-%m-%d", time.gmtime(time.time() + days * 86400)
                        ),
                        "transit_days": days,
                    }
                    for c, s, code, price, days in RATES
                ]
            )
        elif path == COMMERCE + "/checkout/calculate-tax":
            subtotal = Decimal(str(cart_payload(str(body.get("cart_id", "")))["subtotal"]))
            self._ok({"tax_amount": _money(subtotal * TAX_RATE), "tax_rate": float(TAX_RATE)})
        elif path == COMMERCE + "/checkout/validate-promo":
            self._ok(
                {
                    "valid": True,
                    "code": body.get("code", ""),
                    "discount_amount": 10.0,
                    "free_shipping": False,
                    "message": "10 off",
                }
            )
        elif path == COMMERCE + "/checkout/validate-gift-card":
            self._ok({"valid": True, "balance": 25.0, "status": "active"})
        elif path == API + "/orders" and method == "POST":
            self._ok(order_payload(state, body), status=201)
        elif path == API + "/orders" and method == "GET":
            params = parse_qs(query)
            cart_id = params.get("cart_id", [""])[0]
            with state.lock:
                found = [o for o in state.orders.values() if o["cart_id"] == cart_id]
            pagination = {"total": len(found), "page": 1, "per_page": 25, "total_pages": 1}
            self._ok(found, pagination=pagination)
        elif re.fullmatch(API + r"/orders/\d+", path):
            order_id = int(parts[4])
            with state.lock:
                order = state.orders.get(order_id)
            self._ok(order or synthetic_order(order_id))
        elif re.fullmatch(API + r"/orders/\d+/(status|tracking)", path):
            order_id = int(parts[4])
            with state.lock:
                order = dict(state.orders.get(order_id) or synthetic_order(order_id))
            order.update(body)
            self._ok(order)
        elif path in (API + "/products", API + "/categories"):
            self._ok([], pagination={"total": 0, "page": 1, "per_page": 25, "total_pages": 0})
        else:
            self._send(404, {"success": False, "error": {"code": "not_found", "message": path}})

    # --- Stripe ------------------------------------------------------------------
    def _stripe(self, method: str, path: str, raw: bytes) -> None:
        state = self.server.state
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        parts = path.split("/")
        if path == "/v1/payment_intents" and method == "POST":
            self._send(200, payment_intent(state, form))
        elif path.startswith("/v1/payment_intents/"):
            pi_id = parts[3]
            with state.lock:
                pi = state.payment_intents.get(pi_id)
                if pi is None:
                    # Prepared by the benchmark: pi_benchc<amount in cents>x<anything>.
                    found = re.match(r"pi_benchc(\d+)x", pi_id)
                    pi = {
                        "id": pi_id,
                        "object": "payment_intent",
                        "amount": int(found.group(1)) if found else 0,
                        "currency": "usd",
                        "status": "requires_capture",
                        "capture_method": "manual",
                        "client_secret": f"{pi_id}_secret_bench",
                        "metadata": {},
                    }
                    state.payment_intents[pi_id] = pi
                action = parts[4] if len(parts) > 4 else ""
                if action == "cancel":
                    pi["status"] = "canceled"
                elif action == "capture":
                    pi["status"] = "succeeded"
                elif method == "POST" and "amount" in form:
                    pi["amount"] = int(form["amount"])
                answer = dict(pi)
            self._send(200, answer)
        elif path == "/v1/setup_intents" and method == "POST":
            seti = f"seti_bench{state.next_id():010d}"
            self._send(
                200,
                {
                    "id": seti,
                    "object": "setup_intent",
                    "client_secret": f"{seti}_secret_bench",
                    "status": "requires_payment_method",
                    "usage": "off_session",
                },
            )
        elif path.startswith("/v1/payment_methods"):
            pm_id = parts[3] if len(parts) > 3 else f"pm_bench{state.next_id()}"
            self._send(
                200,
                {
                    "id": pm_id,
                    "object": "payment_method",
                    "type": "card",
                    "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
                },
            )
        else:
            self._send(404, {"error": {"type": "invalid_request_error", "message": path}})


class StubServer(ThreadingHTTPServer):
    """The threaded stub server with its shared state."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: StubState) -> None:
        super().__init__(address, Handler)
        self.state = state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8801)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = StubServer(
        (args.host, args.port), StubState(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms)
    )
    print(f"bench stub listening on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
