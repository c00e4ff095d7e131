"""Load generators: wrk (with a Lua script that rotates prepared requests) and a small
Python generator for targets that need a fresh prepared request each time.

Both take a list of ``Spec`` (method, path, headers, body). A target's hello floor is
always measured with the same generator as the target, so the ratio is fair.

- ``run_wrk``: ``wrk -t2 -c16 -d<s>`` cycling through the specs (GETs, the information
  POST, duplicate webhooks: repeating a spec measures the same path again).
- ``run_python``: 16 threads, one connection per request (gunicorn's sync workers close
  after each answer, as they do for wrk), each request taken once from the pool; stops
  at the deadline or when the pool runs out, and reports the rate over the time spent.
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

WRK_SCRIPT = Path(__file__).with_name("rotate.lua")
CONNECTIONS = 16
WRK_THREADS = 2


@dataclass(frozen=True)
class Spec:
    """One prepared HTTP request."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def raw(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[str, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _spec_line(spec: Spec) -> str:
    headers = "\x1f".join(f"{k}:{v}" for k, v in spec.headers.items())
    body = spec.body.decode()
    for part in (spec.path, headers, body):
        if "\t" in part or "\n" in part:
            raise ValueError("wrk specs may not contain tabs or newlines")
    return f"{spec.method}\t{spec.path}\t{headers}\t{body}\n"


def run_wrk(
    specs: list[Spec],
    *,
    host: str,
    port: int,
    seconds: float,
    timeout_s: float = 5.0,
    once: bool = False,
    connections: int = CONNECTIONS,
) -> LoadResult:
    """Run wrk against ``host:port`` for ``seconds``, rotating through ``specs``.

    ``once``: each spec is meant to be sent once (a fresh attempt or event per request);
    raises if wrk used up the pool and started over.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as fh:
        fh.writelines(_spec_line(s) for s in specs)
        spec_file = fh.name
    try:
        proc = subprocess.run(
            [
                "wrk",
                f"-t{WRK_THREADS}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                f"{max(1, round(timeout_s))}s",
                "-s",
                str(WRK_SCRIPT),
                f"http://{host}:{port}{specs[0].path}",
                "--",
                spec_file,
                *(["once", str(WRK_THREADS)] if once else []),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + timeout_s + 30,
            check=False,
        )
    finally:
        os.unlink(spec_file)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    errors = sum(data[k] for k in ("connect", "read", "write", "timeout"))
    if once and data["requests"] >= len(specs):
        raise RuntimeError(f"the pool of {len(specs)} prepared requests was used up")
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=errors + data["status"],
        statuses={"non_2xx_3xx": data["status"]},
    )


def send_one(spec: Spec, *, host: str, port: int, timeout_s: float = 30.0) -> tuple[int, bytes]:
    """Send one request on a new connection; return (status, whole raw response)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(spec.raw(host, port))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    try:
        status = int(response.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, response


def header_value(response: bytes, name: str) -> str | None:
    """Return one header of a raw response."""
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def percentile(values: list[float], q: float) -> float:
    """Return the q-th percentile (0-100) of ``values`` (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def run_python(
    specs: list[Spec],
    *,
    host: str,
    port: int,
    seconds: float,
    cycle: bool = False,
    max_requests: int | None = None,
    connections: int = CONNECTIONS,
) -> LoadResult:
    """Send each spec once (or cycle) from ``connections`` threads until the deadline."""
    raws = [s.raw(host, port) for s in specs]
    lock = threading.Lock()
    position = 0
    limit = max_requests if max_requests is not None else (None if cycle else len(raws))
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    deadline = time.perf_counter() + seconds
    finished: list[float] = []

    def take() -> bytes | None:
        nonlocal position
        with lock:
            if limit is not None and position >= limit:
                return None
            raw = raws[position % len(raws)]
            position += 1
            return raw

    def worker() -> None:
        local_lat: list[float] = []
        local_status: Counter[str] = Counter()
        while time.perf_counter() < deadline:
            raw = take()
            if raw is None:
                break
            start = time.perf_counter()
            try:
                with socket.create_connection((host, port), timeout=30) as sock:
                    sock.sendall(raw)
                    first = sock.recv(65536)
                    while sock.recv(65536):
                        pass
                code = first[9:12].decode() if len(first) >= 12 else "000"
            except OSError:
                code = "err"
            local_lat.append((time.perf_counter() - start) * 1000)
            local_status[code] += 1
        with lock:
            latencies.extend(local_lat)
            statuses.update(local_status)
            finished.append(time.perf_counter())

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(finished) - started if finished else 0.0
    errors = sum(n for code, n in statuses.items() if not code.startswith(("2", "3")))
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        p99_ms=percentile(latencies, 99),
        errors=errors,
        statuses=dict(statuses),
    )
