"""Start the sandbox and localstripe as subprocesses on free ports and wait until ready.

Each launcher returns a handle with base URLs and ``stop()`` (terminates its own PID).
A server that does not answer in time raises ``ServerStartError`` with its log tail.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests

import checkout

DEFAULT_TEST_KEY = "spk_test_sandbox"
DEFAULT_LIVE_KEY = "spk_live_sandbox"
LOCALSTRIPE_SECRET_KEY = "sk_test_sandbox"
LOCALSTRIPE_PUBLISHABLE_KEY = "pk_test_sandbox"


class ServerStartError(RuntimeError):
    """A test server exited or did not answer before the deadline."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a free TCP port (it may be taken again before use; rarely)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    """A server running in a subprocess."""

    name: str
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the process by its PID, then kill it if it lingers."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


@dataclass
class SandboxProcess(ServerProcess):
    """The Spectra sandbox: API, commerce and control base URLs and its default keys."""

    test_key: str = DEFAULT_TEST_KEY
    live_key: str = DEFAULT_LIVE_KEY
    contract: str = "default"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v1"

    @property
    def commerce_base(self) -> str:
        return f"{self.base_url}/commerce-api/v1"

    @property
    def control_base(self) -> str:
        return f"{self.base_url}/_sandbox"

    def reset(self) -> None:
        """Clear carts, orders, webhooks and faults; re-seed the catalog."""
        requests.post(f"{self.control_base}/reset", timeout=10).raise_for_status()

    def state(self) -> dict[str, object]:
        response = requests.get(f"{self.control_base}/state", timeout=10)
        response.raise_for_status()
        data: dict[str, object] = response.json()["data"]
        return data

    @property
    def documented(self) -> bool:
        """Whether this sandbox gives only what the API's docs promise."""
        return self.contract == "documented"

    def customer_emails(self) -> list[dict[str, object]]:
        """The customer emails Spectra itself sent (documented contract, live orders)."""
        response = requests.get(f"{self.control_base}/emails", timeout=10)
        response.raise_for_status()
        data: list[dict[str, object]] = response.json()["data"]
        return data


@dataclass
class LocalstripeProcess(ServerProcess):
    """localstripe: ``api_base`` is what the Stripe SDK's ``base_addresses["api"]`` takes."""

    secret_key: str = LOCALSTRIPE_SECRET_KEY
    publishable_key: str = LOCALSTRIPE_PUBLISHABLE_KEY

    @property
    def api_base(self) -> str:
        return self.base_url

    @property
    def js_url(self) -> str:
        return f"{self.base_url}/js.stripe.com/v3/"

    def reset(self) -> None:
        """Delete every Stripe object (``DELETE /_config/data``)."""
        requests.delete(f"{self.base_url}/_config/data", timeout=10).raise_for_status()


def _spawn(
    name: str, module: str, args: Sequence[str], env: dict[str, str] | None
) -> tuple[subprocess.Popen[bytes], Path, IO[bytes]]:
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by ServerProcess.stop()
        prefix=f"{name}-", suffix=".log", delete=False
    )
    child_env = dict(os.environ)
    package_root = str(Path(checkout.__file__).resolve().parent.parent)
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_root, child_env.get("PYTHONPATH", "")) if p
    )
    child_env["PYTHONUNBUFFERED"] = "1"
    child_env.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=child_env,
    )
    return process, Path(log.name), log


def _wait_ready(server: ServerProcess, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            server.stop()
            raise ServerStartError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            if requests.get(url, timeout=0.5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    server.stop()
    raise ServerStartError(f"{server.name} not ready after {timeout} s:\n{server.log_tail()}")


def start_sandbox(
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    stripe_api_base: str | None = None,
    stripe_secret_key: str | None = None,
    contract: str = "default",
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 15.0,
) -> SandboxProcess:
    """Start ``python -m checkout.testing.sandbox`` and wait for ``/_sandbox/health``.

    ``contract`` is ``"default"`` or ``"documented"`` (see ``docs/sandbox.md``).
    """
    port = port or free_port(host)
    args = ["--host", host, "--port", str(port), "--contract", contract, *extra_args]
    if stripe_api_base:
        args += ["--stripe-api-base", stripe_api_base]
        args += ["--stripe-secret-key", stripe_secret_key or LOCALSTRIPE_SECRET_KEY]
    process, log_path, log_file = _spawn("spectra-sandbox", "checkout.testing.sandbox", args, env)
    server = SandboxProcess(
        "spectra-sandbox", host, port, process, log_path, log_file, contract=contract
    )
    _wait_ready(server, f"{server.control_base}/health", timeout)
    return server


def start_localstripe(
    host: str = "127.0.0.1", port: int | None = None, *, timeout: float = 20.0
) -> LocalstripeProcess:
    """Start localstripe through ``checkout.testing.localstripe_server`` and wait for it."""
    port = port or free_port(host)
    args = ["--host", host, "--port", str(port)]
    process, log_path, log_file = _spawn(
        "localstripe", "checkout.testing.localstripe_server", args, None
    )
    server = LocalstripeProcess("localstripe", host, port, process, log_path, log_file)
    _wait_ready(server, server.js_url, timeout)
    return server
