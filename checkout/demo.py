"""The offline demo: ``make demo`` (``python -m checkout.demo``).

One command, no prompts: create and migrate a fresh SQLite database (the sandbox keeps
its orders in memory, so each run starts both empty), create a demo staff user, start
localstripe and the Spectra sandbox (verifying PaymentIntents against localstripe) as
subprocesses, register the site's Spectra and Stripe webhooks with them, start a real
Celery worker + beat when Redis answers (tasks run eagerly in the web process otherwise),
then Django's runserver pointed at all of it. Every email the shop sends is written as an
``.eml`` file under ``<var-dir>/emails`` and announced on the console. Ctrl-C (or
SIGTERM) stops everything this command started, by PID, newest first.

Sandbox contract: ``--sandbox-contract documented`` / ``DEMO_SANDBOX_CONTRACT=documented``
runs the sandbox with only what the API's docs promise (``docs/sandbox.md``).
Ports: ``--port`` (8000), ``--sandbox-port`` (8765), ``--stripe-port`` (8420), or the
environment variables ``DEMO_PORT``, ``DEMO_SANDBOX_PORT``, ``DEMO_STRIPE_PORT``.
Files: ``--var-dir`` / ``DEMO_VAR_DIR`` (default ``var/``): database, emails, worker logs.
Broker: ``DEMO_BROKER_URL`` (default: database 12 of ``$REDIS_URL`` or
``redis://127.0.0.1:6379``); ``--eager`` / ``DEMO_EAGER=1`` never starts a worker.

Hook for more processes: add a callable to ``EXTRA_STARTERS``; it receives the
``DemoContext`` and returns handles with ``stop()``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from types import FrameType
from typing import IO, Protocol
from urllib.parse import urlsplit, urlunsplit

from checkout.testing.sandbox.config import milliseconds
from checkout.testing.servers import is_loopback

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-staff-password"  # noqa: S105 - a local, offline demo account
DEMO_REDIS_DB = 12  # the demo's own Redis database: tests and other apps use others


class Stoppable(Protocol):
    """Anything the demo started and must stop: has a ``pid`` and ``stop()``."""

    @property
    def pid(self) -> int: ...

    def stop(self, timeout: float = 5.0) -> None: ...


@dataclass
class DemoContext:
    """What the demo started and how the pieces reach each other."""

    host: str
    port: int
    sandbox_url: str
    stripe_url: str
    env: dict[str, str]
    var_dir: Path = BASE_DIR / "var"
    broker_url: str | None = None  # None: tasks run eagerly in the web process
    eager_reason: str = ""  # "flag" (--eager) or "no-redis" when broker_url is None
    sandbox_contract: str = "default"
    processes: list[Stoppable] = field(default_factory=list)

    @property
    def site_url(self) -> str:
        return f"http://{_reachable_host(self.host)}:{self.port}"

    @property
    def email_dir(self) -> Path:
        return self.var_dir / "emails"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"


# More processes for the demo append a starter here (e.g. a Celery worker + beat, or
# registering the sandbox's webhooks to ``ctx.site_url``). Each returns what it started.
EXTRA_STARTERS: list[Callable[[DemoContext], Sequence[Stoppable]]] = []


@dataclass
class _Popen:
    """A plain subprocess with the ``Stoppable`` interface."""

    name: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m checkout.demo", description=__doc__)
    env = os.environ.get
    parser.add_argument("--host", default=env("DEMO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("DEMO_PORT", "8000")))
    parser.add_argument("--sandbox-port", type=int, default=int(env("DEMO_SANDBOX_PORT", "8765")))
    parser.add_argument("--stripe-port", type=int, default=int(env("DEMO_STRIPE_PORT", "8420")))
    parser.add_argument(
        "--sandbox-contract",
        choices=("default", "documented"),
        default=env("DEMO_SANDBOX_CONTRACT", "default"),
        help="the sandbox's contract: default (generous where the docs are silent) or "
        "documented (only what the docs promise)",
    )
    parser.add_argument(
        "--var-dir",
        default=env("DEMO_VAR_DIR", str(BASE_DIR / "var")),
        help="folder for the demo's database, emails and logs (default: var/)",
    )
    parser.add_argument(
        "--database",
        default=env("DEMO_DATABASE", ""),
        help="SQLite file for the demo, recreated on every start (default: VAR_DIR/demo.sqlite3)",
    )
    parser.add_argument(
        "--api-latency-ms",
        type=milliseconds,
        default=milliseconds(env("DEMO_API_LATENCY_MS", "0")),
        help="milliseconds every answer of the Spectra sandbox waits (default 0)",
    )
    parser.add_argument(
        "--api-latency-jitter-ms",
        type=milliseconds,
        default=milliseconds(env("DEMO_API_LATENCY_JITTER_MS", "0")),
        help="up to this many milliseconds more per sandbox answer, at random (default 0)",
    )
    parser.add_argument(
        "--eager",
        action="store_true",
        default=env("DEMO_EAGER", "") in {"1", "true", "yes"},
        help="never start a Celery worker: run tasks in the web process",
    )
    args = parser.parse_args(argv)
    if args.sandbox_contract not in {"default", "documented"}:  # choices skip defaults
        parser.error(
            f"DEMO_SANDBOX_CONTRACT must be default or documented, not {args.sandbox_contract!r}"
        )
    args.var_dir = str(Path(args.var_dir).resolve())
    args.database = str(Path(args.database or Path(args.var_dir) / "demo.sqlite3").resolve())
    return args


def _reachable_host(host: str) -> str:
    """The host to put in links and webhook URLs (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - compared only


def _redis_answers(url: str) -> bool:
    """PING ``url`` with a 0.5 s timeout."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


def _demo_broker_url() -> str | None:
    """The demo's broker: ``DEMO_BROKER_URL``, else DB 12 of ``$REDIS_URL``; None if down."""
    url = os.environ.get("DEMO_BROKER_URL")
    if not url:
        parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")
        url = urlunsplit((parts.scheme, parts.netloc, f"/{DEMO_REDIS_DB}", "", ""))
    return url if _redis_answers(url) else None


def _settings_env(args: argparse.Namespace) -> dict[str, str]:
    sandbox = f"http://127.0.0.1:{args.sandbox_port}"
    stripe = f"http://127.0.0.1:{args.stripe_port}"
    emails = str(Path(args.var_dir) / "emails")
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            # A worker process shares the SQLite file with the web process: wait up to 20 s
            # for a lock, and take the write lock when a transaction starts (a deferred
            # one that reads, then writes, fails at once instead of waiting).
            "DATABASE_URL": f"sqlite:///{args.database}?timeout=20&transaction_mode=IMMEDIATE",
            # Both modes write each email as an .eml file a person can open.
            "DJANGO_EMAIL_BACKEND": "checkout.testing.celery_worker.RecordingEmailBackend",
            "CHECKOUT_TEST_EMAIL_DIR": emails,
            "DJANGO_EMAIL_FILE_PATH": emails,
            # Sandbox orders made with the test key are test orders: mail them anyway.
            "CHECKOUT_SEND_TEST_ORDER_EMAILS": "true",
            "CHECKOUT_SPECTRA_API_BASE": f"{sandbox}/api/v1",
            "CHECKOUT_SPECTRA_COMMERCE_BASE": f"{sandbox}/commerce-api/v1",
            "CHECKOUT_SPECTRA_API_KEY": env.get("CHECKOUT_SPECTRA_API_KEY", "spk_test_sandbox"),
            "CHECKOUT_STRIPE_API_BASE": stripe,
            "CHECKOUT_STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
            "CHECKOUT_SITE_URL": f"http://{_reachable_host(args.host)}:{args.port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("CHECKOUT_STRIPE_SECRET_KEY", "sk_test_localstripe")
    env.setdefault("CHECKOUT_STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
    return env


def _manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(BASE_DIR / "manage.py"), *command],
        env=env,
        check=True,
        cwd=BASE_DIR,
    )


