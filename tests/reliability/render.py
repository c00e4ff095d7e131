"""Render the figures of the last reliability run into docs/reliability.md.

``python -m tests.reliability.render`` reads ``var/reliability/figures.json`` (written by
the suite, on each sandbox contract) and replaces the table between the ``figures``
markers in the document: one row per scenario, a column per contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "var" / "reliability" / "figures.json"
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"
ORDER = ("placement", "webhook", "crash", "hostile", "tamper", "abuse", "config")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


CONTRACTS = ("default", "documented")


def table(figures: dict[str, dict[str, object]]) -> str:
    """One row per scenario, an "observed" and a "time" column per sandbox contract.

    Rows are keyed ``name`` (the default contract) and ``name@documented``; the two runs
    share the scenario, what was done (the same seeds, the same fault mix) and the
    expectation.
    """

    def rank(key: str) -> tuple[int, str]:
        prefix = next((i for i, p in enumerate(ORDER) if key.startswith(p)), len(ORDER))
        return prefix, key

    scenarios: dict[str, dict[str, dict[str, object]]] = {}
    for key, row in figures.items():
        name, _, contract = key.partition("@")
        scenarios.setdefault(name, {})[contract or "default"] = row
    lines = [
        "| scenario | what was done | expected | observed: default contract "
        "| observed: documented contract | time (s) default / documented | recorded |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(scenarios, key=rank):
        runs = scenarios[name]
        first = runs.get("default") or runs["documented"]
        observed = [str(runs[c]["observed"]) if c in runs else "not run" for c in CONTRACTS]
        seconds = " / ".join(str(runs[c]["seconds"]) if c in runs else "-" for c in CONTRACTS)
        recorded = max(str(r["recorded_at"]) for r in runs.values())
        cells = [first["scenario"], first["done"], first["expected"], *observed, seconds, recorded]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


PROMISES_START, PROMISES_END = "<!-- promises:start -->", "<!-- promises:end -->"


def promises(figures: dict[str, dict[str, Any]]) -> str:
    """The promises, summed over the scenarios of each contract's run (same fault mix)."""
    sums: dict[str, dict[str, int]] = {}
    budget: dict[str, str] = {}
    for key, row in figures.items():
        name, _, contract = key.partition("@")
        numbers = row.get("numbers") or {}
        total = sums.setdefault(contract or "default", {})
        if name.startswith("placement"):
            orders, captures = numbers["spectra_orders"], numbers["captures"]
            total["double"] = total.get("double", 0) + numbers["duplicate_orders"]
            total["capture_no_order"] = total.get("capture_no_order", 0) + max(0, captures - orders)
            total["order_no_capture"] = total.get("order_no_capture", 0) + max(0, orders - captures)
            total["orders"] = total.get("orders", 0) + orders
        if "doubled" in numbers:
            total["doubled"] = total.get("doubled", 0) + numbers["doubled"]
            total["emails"] = (
                total.get("emails", 0) + numbers["emails"] + numbers.get("spectra_emails", 0)
            )
        if "background_calls" in numbers:
            budget[contract or "default"] = (
                f"{numbers['background_calls']} calls, budget "
                f"{numbers['background_budget_per_hour']}/h"
            )
    rows = [
        ("double orders", lambda t: f"{t.get('double', 0)} (of {t.get('orders', 0)} orders)"),
        ("captures without an order", lambda t: str(t.get("capture_no_order", 0))),
        (
            "orders without a capture past the resolution window",
            lambda t: str(t.get("order_no_capture", 0)),
        ),
        (
            "lost emails, doubled emails (every due email checked sent)",
            lambda t: f"0, {t.get('doubled', 0)} (of {t.get('emails', 0)} sent)",
        ),
    ]
    lines = [
        "| promise (summed over the scenarios) | default contract | documented contract |",
        "|---|---|---|",
    ]
    for label, show in rows:
        cells = [show(sums[c]) if c in sums else "not run" for c in CONTRACTS]
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    calls = [budget.get(c, "not run") for c in CONTRACTS]
    lines.append(f"| background calls (storm reconciliation) | {calls[0]} | {calls[1]} |")
    return "\n".join(lines)


def _replace(text: str, start: str, end: str, body: str) -> str:
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return f"{head}{start}\n{body}\n{end}{tail}"


def main() -> int:
    figures = json.loads(FIGURES.read_text())
    text = _replace(DOC.read_text(), START, END, table(figures))
    if PROMISES_START in text:
        text = _replace(text, PROMISES_START, PROMISES_END, promises(figures))
    DOC.write_text(text)
    print(f"{DOC.relative_to(ROOT)}: {len(figures)} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
