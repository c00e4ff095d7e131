"""The support matrix: the unit and integration suites on each supported Django and Python.

``make test-matrix`` runs every session here with the ``DATABASE_URL`` and ``REDIS_URL`` of
``make test``; ``make test-matrix NOX_ARGS='-s "tests(django=6.1)"'`` runs one. Each
session has its own virtualenv under ``.nox/``, kept between runs, so a second run only
reinstalls what changed.

Interpreters come from pyenv when it has them (``$PYENV_ROOT/versions/3.13.x``), otherwise
from ``PATH``; nox never downloads one, and a missing interpreter is an error, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True

# (Django, Python): each supported Django once, and both ends of each range in
# pyproject.toml: the oldest Django on the oldest Python, the newest on the newest.
MATRIX = [("5.2", "3.11"), ("6.0", "3.12"), ("6.1", "3.13")]


def interpreter(version: str) -> str:
    """Return pyenv's newest ``python<version>`` if pyenv has one, else ``version`` itself.

    pyenv's shims only answer for the versions selected with ``pyenv global``, so the
    interpreters are taken from its ``versions/`` directory directly.
    """
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [
        path
        for path in (root / "versions").glob(f"{version}.*/bin/python{version}")
        if path.parent.parent.name.removeprefix(f"{version}.").isdigit()
    ]
    if not found:
        return version
    return str(max(found, key=lambda path: int(path.parent.parent.name.rsplit(".", 1)[1])))


@nox.session
@nox.parametrize(
    ("python", "django"),
    [nox.param(interpreter(python), django, id=f"django={django}") for django, python in MATRIX],
)
def tests(session: nox.Session, django: str) -> None:
    """Run tests/unit and tests/integration (or the pytest arguments given) on one Django."""
    session.install("-e", ".[dev]", f"django~={django}.0")
    # The load test's smoke checks the bench harness, not Django: `make test` runs it once.
    args = session.posargs or [
        "tests/unit",
        "tests/integration",
        "--ignore=tests/integration/test_loadtest_smoke.py",
    ]
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *args)
