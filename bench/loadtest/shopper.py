"""The virtual shopper (a Locust user) and one stage of the rush, run in a child process.

``python -m bench.loadtest.shopper --host URL --stripe URL --users N --seconds S --out F``
starts N shoppers (Locust, headless, from Python), stops them gracefully after S
seconds (each finishes the journey it is in) and writes every request to F as JSON.
Importing Locust monkey-patches the process for gevent, which is why the orchestrator
(``bench.loadtest.__main__``) runs this as a child and never imports it.

A shopper does what a person does, with think time between pages: opens the storefront
and a product, adds it to the cart, fills in the information and shipping steps, and
pays. Some go back a step and choose another rate, some pay first with a card that is
declined (4000000000000341) and then with a good one, some double-click "Place order".
The card itself is made at localstripe as Stripe.js would (a PaymentMethod from the
card number); the server side confirms the PaymentIntent at the pay POST, as in the
bench and the tests. An answer a shopper must be able to get (a decline's 402, the
double click's second answer) counts as a success; anything else is an error.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, task
from locust.clients import ResponseContextManager
from locust.env import Environment

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then the charge is declined
DECLINE_SHARE = 0.10
BACK_BUTTON_SHARE = 0.15
DOUBLE_CLICK_SHARE = 0.15
ADDRESS = {
    "phone": "+1 512 555 0100",
    "name": "Ada Lovelace",
    "address1": "1 Main St",
    "address2": "",
    "city": "Austin",
    "state": "TX",
    "zip": "78701",
    "country": "US",
}
_shopper_numbers = itertools.count(1)


class _Fields(HTMLParser):
    """The checked radio buttons, other inputs' values, product links and the csrf token."""

    def __init__(self) -> None:
        super().__init__()
        self.checked: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.values: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/products/"):
            self.links.append(a["href"])
        if tag != "input" or not a.get("name"):
            return
        if a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a.get("value", ""))
            if "checked" in a:
                self.checked[a["name"]] = a.get("value", "")
        elif "disabled" not in a:
            self.values[a["name"]] = a.get("value", "")


def parse(html: str) -> _Fields:
    fields = _Fields()
    fields.feed(html)
    return fields


