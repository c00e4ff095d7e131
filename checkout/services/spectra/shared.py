"""The shared Spectra clients: one per distinct configuration, so every caller in a
process reuses one connection pool, and a changed setting gets a fresh client."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from checkout.conf import app_settings

from .client import SpectraClient

_MAX_CLIENTS = 8
_clients: OrderedDict[tuple[Any, ...], SpectraClient] = OrderedDict()
_clients_lock = threading.Lock()


def get_spectra_client() -> SpectraClient:
    """Return the shared client for the current settings.

    One client (and so one connection pool) per distinct configuration: a changed
    setting, as under ``override_settings``, gets a fresh client.
    """
    config = (
        app_settings.SPECTRA_API_BASE,
        app_settings.SPECTRA_COMMERCE_BASE,
        app_settings.SPECTRA_API_KEY,
        app_settings.SPECTRA_CONNECT_TIMEOUT,
        app_settings.SPECTRA_READ_TIMEOUT,
        app_settings.SPECTRA_ORDER_TIMEOUT,
    )
    with _clients_lock:
        client = _clients.get(config)
        if client is not None:
            _clients.move_to_end(config)
            return client
        api_base, commerce_base, key, connect, read, order = config
        client = SpectraClient(
            api_base=api_base,
            commerce_base=commerce_base,
            api_key=key,
            connect_timeout=connect,
            read_timeout=read,
            order_timeout=order,
        )
        _clients[config] = client
        # Evicted clients are not closed: another thread may still be using one; their
        # pools close when they are garbage collected.
        while len(_clients) > _MAX_CLIENTS:
            _clients.popitem(last=False)
        return client


def clear_spectra_clients() -> None:
    """Forget the shared clients (for tests)."""
    with _clients_lock:
        _clients.clear()
