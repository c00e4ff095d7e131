"""Last of the suite (by name): no configured secret in any log line it produced.

The session-wide recorder in conftest.py keeps every log record of the reliability tests
and the log files of the Celery workers they started; secrets are the values configured
when each record was emitted (Django's SECRET_KEY, the Spectra key, the Stripe secret key,
the Spectra and Stripe webhook secrets).
"""

from __future__ import annotations

import pytest

from .conftest import Figures, LogRecorder

pytestmark = [pytest.mark.integration]


def test_no_secret_in_any_log_line(log_recorder: LogRecorder, figures: Figures) -> None:
    leaks = log_recorder.leaks()
    assert not leaks, f"secrets in logs: {leaks[:10]}"
    assert log_recorder.secrets, "no secret was ever configured: the scan proves nothing"
    figures.record(
        "config-secrets",
        scenario="Configuration: secrets in logs",
        done=f"scanned {len(log_recorder.lines)} log records of this run and "
        f"{len(log_recorder.files)} worker log files for {len(log_recorder.secrets)} "
        "configured secret values",
        expected="no secret in any line",
        observed=f"{len(leaks)} found",
        seconds=0.0,
        records=len(log_recorder.lines),
        worker_logs=len(log_recorder.files),
        secrets=len(log_recorder.secrets),
    )