_CREATE_STAFF = f"""
from django.contrib.auth import get_user_model
User = get_user_model()
user, _ = User.objects.get_or_create(username={DEMO_USERNAME!r})
user.is_staff = True
user.is_superuser = True
user.email = "demo@example.com"
user.set_password({DEMO_PASSWORD!r})
user.save()
"""


def _wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Treat SIGTERM like Ctrl-C so the same clean-up runs."""
    raise KeyboardInterrupt


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _fresh_database(path: str) -> None:
    """Remove the previous run's SQLite file: the sandbox starts with no orders either."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(path + suffix).unlink(missing_ok=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def _use_wal(path: str) -> None:
    """Write-ahead logging: readers never wait for the worker's or the site's writes."""
    import sqlite3

    connection = sqlite3.connect(path, timeout=20)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def register_webhooks(ctx: DemoContext) -> None:
    """Subscribe the site to the sandbox's and localstripe's webhooks; keep the secrets.

    Both servers forget subscriptions when they stop, so this runs on every start. The
    secrets go into ``ctx.env`` (``CHECKOUT_WEBHOOK_SECRET``,
    ``CHECKOUT_STRIPE_WEBHOOK_SECRET``) for the web process and the worker.
    """
    import requests
    from django.urls import reverse

    spectra_url = ctx.site_url + reverse("checkout:webhook-spectra")
    response = requests.post(
        f"{ctx.sandbox_url}/api/v1/webhooks",
        json={"url": spectra_url, "events": ["*"]},
        headers={"Authorization": f"Bearer {ctx.env['CHECKOUT_SPECTRA_API_KEY']}"},
        timeout=10,
    )
    response.raise_for_status()
    ctx.env["CHECKOUT_WEBHOOK_SECRET"] = str(response.json()["data"]["secret"])

    # What ``manage.py checkout_register_stripe_webhook`` does against localstripe.
    from checkout.services.stripe_webhooks import localstripe_webhook_register

    registration = localstripe_webhook_register(
        api_base=ctx.stripe_url, url=ctx.site_url + reverse("checkout:webhook-stripe")
    )
    ctx.env["CHECKOUT_STRIPE_WEBHOOK_SECRET"] = registration.secret


