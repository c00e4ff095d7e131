"""A real Celery worker (and beat) in a subprocess, for tests and the demo.

``start_celery_worker(...)`` runs ``python -m checkout.testing.celery_worker``, which sets
Django up, applies the JSON settings overrides passed in ``CHECKOUT_WORKER_SETTINGS``, and
starts ``celery -A <app> worker --pool=prefork`` (with ``-B`` for an embedded beat). The
process gets its own session, so ``kill()`` can SIGKILL the worker with its pool children
and beat, like a machine losing power.

``RecordingEmailBackend`` writes one ``.eml`` file per message in
``CHECKOUT_TEST_EMAIL_DIR`` (optionally after ``CHECKOUT_TEST_EMAIL_DELAY`` seconds, with a
``.sending`` marker meanwhile) so a test, or a person running the demo, can read what
was sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

READY_MARK = "ready."


class RecordingEmailBackend(BaseEmailBackend):
    """Write each message to ``<dir>/<time>-<uuid>.eml``; slow on request."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        from django.conf import settings

        directory = Path(
            getattr(settings, "CHECKOUT_TEST_EMAIL_DIR", None)
            or os.environ.get("CHECKOUT_TEST_EMAIL_DIR")  # the demo's web process
            or "var/emails"
        )
        directory.mkdir(parents=True, exist_ok=True)
        delay = float(getattr(settings, "CHECKOUT_TEST_EMAIL_DELAY", 0) or 0)
        sent = 0
        for message in email_messages:
            name = f"{time.time():.6f}-{uuid.uuid4().hex}"
            marker = directory / f"{name}.sending"
            if delay:
                marker.write_text(str(os.getpid()))
                time.sleep(delay)  # a slow mail server: the test kills the worker here
            tmp = directory / f"{name}.tmp"
            tmp.write_bytes(message.message().as_bytes())
            tmp.rename(directory / f"{name}.eml")  # atomic: a reader never sees half a mail
            marker.unlink(missing_ok=True)
            sent += 1
        return sent


def read_sent_emails(directory: str | Path) -> list[Message]:
    """Parse every ``.eml`` the backend wrote, oldest first."""
    return [message_from_bytes(p.read_bytes()) for p in sorted(Path(directory).glob("*.eml"))]


def email_parts(message: Message) -> tuple[str, str]:
    """Return the (text, html) bodies of a sent message."""
    text = html = ""
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        body = payload.decode(part.get_content_charset() or "utf-8")
        if part.get_content_type() == "text/plain":
            text = body
        elif part.get_content_type() == "text/html":
            html = body
    return text, html


def database_url_from_settings(alias: str = "default") -> str:
    """A ``DATABASE_URL`` for the database Django uses now (the test DB during tests)."""
    from django.conf import settings
    from django.db import connections

    db = connections[alias].settings_dict if alias in connections else settings.DATABASES[alias]
    engine = str(db["ENGINE"])
    if "sqlite" in engine:
        return f"sqlite:///{db['NAME']}"
    user = quote(str(db.get("USER") or ""))
    password = quote(str(db.get("PASSWORD") or ""))
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{db['NAME']}"


