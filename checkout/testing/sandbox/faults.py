"""Fault injection and rate limiting: what the sandbox does *to* a request, not with it.

``RouteFaults`` answers the next N calls of a route with a 5xx, a 429, a hang or a dropped
connection. ``WebhookFaults`` picks deliveries to drop, duplicate, reorder or delay (next
N, or a percentage). ``RateLimiter`` keeps a sliding window of request times per key.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

ROUTE_ACTIONS = ("error", "rate_limit", "hang", "drop_after_process")
WEBHOOK_FAULT_KINDS = ("drop", "duplicate", "reorder", "delay")


class FaultSpecError(ValueError):
    """A fault description sent to the control API is not valid."""


@dataclass
class RouteFault:
    id: int
    method: str
    path_glob: str
    action: str
    remaining: int
    status: int = 503
    retry_after: int = 1
    seconds: float = 0.0
    then: str = "close"  # for hang: "close" (no answer, not processed) or "answer"
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in {"*", method}) and fnmatch.fnmatchcase(path, self.path_glob)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "route": f"{self.method} {self.path_glob}",
            "action": self.action,
            "remaining": self.remaining,
            "status": self.status,
            "retry_after": self.retry_after,
            "seconds": self.seconds,
            "then": self.then,
            "hits": self.hits,
        }


def _route_to_glob(route: str) -> tuple[str, str]:
    method, _, path = route.strip().partition(" ")
    if not path:
        raise FaultSpecError('route must look like "POST /api/v1/orders"')
    path = re.sub(r"\{[^}/]+\}", "*", path.strip())
    return method.upper(), path


class RouteFaults:
    """Thread-safe list of pending route faults, consumed first-registered first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[RouteFault] = []
        self._ids = 0
        self.fired: dict[str, int] = dict.fromkeys(ROUTE_ACTIONS, 0)

    def add(self, spec: dict[str, Any]) -> RouteFault:
        route = spec.get("route")
        action = spec.get("action")
        if not isinstance(route, str):
            raise FaultSpecError("route is required")
        if action not in ROUTE_ACTIONS:
            raise FaultSpecError(f"action must be one of {', '.join(ROUTE_ACTIONS)}")
        method, glob = _route_to_glob(route)
        count = int(spec.get("count", 1))
        status = int(spec.get("status", 503 if action == "error" else 429))
        if action == "error" and not 500 <= status <= 599:
            raise FaultSpecError("status must be a 5xx for action error")
        then = str(spec.get("then", "close"))
        if then not in {"close", "answer"}:
            raise FaultSpecError('then must be "close" or "answer"')
        with self._lock:
            self._ids += 1
            fault = RouteFault(
                id=self._ids,
                method=method,
                path_glob=glob,
                action=str(action),
                remaining=count,
                status=status,
                retry_after=int(spec.get("retry_after", 1)),
                seconds=float(spec.get("seconds", 0)),
                then=then,
            )
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> RouteFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    fault.hits += 1
                    self.fired[fault.action] += 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.fired = dict.fromkeys(ROUTE_ACTIONS, 0)


@dataclass
class _Selector:
    remaining: int = 0
    percent: float = 0.0
    seconds: float = 0.0  # delay only


class WebhookFaults:
    """Decides per delivery whether to drop, duplicate, reorder or delay it."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._selectors: dict[str, _Selector] = {k: _Selector() for k in WEBHOOK_FAULT_KINDS}

    def configure(self, spec: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            for kind, value in spec.items():
                if kind not in WEBHOOK_FAULT_KINDS:
                    raise FaultSpecError(f"unknown webhook fault {kind!r}")
                if value is None:
                    self._selectors[kind] = _Selector()
                    continue
                if not isinstance(value, dict):
                    raise FaultSpecError(f"{kind} must be an object like {{'next': 2}}")
                percent = float(value.get("percent", 0))
                if not 0 <= percent <= 100:
                    raise FaultSpecError("percent must be between 0 and 100")
                self._selectors[kind] = _Selector(
                    remaining=int(value.get("next", 0)),
                    percent=percent,
                    seconds=float(value.get("seconds", 1.0)),
                )
            return self._describe()

    def pick(self, kind: str) -> bool:
        with self._lock:
            sel = self._selectors[kind]
            if sel.remaining > 0:
                sel.remaining -= 1
                return True
            return sel.percent > 0 and self._rng.random() * 100 < sel.percent

    def delay_seconds(self) -> float:
        with self._lock:
            return self._selectors["delay"].seconds

    def _describe(self) -> dict[str, Any]:
        return {
            k: {"next": s.remaining, "percent": s.percent, "seconds": s.seconds}
            for k, s in self._selectors.items()
        }

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return self._describe()

    def clear(self) -> None:
        with self._lock:
            self._selectors = {k: _Selector() for k in WEBHOOK_FAULT_KINDS}


@dataclass
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: int
    retry_after: int
    headers: dict[str, str] = field(default_factory=dict)


class RateLimiter:
    """Per-key sliding windows; only allowed requests are counted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, windows: tuple[tuple[int, int], ...]) -> RateDecision | None:
        if not windows:
            return None
        now = time.time()
        longest = max(w for _, w in windows)
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - longest:
                hits.popleft()
            blocked_retry = 0
            for limit, window in windows:
                in_window = [t for t in hits if t > now - window]
                if len(in_window) >= limit:
                    oldest = in_window[len(in_window) - limit] if limit else now
                    blocked_retry = max(blocked_retry, math.ceil(oldest + window - now))
            allowed = blocked_retry == 0
            if allowed:
                hits.append(now)
            # Report on the shortest window (the hourly one for the documented tiers).
            limit, window = min(windows, key=lambda lw: lw[1])
            in_window = [t for t in hits if t > now - window]
            remaining = max(0, limit - len(in_window))
            reset_at = (in_window[0] + window) if in_window else now
            retry_after = max(1, blocked_retry) if not allowed else 0
            decision = RateDecision(
                allowed=allowed,
                limit=limit,
                remaining=remaining,
                reset_epoch=math.ceil(reset_at),
                retry_after=retry_after,
            )
            decision.headers = {
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(decision.reset_epoch),
            }
            if not allowed:
                decision.headers["Retry-After"] = str(retry_after)
            return decision

    def forget(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()
