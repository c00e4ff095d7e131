"""The built wheel in a fresh virtualenv, shared by the install tests of a session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.integration.install.steps import REPO, run


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the freshly built wheel installed; returns its bin dir.

    Session-wide: building the wheel and installing its dependencies from the package
    index is most of an install test's time, and the sites made from it never change it.
    """
    root = tmp_path_factory.mktemp("install")
    source = root / "src"
    source.mkdir()
    # Build from a copy so the build leaves nothing in the work tree.
    shutil.copytree(
        REPO / "checkout",
        source / "checkout",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTHON"))}
    built = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(root / "dist"), str(source)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output
    # Our metadata is current: setuptools has nothing to deprecate in pyproject.toml
    # (e.g. ``project.license`` as a table instead of an SPDX string).
    assert "project.license" not in output, output
    assert "SetuptoolsDeprecationWarning" not in output, output
    wheel = next((root / "dist").glob("spectra_checkout-*.whl"))
    # The "testing" extra brings what the sandbox and localstripe need (docs/sandbox.md).
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    assert "Provides-Extra: testing" in metadata
    for requirement in ("localstripe==1.15.10", "pytest>=8", "pytest-django>=4.8"):
        assert f'Requires-Dist: {requirement}; extra == "testing"' in metadata
    run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root, env=env)
    bin_dir = root / "venv" / "bin"
    run([str(bin_dir / "pip"), "install", "-q", str(wheel)], cwd=root, env=env, timeout=180)
    return bin_dir
