"""Latency where shoppers wait for the API, on the production server (gthread, pooled).

``critical_path_<endpoint>``: one request at a time, the p50 with every API answer
taking ``CRITICAL_MS`` divided by (the endpoint's API rounds on its critical path x
``CRITICAL_MS`` + its own p50 with 0 ms answers). 1.0 means the shopper waits for
nothing but the rounds that depend on each other (docs/performance.md lists them and
why); a step that made its independent calls one after another would show ~2-3.

``latency_tolerance``: throughput of a checkout mix (information POST, shipping and
payment first visits, pay, place) with ``SLOW_MS`` answers divided by the same mix with
0 ms answers, same server, same connections; its p99 with slow answers must stay under
3 s. With sync workers it is ~0.02: each worker sits blocked on a socket.

Every request is prepared fresh (a new checkout attempt per request, sent once), at the
state a shopper's previous request leaves it: a form POST after its page's GET, pay
after the payment page cached its quote, place with the card authorized.
"""

from __future__ import annotations

import statistics
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from bench import loadgen
from bench.loadgen import Spec
from bench.stack import HOST, PRODUCTION_THREADS, WORKERS
from bench.targets.checks import VIEWS, Check, Context, api_calls, stub_call
from bench.targets.prepared import ADDRESS, RATE, attempts_create, cookie, quotes_shown

if TYPE_CHECKING:
    from bench.run import Mode

CRITICAL_MS = 150.0
SLOW_MS = 300.0
# Connections of the mix: enough to keep 2 workers x 32 threads busy at 300 ms answers.
MIX_CONNECTIONS = 64
WARM_UP = 8
SLICES = 4

# endpoint -> (title, API rounds on its critical path, expected status, marker in body)
ENDPOINTS: dict[str, tuple[str, int, int, bytes]] = {
    "information_first": ("information page, first visit", 1, 200, b'name="email"'),
    "shipping_first": ("shipping page, first visit", 1, 200, b"ups_ground"),
    "payment_first": ("payment page, first visit", 1, 200, b"billing-"),
    "information_post": ("information POST", 0, 302, b""),
    # Checked against the rates its GET showed (cached with the quote): no call.
    "shipping_post": ("shipping POST", 0, 302, b""),
    "payment_post": ("payment POST (billing, SetupIntent)", 1, 200, b"setup_intent_secret"),
    "pay": ("pay POST (PaymentIntent)", 1, 200, b'"authorized"'),
    # POST /orders, then the PaymentIntent is read and captured (issue 16's capture
    # verification): each call needs the answer before it.
    "place": ("place-order POST", 3, 200, b'"placed"'),
}


def _seen(ctx: Context, port: int, specs: list[Spec]) -> None:
    """Send each GET once, as the shopper saw the page before posting its form."""
    for spec in specs:
        status, body = loadgen.send_one(spec, host=HOST, port=port)
        if status != 200:
            raise RuntimeError(f"{spec.path} answered {status} before its POST: {body[:300]!r}")


def _form(ctx: Context, key: str, path: str, fields: dict[str, str]) -> Spec:
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": ctx.csrf, **fields}, quote_via=urllib.parse.quote
    ).encode()
    return Spec(
        "POST",
        path,
        {"Cookie": cookie(key, ctx.csrf), "Content-Type": "application/x-www-form-urlencoded"},
        body,
    )