class Shopper(HttpUser):
    """One shopper, one journey per task, think time between pages."""

    stripe_url = ""
    # localstripe makes PaymentMethods only with a secret key (Stripe.js uses the
    # publishable one): any sk_ key is accepted.
    stripe_key = "sk_test_sandbox"
    think = (1.0, 3.0)
    journeys = 0
    placed = 0

    def wait_time(self) -> float:
        return random.uniform(*self.think)

    def on_start(self) -> None:
        self.number = next(_shopper_numbers)
        # One address per shopper for the rate limiter (the stack trusts one proxy hop).
        self.client.headers["X-Forwarded-For"] = (
            f"10.{self.number // 250 % 250}.{self.number % 250}.7"
        )

    def pause(self) -> None:
        gevent.sleep(self.wait_time())

    # --- requests --------------------------------------------------------------------
    def _cookies_over_http(self) -> None:
        """Send the site's Secure cookies over the stack's plain http, as a browser behind
        the TLS proxy would (the production settings keep SESSION/CSRF_COOKIE_SECURE).
        A cookie policy would not do: requests merges cookies into a jar of its own."""
        for cookie in self.client.cookies:
            cookie.secure = False

    def _check(self, r: ResponseContextManager, ok: tuple[int, ...], marker: str = "") -> None:
        if r.status_code not in ok:
            r.failure(f"{r.status_code}: {r.text[:200]!r}")
        elif marker and marker not in r.text:
            r.failure(f"{r.status_code} without {marker!r}: {r.text[:200]!r}")
        else:
            r.success()

    def get(self, path: str, step: str, marker: str = "") -> str:
        self._cookies_over_http()
        with self.client.get(path, name=step, catch_response=True, allow_redirects=False) as r:
            self._check(r, (200,), marker)
            return str(r.text)

    def form(self, path: str, step: str, data: dict[str, str], to: str) -> bool:
        self._cookies_over_http()
        data = {**data, "csrfmiddlewaretoken": self.csrf()}
        with self.client.post(
            path, data=data, name=step, catch_response=True, allow_redirects=False
        ) as r:
            location = r.headers.get("Location", "")
            if r.status_code == 302 and location == to:
                r.success()
                return True
            r.failure(f"{r.status_code} to {location!r}, not {to!r}: {r.text[:200]!r}")
            return False

    def ajax(
        self, path: str, step: str, body: Any, ok: tuple[int, ...], *, form: bool = False
    ) -> tuple[int, dict[str, Any]]:
        self._cookies_over_http()
        headers = {"X-CSRFToken": self.csrf(), "Accept": "application/json"}
        kwargs: dict[str, Any] = {"data": body} if form else {"json": body}
        with self.client.post(path, name=step, headers=headers, catch_response=True, **kwargs) as r:
            self._check(r, ok)
            try:
                data = r.json()
            except ValueError:
                data = {}
            return int(r.status_code), data if isinstance(data, dict) else {}

    def csrf(self) -> str:
        for cookie in self.client.cookies:
            if cookie.name.endswith("csrftoken"):
                return str(cookie.value)
        return ""

    def card(self, number: str) -> str:
        """Make a PaymentMethod at localstripe, as Stripe.js does in the shopper's browser."""
        with self.client.post(
            f"{self.stripe_url}/v1/payment_methods",
            name="card at Stripe.js (localstripe)",
            data={
                "type": "card",
                "card[number]": number,
                "card[exp_month]": "12",
                "card[exp_year]": "2034",
                "card[cvc]": "123",
            },
            headers={"Authorization": f"Bearer {self.stripe_key}"},
            catch_response=True,
        ) as r:
            self._check(r, (200,))
            return str(r.json().get("id", "")) if r.status_code == 200 else ""

    # --- the journey -----------------------------------------------------------------
    @task
    def journey(self) -> None:
        if not self.shop():
            return
        self.pause()
        self.get("/cart/", "cart", "/checkout/")
        self.pause()
        self.get("/checkout/information/", "information", 'name="email"')
        self.pause()
        info = {"email": f"shopper{self.number}@example.com", **ADDRESS}
        if not self.form("/checkout/information/", "information POST", info, "/checkout/shipping/"):
            return
        if not self.choose_rate():
            return
        if random.random() < BACK_BUTTON_SHARE:
            # Back to the shipping page, another rate, forward again.
            self.pause()
            if not self.choose_rate():
                return
        self.pause()
        self.get("/checkout/payment/", "payment", "billing-")
        self.pause()
        status, _ = self.ajax(
            "/checkout/payment/", "payment POST", {"same_as_shipping": "on"}, (200,), form=True
        )
        if status != 200:
            return
        if not self.pay():
            return
        self.place()

    def shop(self) -> bool:
        page = parse(self.get("/", "storefront", "/products/"))
        for path in random.sample(page.links, min(3, len(page.links))):
            self.pause()
            fields = parse(self.get(path, "product", "attr_"))
            choice = {name: fields.checked.get(name, "") for name in fields.radios}
            if not choice or not all(choice.values()):
                continue  # no option in stock: look at another product
            self.pause()
            data = {**choice, "quantity": "1", "csrfmiddlewaretoken": self.csrf()}
            self._cookies_over_http()
            with self.client.post(
                path, data=data, name="add to cart", catch_response=True, allow_redirects=False
            ) as r:
                if r.status_code == 302:
                    r.success()
                    return True
                if r.status_code == 400 and "sold out" in r.text:
                    r.success()  # sold out since the page was shown: an honest answer
                    continue
                r.failure(f"{r.status_code}: {r.text[:200]!r}")
                return False
        return False

    def choose_rate(self) -> bool:
        rates = parse(self.get("/checkout/shipping/", "shipping", "service_code")).radios
        codes = rates.get("service_code", [])
        if not codes:
            return False
        self.pause()
        return self.form(
            "/checkout/shipping/",
            "shipping POST",
            {"service_code": random.choice(codes)},
            "/checkout/payment/",
        )

    def pay(self) -> bool:
        if random.random() < DECLINE_SHARE:
            method = self.card(DECLINED_CARD)
            status, _ = self.ajax("/checkout/pay/", "pay", {"payment_method_id": method}, (402,))
            if status != 402:
                return False
            self.pause()  # reads the message, types another card
        method = self.card(GOOD_CARD)
        status, data = self.ajax("/checkout/pay/", "pay", {"payment_method_id": method}, (200,))
        return status == 200 and data.get("status") == "authorized"

    def place(self) -> None:
        if random.random() < DOUBLE_CLICK_SHARE:
            # The second click arrives while the first is in flight: each may answer
            # placed, pending, or that the checkout is gone; together, one order.
            either = (200, 202, 404, 409)
            clicks = [
                gevent.spawn(self.ajax, "/checkout/place/", "place", {}, either),
                gevent.spawn(self.ajax, "/checkout/place/", "place (double click)", {}, either),
            ]
            gevent.joinall(clicks)
            answers = [c.value for c in clicks if c.value]
        else:
            answers = [self.ajax("/checkout/place/", "place", {}, (200, 202))]
        redirects = [d["redirect"] for s, d in answers if s in (200, 202) and d.get("redirect")]
        if not redirects:
            self.environment.events.request.fire(
                request_type="POST",
                name="place",
                response_time=0,
                response_length=0,
                exception=RuntimeError(f"no click was placed: {answers!r}"),
            )
            return
        Shopper.placed += 1
        self.get(redirects[0], "confirmation")
        Shopper.journeys += 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run one stage and return its requests and counts."""
    Shopper.stripe_url = args.stripe.rstrip("/")
    Shopper.think = (args.think_min, args.think_max)
    env = Environment(user_classes=[Shopper], host=args.host, stop_timeout=args.drain)
    samples: list[dict[str, Any]] = []

    def record(
        request_type: str, name: str, response_time: float, exception: Any = None, **kw: Any
    ) -> None:
        at = kw.get("start_time") or time.time() - response_time / 1000
        samples.append(
            {
                "at": at,
                "step": name,
                "ms": response_time,
                "ok": exception is None,
                "error": str(exception)[:300] if exception else "",
            }
        )

    env.events.request.add_listener(record)
    runner = env.create_local_runner()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    gevent.sleep(args.seconds)
    runner.stop()
    runner.quit()
    return {"samples": samples, "journeys": Shopper.journeys, "placed": Shopper.placed}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest.shopper")
    parser.add_argument("--host", required=True)
    parser.add_argument("--stripe", required=True, help="localstripe's base URL")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to finish journeys")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    Path(args.out).write_text(json.dumps(run(args)))


if __name__ == "__main__":
    main()
