"""Independent API calls made in one round: started together, each answer read when needed.

A checkout page needs several answers from Spectra that do not depend on each other (the
cart, the shipping rates, the tax, the promo and gift-card checks). Made one after
another, the shopper waits for the sum of their latencies; made in one round, for the
slowest. ``api_round`` starts every call at once (all but the last on a small shared
thread pool, the last in the calling thread) and returns a ``Round``; ``Round.result``
answers one call, or raises exactly what that call raised.

Rules the callers keep, and why:

- Only reads go in a round (``GET cart``, ``shipping-rates``, ``calculate-tax``,
  ``validate-promo``, ``validate-gift-card``). Nothing that writes (``POST /orders``,
  a PaymentIntent) runs next to anything that decides its amount.
- A caller reads the answers in the order it used to make the calls, and only those it
  would have made: a call started speculatively (say, the promo check of a cart that
  turns out empty) whose answer is never read changes nothing, even if it failed. So a
  failure fails the step exactly as it did when the calls were sequential.
- Each call is still one client method call, with its own timeout, retries and log line.
  It runs in a copy of the caller's context, so the attempt's timeline observer
  (``contextvars``) records it.
- No database access in the pool's threads: Django opens one connection per thread, and
  a pool thread lives on after the request. Should a call touch the database anyway,
  its connections are closed when it ends.
- With Django's connection pool (``OPTIONS["pool"]``), the calling thread gives its
  connection back to the pool while it waits on the API (it is never inside a
  transaction here: no network call is), so a worker's threads need connections for
  their database work only, not for their waiting. Persistent connections without a
  pool are kept: closing one would really close it.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from django.db import connections

__all__ = ["Round", "api_round"]

# Per process. Each call spends its time waiting on a socket, so threads are cheap; with
# gthread's 32 request threads and up to 4 calls each in a round, a full worker queues a
# little here rather than opening more connections to Spectra than its pool keeps.
POOL_THREADS = 64

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="spectra")
        return _pool


def _in_pool(context: contextvars.Context, call: Callable[[], Any]) -> Any:
    try:
        return context.run(call)
    finally:
        connections.close_all()  # this thread's own connections only (none, normally)


class Round:
    """The calls of one round, each answered by ``result(name)``."""

    def __init__(self, futures: dict[str, Future[Any]]) -> None:
        self._futures = futures

    def __contains__(self, name: str) -> bool:
        return name in self._futures

    def result(self, name: str) -> Any:
        """Return the call's answer, or raise what the call raised."""
        return self._futures[name].result()


def _release_pooled_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if (
            connection.connection is not None
            and not connection.in_atomic_block
            and getattr(connection, "pool", None) is not None
        ):
            connection.close()  # back to the pool; the next query takes one again


def api_round(calls: dict[str, Callable[[], Any]]) -> Round:
    """Run ``calls`` together; return their round once every one of them has ended.

    The last call runs in the calling thread (one thread hop fewer). Waiting for all,
    even those whose answer may go unread, keeps every call on the attempt's timeline
    and none running after its request; each call has its own timeout, so none waits
    for ever.
    """
    _release_pooled_connections()
    futures: dict[str, Future[Any]] = {}
    names = list(calls)
    for name in names[:-1]:
        futures[name] = _executor().submit(_in_pool, contextvars.copy_context(), calls[name])
    if names:
        last: Future[Any] = Future()
        try:
            last.set_result(calls[names[-1]]())
        except Exception as err:  # answered to whoever reads it, as the others are
            last.set_exception(err)
        futures[names[-1]] = last
    wait(futures.values())
    return Round(futures)
