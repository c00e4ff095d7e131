"""The Spectra sandbox: an offline, in-memory, thread-safe HTTP emulator of the Spectra API.

Run it with ``python -m checkout.testing.sandbox --host 127.0.0.1 --port 8765``; see
``docs/sandbox.md``. The package is split by job:

- ``config``: keys, scopes, rate tiers and every tunable default (flags and env vars);
- ``seed``: the catalog, promo codes, gift cards, tax rules and shipping services;
- ``store``: the in-memory state and the business rules, one module per section:
  ``state`` (the lock, reset, clock, keys), ``records`` (carts, orders, the error answer),
  ``catalog``, ``carts``, ``pricing`` (shipping, tax, promos, gift cards), ``placement``
  (``POST /orders``), ``orders`` (reading orders, status changes) and ``validation``;
- ``webhooks``: subscriptions, signing and the background delivery worker with its faults;
- ``faults``: route fault injection and the rate limiter;
- ``http``: the HTTP server, the router and the JSON envelope.

Nothing here imports Django.
"""

from checkout.testing.sandbox.config import KeySpec, SandboxConfig

__all__ = ["KeySpec", "SandboxConfig"]
