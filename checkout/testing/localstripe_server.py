"""Run localstripe on a chosen host and port, without its pickle-to-/tmp persistence.

``python -m checkout.testing.localstripe_server --host 127.0.0.1 --port 8420``.
localstripe is GPL: we import and run it in its own process and never copy its code.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m checkout.testing.localstripe_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args(argv)

    from aiohttp import web
    from localstripe import resources, server

    # The stock server pickles its whole store to one shared /tmp file after every
    # write: slow, and shared between parallel runs. State lives in memory only here.
    resources.Store.dump_to_disk = lambda self: None
    logging.basicConfig(level=logging.WARNING)
    print(f"localstripe listening on http://{args.host}:{args.port}", flush=True)
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
