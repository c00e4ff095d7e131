"""The offline demo end to end: ``python -m checkout.demo`` as a person runs it.

Start the demo on free ports with its own var/ folder and Redis database 13, buy a phone
in Chromium with 4242424242424242, ship the order as the warehouse would (the sandbox's
control API), read the confirmation and shipped emails it wrote, then Ctrl-C it and check
that every process it started is gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests
from playwright.sync_api import Browser

from checkout.testing.celery_worker import email_parts, read_sent_emails
from checkout.testing.servers import DEFAULT_TEST_KEY, free_port
from tests.browser.shopper import GOOD_CARD, expect_confirmation, go_to_payment, pay, type_card

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
BROKER_URL = os.environ.get("DEMO_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
READY = "Press Ctrl-C to stop everything."


@dataclass
class Demo:
    process: subprocess.Popen[str]
    site_url: str
    sandbox_url: str
    var_dir: Path
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread take the last lines
                pytest.fail(f"the demo exited ({self.process.returncode}):\n{self.output}")
            time.sleep(0.1)
        pytest.fail(f"{text!r} not printed within {timeout} s:\n{self.output}")


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (children, their children...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (exited, waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def broker() -> Iterator[str]:
    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as err:
        pytest.fail(f"Redis is needed at {BROKER_URL}: {err}", pytrace=False)
    yield BROKER_URL
    client.flushdb()
    client.close()


@pytest.fixture
def demo(tmp_path: Path, broker: str) -> Iterator[Demo]:
    yield from _run_demo(tmp_path, {"DEMO_BROKER_URL": broker})


@pytest.fixture
def documented_demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo on the documented sandbox contract, chosen through its environment."""
    yield from _run_demo(tmp_path, {"DEMO_SANDBOX_CONTRACT": "documented", "DEMO_EAGER": "1"})


def _run_demo(tmp_path: Path, extra_env: dict[str, str]) -> Iterator[Demo]:
    port, sandbox_port, stripe_port = free_port(), free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "DJANGO_", "CHECKOUT_", "DEMO_", "SANDBOX_"))
    }
    env.update({"DEMO_VAR_DIR": str(tmp_path / "var"), **extra_env})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checkout.demo",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--stripe-port",
            str(stripe_port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = Demo(
        process,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{sandbox_port}",
        tmp_path / "var",
    )

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    yield running
    if process.poll() is None:  # the test failed before stopping it
        leftovers = _descendants(process.pid)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        for pid in leftovers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)


def _wait_emails(directory: Path, subjects: list[str], timeout: float) -> dict[str, str]:
    """Wait until an email with each subject exists; return {subject: text body}."""
    deadline = time.monotonic() + timeout
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        for message in read_sent_emails(directory):
            subject = str(message["Subject"])
            if subject in subjects:
                found[subject] = email_parts(message)[0]
        if len(found) == len(subjects):
            return found
        time.sleep(0.25)
    got = [str(m["Subject"]) for m in read_sent_emails(directory)]
    pytest.fail(f"emails {subjects} not all written within {timeout} s; got {got}")


def test_demo_buy_ship_emails_and_clean_stop(demo: Demo, browser: Browser) -> None:
    demo.wait_for(READY, timeout=60)
    time.sleep(1)  # anything the servers would still print after the banner
    assert demo.output.rstrip().endswith(READY), demo.output[-2000:]  # the banner is last
    assert "imported automatically" not in demo.output  # no chatter from `shell -c`
    control = re.search(r"\(control: (http://[^\s;)]+)", demo.output)
    assert control, demo.output
    assert requests.get(control.group(1), timeout=5).status_code == 200
    assert f"Celery worker + beat on {BROKER_URL}" in demo.output
    assert f"Emails:           {demo.var_dir / 'emails'}" in demo.output
    assert "/_sandbox/orders/<spectra id>/advance" in demo.output
    assert (demo.var_dir / "demo.sqlite3").exists()  # its own var/, not the repository's

    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        go_to_payment(page, demo.site_url)
        type_card(page, GOOD_CARD)
        pay(page)
        order_number = expect_confirmation(page)
    finally:
        context.close()
    # The pages' requests are logged; their static files, answered, are not.
    assert re.search(r'"POST /(?!static/)\S* HTTP/1.1" \d{3} ', demo.output), demo.output[-3000:]
    assert not re.search(r'"GET /static/\S* HTTP/1.1" (200|304) ', demo.output)

    # The warehouse ships it: the sandbox fires order.status_changed + order.shipped.
    orders = requests.get(
        f"{demo.sandbox_url}/api/v1/orders",
        headers={"Authorization": f"Bearer {DEFAULT_TEST_KEY}"},
        timeout=10,
    ).json()["data"]
    spectra_id = next(o["id"] for o in orders if o["order_number"] == order_number)
    shipped = requests.post(
        f"{demo.sandbox_url}/_sandbox/orders/{spectra_id}/advance",
        json={"to": "shipped"},
        timeout=10,
    )
    assert shipped.status_code == 200, shipped.text
    tracking = shipped.json()["data"]["tracking_number"]
    assert tracking

    confirmed, sent = f"Order {order_number} confirmed", f"Order {order_number} has shipped"
    emails = _wait_emails(demo.var_dir / "emails", [confirmed, sent], timeout=30)
    assert order_number in emails[confirmed]
    assert order_number in emails[sent]
    assert tracking in emails[sent]
    assert f"{demo.site_url}/orders/status/" in emails[sent]  # absolute link for the shopper
    demo.wait_for(f"Email to shopper@example.com: {sent}", timeout=5)

    started = _descendants(demo.process.pid)
    assert len(started) >= 5, started  # localstripe, sandbox, worker (+ pool, beat), django
    deadline = time.monotonic() + 10
    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=10) == 0
    while time.monotonic() < deadline and any(_running(pid) for pid in started):
        time.sleep(0.1)
    assert not [pid for pid in started if _running(pid)], demo.output[-3000:]


def test_demo_runs_the_documented_sandbox_contract(documented_demo: Demo) -> None:
    demo = documented_demo
    demo.wait_for(READY, timeout=60)
    assert "contract: documented" in demo.output

    state = requests.get(f"{demo.sandbox_url}/_sandbox/state", timeout=10).json()["data"]
    assert state["contract"] == "documented"
    answer = requests.get(
        f"{demo.sandbox_url}/api/v1/orders",
        headers={"Authorization": f"Bearer {DEFAULT_TEST_KEY}"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Limit"] == "1000"  # a Standard key

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=20) == 0
