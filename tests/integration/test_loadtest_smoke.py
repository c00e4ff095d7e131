"""``make loadtest LOADTEST_ARGS=--smoke``: the sale-day rush's smoke mode runs the whole
stack (production gunicorn, sandbox at 150 ms, localstripe, Celery), every shopper
completes its journey without an error, and the books balance. About a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent.parent


def _server_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT'] or 5432}/postgres"


@pytest.mark.timeout(240)
def test_the_smoke_rush_completes_journeys_and_balances_the_books(tmp_path: Path) -> None:
    results = tmp_path / "loadtest-smoke.json"
    env = {
        **os.environ,
        "DATABASE_URL": _server_url(),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench.loadtest", "--smoke", "--results", str(results)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=230,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = json.loads(results.read_text())
    (stage,) = summary["stages"]
    assert stage["errors"] == 0
    assert stage["holds"]
    assert stage["journeys"] > 0
    steps = {s["step"] for s in stage["steps"]}
    assert {"storefront", "add to cart", "information POST", "pay", "place"} <= steps
    ledger = summary["ledger"]
    assert summary["ledger_problems"] == []
    assert ledger["orders"] == ledger["stripe_captured"] == ledger["sandbox_captures"] > 0
    assert ledger["confirmation_emails"] == ledger["orders"]