def _url_resolver_ready() -> None:
    """Let ``register_webhooks`` use ``reverse()`` (Django set up with the demo settings)."""
    import django

    django.setup()


def _static_url() -> str:
    """The site's STATIC_URL as a path (Django is set up by ``_url_resolver_ready``)."""
    from django.conf import settings

    return urlsplit(str(settings.STATIC_URL or "/static/")).path or "/static/"


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


# The readiness probe's own request: recognised (and not echoed) by ``_WebConsole``.
READY_PROBE = "/?demo-ready"


class _WebConsole:
    """Copy the web server's output to the console, minus the lines that bury the rest.

    Dropped: answered static-file requests (a page asks for several; a missing file, a
    404, is still shown) and the demo's readiness probe, which also marks the moment
    the server's start-up lines are all out, so the banner can follow them.
    """

    def __init__(self, stream: IO[bytes], static_url: str) -> None:
        self.stream = stream
        self.static_ok = re.compile(
            rf'"(?:GET|HEAD) {re.escape(static_url)}\S* HTTP/[0-9.]+" (?:200|304) '
        )
        self.probed = threading.Event()
        self.thread = threading.Thread(target=self._copy, name="demo-web-console", daemon=True)
        self.thread.start()

    def quiet(self, line: str) -> bool:
        return bool(self.static_ok.search(line))

    def _copy(self) -> None:
        for raw in iter(self.stream.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            if f"GET {READY_PROBE} " in line:
                self.probed.set()
            elif not self.quiet(line):
                sys.stdout.write(line)
                sys.stdout.flush()
        self.probed.set()  # the server exited: nothing more to wait for


class _EmailAnnouncer:
    """Print one console line for each new ``.eml`` file (sender, recipient, subject)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.seen: set[Path] = set()

    def poll(self) -> None:
        for path in sorted(self.directory.glob("*.eml")):
            if path in self.seen:
                continue
            self.seen.add(path)
            try:
                message = message_from_bytes(path.read_bytes(), policy=default_policy)
            except OSError:
                continue
            print(
                f"== Email to {message['To']}: {message['Subject']}\n   {path}",
                flush=True,
            )


def _banner(ctx: DemoContext, pids: str) -> str:
    if ctx.broker_url:
        tasks = (
            f"Celery worker + beat on {_without_password(ctx.broker_url)} "
            f"(log: {ctx.log_dir}/worker-*.log)"
        )
    elif ctx.eager_reason == "flag":
        tasks = "EAGER (--eager): tasks run inside the web process; no worker, no beat"
    else:
        tasks = (
            "EAGER: no Redis answered, so tasks run inside the web process "
            "(start Redis for a real worker + beat)"
        )
    advance = (
        f"curl -s -X POST {ctx.sandbox_url}/_sandbox/orders/<spectra id>/advance "
        """-d '{"to": "shipped"}'"""
    )
    return (
        "\n"
        f"  Shop:             {ctx.site_url}/\n"
        f"  Staff admin:      {ctx.site_url}/admin/  "
        f"(user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r})\n"
        f"  Spectra sandbox:  {ctx.sandbox_url}/api/v1 "
        f"(control: {ctx.sandbox_url}/_sandbox/; contract: {ctx.sandbox_contract})\n"
        f"  localstripe:      {ctx.stripe_url}\n"
        f"  Webhooks:         {ctx.site_url}/webhooks/spectra/ and /webhooks/stripe/ "
        "(registered, secrets set)\n"
        f"  Tasks:            {tasks}\n"
        f"  Emails:           {ctx.email_dir}/*.eml (one file per email; each is also "
        "announced here)\n"
        "  Test cards:       4242424242424242 (ok), 4000002500003155 (3-D Secure),\n"
        "                    4000000000000341 (declined); any future expiry, any CVC\n"
        "  Promo codes:      SAVE10, FREESHIP, FIVEOFF   Gift card: CARD25BALANCEABC\n"
        "\n"
        "  Move an order as the warehouse would (Spectra ids start at 1001; the admin\n"
        "  order page shows each order's Spectra id):\n"
        f"    {advance}\n"
        '  ("processing", "shipped", "delivered", "cancelled" or "refunded"). Staff can also\n'
        "  ship from the admin (order page: Add tracking and mark shipped). Either way\n"
        "  Spectra sends a webhook, the order updates and the shopper gets an email.\n"
        "\n"
        f"  Processes:        {pids}\n"
        "\nPress Ctrl-C to stop everything.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C; return the exit code."""
    args = _parse(argv)
    if not is_loopback(args.host):
        # The demo's settings are safe on loopback only: a public SECRET_KEY (anyone could
        # forge an order-status link), DEBUG on and a staff password printed in the banner.
        print(
            f"Refusing to serve the demo on {args.host!r}: it binds to loopback only "
            "(127.0.0.1, ::1 or localhost). Its secret key is public, DEBUG is on and its "
            "staff password is known; for a shared host, deploy with the production "
            "settings (docs/install.md).",
            file=sys.stderr,
        )
        return 2
    busy = [
        f"{name} port {port}"
        for name, host, port in (
            ("web", args.host, args.port),
            ("sandbox", "127.0.0.1", args.sandbox_port),
            ("localstripe", "127.0.0.1", args.stripe_port),
        )
        if _port_in_use(_reachable_host(host), port)
    ]
    if busy:
        print(
            f"Cannot start the demo: {', '.join(busy)} already in use. Stop what uses it, "
            "or choose other ports with --port, --sandbox-port, --stripe-port.",
            file=sys.stderr,
        )
        return 2
    var_dir = Path(args.var_dir)
    env = _settings_env(args)
    broker_url = None if args.eager else _demo_broker_url()
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
        env["CELERY_RESULT_BACKEND"] = broker_url
        env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    else:
        env["CELERY_BROKER_URL"] = ""
        env["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CHECKOUT_", "DJANGO_"))})
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]

    from checkout.testing.celery_worker import start_demo_worker
    from checkout.testing.servers import start_localstripe, start_sandbox

    print("== Creating the demo database", args.database, flush=True)
    _fresh_database(args.database)
    _use_wal(args.database)
    _manage(env, "migrate", "--noinput", "-v", "0")
    # -v 0: no "N objects imported automatically" line from Django 5.2's shell.
    _manage(env, "shell", "-v", "0", "-c", _CREATE_STAFF)
    ctx = DemoContext(
        host=args.host,
        port=args.port,
        sandbox_url=f"http://127.0.0.1:{args.sandbox_port}",
        stripe_url=f"http://127.0.0.1:{args.stripe_port}",
        env=env,
        var_dir=var_dir,
        broker_url=broker_url,
        eager_reason="" if broker_url else ("flag" if args.eager else "no-redis"),
        sandbox_contract=args.sandbox_contract,
    )
    ctx.email_dir.mkdir(parents=True, exist_ok=True)
    ctx.log_dir.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop_all() -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        print("\n== Stopping the demo", flush=True)
        for process in reversed(ctx.processes):
            try:
                process.stop()
                print(f"   stopped pid {process.pid}", flush=True)
            except Exception as err:  # keep stopping the others
                print(f"   could not stop pid {process.pid}: {err}", flush=True)

    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started in the background
    names: list[str] = []
    try:
        print(f"== Starting localstripe on {ctx.stripe_url}", flush=True)
        ctx.processes.append(start_localstripe("127.0.0.1", args.stripe_port))
        names.append("localstripe")
        print(
            f"== Starting the Spectra sandbox ({ctx.sandbox_contract} contract) on "
            f"{ctx.sandbox_url}",
            flush=True,
        )
        ctx.processes.append(
            start_sandbox(
                "127.0.0.1",
                args.sandbox_port,
                stripe_api_base=ctx.stripe_url,
                stripe_secret_key=env["CHECKOUT_STRIPE_SECRET_KEY"],
                contract=ctx.sandbox_contract,
                extra_args=[
                    f"--latency-ms={args.api_latency_ms:g}",
                    f"--latency-jitter-ms={args.api_latency_jitter_ms:g}",
                ],
            )
        )
        names.append("sandbox")
        print("== Registering the site's webhooks with the sandbox and localstripe", flush=True)
        _url_resolver_ready()
        register_webhooks(ctx)
        if ctx.broker_url:
            print(
                f"== Starting a Celery worker + beat on {_without_password(ctx.broker_url)}",
                flush=True,
            )
            worker = start_demo_worker(
                broker_url=ctx.broker_url,
                email_dir=ctx.email_dir,
                database_url=env["DATABASE_URL"],
                log_dir=ctx.log_dir,
                env=env,
            )
            ctx.processes.append(worker)
            names.append("celery worker")
        else:
            why = "--eager" if args.eager else "no Redis answered"
            print(f"== {why}: tasks run eagerly in the web process", flush=True)
        for starter in EXTRA_STARTERS:
            started = starter(ctx)
            ctx.processes.extend(started)
            names.extend(type(p).__name__ for p in started)
        print(f"== Starting Django on {ctx.site_url}", flush=True)
        web = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "runserver",
                f"{args.host}:{args.port}",
                "--noreload",
            ],
            env=env,
            cwd=BASE_DIR,
            # One pipe, in the order written: start-up lines, then request lines.
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        ctx.processes.append(_Popen("django", web))
        names.append("django")
        assert web.stdout is not None
        console = _WebConsole(web.stdout, static_url=_static_url())
        _wait_http(ctx.site_url + READY_PROBE, web)
        # The probe's request line comes after everything runserver printed on start.
        console.probed.wait(timeout=5)
        pids = ", ".join(f"{n} {p.pid}" for n, p in zip(names, ctx.processes, strict=False))
        print(_banner(ctx, pids), flush=True)
        emails = _EmailAnnouncer(ctx.email_dir)
        emails.seen.update(ctx.email_dir.glob("*.eml"))  # announce this run's emails only
        while True:
            for process in ctx.processes:
                inner = getattr(process, "process", None)
                if inner is not None and inner.poll() is not None:
                    print(f"== pid {process.pid} exited; stopping the demo", flush=True)
                    return 1
            emails.poll()
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
