"""``make loadtest``: start the rush's stack, ramp shoppers up stage by stage, check the
books, write the figures and the plot.

Each stage runs ``bench.loadtest.shopper`` in a child process for a fixed number of
shoppers, after a short warm-up that is not counted (the first requests fill caches and
pools). The ramp doubles while stages hold (a stage holds when every step's p95 is at
most 2 s and nothing failed); after the first that does not, one stage halfway between
it and the last that held, then it stops (``report.next_users``). The full run rewrites
the figures in docs/performance.md ("A sale-day rush") and docs/images/loadtest.png;
``--smoke`` runs one small stage (about a minute), writes neither, and fails on any
error or unbalanced books.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench.loadtest import report
from bench.loadtest.report import Ledger, Sample, Stage
from bench.loadtest.stack import LATENCY_MS, RushStack

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = ROOT / "docs" / "performance.md"
PLOT = ROOT / "docs" / "images" / "loadtest.png"
RESULTS = ROOT / "bench" / "results"
START = "<!-- loadtest:start -->"
END = "<!-- loadtest:end -->"
FULL_RAMP = (5, 10, 20, 40, 80, 160)
WARM_UP_USERS = 3


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="one small stage, ~1 minute")
    parser.add_argument(
        "--users",
        default="",
        help="comma-separated shoppers per stage (default 5,10,20,40,80,160; smoke 6)",
    )
    parser.add_argument("--stage-seconds", type=float, default=0, help="default 30, smoke 20")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS)
    parser.add_argument(
        "--note",
        default="",
        help="said next to the figures, e.g. what else ran on the machine",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs")
    parser.add_argument(
        "--results",
        default="",
        help="where the JSON summary goes (default bench/results/loadtest.json, "
        "loadtest-smoke.json with --smoke)",
    )
    args = parser.parse_args(argv)
    default_users = "6" if args.smoke else ",".join(map(str, FULL_RAMP))
    args.ramp = [int(u) for u in (args.users or default_users).split(",") if u.strip()]
    args.stage_seconds = args.stage_seconds or (20.0 if args.smoke else 30.0)
    # Think time: a person's 0.5-2 s between pages; the smoke hurries.
    args.think = (0.1, 0.4) if args.smoke else (0.5, 2.0)
    return args


def run_stage(
    rush: RushStack, args: argparse.Namespace, users: int, seconds: float
) -> tuple[Stage, int]:
    """Run ``users`` shoppers for one stage; return the stage and how many were placed."""
    assert rush.localstripe is not None
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = Path(out.name)
    started = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.loadtest.shopper",
            "--host",
            rush.site_url,
            "--stripe",
            rush.localstripe.api_base,
            "--users",
            str(users),
            "--seconds",
            str(seconds),
            "--spawn-rate",
            str(max(5, users / 5)),  # everyone in within ~5 s: a rush, not a trickle
            "--think-min",
            str(args.think[0]),
            "--think-max",
            str(args.think[1]),
            "--out",
            str(path),
        ],
        cwd=ROOT,
        check=True,
    )
    data = json.loads(path.read_text())
    path.unlink()
    stage = Stage(
        users=users,
        seconds=time.time() - started,
        samples=[Sample(**s) for s in data["samples"]],
        journeys=int(data["journeys"]),
    )
    return stage, int(data["placed"])


def print_stage(stage: Stage) -> None:
    verdict = "holds" if stage.holds else "does NOT hold"
    print(
        f"\n{stage.users} shoppers: {stage.throughput:.1f} req/s, {stage.journeys} journeys, "
        f"{stage.errors} errors, worst p95 {stage.worst_p95_ms:.0f} ms: {verdict}"
    )
    print(report.steps_table(stage))
    errors: dict[str, int] = {}
    for s in stage.samples:
        if not s.ok:
            key = f"{s.step}: {s.error[:160]}"
            errors[key] = errors.get(key, 0) + 1
    for text, count in sorted(errors.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {count} x {text}")


def write_docs(stages: list[Stage], ledger: Ledger, args: argparse.Namespace, load: str) -> None:
    from bench.loadtest.plot import plot

    PLOT.parent.mkdir(parents=True, exist_ok=True)
    plot(stages, PLOT)
    best = report.largest_holding(stages)
    held = (
        f"**{best.users} shoppers at once** ({best.throughput:.1f} requests/s, "
        f"{best.journeys} orders in {best.seconds:.0f} s) with every step's p95 at most "
        f"{report.P95_LIMIT_MS / 1000:.0f} s and no error"
        if best
        else "no stage held (every step's p95 at most 2 s, no error)"
    )
    problems = report.ledger_problems(ledger)
    parts = [
        START,
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, sandbox at "
        f"{args.latency_ms:.0f} ms, {os.cpu_count()} cores; load average before the run {load}."
        + (f" {args.note}" if args.note else ""),
        "",
        f"The largest rush that held: {held}.",
        "",
        report.stage_table(stages),
        "",
        f"Steps at {best.users if best else stages[0].users} shoppers:",
        "",
        report.steps_table(best or stages[0]),
        "",
        "The books at the end of the run (every stage):",
        "",
        report.ledger_table(ledger),
        "",
        "Balanced: yes." if not problems else "Balanced: **no**: " + "; ".join(problems),
        "",
        "![Throughput and p95 per step over the rush](images/loadtest.png)",
        END,
    ]
    text = DOC.read_text()
    block = "\n".join(parts)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{DOC} has no {START} ... {END} block to fill")
    DOC.write_text(pattern.sub(lambda _: block, text))


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # a log as it goes, also into a file
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    rush = RushStack(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        latency_ms=args.latency_ms,
    )
    began = time.monotonic()
    print(f"Starting the stack (sandbox at {args.latency_ms:.0f} ms); load average {load}")
    rush.start()
    stages: list[Stage] = []
    placed = 0
    try:
        if not args.smoke:
            _, placed = run_stage(rush, args, WARM_UP_USERS, 10)
            print(f"Warm-up: {WARM_UP_USERS} shoppers for 10 s ({placed} orders, not counted)")
        users = report.next_users(stages, args.ramp)
        while users is not None:
            stage, stage_placed = run_stage(rush, args, users, args.stage_seconds)
            stages.append(stage)
            placed += stage_placed
            print_stage(stage)
            users = report.next_users(stages, args.ramp)
        ledger = rush.ledger(placed_by_shoppers=placed)
    finally:
        rush.close()
    problems = report.ledger_problems(ledger)
    print("\n" + report.ledger_table(ledger))
    print("Books balanced." if not problems else "BOOKS DO NOT BALANCE: " + "; ".join(problems))
    best = report.largest_holding(stages)
    print(f"Largest rush that held: {best.users if best else 'none'} shoppers")
    RESULTS.mkdir(exist_ok=True)
    summary = {
        "smoke": args.smoke,
        "latency_ms": args.latency_ms,
        "load_average_before": load,
        "largest_holding_users": best.users if best else 0,
        "stages": [
            {
                "users": s.users,
                "seconds": round(s.seconds, 1),
                "requests_per_s": round(s.throughput, 2),
                "journeys": s.journeys,
                "errors": s.errors,
                "holds": s.holds,
                "steps": [asdict(f) for f in s.steps],
            }
            for s in stages
        ],
        "ledger": asdict(ledger),
        "ledger_problems": problems,
    }
    name = "loadtest-smoke.json" if args.smoke else "loadtest.json"
    results = Path(args.results) if args.results else RESULTS / name
    results.write_text(json.dumps(summary, indent=2) + "\n")
    if not args.smoke and not args.no_docs:
        write_docs(stages, ledger, args, load)
    print(f"Done in {time.monotonic() - began:.0f} s")
    if problems or best is None:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
