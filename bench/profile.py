"""Profile one benchmark target in-process: ``python -m bench.profile <target> [-n 200]``.

Builds the same stack as ``bench.run`` (bench database, stub) without gunicorn, prepares
the target's requests and replays them through Django's WSGI handler under pyinstrument,
then prints the call tree (or writes HTML with ``--html``). Also prints queries and stub
calls per request. pyinstrument is a development tool: ``pip install pyinstrument``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import urllib.request
from typing import Any

from bench.loadgen import Spec
from bench.stack import Stack


def wsgi_call(app: Any, spec: Spec) -> tuple[str, bytes]:
    """Call the WSGI app once with a prepared request."""
    path, _, query = spec.path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": spec.method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(spec.body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(spec.body)),
    }
    for key, value in spec.headers.items():
        name = key.upper().replace("-", "_")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name] = value
    status: list[str] = []

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        status.append(s)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return status[0], body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--html", default="")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="replay the prepared requests this many times (as wrk cycles through them)",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="send every prepared request once before profiling (steady state, as in a "
        "timed run; only for targets whose requests can be repeated)",
    )
    args = parser.parse_args()
    from pyinstrument import Profiler

    stack = Stack(
        database_url=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    try:
        stack.prepare()
        import django

        django.setup()
        from django.core.wsgi import get_wsgi_application
        from django.db import connection, reset_queries

        from bench import run, targets

        stack.start_stub()
        stack.web_port = 1  # not used: requests go straight to the WSGI handler
        ctx = targets.Context(stack=stack, mode=run.SMOKE)
        check = next(c for c in targets.all_checks(ctx) if c.name == args.target)
        specs: list[Spec] = []
        while len(specs) < args.n:
            specs += check.prepare(mode=run.SMOKE, round_no=0)
        specs = specs[: args.n]
        app = get_wsgi_application()
        status, body = wsgi_call(app, specs[0])
        print(f"probe: {status}; {len(body)} bytes")
        connection.force_debug_cursor = True
        reset_queries()
        stats_url = stack.stub_url("/_bench/stats")
        calls_before = json.loads(urllib.request.urlopen(stats_url).read())["calls"]
        wsgi_call(app, specs[1 % len(specs)])
        calls_after = json.loads(urllib.request.urlopen(stats_url).read())["calls"]
        print(f"queries in one request: {len(connection.queries)}")
        for q in connection.queries:
            print("   ", q["sql"][:160])
        delta = {k: v - calls_before.get(k, 0) for k, v in calls_after.items()}
        print("stub calls in one request:", {k: v for k, v in delta.items() if v})
        connection.force_debug_cursor = False
        if args.warm:
            for spec in specs:
                wsgi_call(app, spec)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _round in range(args.repeat):
            for spec in specs:
                wsgi_call(app, spec)
        profiler.stop()
        if args.html:
            with open(args.html, "w") as fh:
                fh.write(profiler.output_html())
            print(f"wrote {args.html}")
        else:
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
