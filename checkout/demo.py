"""The offline demo: ``make demo`` (``python -m checkout.demo``).

One command, no prompts: migrate a SQLite database, create a demo staff user, start
localstripe and the Spectra sandbox (verifying PaymentIntents against localstripe) as
subprocesses, then Django's runserver pointed at both. Ctrl-C stops everything this
command started, by PID, newest first.

Ports: ``--port`` (8000), ``--sandbox-port`` (8765), ``--stripe-port`` (8420), or the
environment variables ``DEMO_PORT``, ``DEMO_SANDBOX_PORT``, ``DEMO_STRIPE_PORT``.

Hook for more processes (a Celery worker, webhook registration): add a callable to
``EXTRA_STARTERS``; it receives the ``DemoContext`` and returns handles with ``stop()``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-staff-password"  # noqa: S105 - a local, offline demo account


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
    processes: list[Stoppable] = field(default_factory=list)

    @property
    def site_url(self) -> str:
        return f"http://{self.host}:{self.port}"


# Webhooks engineer: append a starter here (e.g. a Celery worker + beat, or registering
# the sandbox's webhooks to ``ctx.site_url``). Each returns what it started.
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
        "--database",
        default=env("DEMO_DATABASE", str(BASE_DIR / "var" / "demo.sqlite3")),
        help="SQLite file for the demo (created and migrated)",
    )
    return parser.parse_args(argv)


def _settings_env(args: argparse.Namespace) -> dict[str, str]:
    sandbox = f"http://127.0.0.1:{args.sandbox_port}"
    stripe = f"http://127.0.0.1:{args.stripe_port}"
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "DATABASE_URL": f"sqlite:///{args.database}",
            "CHECKOUT_SPECTRA_API_BASE": f"{sandbox}/api/v1",
            "CHECKOUT_SPECTRA_COMMERCE_BASE": f"{sandbox}/commerce-api/v1",
            "CHECKOUT_SPECTRA_API_KEY": env.get("CHECKOUT_SPECTRA_API_KEY", "spk_test_sandbox"),
            "CHECKOUT_STRIPE_API_BASE": stripe,
            "CHECKOUT_STRIPE_JS_URL": f"{stripe}/js.stripe.com/v3/",
            "CHECKOUT_SITE_URL": f"http://{args.host}:{args.port}",
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C; return the exit code."""
    args = _parse(argv)
    busy = [
        f"{name} port {port}"
        for name, host, port in (
            ("web", args.host, args.port),
            ("sandbox", "127.0.0.1", args.sandbox_port),
            ("localstripe", "127.0.0.1", args.stripe_port),
        )
        if _port_in_use(host, port)
    ]
    if busy:
        print(
            f"Cannot start the demo: {', '.join(busy)} already in use. Stop what uses it, "
            "or choose other ports with --port, --sandbox-port, --stripe-port.",
            file=sys.stderr,
        )
        return 2
    Path(args.database).parent.mkdir(parents=True, exist_ok=True)
    env = _settings_env(args)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CHECKOUT_", "DJANGO_"))})

    from checkout.testing.servers import start_localstripe, start_sandbox

    print("== Migrating the demo database", args.database, flush=True)
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "shell", "-c", _CREATE_STAFF)

    ctx = DemoContext(
        host=args.host,
        port=args.port,
        sandbox_url=f"http://127.0.0.1:{args.sandbox_port}",
        stripe_url=f"http://127.0.0.1:{args.stripe_port}",
        env=env,
    )
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
    try:
        print(f"== Starting localstripe on {ctx.stripe_url}", flush=True)
        ctx.processes.append(start_localstripe("127.0.0.1", args.stripe_port))
        print(f"== Starting the Spectra sandbox on {ctx.sandbox_url}", flush=True)
        ctx.processes.append(
            start_sandbox(
                "127.0.0.1",
                args.sandbox_port,
                stripe_api_base=ctx.stripe_url,
                stripe_secret_key=env["CHECKOUT_STRIPE_SECRET_KEY"],
            )
        )
        for starter in EXTRA_STARTERS:
            ctx.processes.extend(starter(ctx))
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
        )
        ctx.processes.append(_Popen("django", web))
        _wait_http(ctx.site_url + "/", web)
        print(
            "\n"
            f"  Shop:             {ctx.site_url}/\n"
            f"  Staff admin:      {ctx.site_url}/admin/  "
            f"(user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r})\n"
            f"  Spectra sandbox:  {ctx.sandbox_url}/api/v1 "
            f"(control: {ctx.sandbox_url}/_sandbox/)\n"
            f"  localstripe:      {ctx.stripe_url}\n"
            "  Test cards:       4242424242424242 (ok), 4000002500003155 (3-D Secure),\n"
            "                    4000000000000341 (declined); any future expiry, any CVC\n"
            "  Promo codes:      SAVE10, FREESHIP, FIVEOFF   Gift card: CARD25BALANCEABC\n"
            "\nPress Ctrl-C to stop everything.\n",
            flush=True,
        )
        while True:
            for process in ctx.processes:
                inner = getattr(process, "process", None)
                if inner is not None and inner.poll() is not None:
                    print(f"== pid {process.pid} exited; stopping the demo", flush=True)
                    return 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    raise SystemExit(main())