def endpoint_specs(ctx: Context, mode: Mode, endpoint: str, n: int, port: int) -> list[Spec]:
    """``n`` fresh requests of ``endpoint``, each at the state a shopper would send it from."""
    if endpoint.endswith("_first"):
        step = endpoint.removesuffix("_first")
        return [
            Spec("GET", f"/checkout/{step}/", {"Cookie": cookie(key, ctx.csrf)})
            for key, _ in attempts_create(n, step=step)
        ]
    if endpoint in ("information_post", "shipping_post", "payment_post"):
        step = endpoint.removesuffix("_post")
        pairs = attempts_create(n, step=step)
        path = f"/checkout/{step}/"
        _seen(ctx, port, [Spec("GET", path, {"Cookie": cookie(k, ctx.csrf)}) for k, _ in pairs])
        if step == "information":
            fields = {"email": "ada@example.com", "phone": "+1 512 555 0100", **ADDRESS}
            fields["address1"] = "2 " + ADDRESS["address1"]  # a real change, saved
            return [_form(ctx, key, path, fields) for key, _ in pairs]
        if step == "shipping":
            return [
                _form(ctx, key, path, {"service_code": RATE["service_code"]}) for key, _ in pairs
            ]
        # The payment step's POST as checkout.js sends it before collecting the card.
        return [
            Spec(
                "POST",
                path,
                {
                    "Cookie": cookie(key, ctx.csrf),
                    "X-CSRFToken": ctx.csrf,
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
                b"same_as_shipping=on",
            )
            for key, _ in pairs
        ]
    if endpoint == "pay":
        pairs = attempts_create(n, step="payment")
        quotes_shown(pairs)
        return [_json_post(ctx, key, "/checkout/pay/", PAY_BODY) for key, _ in pairs]
    if endpoint == "place":
        pairs = attempts_create(n, step="payment", authorized=True)
        return [_json_post(ctx, key, "/checkout/place/", b"{}") for key, _ in pairs]
    raise ValueError(endpoint)


PAY_BODY = b'{"payment_method_id": "pm_card_visa"}'


def _json_post(ctx: Context, key: str, path: str, body: bytes) -> Spec:
    headers = {
        "Cookie": cookie(key, ctx.csrf),
        "X-CSRFToken": ctx.csrf,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    return Spec("POST", path, headers, body)


def _one_at_a_time(port: int, specs: list[Spec], expect: int, marker: bytes) -> list[float]:
    times = []
    for spec in specs:
        start = time.perf_counter()
        status, body = loadgen.send_one(spec, host=HOST, port=port)
        times.append((time.perf_counter() - start) * 1000)
        if status != expect or (marker and marker not in body):
            raise RuntimeError(f"{spec.method} {spec.path} answered {status}: {body[:400]!r}")
    return times


def critical_path(endpoint: str) -> Any:
    _title, rounds, expect, marker = ENDPOINTS[endpoint]

    def run(ctx: Context, mode: Mode) -> dict[str, Any]:
        port = ctx.production_port()
        n = 40 if mode.name == "full" else 16  # per speed, in SLICES slices each
        warm = WARM_UP
        fast_specs = endpoint_specs(ctx, mode, endpoint, n + warm, port)
        slow_specs = endpoint_specs(ctx, mode, endpoint, n, port)
        # Warm this view's code in both workers before timing anything.
        _one_at_a_time(port, fast_specs[:warm], expect, marker)
        fast: list[float] = []
        slow: list[float] = []
        before = api_calls(ctx)
        # Fast and slow in alternating slices, so a change in the machine's load during
        # the run weighs on both sides alike (an endpoint of 0 rounds compares two
        # medians of a few ms: two halves let one burst of load decide it).
        for k in range(SLICES):
            part = slice(k * n // SLICES, (k + 1) * n // SLICES)
            fast += _one_at_a_time(port, fast_specs[warm:][part], expect, marker)
            stub_call(ctx, "/_bench/config", {"delay_ms": CRITICAL_MS})
            try:
                slow += _one_at_a_time(port, slow_specs[part], expect, marker)
            finally:
                stub_call(ctx, "/_bench/config", {"delay_ms": 0})
        calls = (api_calls(ctx) - before) / (2 * n)
        own = statistics.median(fast)
        waited = statistics.median(slow)
        floor = rounds * CRITICAL_MS + own
        factor = waited / floor
        return {
            "latency_factor": round(factor, 3),
            "rounds": rounds,
            "api_calls_per_request": round(calls, 2),
            "own_p50_ms": round(own, 1),
            "p50_ms": round(waited, 1),
            "p99_ms": round(loadgen.percentile(slow, 99), 1),
            "requests": 2 * n,
            "summary": (
                f"{factor:.2f}: p50 {waited:.0f} ms with {CRITICAL_MS:.0f} ms answers ÷ "
                f"({rounds} rounds x {CRITICAL_MS:.0f} ms + own {own:.1f} ms); "
                f"{calls:g} API calls per request"
            ),
        }

    return run


MIX = ("information_post", "shipping_first", "payment_first", "pay", "place")


def _mix_specs(ctx: Context, mode: Mode, per_kind: int, port: int) -> list[Spec]:
    kinds = [endpoint_specs(ctx, mode, kind, per_kind, port) for kind in MIX]
    return [spec for group in zip(*kinds, strict=True) for spec in group]


def settle() -> None:
    from bench.run import settle as sync_disks

    sync_disks()


def latency_tolerance(ctx: Context, mode: Mode) -> dict[str, Any]:
    """Throughput of the checkout mix with ``SLOW_MS`` answers over that with 0 ms."""
    port = ctx.production_port()
    seconds = mode.target_s
    rounds = []
    for _ in range(mode.rounds):
        # Generous pools: the fast run serves up to ~350 requests/s of this mix here.
        per_kind = int(seconds * 350 / len(MIX)) + 60
        fast_specs = _mix_specs(ctx, mode, per_kind, port)
        slow_specs = _mix_specs(ctx, mode, per_kind, port)
        settle()
        fast = loadgen.run_wrk(
            fast_specs,
            host=HOST,
            port=port,
            seconds=seconds,
            once=True,
            connections=MIX_CONNECTIONS,
            timeout_s=10,
        )
        time.sleep(mode.cooldown_s)
        stub_call(ctx, "/_bench/config", {"delay_ms": SLOW_MS})
        try:
            slow = loadgen.run_wrk(
                slow_specs,
                host=HOST,
                port=port,
                seconds=seconds,
                once=True,
                connections=MIX_CONNECTIONS,
                timeout_s=10,
            )
        finally:
            stub_call(ctx, "/_bench/config", {"delay_ms": 0})
        for label, result in (("0 ms", fast), (f"{SLOW_MS:.0f} ms", slow)):
            if result.errors:
                raise RuntimeError(
                    f"mix with {label} answers: {result.errors} errors in {result.requests} "
                    f"requests ({result.statuses})"
                )
        rounds.append(
            {
                "fast_rps": round(fast.rps, 1),
                "slow_rps": round(slow.rps, 1),
                "tolerance": round(slow.rps / fast.rps, 3),
                "fast_p50_ms": round(fast.p50_ms, 1),
                "fast_p99_ms": round(fast.p99_ms, 1),
                "p50_ms": round(slow.p50_ms, 1),
                "p99_ms": round(slow.p99_ms, 1),
            }
        )
        time.sleep(mode.cooldown_s)
    middle = sorted(rounds, key=lambda r: r["tolerance"])[len(rounds) // 2]
    return {
        "tolerance": middle["tolerance"],
        "tolerance_min": min(r["tolerance"] for r in rounds),
        "tolerance_max": max(r["tolerance"] for r in rounds),
        "p50_ms": middle["p50_ms"],
        "p99_ms": middle["p99_ms"],
        "server": f"gunicorn gthread, {WORKERS} workers x {PRODUCTION_THREADS} threads, pooled",
        "connections": MIX_CONNECTIONS,
        "rounds": rounds,
        "summary": (
            f"{middle['tolerance']:.2f}: {middle['slow_rps']:.0f} req/s with {SLOW_MS:.0f} ms "
            f"answers ÷ {middle['fast_rps']:.0f} req/s with 0 ms; gthread {WORKERS} x "
            f"{PRODUCTION_THREADS}, {MIX_CONNECTIONS} connections"
        ),
    }


def checks(ctx: Context) -> list[Check]:
    found = [
        Check(
            f"critical_path_{endpoint}",
            f"latency over the critical path: {title}, {CRITICAL_MS:.0f} ms answers",
            {"latency_factor_max": 1.2},
            ctx,
            kind="custom",
            needs=VIEWS,
            url_name="checkout:checkout-information",
            run_fn=critical_path(endpoint),
        )
        for endpoint, (title, _rounds, _status, _marker) in ENDPOINTS.items()
    ]
    found.append(
        Check(
            "latency_tolerance",
            f"latency tolerance: checkout mix, {SLOW_MS:.0f} ms vs 0 ms answers, production server",
            {"tolerance_min": 0.8, "p99_ms_max": 3000},
            ctx,
            kind="custom",
            needs=VIEWS,
            url_name="checkout:checkout-information",
            run_fn=latency_tolerance,
        )
    )
    return found
