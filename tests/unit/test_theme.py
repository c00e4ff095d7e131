"""The checkout's stylesheet takes every colour, radius and font from ``--checkout-*``
custom properties, whose defaults a site overrides, and docs/install.md lists them all."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "checkout" / "static" / "checkout" / "checkout.css").read_text()
INSTALL = (ROOT / "docs" / "install.md").read_text()
THEME = re.compile(r":where\(:root\)\s*\{(?P<body>[^}]*)\}")
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgb|rgba|hsl|hsla)\(|\b(?:white|black|gray|grey)\b")
# Shapes, not theme: a pill and a circle stay round whatever the theme's radius.
SHAPES = {"999px", "50%"}


def theme() -> dict[str, str]:
    match = THEME.search(CSS)
    assert match, "checkout.css has no :where(:root) block of theme defaults"
    body = re.sub(r"/\*.*?\*/", "", match["body"], flags=re.S)
    return dict(re.findall(r"(--checkout-[\w-]+)\s*:\s*([^;]+);", body))


def rules() -> str:
    """The stylesheet without its theme block and comments."""
    return re.sub(r"/\*.*?\*/", "", THEME.sub("", CSS), flags=re.S)


def test_the_theme_defaults_are_custom_properties_without_specificity() -> None:
    names = theme()
    for name in ("--checkout-accent", "--checkout-ink", "--checkout-radius", "--checkout-focus"):
        assert name in names
    assert ":root {" not in CSS  # a default on :root itself would beat a site's loaded earlier


def test_no_rule_hard_codes_a_colour_a_radius_or_a_font() -> None:
    body = rules()
    assert not COLOUR.findall(body), COLOUR.findall(body)
    radii = re.findall(r"border-radius:\s*([^;}]+)", body)
    assert radii
    for radius in radii:
        assert radius.strip().startswith("var(--checkout-") or radius.strip() in SHAPES, radius
    fonts = re.findall(r"font-family:\s*([^;}]+)", body)
    assert fonts
    assert all(font.startswith("var(--checkout-font-family") for font in fonts), fonts
    # Nothing but the checkout's own custom properties, and each one defined.
    used = set(re.findall(r"var\((--[\w-]+)", body))
    assert all(name.startswith("--checkout-") for name in used), used
    assert used - {"--checkout-font-family"} <= set(theme()), used - set(theme())


def test_every_theme_property_is_documented() -> None:
    for name in [*theme(), "--checkout-font-family"]:
        assert f"`{name}`" in INSTALL, f"document {name} in docs/install.md"
