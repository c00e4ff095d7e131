"""Every management command the app ships answers ``--help`` with its usage."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import ManagementUtility, find_commands

import checkout

COMMANDS = sorted(find_commands(str(Path(checkout.__file__).parent / "management")))


def test_the_app_ships_management_commands() -> None:
    # Guards the parametrized test below against passing on an empty list.
    assert "checkout_doctor" in COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_help_prints_usage_and_exits_0(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    # What ``python manage.py <name> --help`` runs: argparse prints the help and exits.
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", name, "--help"]).execute()

    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith(f"usage: manage.py {name}")
    assert "--help" in out
