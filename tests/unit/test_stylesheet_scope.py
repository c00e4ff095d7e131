"""The checkout's stylesheet restyles nothing of the merchant's site: every class it styles
or its pages and script use starts with ``checkout-``, every rule for an element applies
only inside the checkout's own markup, and its keyframes are named ``checkout-`` too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "checkout"
CSS = (APP / "static" / "checkout" / "checkout.css").read_text()
JS = (APP / "static" / "checkout" / "checkout.js").read_text()
# The shopper's pages; the emails carry inline styles and Django admin's pages have their own.
TEMPLATES = [
    path
    for path in sorted((APP / "templates" / "checkout").rglob("*.html"))
    if "email" not in path.relative_to(APP / "templates" / "checkout").parts
]
PREFIX = "checkout-"
# The theme's defaults: custom properties, already namespaced, on :root with no specificity.
THEME_SELECTOR = ":where(:root)"
# The success tone of the message component: no page of the checkout shows one, a
# merchant's template may (the theme's --checkout-success-* colours it).
STYLED_FOR_MERCHANTS = {"checkout-message--success"}
# At-rules whose blocks hold rules (the others, such as @font-face, hold declarations).
GROUPING = ("@media", "@supports", "@container", "@layer")

CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
COMMENT = re.compile(r"/\*.*?\*/", re.S)


def split_top(text: str, separators: str) -> list[str]:
    """Split ``text`` at ``separators`` outside parentheses, brackets and strings."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and char in separators:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def block_end(css: str, start: int) -> int:
    """Return the index just past the block whose ``{`` is at ``start``."""
    depth, quote = 0, ""
    for index in range(start, len(css)):
        char = css[index]
        if quote:
            quote = "" if char == quote and css[index - 1] != "\\" else quote
        elif char in "\"'":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    raise AssertionError("checkout.css has an unclosed block")


def parse(css: str) -> tuple[list[str], list[str]]:
    """Return the stylesheet's selector lists and its keyframes' names."""
    selectors: list[str] = []
    keyframes: list[str] = []
    index = 0
    while True:
        brace = css.find("{", index)
        if brace < 0:
            assert not css[index:].strip(), f"stray text: {css[index:]!r}"
            return selectors, keyframes
        prelude = css[index:brace].strip()
        end = block_end(css, brace)
        if prelude.startswith(GROUPING):
            inner = parse(css[brace + 1 : end - 1])
            selectors += inner[0]
            keyframes += inner[1]
        elif prelude.startswith("@keyframes"):
            keyframes.append(prelude.split()[1])
        elif not prelude.startswith("@"):
            selectors.append(prelude)
        index = end


def stylesheet() -> tuple[list[str], list[str]]:
    return parse(COMMENT.sub("", CSS))


def scope_problem(selector: str) -> str | None:
    """Say why ``selector`` (one complex selector) can match outside the checkout, or None.

    A compound selector with an element, id or universal part, or the subject itself, must
    be inside a compound that carries a ``checkout-`` class (its own, or an ancestor's).
    A class inside ``:not()`` or ``:has()`` does not scope; one inside ``:where()`` or
    ``:is()`` does.
    """
    scoped = False
    compounds = split_top(selector, " >+~")
    for compound in compounds:
        scoping = re.sub(r":(?:not|has)\((?:[^()]|\([^()]*\))*\)", "", compound)
        scoped = scoped or f".{PREFIX}" in scoping
        bare = re.sub(r"\[[^\]]*\]|::?[\w-]+(?:\((?:[^()]|\([^()]*\))*\))?", "", compound)
        if re.match(r"[a-zA-Z*#]", bare) and not scoped:
            return f"{compound!r} is not inside a .{PREFIX}* element"
    if not scoped:
        return "its subject is not a .checkout-* element or inside one"
    return None


def test_every_class_the_stylesheet_names_starts_with_checkout() -> None:
    selectors, _ = stylesheet()
    assert len(selectors) > 100  # the parser read the whole stylesheet
    unprefixed = sorted(
        {name for text in selectors for name in CLASS.findall(text) if not name.startswith(PREFIX)}
    )
    assert not unprefixed, f"classes without the {PREFIX} prefix: {unprefixed}"


def test_no_rule_matches_an_element_outside_the_checkouts_markup() -> None:
    selectors, _ = stylesheet()
    problems = [
        f"{selector}: {problem}"
        for text in selectors
        for selector in split_top(text, ",")
        if selector != THEME_SELECTOR and (problem := scope_problem(selector))
    ]
    assert not problems, "\n".join(problems)


def test_the_keyframes_are_namespaced_and_every_animation_uses_one_of_them() -> None:
    _, keyframes = stylesheet()
    assert keyframes
    assert all(name.startswith(PREFIX) for name in keyframes), keyframes
    used = set(re.findall(r"animation:\s*([\w-]+)", CSS)) - {"none"}
    assert used
    assert used <= set(keyframes), used - set(keyframes)


def template_classes() -> dict[str, set[str]]:
    """Return each page template's class names, template tags left out."""
    found: dict[str, set[str]] = {}
    for path in TEMPLATES:
        for value in re.findall(r'\bclass="([^"]*)"', path.read_text()):
            literal = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", value)
            found.setdefault(path.name, set()).update(literal.split())
    return found


def script_classes() -> set[str]:
    """Return the class names checkout.js adds, removes, toggles or selects by."""
    names = set(re.findall(r'classList\.\w+\("([\w-]+)"', JS))
    for selector in re.findall(r'(?:querySelector(?:All)?|closest)\("([^"]+)"\)', JS):
        names.update(CLASS.findall(selector))
    return names


def test_the_pages_and_the_script_use_only_checkout_classes() -> None:
    used = template_classes()
    assert "checkout-root" in used["base.html"]
    unprefixed = {
        page: sorted(name for name in names if not name.startswith(PREFIX))
        for page, names in used.items()
    }
    assert not any(unprefixed.values()), {k: v for k, v in unprefixed.items() if v}
    scripted = script_classes()
    assert scripted
    assert all(name.startswith(PREFIX) for name in scripted), scripted


def test_every_class_the_stylesheet_styles_is_on_a_page_or_set_by_the_script() -> None:
    # A class renamed in the stylesheet but not in a template (or the reverse) styles nothing.
    selectors, _ = stylesheet()
    styled = {name for text in selectors for name in CLASS.findall(text)}
    on_pages = set().union(*template_classes().values(), script_classes())
    assert not styled - on_pages - STYLED_FOR_MERCHANTS, sorted(styled - on_pages)
