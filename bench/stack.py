"""The benchmark stack: a throw-away PostgreSQL database, Redis dbs, the stub, gunicorn
and (for the webhook-to-email run) a Celery worker and the outbox relay.

Every process started here is stopped by its PID (``Stack.close``, also registered with
``atexit``); the database ``bench_<pid>`` is dropped and the Redis dbs emptied at the end.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = 2
# Redis databases of our own: 0, 1 (production cache default), 5, 9, 12 and 13 are used by
# the demo and other test suites, which may run at the same time. A second bench run on
# the same Redis (while another runs) sets BENCH_REDIS_BROKER_DB / BENCH_REDIS_CACHE_DB.
REDIS_BROKER_DB = int(os.environ.get("BENCH_REDIS_BROKER_DB", "14"))
REDIS_CACHE_DB = int(os.environ.get("BENCH_REDIS_CACHE_DB", "15"))
# The production server (config/gunicorn.conf.py) as the latency targets run it: gthread
# workers, Django's connection pool. The regression guards run on the sync workers above.
PRODUCTION_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", "32"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


@dataclass
class Stack:
    """The running processes and the environment they share."""

    database_url: str
    redis_url: str
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-")))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)
    db_name: str = field(default_factory=lambda: f"bench_{os.getpid()}")
    web_port: int = 0
    stub_port: int = 0
    env: dict[str, str] = field(default_factory=dict)
    _db_created: bool = False

    # --- set-up --------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the database and Redis dbs, write the environment, migrate, collect static."""
        atexit.register(self.close)
        self.stub_port = free_port()
        self.web_port = free_port()
        admin_url = _with_db(self.database_url, "postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}"')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self._db_created = True
        broker = _with_redis_db(self.redis_url, REDIS_BROKER_DB)
        cache = _with_redis_db(self.redis_url, REDIS_CACHE_DB)
        self.flush_redis()
        stub = f"http://{HOST}:{self.stub_port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": _with_db(self.database_url, self.db_name),
            "CACHE_URL": cache,
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "CHECKOUT_SPECTRA_API_BASE": f"{stub}/api/v1",
            "CHECKOUT_SPECTRA_COMMERCE_BASE": f"{stub}/commerce-api/v1",
            "CHECKOUT_STRIPE_API_BASE": stub,
            "CHECKOUT_STRIPE_JS_URL": f"{stub}/js.stripe.com/v3/",
            "BENCH_STATIC_ROOT": str(self.workdir / "static"),
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(self.env)
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            # The one-write floor's table (bench/floors.py): a row per request, no index
            # but its key, as small as a write gets.
            conn.execute(
                "CREATE TABLE bench_write (id bigserial PRIMARY KEY, note text NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )

    def flush_redis(self) -> None:
        for db in (REDIS_BROKER_DB, REDIS_CACHE_DB):
            redis.Redis.from_url(_with_redis_db(self.redis_url, db)).flushdb()

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    # --- processes -----------------------------------------------------------------
    def _start(
        self, name: str, args: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed in close()
        self.logs[name] = log
        proc = subprocess.Popen(args, cwd=ROOT, env=env or self.env, stdout=log, stderr=log)
        self.procs[name] = proc
        return proc

    def start_stub(self) -> None:
        self._start(
            "stub",
            [sys.executable, "-m", "bench.stubs", "--host", HOST, "--port", str(self.stub_port)],
        )
        self._wait_http(f"http://{HOST}:{self.stub_port}/_bench/stats", "stub")

    def start_web(self) -> None:
        self._start(
            "gunicorn",
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi:application",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"{HOST}:{self.web_port}",
                "--backlog",
                "256",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
        )
        self._wait_http(f"http://{HOST}:{self.web_port}/bench/hello/", "gunicorn")

    def start_production_web(self) -> int:
        """Start gunicorn as production runs it (``config/gunicorn.conf.py``); return its port.

        Same workers, settings, database and caches as the sync stack; the worker class
        (gthread, ``PRODUCTION_THREADS`` threads) and the connection pool are production's.
        """
        port = free_port()
        env = {
            **self.env,
            "DATABASE_POOL": "true",
            "GUNICORN_BIND": f"{HOST}:{port}",
            "GUNICORN_WORKERS": str(WORKERS),
            "GUNICORN_THREADS": str(PRODUCTION_THREADS),
            "GUNICORN_LOG_LEVEL": "warning",
        }
        self._start(
            "gunicorn-production",
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-c",
                str(ROOT / "config" / "gunicorn.conf.py"),
                "config.wsgi:application",
            ],
            env,
        )
        self._wait_http(f"http://{HOST}:{port}/bench/hello/", "gunicorn-production")
        return port

    def start_worker(self) -> None:
        """Start one Celery worker (solo pool: one task at a time) on the bench broker."""
        self._start(
            "celery",
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "config.celery_app",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def start_beat(self) -> None:
        """Start Celery beat (the outbox relay runs from it every second)."""
        self._start(
            "beat",
            [
                str(Path(sys.executable).with_name("celery")),
                "-A",
                "config.celery_app",
                "beat",
                "--loglevel",
                "WARNING",
                "-s",
                str(self.workdir / "beat-schedule"),
            ],
        )

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        log = self.logs.pop(name, None)
        if log:
            log.close()

    def _wait_http(self, url: str, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early; see {self.workdir / (name + '.log')}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {url} within {timeout}s")

    def worker_pids(self) -> list[int]:
        """Return the PIDs of gunicorn's worker processes."""
        master = self.procs["gunicorn"].pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        return [int(p) for p in children]

    def stub_url(self, path: str) -> str:
        return f"http://{HOST}:{self.stub_port}{path}"

    # --- tear-down -----------------------------------------------------------------
    def close(self) -> None:
        for name in list(self.procs)[::-1]:
            with contextlib.suppress(Exception):
                self.stop(name)
        if self._db_created:
            from django.db import connections

            with contextlib.suppress(Exception):
                connections.close_all()
            with contextlib.suppress(Exception):
                admin_url = _with_db(self.database_url, "postgres")
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._db_created = False
            with contextlib.suppress(Exception):
                self.flush_redis()


def rss_kib(pid: int) -> int:
    """Return a process's resident set size in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
