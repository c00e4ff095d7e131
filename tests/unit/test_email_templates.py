"""The email templates keep their CSS in one stylesheet, with classes in the markup: no
hand-inlined ``style`` attributes (``email_render`` inlines the stylesheet when sending)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EMAILS = ROOT / "checkout" / "templates" / "checkout" / "email"
STYLESHEET = EMAILS / "includes" / "styles.css"


def templates() -> list[Path]:
    return sorted(path for path in EMAILS.rglob("*") if path.is_file())


def test_no_email_template_has_a_hand_written_style_attribute() -> None:
    assert len(templates()) >= 19  # six kinds of three files, the base and the includes
    offenders = [
        str(path.relative_to(EMAILS))
        for path in templates()
        if re.search(r"\bstyle\s*=", path.read_text(), re.IGNORECASE)
    ]
    assert offenders == []


def test_every_class_the_emails_use_has_a_rule_in_the_stylesheet() -> None:
    css = re.sub(r"/\*.*?\*/", "", STYLESHEET.read_text(), flags=re.S)
    defined = set(re.findall(r"\.(email-[\w-]+)", css))
    used = {
        name
        for path in templates()
        if path.suffix == ".html"
        for attribute in re.findall(r'class="([^"]*)"', path.read_text())
        for name in attribute.split()
    }
    assert used, "the HTML templates name no classes"
    assert used - defined == set()
    assert "@media" in css  # phones: the responsive rules that stay in a <style>
