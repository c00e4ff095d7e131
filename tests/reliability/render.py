"""Render the figures of the last reliability run into docs/reliability.md.

``python -m tests.reliability.render`` reads ``var/reliability/figures.json`` (written by
the suite, on each sandbox contract) and replaces the table between the ``figures``
markers in the document: one row per scenario, a column per contract.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

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


def main() -> int:
    figures = json.loads(FIGURES.read_text())
    text = DOC.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{table(figures)}\n{END}{tail}")
    print(f"{DOC.relative_to(ROOT)}: {len(figures)} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main())
