"""Command line: ``python -m checkout.testing.sandbox --host 127.0.0.1 --port 8765``.

``--contract documented`` (or ``SANDBOX_CONTRACT=documented``) gives only what the API's
docs promise; the default contract is generous where they are silent.

Prints the default keys and the base URLs, then serves until interrupted. ``--help``
lists every flag; each has an ``SPECTRA_SANDBOX_*`` environment variable too.
"""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from checkout.testing.sandbox.config import (
    DEFAULT_LIVE_KEY,
    DEFAULT_TEST_KEY,
    FREE_LIVE_KEY,
    FREE_TEST_KEY,
    SandboxConfig,
    config_from_args,
)
from checkout.testing.sandbox.http import make_server

logger = logging.getLogger("checkout.testing.sandbox")


def main(argv: Sequence[str] | None = None) -> int:
    config, log_level = config_from_args(argv)
    logging.basicConfig(
        level=getattr(logging, log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = make_server(config)
    base = config.public_url

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    # The startup banner is the one place keys are printed: they are the public sandbox
    # defaults, and a developer needs them to make a first call.
    lines = [
        "Spectra sandbox ready",
        f"  Contract:   {config.contract}",
        f"  API:        {base}/api/v1",
        f"  Commerce:   {base}/commerce-api/v1",
        f"  Control:    {base}/_sandbox (loopback only, no key)",
        f"  Stripe:     {_stripe_line(config)}",
        "  Keys:",
    ]
    for key in config.keys:
        if key.key in {DEFAULT_TEST_KEY, DEFAULT_LIVE_KEY, FREE_TEST_KEY, FREE_LIVE_KEY}:
            lines.append(f"    {key.key}  scopes={','.join(sorted(key.scopes))}  tier={key.tier}")
        else:
            lines.append(
                f"    {key.key[:9]}...  scopes={','.join(sorted(key.scopes))}  tier={key.tier}"
            )
    print("\n".join(lines), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _stripe_line(config: SandboxConfig) -> str:
    if config.documented:
        return "gateway_id recorded, never verified or captured (documented contract)"
    return config.stripe_api_base or "not configured: any pi_... accepted"


if __name__ == "__main__":
    sys.exit(main())
