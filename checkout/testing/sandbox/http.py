"""The HTTP face of the sandbox: server, router, auth, rate limits, envelope, the API routes.

The control API (``/_sandbox``) is ``control.ControlRoutes``; requests and their
parameters are ``request``.

``ThreadingHTTPServer`` runs one thread per connection. Each request passes, in order:
route faults (``/_sandbox/faults``), key lookup (401), rate limit (429), scope (403), then
the handler. Handlers return ``(status, data, pagination)`` or raise ``ApiError``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from checkout.testing.sandbox.config import KeySpec, SandboxConfig
from checkout.testing.sandbox.control import ControlRoutes
from checkout.testing.sandbox.faults import (
    RateLimiter,
    RouteFaults,
    WebhookFaults,
)
from checkout.testing.sandbox.payments import PaymentGateway
from checkout.testing.sandbox.records import ApiError, parse_iso
from checkout.testing.sandbox.request import (
    API,
    HangUp,
    RawBody,
    Request,
    Result,
    body_int,
    body_str,
    int_param,
    path_int,
)
from checkout.testing.sandbox.store import Store
from checkout.testing.sandbox.webhooks import WebhookHub
from checkout.testing.servers import is_loopback

logger = logging.getLogger(__name__)

COMMERCE = "/commerce-api/v1"
CONTROL = "/_sandbox"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


Handler = Callable[[Request], Result]


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    scope: str | None  # None: any valid key; "control": no key, loopback only; "public"
    path: str = ""  # as registered, "{name}" placeholders included


class SandboxApp(ControlRoutes):
    """Routes and handlers, bound to one store, hub, gateway and fault set."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.route_faults = RouteFaults()
        self.webhook_faults = WebhookFaults(config.seed)
        self.limiter = RateLimiter()
        self.hub = WebhookHub(
            self.webhook_faults, config.webhook_timeout, config.webhook_reorder_hold
        )
        self.store = Store(config, self.hub)
        self.gateway = PaymentGateway(config)
        self.base_url = config.public_url
        self.requests_served = 0
        self._counter_lock = threading.Lock()
        self.routes: list[Route] = []
        self._register()

    # --- routing ---------------------------------------------------------------------
    def add(self, method: str, path: str, handler: Handler, scope: str | None) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
        self.routes.append(Route(method, re.compile(f"^{regex}/?$"), handler, scope, path))

    def _register(self) -> None:
        a = self.add
        a("GET", f"{API}/products", self.products_list, "catalog:read")
        a("GET", f"{API}/products/{{product_id}}", self.product_get, "catalog:read")
        a("GET", f"{API}/categories", self.categories_list, "catalog:read")
        a("GET", f"{API}/orders", self.orders_list, "orders:read")
        a("POST", f"{API}/orders", self.order_create, "orders:write")
        a("GET", f"{API}/orders/{{order_id}}", self.order_get, "orders:read")
        a("PATCH", f"{API}/orders/{{order_id}}/status", self.order_status, "orders:write")
        a("POST", f"{API}/orders/{{order_id}}/tracking", self.order_tracking, "orders:write")
        a("POST", f"{API}/webhooks", self.webhook_create, "webhooks:manage")
        a("GET", f"{API}/webhooks", self.webhook_list, "webhooks:manage")
        a("DELETE", f"{API}/webhooks/{{webhook_id}}", self.webhook_delete, "webhooks:manage")
        a(
            "GET",
            f"{API}/webhooks/{{webhook_id}}/deliveries",
            self.webhook_deliveries,
            "webhooks:manage",
        )
        a("POST", f"{COMMERCE}/cart", self.cart_create, None)
        a("GET", f"{COMMERCE}/cart/{{cart_id}}", self.cart_get, None)
        a("POST", f"{COMMERCE}/cart/{{cart_id}}/items", self.cart_add, None)
        a("PATCH", f"{COMMERCE}/cart/{{cart_id}}/items/{{item_id}}", self.cart_update, None)
        a("DELETE", f"{COMMERCE}/cart/{{cart_id}}/items/{{item_id}}", self.cart_remove, None)
        a("POST", f"{COMMERCE}/checkout/shipping-rates", self.shipping_rates, None)
        a("POST", f"{COMMERCE}/checkout/calculate-tax", self.calculate_tax, None)
        a("POST", f"{COMMERCE}/checkout/validate-promo", self.validate_promo, None)
        a("POST", f"{COMMERCE}/checkout/validate-gift-card", self.validate_gift_card, None)
        a("GET", f"{CONTROL}/images/{{sku}}.svg", self.image, "public")
        a("GET", CONTROL, self.control_index, "control")
        a("GET", f"{CONTROL}/health", self.health, "control")
        a("GET", f"{CONTROL}/state", self.state, "control")
        a("GET", f"{CONTROL}/emails", self.customer_emails, "control")
        a("POST", f"{CONTROL}/reset", self.reset, "control")
        a("GET", f"{CONTROL}/faults", self.faults_list, "control")
        a("POST", f"{CONTROL}/faults", self.fault_add, "control")
        a("DELETE", f"{CONTROL}/faults", self.faults_clear, "control")
        a("POST", f"{CONTROL}/faults/webhooks", self.webhook_faults_set, "control")
        a("POST", f"{CONTROL}/faults/orders/drop-after-create", self.fault_drop_orders, "control")
        a("POST", f"{CONTROL}/orders/{{order_id}}/advance", self.order_advance, "control")
        a("POST", f"{CONTROL}/keys", self.key_add, "control")
        a("DELETE", f"{CONTROL}/keys/{{key}}", self.key_revoke, "control")
        a("POST", f"{CONTROL}/gift-cards", self.gift_card_add, "control")
        a("POST", f"{CONTROL}/clock", self.clock_set, "control")
        a("POST", f"{CONTROL}/latency", self.latency_set, "control")
        a("POST", f"{CONTROL}/stock", self.stock_set, "control")

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                path_known = True
                if route.method == method:
                    return route, found.groupdict(), True
        return None, {}, path_known

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def paginate(req: Request, items: list[Any]) -> Result:
        page = int_param(req.query, "page", 1)
        per_page = min(MAX_PER_PAGE, int_param(req.query, "per_page", DEFAULT_PER_PAGE))
        total = len(items)
        total_pages = max(1, -(-total // per_page)) if total else 0
        chunk = items[(page - 1) * per_page : page * per_page]
        pagination = {
            "total": total,
            "page": page,
            "per_page": per_page,
            "total_pages": total_pages,
        }
        return 200, chunk, pagination

    # --- catalog -----------------------------------------------------------------------
    def products_list(self, req: Request) -> Result:
        items = self.store.list_products(
            self.base_url,
            req.query.get("category"),
            req.query.get("brand"),
            req.query.get("search") or req.query.get("q"),
        )
        return self.paginate(req, items)

    def product_get(self, req: Request) -> Result:
        return 200, self.store.get_product(path_int(req, "product_id"), self.base_url), None

    def categories_list(self, req: Request) -> Result:
        return 200, self.store.list_categories(), None

    # --- carts and checkout helpers --------------------------------------------------
    def cart_create(self, req: Request) -> Result:
        return 201, self.store.create_cart(self.base_url), None

    def cart_get(self, req: Request) -> Result:
        return 200, self.store.get_cart(req.params["cart_id"], self.base_url), None

    def cart_add(self, req: Request) -> Result:
        body = req.json()
        variant_id = body_int(body, "variant_id", minimum=1)
        quantity = body_int(body, "quantity", minimum=1, default=1)
        cart = self.store.add_item(req.params["cart_id"], variant_id, quantity, self.base_url)
        return 201, cart, None

    def cart_update(self, req: Request) -> Result:
        quantity = body_int(req.json(), "quantity", minimum=0)
        item_id = path_int(req, "item_id")
        return (
            200,
            self.store.update_item(req.params["cart_id"], item_id, quantity, self.base_url),
            None,
        )

    def cart_remove(self, req: Request) -> Result:
        item_id = path_int(req, "item_id")
        return 200, self.store.remove_item(req.params["cart_id"], item_id, self.base_url), None

    def shipping_rates(self, req: Request) -> Result:
        body = req.json()
        cart_id = body_str(body, "cart_id")
        address = body.get("address")
        if not isinstance(address, dict):
            raise ApiError(
                422,
                "validation_error",
                "address is required.",
                fields={"address": ["This field is required and must be an object."]},
            )
        return 200, self.store.shipping_rates(cart_id, address), None

    def calculate_tax(self, req: Request) -> Result:
        body = req.json()
        cart_id = body_str(body, "cart_id")
        state = body_str(body, "shipping_state")
        country = str(body.get("shipping_country") or "US")
        promo = body.get("promo_code")
        email = str(body.get("email") or "")
        data = self.store.calculate_tax(
            cart_id, state, country, promo if isinstance(promo, str) else None, email
        )
        return 200, data, None

    def validate_promo(self, req: Request) -> Result:
        body = req.json()
        cart_id = body_str(body, "cart_id")
        code = body_str(body, "code")
        email = str(body.get("email") or "")
        return 200, self.store.validate_promo(cart_id, code, email), None

    def validate_gift_card(self, req: Request) -> Result:
        code = body_str(req.json(), "code")
        return 200, self.store.validate_gift_card(code), None

    # --- orders ------------------------------------------------------------------------
    def order_create(self, req: Request) -> Result:
        data = self.store.place_order(
            req.api_key, req.json(), self.base_url, self.gateway.verify_and_capture
        )
        return 201, data, None

    def order_get(self, req: Request) -> Result:
        return 200, self.store.get_order(path_int(req, "order_id"), req.api_key), None

    def orders_list(self, req: Request) -> Result:
        since = None
        if req.query.get("updated_since"):
            try:
                since = parse_iso(req.query["updated_since"])
            except ValueError as exc:
                raise ApiError(
                    422,
                    "validation_error",
                    "updated_since must be ISO 8601.",
                    fields={"updated_since": ["Enter an ISO 8601 date-time."]},
                ) from exc
        orders = self.store.list_orders(
            req.api_key, req.query.get("status"), req.query.get("cart_id"), since
        )
        return self.paginate(req, orders)

    def order_status(self, req: Request) -> Result:
        status = body_str(req.json(), "status")
        data = self.store.change_status(
            path_int(req, "order_id"), req.api_key, status, self.gateway.refund
        )
        return 200, data, None

    def order_tracking(self, req: Request) -> Result:
        body = req.json()
        errors = {
            name: ["This field is required."]
            for name in ("tracking_number", "carrier")
            if not isinstance(body.get(name), str) or not body[name].strip()
        }
        if errors:
            raise ApiError(422, "validation_error", "Tracking is not valid.", fields=errors)
        data = self.store.set_tracking(
            path_int(req, "order_id"),
            req.api_key,
            body["tracking_number"].strip(),
            body["carrier"].strip(),
        )
        return 200, data, None

    # --- webhooks ------------------------------------------------------------------------
    def webhook_create(self, req: Request) -> Result:
        body = req.json()
        url = body.get("url")
        events = body.get("events")
        errors: dict[str, list[str]] = {}
        if not isinstance(url, str) or not _webhook_url_ok(url):
            errors["url"] = ["Use an https:// URL (http:// only for loopback hosts)."]
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e for e in events)
        ):
            errors["events"] = ['Give a non-empty list of event names, or ["*"].']
        if errors:
            raise ApiError(422, "validation_error", "The webhook is not valid.", fields=errors)
        assert isinstance(url, str)
        assert isinstance(events, list)
        sub = self.hub.subscribe(url, [str(e) for e in events], req.api_key.is_test)
        return 201, {**_sub_dict(sub), "secret": sub.secret}, None

    def _undocumented_route(self) -> None:
        """GET /webhooks and DELETE /webhooks/{id} are [ours]: absent when documented."""
        if self.config.documented:
            raise ApiError(404, "not_found", "No resource at this path.")

    def webhook_list(self, req: Request) -> Result:
        self._undocumented_route()
        return 200, [_sub_dict(s) for s in self.hub.subscriptions()], None

    def _sub(self, req: Request) -> Any:
        sub = self.hub.get(path_int(req, "webhook_id"))
        if sub is None:
            raise ApiError(404, "webhook_not_found", "No webhook with this id.")
        return sub

    def webhook_delete(self, req: Request) -> Result:
        self._undocumented_route()
        sub = self._sub(req)
        self.hub.delete(sub.id)
        return 200, {"id": sub.id, "deleted": True}, None

    def webhook_deliveries(self, req: Request) -> Result:
        return 200, self.hub.deliveries(self._sub(req)), None

    # --- control API -------------------------------------------------------------------
    def image(self, req: Request) -> Result:
        found = self.store.variant_image(req.params["sku"])
        if found is None:
            raise ApiError(404, "image_not_found", "No image for this SKU.")
        name, color = found
        return 200, RawBody(_svg(name, color, req.params["sku"]), "image/svg+xml"), None


