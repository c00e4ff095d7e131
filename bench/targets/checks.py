"""What one benchmark check is, the run's shared context, and helpers every group uses.

A ``Check`` is either a ratio target (``prepare`` gives the requests a load generator
times against hello) or a measurement of its own (``run`` returns its figures). Both
take the run's ``Context`` first, so the groups' functions are plain top-level
functions.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

from bench import loadgen
from bench.loadgen import Spec
from bench.stack import HOST, Stack
from bench.targets import prepared

if TYPE_CHECKING:
    from bench.run import Mode

# The modules a checkout page target needs; a target is skipped while they are missing.
VIEWS = ("checkout.views", "checkout.services.orders")


@dataclass
class Context:
    """What every check of one run shares: the stack, the mode, one CSRF secret and the
    staff session of the admin targets."""

    stack: Stack
    mode: Mode
    # A 32-character CSRF secret, sent as the cookie and as the form field or header.
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))
    _admin_session: str | None = field(default=None, init=False, repr=False)
    _production_port: int | None = field(default=None, init=False, repr=False)

    def production_port(self) -> int:
        """The port of the production server (gthread), started on first use."""
        if self._production_port is None:
            self._production_port = self.stack.start_production_web()
            loadgen.run_wrk(
                [Spec("GET", "/bench/hello/")], host=HOST, port=self._production_port, seconds=2
            )
        return self._production_port

    def admin_session(self) -> str:
        """The session key of the bench's superuser, logged in once per run."""
        if self._admin_session is None:
            self._admin_session = prepared.admin_session()
        return self._admin_session


Prepare = Callable[[Context, "Mode", int], list[Spec]]
Run = Callable[[Context, "Mode"], dict[str, Any]]


@dataclass
class Check:
    """One thing the benchmark measures."""

    name: str
    title: str
    goal: dict[str, Any]
    ctx: Context
    kind: str = "ratio"  # ratio | custom | queries
    generator: str = "wrk"
    once: bool = False  # each prepared request is sent once (a pool, not a rotation)
    needs: tuple[str, ...] = ()
    url_name: str = ""
    expect: tuple[int, ...] = (200,)
    expect_text: bytes = b""
    prepare_fn: Prepare | None = None
    run_fn: Run | None = None

    def missing(self) -> str | None:
        reason = importable(*self.needs)
        if reason is None and self.url_name:
            reason = url_exists(self.url_name)
        return reason

    def prepare(self, *, mode: Mode, round_no: int) -> list[Spec]:
        assert self.prepare_fn is not None
        return self.prepare_fn(self.ctx, mode, round_no)

    def validate(self, specs: list[Spec]) -> None:
        """Send a probe and check the answer, so a redirect or an error is never timed."""
        pool = self.once or self.generator == "python"
        probe = specs[-1] if pool else specs[0]
        status, body = loadgen.send_one(probe, host=HOST, port=self.ctx.stack.web_port)
        if status not in self.expect or (self.expect_text and self.expect_text not in body):
            raise RuntimeError(
                f"{self.name}: probe answered {status} (want {self.expect}"
                f"{', containing ' + repr(self.expect_text) if self.expect_text else ''}): "
                f"{body[:600]!r}"
            )
        if pool:
            specs.pop()  # consumed

    def run(self, *, mode: Mode) -> dict[str, Any]:
        assert self.run_fn is not None
        return self.run_fn(self.ctx, mode)


def importable(*modules: str) -> str | None:
    """Return a reason when a module the target needs has not landed."""
    for name in modules:
        try:
            if find_spec(name) is None:
                return f"{name} missing"
        except ModuleNotFoundError:
            return f"{name} missing"
    return None


def url_exists(name: str) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        reverse(name, kwargs=None) if ":" in name else None
    except NoReverseMatch as err:
        if "with no arguments" in str(err) or "arguments '()'" in str(err):
            return None  # exists, needs arguments
        return f"URL {name} missing"
    except Exception as err:  # the URL conf itself does not import yet
        return f"URL conf: {type(err).__name__}"
    return None


def pool_size(mode: Mode, per_second: int = 800) -> int:
    """Requests a pool target may need in one timed run (generous: ``per_second``)."""
    return int(mode.target_s * per_second) + 100


def count_queries(ctx: Context, spec: Spec) -> int:
    """The database queries one request makes, once a first visit has filled the caches."""
    port = ctx.stack.web_port
    counted = Spec(
        spec.method, spec.path, {**spec.headers, "X-Bench-Count-Queries": "1"}, spec.body
    )
    loadgen.send_one(spec, host=HOST, port=port)  # warm: the first visit may fill caches
    status, response = loadgen.send_one(counted, host=HOST, port=port)
    value = loadgen.header_value(response, "X-Bench-Queries")
    if status != 200 or value is None:
        raise RuntimeError(f"query count of {spec.path}: status {status}")
    return int(value)


def stub_call(ctx: Context, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Ask the API stub's control endpoints (``/_bench/...``): stats, or a new delay."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        ctx.stack.stub_url(path), data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.loads(answer.read()))


def api_calls(ctx: Context) -> int:
    """Calls the API stub has answered so far, all endpoints together."""
    return sum(stub_call(ctx, "/_bench/stats")["calls"].values())
