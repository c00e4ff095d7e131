"""docs/install.md stays what a merchant can follow: every setting listed with its default."""

from __future__ import annotations

import re
from pathlib import Path

from checkout.conf import DEFAULTS, PREFIX

INSTALL = Path(__file__).resolve().parents[2] / "docs" / "install.md"
ROW = re.compile(r"^\| `(?P<name>CHECKOUT_[A-Z0-9_]+)` \| `(?P<default>.*?)` \| (?P<what>.+) \|$")


def table_rows() -> dict[str, tuple[str, str]]:
    text = INSTALL.read_text()
    start = text.index("<!-- settings-table:start -->")
    end = text.index("<!-- settings-table:end -->")
    rows = {}
    for line in text[start:end].splitlines():
        match = ROW.match(line)
        if match:
            rows[match["name"]] = (match["default"], match["what"].strip())
    return rows


def test_every_setting_is_documented_with_its_default() -> None:
    rows = table_rows()
    missing = [PREFIX + name for name in DEFAULTS if PREFIX + name not in rows]
    assert not missing, f"add these to the table in docs/install.md: {missing}"
    for name, default in DEFAULTS.items():
        documented, what = rows[PREFIX + name]
        assert documented == repr(default), f"{PREFIX}{name}: the doc says {documented}"
        assert what, f"{PREFIX}{name} needs a description"


def test_the_table_lists_no_setting_that_does_not_exist() -> None:
    unknown = [name for name in table_rows() if name.removeprefix(PREFIX) not in DEFAULTS]
    assert not unknown, f"remove from docs/install.md: {unknown}"


def test_the_steps_the_install_test_applies_are_present() -> None:
    text = INSTALL.read_text()
    for marker in ("settings", "urls", "base-template", "celery", "celery-init"):
        assert f"<!-- install:{marker} -->\n```" in text, marker