def _webhook_url_ok(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback(parts.hostname)


def _sub_dict(sub: Any) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "events": list(sub.events),
        "active": sub.active,
        "created_at": sub.created_at.isoformat(timespec="seconds"),
    }


def _svg(name: str, color: str, sku: str) -> bytes:
    from html import escape

    from checkout.testing.sandbox.seed import COLOR_HEX

    fill = COLOR_HEX.get(color, "#8899aa")
    text = escape(name)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">'
        '<rect width="400" height="400" fill="#f4f6f8"/>'
        f'<rect x="130" y="60" width="140" height="260" rx="22" fill="{fill}" '
        'stroke="#333" stroke-width="4"/>'
        f'<text x="200" y="355" font-family="sans-serif" font-size="18" text-anchor="middle">'
        f"{text}</text>"
        f'<text x="200" y="380" font-family="monospace" font-size="12" text-anchor="middle" '
        f'fill="#666">{escape(sku)}</text></svg>'
    ).encode()


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """One request: faults, auth, rate limit, scope, handler, JSON answer."""

    protocol_version = "HTTP/1.1"
    server_version = "SpectraSandbox/1.0"
    # Headers and body go out in two writes; with Nagle on, each answer on a kept-alive
    # connection waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def _handle(self, method: str) -> None:
        app = self.server.app
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        extra_headers: dict[str, str] = {}
        drop_after = False
        try:
            route, params, path_known = app.match(method, path)
            control = path.startswith(CONTROL + "/")
            if not control:
                delay = app.config.answer_delay()
                if delay:
                    time.sleep(delay)
                fault = app.route_faults.take(method, path)
                if fault is not None:
                    drop_after = self._apply_fault(fault)
            if route is None:
                if path_known:
                    raise ApiError(405, "method_not_allowed", "Method not allowed here.")
                raise ApiError(404, "not_found", "No resource at this path.")
            key: KeySpec | None = None
            if route.scope == "control":
                if not is_loopback(self.client_address[0]):
                    raise ApiError(403, "forbidden", "The control API is loopback-only.")
            elif route.scope != "public":
                key = self._authenticate()
                decision = app.limiter.check(key.key, key.limits)
                if decision is not None:
                    extra_headers.update(decision.headers)
                    if not decision.allowed:
                        raise ApiError(
                            429,
                            "rate_limited",
                            f"Rate limit exceeded; retry in {decision.retry_after} s.",
                            headers=decision.headers,
                        )
                if route.scope is not None and route.scope not in key.scopes:
                    raise ApiError(
                        403, "insufficient_scope", f"This key lacks the {route.scope} scope."
                    )
            request = Request(
                method,
                path,
                query,
                body,
                dict(self.headers.items()),
                params,
                key,
                self.client_address[0],
            )
            status, data, pagination = route.handler(request)
            if not control:
                with app._counter_lock:
                    app.requests_served += 1
            if drop_after:
                raise HangUp
            if isinstance(data, RawBody):
                self._send(status, data.content, data.content_type, extra_headers)
                return
            envelope: dict[str, Any] = {"success": True, "data": data}
            if pagination is not None:
                envelope["pagination"] = pagination
            self._send_json(status, envelope, extra_headers)
        except HangUp:
            self._hang_up()
        except ApiError as err:
            if drop_after:
                self._hang_up()
                return
            extra_headers.update(err.headers)
            self._send_json(err.status, err.body(), extra_headers)
        except Exception:
            logger.exception("sandbox handler failed for %s %s", method, path)
            self._send_json(
                500,
                {"success": False, "error": {"code": "internal_error", "message": "Bug."}},
                extra_headers,
            )

    def _apply_fault(self, fault: Any) -> bool:
        """Apply a route fault; return True when the answer must be dropped afterwards."""
        logger.info("fault %s on %s %s", fault.action, self.command, self.path)
        if fault.action == "error":
            raise ApiError(fault.status, "sandbox_fault", "Injected server error (sandbox fault).")
        if fault.action == "rate_limit":
            headers = {
                "Retry-After": str(fault.retry_after),
                "X-RateLimit-Limit": "0",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(time.time()) + fault.retry_after),
            }
            raise ApiError(
                429, "rate_limited", "Rate limit exceeded (sandbox fault).", headers=headers
            )
        if fault.action == "hang":
            time.sleep(fault.seconds)
            if fault.then == "close":
                raise HangUp
            return False
        return fault.action == "drop_after_process"

    def _authenticate(self) -> KeySpec:
        auth = self.headers.get("Authorization", "")
        secret = ""
        if auth.lower().startswith("bearer "):
            secret = auth[7:].strip()
        secret = secret or (self.headers.get("X-API-Key") or "").strip()
        if not secret:
            raise ApiError(401, "authentication_required", "Send an API key.")
        key = self.server.app.store.key(secret)
        if key is None:
            raise ApiError(401, "invalid_api_key", "The API key is invalid or revoked.")
        return key

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, content: bytes, ctype: str, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(content)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, config: SandboxConfig) -> None:
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), SandboxRequestHandler)
        host, port = str(self.server_address[0]), int(self.server_address[1])
        if not config.public_url:
            shown = f"[{host}]" if ":" in str(host) else str(host)
            config.public_url = f"http://{shown}:{port}"
        self.app = SandboxApp(config)


def make_server(config: SandboxConfig) -> SandboxHTTPServer:
    """Bind the sandbox (port 0 picks a free one; read ``server.server_address``)."""
    return SandboxHTTPServer(config)