class CeleryWorker:
    """A running worker subprocess."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.log()[-4000:]}")
            if READY_MARK in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready after {timeout} s:\n{self.log()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the worker, its pool children and beat (no warm shutdown)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Warm shutdown (SIGTERM to the group); SIGKILL if it does not finish."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()


def start_celery_worker(
    *,
    broker_url: str,
    database_url: str | None = None,
    settings_overrides: Mapping[str, Any] | None = None,
    settings_module: str = "config.settings.test",
    celery_app: str = "config.celery_app:app",
    beat: bool = True,
    concurrency: int = 2,
    queue: str | None = None,
    env: Mapping[str, str] | None = None,
    log_dir: str | Path | None = None,
    wait: bool = True,
) -> CeleryWorker:
    """Start a worker (prefork, ``concurrency`` children; ``beat`` embeds beat).

    ``queue`` names the queue it consumes and the default queue its tasks (and beat)
    publish to; point the publishing process at the same one (``use_broker``).
    """
    workdir = Path(log_dir or tempfile.mkdtemp(prefix="checkout-worker-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"worker-{uuid.uuid4().hex[:8]}.log"
    child_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CHECKOUT_CELERY_APP": celery_app,
        "CHECKOUT_CELERY_QUEUE": queue or "",
        "CHECKOUT_WORKER_SETTINGS": json.dumps(dict(settings_overrides or {})),
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    if database_url:
        child_env["DATABASE_URL"] = database_url
    args = [
        sys.executable,
        "-m",
        "checkout.testing.celery_worker",
        "--pool=prefork",
        "-c",
        str(concurrency),
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"checkout-{uuid.uuid4().hex[:6]}@%h",
    ]
    if beat:
        args += ["-B", "-s", str(workdir / f"beat-{uuid.uuid4().hex[:8]}")]
    if queue:
        args += ["-Q", queue]
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        args,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=child_env,
        start_new_session=True,
    )
    log_file.close()
    worker = CeleryWorker(process, log_path)
    if wait:
        try:
            worker.wait_ready()
        except RuntimeError:
            worker.kill()
            raise
    return worker


def use_broker(*, broker_url: str | None, queue: str | None, eager: bool = False) -> dict[str, Any]:
    """Point this process's Celery app at ``broker_url``/``queue``; return the old values.

    Used by tests so the web process (live_server) and the relay publish to the worker's
    broker and queue instead of running tasks eagerly. Pass the returned dict back to
    ``restore_broker``.
    """
    from celery import current_app

    conf = current_app.conf
    old = {
        "broker_url": conf.broker_url,
        "task_default_queue": conf.task_default_queue,
        "task_always_eager": conf.task_always_eager,
    }
    _apply_broker(
        {
            "broker_url": broker_url,
            "task_default_queue": queue or "celery",
            "task_always_eager": eager,
        }
    )
    return old


def restore_broker(old: Mapping[str, Any]) -> None:
    """Undo ``use_broker``."""
    _apply_broker(old)


def _apply_broker(values: Mapping[str, Any]) -> None:
    from celery import current_app

    current_app.conf.update(dict(values), broker_connection_timeout=2)
    # Drop pooled connections to the previous broker so the next publish uses the new one.
    pool = getattr(current_app, "_pool", None)
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.force_close_all()
        current_app._pool = None  # type: ignore[attr-defined]
    if hasattr(current_app.amqp, "_producer_pool"):
        current_app.amqp._producer_pool = None


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the subprocess: Django, overrides, then ``celery worker``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings

    for name, value in json.loads(os.environ.get("CHECKOUT_WORKER_SETTINGS") or "{}").items():
        setattr(settings, name, value)

    from celery.app.utils import find_app

    app = find_app(os.environ.get("CHECKOUT_CELERY_APP", "config.celery_app:app"))
    app.conf.task_always_eager = False
    if os.environ.get("CHECKOUT_CELERY_QUEUE"):
        # One queue per test run: parallel runs sharing a Redis never steal each other's tasks.
        app.conf.task_default_queue = os.environ["CHECKOUT_CELERY_QUEUE"]
    app.worker_main(["worker", *(argv if argv is not None else sys.argv[1:])])


if __name__ == "__main__":
    main()


def start_demo_worker(
    *,
    broker_url: str,
    email_dir: str | Path = "var/emails",
    settings_module: str = "config.settings.local",
    database_url: str | None = None,
    log_dir: str | Path = "var/log",
    env: Mapping[str, str] | None = None,
) -> CeleryWorker:
    """Worker + beat for the demo: emails land as readable ``.eml`` files in ``email_dir``.

    ``env`` is added to the worker's environment (the demo passes its settings: Spectra,
    Stripe, site URL); the broker and eager flags set here win over it.
    """
    child_env = {
        k: v
        for k, v in (env or {}).items()
        if k
        not in (
            "CELERY_BROKER_URL",
            "CELERY_TASK_ALWAYS_EAGER",
            "DJANGO_SETTINGS_MODULE",
            "CHECKOUT_WORKER_SETTINGS",
            "CHECKOUT_CELERY_APP",
            "CHECKOUT_CELERY_QUEUE",
        )
    }
    return start_celery_worker(
        broker_url=broker_url,
        database_url=database_url,
        env=child_env,
        settings_module=settings_module,
        settings_overrides={
            "EMAIL_BACKEND": "checkout.testing.celery_worker.RecordingEmailBackend",
            "CHECKOUT_TEST_EMAIL_DIR": str(Path(email_dir).resolve()),
        },
        beat=True,
        log_dir=log_dir,
    )
