"""The German and French catalogs are complete and current.

The strings are extracted again from the current sources, as ``make messages`` does
(``makemessages``, in a copy of the repository), and merged with the committed
catalogs: a string added to a template or to Python code without running ``make
messages`` and translating it fails here, and so does a catalog entry left untranslated
or fuzzy, one the sources no longer use, a placeholder a translation lost (``msgfmt
--check``), or a compiled ``.mo`` older than its ``.po``. Needs GNU gettext (``make
gettext``).
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LANGUAGES = ("de", "fr")
# The app's catalog ships in the wheel; the demo site's covers templates/ and config/.
CATALOG_DIRS = ("checkout/locale", "locale")
# What `make messages` scans: the sources, never the tests, tools or installed packages.
SOURCES = ("manage.py", "checkout", "config", "templates", "locale")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def translated(self) -> bool:
        forms = 2 if self.msgid_plural is not None else 1
        return len(self.msgstr) >= forms and all(self.msgstr.values())


def _unquote(text: str) -> str:
    body = text.strip()
    assert len(body) >= 2, text
    assert body[0] == body[-1] == '"', text
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    out, chars = [], iter(body[1:-1])
    for char in chars:
        out.append(escapes.get(next(chars), "?") if char == "\\" else char)
    return "".join(out)


def read_po(path: Path) -> list[Entry]:
    """Return the catalog's live entries (obsolete ``#~`` ones left out), header first."""
    entries: list[Entry] = []
    entry, keyword = Entry(), ""
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip() or line.startswith("#~"):
            if keyword:
                entries.append(entry)
            entry, keyword = Entry(), ""
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        else:
            if not line.startswith('"'):  # a keyword line, else a continuation of the last
                keyword, _, line = line.partition(" ")
                if keyword.startswith("msgstr"):
                    entry.msgstr[int(keyword[7:-1]) if "[" in keyword else 0] = ""
                else:
                    setattr(entry, keyword, "")
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if "[" in keyword else 0
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, keyword, getattr(entry, keyword) + _unquote(line))
    return entries


def catalogs(root: Path) -> list[Path]:
    return [
        root / d / lang / "LC_MESSAGES" / "django.po" for d in CATALOG_DIRS for lang in LANGUAGES
    ]


def gettext_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"GNU gettext's {name} is missing (make gettext)", pytrace=False)
    return path


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sources with their catalogs re-extracted and merged, as `make messages`."""
    gettext_tool("xgettext")
    root = tmp_path_factory.mktemp("messages")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            *(f"--locale={lang}" for lang in LANGUAGES),
            "--no-obsolete",
            "--add-location=file",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root


@pytest.mark.parametrize("po", catalogs(Path()), ids=str)
def test_every_string_in_the_sources_is_translated(merged: Path, po: Path) -> None:
    entries = read_po(merged / po)
    header, messages = entries[0], entries[1:]
    assert header.msgid == "", f"{po}: no header"
    assert "fuzzy" not in header.flags, f"{po}: the header is fuzzy"
    assert messages, f"{po} is empty"
    untranslated = [e.msgid for e in messages if not e.translated]
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    assert not untranslated, (
        f"{po}: {len(untranslated)} strings are not translated; run `make messages` and "
        f"translate them: {untranslated}"
    )
    assert not fuzzy, f"{po}: fuzzy (guessed) translations; check them, drop the flag: {fuzzy}"


@pytest.mark.parametrize("po", catalogs(Path()), ids=str)
def test_catalogs_hold_exactly_the_strings_of_the_sources(merged: Path, po: Path) -> None:
    committed = {e.key for e in read_po(REPO / po)}
    current = {e.key for e in read_po(merged / po)}
    assert committed - current == set(), f"{po}: strings no longer in the sources (make messages)"
    assert current - committed == set(), f"{po}: strings missing (make messages)"


@pytest.mark.parametrize("po", catalogs(REPO), ids=lambda p: str(p.relative_to(REPO)))
def test_translations_keep_their_placeholders(po: Path) -> None:
    # --check: every %(name)s of a python-format string, the plural forms and the header.
    result = subprocess.run(
        [gettext_tool("msgfmt"), "--check", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("po", catalogs(REPO), ids=lambda p: str(p.relative_to(REPO)))
def test_compiled_catalog_is_current(po: Path, tmp_path: Path) -> None:
    shipped = po.with_suffix(".mo")
    assert shipped.exists(), f"{shipped} is missing (make messages)"
    fresh = tmp_path / "django.mo"
    subprocess.run([gettext_tool("msgfmt"), "-o", str(fresh), str(po)], check=True, timeout=60)
    with shipped.open("rb") as old, fresh.open("rb") as new:
        shipped_catalog = gettext.GNUTranslations(old)._catalog  # type: ignore[attr-defined]
        fresh_catalog = gettext.GNUTranslations(new)._catalog  # type: ignore[attr-defined]
    assert shipped_catalog == fresh_catalog, f"{shipped} is older than its .po (make messages)"
