"""Run the checkout benchmark: ``python -m bench.run [--smoke] [--only a,b] [--write-baseline]``.

For each target: a hello run just before it (same load generator), a short cool-down,
the target run; three such rounds (one in smoke mode). The figure is the median ratio
target req/s / hello req/s, with min and max, and the target's p50/p99 latency. Then
the checks that are not ratios: webhook to email end to end, worker memory, queries
per request, capacity with 300 ms API answers, and the latency figures on the production
server (gthread): each endpoint's latency over its critical path, and latency tolerance.

Exit status 1 when a goal is missed (full run: the goal; smoke: half of it) or, in a full
run, when a ratio falls below 0.8x ``bench/baseline.json``. A full run writes
``bench/results/latest.json`` and the table in ``docs/performance.md``; a smoke run
writes ``bench/results/smoke.json`` only, and a run of some targets (``--only``)
``bench/results/partial.json`` only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from bench import loadgen
from bench.loadgen import LoadResult, Spec
from bench.stack import HOST, ROOT, WORKERS, Stack

if TYPE_CHECKING:
    from bench.targets import Check

BASELINE = ROOT / "bench" / "baseline.json"
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "performance.md"
TABLE_START = "<!-- bench:table:start -->"
TABLE_END = "<!-- bench:table:end -->"
BASELINE_FLOOR = 0.8


@dataclass(frozen=True)
class Mode:
    """Durations and repetitions of a full or smoke run."""

    name: str
    rounds: int
    hello_s: float
    target_s: float
    cooldown_s: float
    goal_factor: float  # the fraction of each goal that must be met
    e2e_s: float
    memory_requests: int
    slow_s: float


FULL = Mode("full", 3, 3, 6, 1.0, 1.0, 60, 20_000, 10)
SMOKE = Mode("smoke", 1, 2, 5, 0.5, 0.5, 10, 600, 5)


class RoundFigures(TypedDict):
    """One round of a ratio target: its hello run and its own run."""

    hello_rps: float
    rps: float
    ratio: float
    p50_ms: float
    p99_ms: float
    requests: int
    io_stall_ms: int | None


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def hello_specs() -> list[Spec]:
    return [Spec("GET", "/bench/hello/")]


def measure(
    specs: list[Spec], *, generator: str, seconds: float, stack: Stack, once: bool = False
) -> LoadResult:
    if generator == "wrk":
        return loadgen.run_wrk(specs, host=HOST, port=stack.web_port, seconds=seconds, once=once)
    return loadgen.run_python(specs, host=HOST, port=stack.web_port, seconds=seconds, cycle=False)


def hello_run(generator: str, seconds: float, stack: Stack) -> LoadResult:
    if generator == "wrk":
        return loadgen.run_wrk(hello_specs(), host=HOST, port=stack.web_port, seconds=seconds)
    return loadgen.run_python(
        hello_specs(), host=HOST, port=stack.web_port, seconds=seconds, cycle=True
    )


def settle() -> None:
    """Put every write so far on disk before timing anything (``sync(2)``).

    Preparing a round writes thousands of rows, and a target that writes leaves
    PostgreSQL's pages dirty in the kernel, which writes them back up to 30 s later
    (``vm.dirty_expire_centisecs``), in the middle of whatever runs then, where commits
    wait behind it (the stall it caused in a CI smoke is in docs/performance.md,
    "Method"). After ``sync`` the writeback that remains is the measured run's own.
    """
    os.sync()


def io_stalled_ms() -> float | None:
    """Milliseconds so far in which every task on the machine waited for the disk.

    The "full" line of Linux's pressure stall information (``/proc/pressure/io``); None
    where the kernel does not report it. A round's difference tells a disk stall on the
    machine apart from a slow target.
    """
    try:
        text = Path("/proc/pressure/io").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("full "):
            return int(line.rsplit("total=", 1)[1]) / 1000
    return None


def run_ratio_target(target: Check, mode: Mode, stack: Stack) -> dict[str, Any]:
    """Measure one target against hello: ``mode.rounds`` rounds of hello, cool-down, target."""
    rounds: list[RoundFigures] = []
    for n in range(mode.rounds):
        specs = target.prepare(mode=mode, round_no=n)
        target.validate(specs)
        settle()
        hello = hello_run(target.generator, mode.hello_s, stack)
        time.sleep(mode.cooldown_s)
        stalled_before = io_stalled_ms()
        result = measure(
            specs, generator=target.generator, seconds=mode.target_s, stack=stack, once=target.once
        )
        stalled_after = io_stalled_ms()
        io_stall = (
            round(stalled_after - stalled_before)
            if stalled_before is not None and stalled_after is not None
            else None
        )
        if result.errors:
            raise RuntimeError(
                f"{target.name}: {result.errors} errors in {result.requests} requests "
                f"({result.statuses}); see {stack.workdir}"
            )
        if result.requests < 20:
            raise RuntimeError(f"{target.name}: only {result.requests} requests answered")
        ratio = result.rps / hello.rps if hello.rps else 0.0
        rounds.append(
            {
                "hello_rps": round(hello.rps, 1),
                "rps": round(result.rps, 1),
                "ratio": round(ratio, 4),
                "p50_ms": round(result.p50_ms, 2),
                "p99_ms": round(result.p99_ms, 2),
                "requests": result.requests,
                "io_stall_ms": io_stall,
            }
        )
        log(
            f"  {target.name} round {n + 1}: hello {hello.rps:.0f}/s, target {result.rps:.1f}/s, "
            f"ratio {ratio:.3f}, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms"
            + (f", disk stall {io_stall} ms" if io_stall is not None else "")
        )
        time.sleep(mode.cooldown_s)
    ratios = [r["ratio"] for r in rounds]
    return {
        "title": target.title,
        "generator": target.generator,
        "ratio_median": round(statistics.median(ratios), 4),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in rounds), 2),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in rounds), 2),
        "hello_rps_median": round(statistics.median(r["hello_rps"] for r in rounds), 1),
        "rps_median": round(statistics.median(r["rps"] for r in rounds), 1),
        "rounds": rounds,
    }


def judge(name: str, entry: dict[str, Any], mode: Mode, baseline: dict[str, Any]) -> list[str]:
    """Set ``goal`` and ``met`` on ``entry``; return the failures."""
    goal = entry.get("goal") or {}
    failures = []
    factor = mode.goal_factor
    if "ratio_min" in goal and entry.get("ratio_median") is not None:
        need = goal["ratio_min"] * factor
        if entry["ratio_median"] < need:
            failures.append(f"{name}: ratio {entry['ratio_median']:.3f} < {need:.3f}")
    if "floor_ratio_min" in goal:
        need = goal["floor_ratio_min"] * factor
        if entry.get("floor_ratio") is None:
            failures.append(f"{name}: its floor {goal.get('floor')} was not measured")
        elif entry["floor_ratio"] < need:
            failures.append(f"{name}: {entry['floor_ratio']:.3f} of its floor < {need:.3f}")
    if "p99_ms_max" in goal and entry.get("p99_ms") is not None:
        limit = goal["p99_ms_max"] / factor
        if entry["p99_ms"] > limit:
            failures.append(f"{name}: p99 {entry['p99_ms']:.1f} ms > {limit:.0f} ms")
    if "p95_ms_max" in goal and entry.get("p95_ms") is not None:
        limit = goal["p95_ms_max"] / factor
        if entry["p95_ms"] > limit:
            failures.append(f"{name}: p95 {entry['p95_ms']:.1f} ms > {limit:.0f} ms")
    for key in ("lost", "doubled"):
        if key in goal and entry.get(key, 0) > goal[key]:
            failures.append(f"{name}: {key} {entry[key]} > {goal[key]}")
    if "p50_factor_max" in goal and entry.get("p50_factor") is not None:
        limit = goal["p50_factor_max"] / factor
        if entry["p50_factor"] > limit:
            failures.append(f"{name}: p50 {entry['p50_factor']:.2f}x of the base > {limit:.1f}x")
    if "latency_factor_max" in goal and entry.get("latency_factor") is not None:
        limit = goal["latency_factor_max"] / factor
        if entry["latency_factor"] > limit:
            failures.append(
                f"{name}: {entry['latency_factor']:.2f}x its critical path > {limit:.1f}x"
            )
    if "tolerance_min" in goal and entry.get("tolerance") is not None:
        need = goal["tolerance_min"] * factor
        if entry["tolerance"] < need:
            failures.append(f"{name}: latency tolerance {entry['tolerance']:.2f} < {need:.2f}")
    if "growth_max" in goal and entry.get("growth") is not None:
        limit = goal["growth_max"] / factor
        if entry["growth"] > limit:
            failures.append(f"{name}: memory grew {entry['growth']:.1%} > {limit:.0%}")
    if "band" in goal and entry.get("measured_over_predicted") is not None:
        low, high = goal["band"]
        value = entry["measured_over_predicted"]
        if not (low * factor <= value <= high / factor):
            failures.append(f"{name}: capacity {value:.2f}x of predicted, outside {low}-{high}")
    if goal.get("equal") and entry.get("equal") is False:
        failures.append(f"{name}: queries grow with size: {entry['counts']}")
    if mode is FULL and entry.get("ratio_median") is not None:
        # The baseline is the lowest round of the run that set it, so noise alone (rounds
        # swing by 10-30% on these machines) does not fail a run.
        base = (baseline.get("targets") or {}).get(name, {}).get("ratio_min")
        if base and entry["ratio_median"] < BASELINE_FLOOR * base:
            failures.append(
                f"{name}: ratio {entry['ratio_median']:.3f} < "
                f"{BASELINE_FLOOR} x baseline {base:.3f}"
            )
    entry["met"] = not failures and "error" not in entry
    return failures


def versions() -> dict[str, str]:
    import celery
    import django
    import psycopg

    def cmd(args: list[str]) -> str:
        try:
            out = subprocess.run(args, capture_output=True, text=True, check=False, timeout=10)
        except OSError:
            return "?"
        return (
            (out.stdout or out.stderr).strip().splitlines()[0]
            if (out.stdout or out.stderr)
            else "?"
        )

    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": version("gunicorn"),
        "celery": celery.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": pg,
        "redis": cmd(["redis-server", "--version"]).split(" v=")[-1].split(" ")[0],
        "wrk": cmd(["wrk", "--version"]).split(" [")[0],
    }


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
    }


def fmt(value: Any, spec: str = ".3f") -> str:
    return "—" if value is None else format(value, spec)


def goal_text(goal: dict[str, Any]) -> str:
    parts = []
    if "ratio_min" in goal:
        parts.append(f"≥ {goal['ratio_min']}")
    if "p99_ms_max" in goal:
        parts.append(f"p99 ≤ {goal['p99_ms_max']} ms")
    if "p95_ms_max" in goal:
        parts.append(f"p95 ≤ {goal['p95_ms_max'] / 1000:g} s, 0 lost, 0 doubled")
    if "p50_factor_max" in goal:
        parts.append(f"p50 ≤ {goal['p50_factor_max']}x of {goal['base']}")
    if "growth_max" in goal:
        parts.append(f"grows ≤ {goal['growth_max']:.0%}")
    if "latency_factor_max" in goal:
        parts.append(f"≤ {goal['latency_factor_max']}x the critical path")
    if "tolerance_min" in goal:
        parts.append(f"≥ {goal['tolerance_min']} of the 0 ms throughput")
    if "band" in goal:
        parts.append(f"{goal['band'][0]}-{goal['band'][1]}x predicted")
    if goal.get("equal"):
        parts.append("equal")
    return ", ".join(parts) or "—"


def markdown_table(results: dict[str, Any]) -> str:
    lines = [
        f"Run of {results['date']} (`{results['command']}`), {results['mode']} mode, "
        f"{results['duration_s']:.0f} s. Machine: {results['machine']['cpus']} x "
        f"{results['machine']['cpu']}, {results['machine']['memory_gib']} GiB. "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + ".",
        "",
        "| target | ratio median (min-max) | req/s (hello) | p50 ms | p99 ms | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for _name, t in results["targets"].items():
        if t.get("ratio_median") is not None:
            ratio = f"{t['ratio_median']:.3f} ({t['ratio_min']:.3f}-{t['ratio_max']:.3f})"
            rps = f"{t['rps_median']:.0f} ({t['hello_rps_median']:.0f}, {t['generator']})"
        else:
            ratio, rps = "—", "—"
        extra = t.get("summary", "") or ("ERROR: " + t["error"][:120] if t.get("error") else "")
        lines.append(
            f"| {t['title']}{' — ' + extra if extra else ''} | {ratio} | {rps} | "
            f"{fmt(t.get('p50_ms'), '.1f')} | {fmt(t.get('p99_ms'), '.1f')} | "
            f"{goal_text(t.get('goal') or {})} | {'yes' if t.get('met') else 'NO'} |"
        )
    if results.get("queries"):
        lines += [
            "",
            "| queries per request | small | large | equal | API calls per request |",
            "|---|---|---|---|---|",
        ]
        for _name, q in results["queries"].items():
            counts = q.get("counts") or {}
            equal = "ERROR" if q.get("error") else ("yes" if q.get("equal") else "NO")
            lines.append(
                f"| {q['title']} | {counts.get('small', '—')} | {counts.get('large', '—')} | "
                f"{equal} | {q.get('api_calls', '—')} |"
            )
    if results.get("skipped"):
        lines += ["", "Left out (code not landed): " + ", ".join(results["skipped"]) + "."]
    return "\n".join(lines)


def write_doc(results: dict[str, Any]) -> None:
    table = markdown_table(results)
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{TABLE_START}\n{TABLE_END}\n"
    if TABLE_START not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    DOC.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Checkout benchmark (ratios against hello).")
    parser.add_argument("--smoke", action="store_true", help="1 round, 5 s, half the goals")
    parser.add_argument("--only", default="", help="comma-separated target names")
    parser.add_argument("--write-baseline", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not write results or docs")
    args = parser.parse_args(argv)
    mode = SMOKE if args.smoke else FULL
    only = {n for n in args.only.split(",") if n}

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    started = time.monotonic()
    stack = Stack(database_url=database_url, redis_url=redis_url)
    log(f"{mode.name} run; work dir {stack.workdir}")
    try:
        stack.prepare()
        import django

        django.setup()
        from bench import targets as target_module

        stack.start_stub()
        stack.start_web()
        log(f"stack up: gunicorn {WORKERS} sync workers on {HOST}:{stack.web_port}")
        baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
        results: dict[str, Any] = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "mode": mode.name,
            "command": "make bench-smoke" if args.smoke else "make bench",
            "machine": machine(),
            "versions": versions(),
            "settings": {
                "workers": WORKERS,
                "worker_class": "sync",
                "connections": loadgen.CONNECTIONS,
                "wrk_threads": loadgen.WRK_THREADS,
                "rounds": mode.rounds,
                "hello_s": mode.hello_s,
                "target_s": mode.target_s,
                "cooldown_s": mode.cooldown_s,
            },
            "targets": {},
            "queries": {},
            "skipped": [],
        }
        failures: list[str] = []
        ctx = target_module.Context(stack=stack, mode=mode)
        # Warm both workers up (imports, templates, connections) before any figure.
        hello_run("wrk", 2, stack)
        for check in target_module.all_checks(ctx):
            if only and check.name not in only:
                continue
            missing = check.missing()
            if missing:
                log(f"skip {check.name}: {missing}")
                results["skipped"].append(f"{check.name} ({missing})")
                continue
            log(f"{check.name}: {check.title}")
            try:
                if check.kind == "ratio":
                    entry = run_ratio_target(check, mode, stack)
                else:
                    settle()
                    entry = check.run(mode=mode)
            except Exception as err:  # one broken target must not hide the others
                log(f"  {check.name} ERROR: {err}")
                entry = {"error": f"{type(err).__name__}: {err}"[:2000]}
                failures.append(f"{check.name}: error: {str(err)[:300]}")
            entry.setdefault("title", check.title)
            entry["goal"] = check.goal
            section = "queries" if check.kind == "queries" else "targets"
            results[section][check.name] = entry
        for section in ("targets", "queries"):
            for name, entry in results[section].items():
                base = (entry.get("goal") or {}).get("base")
                if base in results["targets"] and entry.get("p50_ms"):
                    base_p50 = results["targets"][base]["p50_ms"]
                    entry["p50_factor"] = round(entry["p50_ms"] / base_p50, 3)
                floor = (entry.get("goal") or {}).get("floor")
                floor_ratio = (results["targets"].get(floor) or {}).get("ratio_median")
                if floor_ratio and entry.get("ratio_median") is not None:
                    entry["floor_ratio"] = round(entry["ratio_median"] / floor_ratio, 3)
                failures += judge(name, entry, mode, baseline)
        results["duration_s"] = round(time.monotonic() - started, 1)
        results["failures"] = failures
        results["passed"] = not failures
        if not args.no_write:
            RESULTS.mkdir(parents=True, exist_ok=True)
            out = RESULTS / (
                "smoke.json" if args.smoke else ("partial.json" if only else "latest.json")
            )
            out.write_text(json.dumps(results, indent=2) + "\n")
            log(f"wrote {out.relative_to(ROOT)}")
            if not args.smoke and not only:
                write_doc(results)
                log(f"updated {DOC.relative_to(ROOT)}")
        if args.write_baseline:
            base = {
                "date": results["date"],
                "note": "the lowest round of each target in the run that set it; make bench "
                "fails when a median falls below 0.8x these",
                "targets": {
                    n: {"ratio_min": t["ratio_min"]}
                    for n, t in results["targets"].items()
                    if t.get("ratio_min") is not None
                },
            }
            BASELINE.write_text(json.dumps(base, indent=2) + "\n")
            log(f"wrote {BASELINE.relative_to(ROOT)}")
        print(markdown_table(results))
        if failures:
            log("FAILED:\n  " + "\n  ".join(failures))
            return 1
        log(f"passed in {results['duration_s']:.0f} s")
        return 0
    finally:
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
