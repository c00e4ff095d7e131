"""The benchmark's own logic: the stub's answers parse as the client expects, and the
pass/fail rules are the ones docs/performance.md states (no server, no database)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bench import stubs
from bench.loadgen import Spec, percentile
from bench.run import FULL, SMOKE, judge, markdown_table
from checkout.services.spectra.results import Cart, Order


def test_stub_cart_has_the_lines_its_id_asks_for_and_parses():
    cart = Cart.from_api(stubs.cart_payload("bench-L50-abc"))
    assert len(cart.items) == 50
    assert cart.subtotal == sum(i.line_total for i in cart.items)
    assert len(Cart.from_api(stubs.cart_payload("some-other-id")).items) == 3


def test_stub_order_totals_follow_the_api_rules():
    state = stubs.StubState()
    body = {
        "cart_id": "bench-L3-x",
        "billing": {"email": "a@example.com"},
        "shipping_method": {"cost": 8.99},
        "payment": {"method": "stripe", "gateway_id": "pi_1"},
    }
    order = Order.from_api(stubs.order_payload(state, body))
    assert order.subtotal is not None
    assert order.shipping_total is not None
    assert order.tax_total is not None
    assert order.grand_total == order.subtotal + order.shipping_total + order.tax_total
    assert order.shipping_total == Decimal("8.99")
    assert order.payment_intent_id == "pi_1"


def test_stub_payment_intent_keeps_amount_and_confirmation():
    pi = stubs.payment_intent(
        stubs.StubState(), {"amount": "71150", "confirm": "true", "metadata[checkout_attempt]": "a"}
    )
    assert (pi["amount"], pi["status"]) == (71150, "requires_capture")
    assert pi["metadata"] == {"checkout_attempt": "a"}


def test_raw_request_has_length_and_closes():
    raw = Spec("POST", "/x/", {"Content-Type": "application/json"}, b"{}").raw("127.0.0.1", 80)
    assert raw.startswith(b"POST /x/ HTTP/1.1\r\nHost: 127.0.0.1:80\r\n")
    assert b"Content-Length: 2\r\n" in raw
    assert raw.endswith(b"Connection: close\r\n\r\n{}")


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([], 99) == 0


def entry(ratio: float, **extra):
    return {"ratio_median": ratio, "goal": {"ratio_min": 0.15}, **extra}


def test_full_run_fails_below_goal_and_below_baseline():
    baseline = {"targets": {"page": {"ratio_min": 0.30}}}
    assert judge("page", entry(0.16), FULL, {}) == []
    assert judge("page", entry(0.14), FULL, {})  # below the goal
    # Above the goal but below 0.8 x baseline: a regression.
    failed = entry(0.20)
    assert judge("page", failed, FULL, baseline)
    assert failed["met"] is False


def test_smoke_run_fails_only_below_half_the_goal_and_ignores_baseline():
    baseline = {"targets": {"page": {"ratio_min": 0.30}}}
    assert judge("page", entry(0.08), SMOKE, baseline) == []
    assert judge("page", entry(0.07), SMOKE, baseline)


def test_a_goal_relative_to_a_floor_fails_below_it_or_when_the_floor_is_missing():
    goal = {"floor": "post_place_floor", "floor_ratio_min": 0.5}
    assert judge("post_place", {"floor_ratio": 0.55, "goal": goal}, FULL, {}) == []
    assert judge("post_place", {"floor_ratio": 0.45, "goal": goal}, FULL, {})
    assert judge("post_place", {"floor_ratio": 0.26, "goal": goal}, SMOKE, {}) == []
    assert judge("post_place", {"goal": goal}, FULL, {}) == [
        "post_place: its floor post_place_floor was not measured"
    ]


def test_latency_loss_memory_and_query_goals():
    e2e: dict[str, Any] = {"p95_ms": 1500, "lost": 0, "doubled": 1}
    e2e["goal"] = {"p95_ms_max": 2000, "lost": 0, "doubled": 0}
    assert judge("webhook_email", e2e, FULL, {}) == ["webhook_email: doubled 1 > 0"]
    memory = {"growth": 0.06, "goal": {"growth_max": 0.05}}
    assert judge("worker_memory", memory, FULL, {})
    assert judge("worker_memory", memory, SMOKE, {}) == []
    queries = {"equal": False, "counts": {"small": 4, "large": 53}, "goal": {"equal": True}}
    assert judge("queries_pages", queries, SMOKE, {})


def test_table_lists_every_target_and_what_was_left_out():
    results = {
        "date": "2026-01-01 00:00 UTC",
        "command": "make bench",
        "mode": "full",
        "duration_s": 600,
        "machine": {"cpus": 2, "cpu": "cpu", "memory_gib": 4},
        "versions": {"django": "5.2"},
        "targets": {
            "page": {
                "title": "information page GET",
                "generator": "wrk",
                "ratio_median": 0.2,
                "ratio_min": 0.18,
                "ratio_max": 0.22,
                "rps_median": 400,
                "hello_rps_median": 2000,
                "p50_ms": 30,
                "p99_ms": 80,
                "goal": {"ratio_min": 0.15},
                "met": True,
            }
        },
        "queries": {},
        "skipped": ["post_pay (checkout.views missing)"],
    }
    table = markdown_table(results)
    assert "| information page GET | 0.200 (0.180-0.220) |" in table
    assert "post_pay (checkout.views missing)" in table


def test_a_target_that_errored_is_a_failure_and_shows_in_the_table():
    broken = {"error": "RuntimeError: probe answered 500", "goal": {"ratio_min": 0.15}}
    judge("page", broken, FULL, {})
    assert broken["met"] is False
    results = {
        "date": "d",
        "command": "make bench",
        "mode": "full",
        "duration_s": 1,
        "machine": {"cpus": 2, "cpu": "cpu", "memory_gib": 4},
        "versions": {},
        "targets": {"page": {"title": "information page GET", **broken}},
        "queries": {"q": {"title": "queries", "error": "boom", "goal": {}}},
        "skipped": [],
    }
    table = markdown_table(results)
    assert "ERROR: RuntimeError: probe answered 500" in table
    assert "| queries | — | — | ERROR |" in table


def test_prepared_sessions_keep_their_keys_in_a_cache_only_session_engine(settings):
    # A site may keep sessions in the cache alone (Django's cache engine); a prepared
    # shopper's session must be found under the key their cookie carries.
    from importlib import import_module

    from bench.targets.prepared import sessions_create

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    key = "k" * 32
    assert sessions_create([{"checkout_attempt": "a-1"}], keys=[key]) == [key]
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
    assert store.get("checkout_attempt") == "a-1"
    assert store.session_key == key


def test_disk_stall_reads_the_full_line_of_io_pressure(monkeypatch):
    from bench import run

    class Pressure:
        def __init__(self, path):
            assert str(path) == "/proc/pressure/io"

        def read_text(self):
            return (
                "some avg10=1.45 avg60=3.61 avg300=2.15 total=80567144\n"
                "full avg10=0.88 avg60=2.97 avg300=1.75 total=57250040\n"
            )

    monkeypatch.setattr(run, "Path", Pressure)
    assert run.io_stalled_ms() == 57250.04

    class Missing:
        def __init__(self, path):
            pass

        def read_text(self):
            raise FileNotFoundError("/proc/pressure/io")

    monkeypatch.setattr(run, "Path", Missing)
    assert run.io_stalled_ms() is None


def test_critical_path_and_latency_tolerance_goals_and_their_smoke_halves():
    path = {"latency_factor": 1.3, "goal": {"latency_factor_max": 1.2}}
    assert judge("critical_path_pay", path, FULL, {}) == [
        "critical_path_pay: 1.30x its critical path > 1.2x"
    ]
    assert path["met"] is False
    assert judge("critical_path_pay", {**path, "latency_factor": 1.15}, FULL, {}) == []
    assert judge("critical_path_pay", {**path, "latency_factor": 2.3}, SMOKE, {}) == []
    assert judge("critical_path_pay", {**path, "latency_factor": 2.5}, SMOKE, {})
    tolerance = {
        "tolerance": 0.7,
        "p99_ms": 2500,
        "goal": {"tolerance_min": 0.8, "p99_ms_max": 3000},
    }
    assert judge("latency_tolerance", tolerance, FULL, {}) == [
        "latency_tolerance: latency tolerance 0.70 < 0.80"
    ]
    assert judge("latency_tolerance", tolerance, SMOKE, {}) == []
    assert judge("latency_tolerance", {**tolerance, "tolerance": 0.9, "p99_ms": 3500}, FULL, {})


def test_every_latency_figure_of_issue_18_is_a_target_after_the_regression_guards():
    from bench.targets import RUN_ORDER
    from bench.targets.latency import ENDPOINTS

    names = [f"critical_path_{e}" for e in ENDPOINTS]
    assert set(ENDPOINTS) == {
        "information_first",
        "shipping_first",
        "payment_first",
        "information_post",
        "shipping_post",
        "payment_post",
        "pay",
        "place",
    }
    assert RUN_ORDER[-len(names) - 1 :] == (*names, "latency_tolerance")
    assert RUN_ORDER.index("floor_one_write") == len(RUN_ORDER) - len(names) - 2
