"""The app's migrations describe its models on the installed Django release.

A new Django release can change how a field or constraint deconstructs; the support matrix
runs this on each one, so a merchant never finds a migration missing from the package.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_the_models_need_no_new_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "checkout", check=True, dry_run=True, stdout=out)
    except SystemExit:
        pytest.fail(f"makemigrations would write a migration:\n{out.getvalue()}")
