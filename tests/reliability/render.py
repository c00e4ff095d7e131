"""Render the figures of the last reliability run into docs/reliability.md.

``python -m tests.reliability.render`` reads ``var/reliability/figures.json`` (written by
the suite) and replaces the table between the ``figures`` markers in the document.
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


def table(figures: dict[str, dict[str, object]]) -> str:
    def rank(key: str) -> tuple[int, str]:
        prefix = next((i for i, p in enumerate(ORDER) if key.startswith(p)), len(ORDER))
        return prefix, key

    lines = [
        "| scenario | what was done | expected | observed | time (s) | recorded |",
        "|---|---|---|---|---|---|",
    ]
    for key in sorted(figures, key=rank):
        row = figures[key]
        lines.append(
            "| "
            + " | ".join(
                _cell(row[name])
                for name in ("scenario", "done", "expected", "observed", "seconds", "recorded_at")
            )
            + " |"
        )
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
