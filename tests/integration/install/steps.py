"""What a merchant does to a site of their own: copy a code block of docs/install.md, run a
command in the site's virtualenv, serve the site with ``runserver``."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "install.md"


def doc_block(marker: str) -> str:
    """Return the code block that follows ``<!-- install:<marker> -->`` in the doc."""
    match = re.search(
        rf"<!-- install:{re.escape(marker)} -->\n```[a-z]*\n(.*?)\n```", DOC.read_text(), re.S
    )
    assert match, f"docs/install.md has no block install:{marker}"
    return match.group(1) + "\n"


def site_env(bin_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a command in the merchant's site: its virtualenv first on PATH,
    its own HOME, and ``mysite.settings``."""
    return {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "mysite.settings",
        **extra,
    }


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``cmd`` and return its output; fail with its output unless it exits 0."""
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@contextmanager
def runserver(
    manage: list[str], *, cwd: Path, env: dict[str, str], port: int, ready_path: str
) -> Iterator[str]:
    """Serve the site with ``manage.py runserver`` on ``port``; yield its base URL once
    ``ready_path`` answers 200, and stop the server afterwards.

    The server's log (a line per request) goes to ``runserver.log`` in ``cwd``: a pipe
    nobody reads would fill up and stall the server halfway through a browser test.
    """
    log_path = cwd / "runserver.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + ready_path, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"runserver did not answer\n{log_path.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
