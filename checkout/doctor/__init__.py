"""``checkout_doctor``'s checks that read the site itself rather than a service.

``checkout/management/commands/checkout_doctor.py`` runs every check and talks to the
services (Spectra, Stripe, the broker, email); the modules here judge what the site has
seen and how it is wired: ``deliveries`` (do webhook deliveries verify?) and ``site`` (URL
mounting, the client address behind proxies). Each check returns a ``Result``.
"""

from __future__ import annotations

from dataclasses import dataclass

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"


@dataclass(frozen=True)
class Result:
    """One check's verdict and what to do about it."""

    name: str
    status: str
    detail: str
