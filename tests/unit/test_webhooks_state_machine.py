"""The forward-only status machine, in full."""

from __future__ import annotations

import pytest

from checkout.services.sync import status_move_allowed

FORWARD = ["pending", "processing", "shipped", "delivered"]


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        *[(a, b, FORWARD.index(b) > FORWARD.index(a)) for a in FORWARD for b in FORWARD],
        ("pending", "cancelled", True),
        ("processing", "cancelled", True),
        ("shipped", "cancelled", True),
        ("delivered", "cancelled", False),
        ("delivered", "refunded", True),
        ("pending", "refunded", True),
        *[("cancelled", s, False) for s in [*FORWARD, "refunded", "cancelled"]],
        *[("refunded", s, False) for s in [*FORWARD, "cancelled", "refunded"]],
        ("processing", "on_hold", False),
    ],
)
def test_status_move_allowed(old: str, new: str, allowed: bool) -> None:
    assert status_move_allowed(old, new) is allowed
