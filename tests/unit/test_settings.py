"""Settings modules: production passes `check --deploy`, and refuses to start without secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from checkout.conf import app_settings

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "prod-" + "k3y" * 20,
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "postgres://shop@127.0.0.1:5432/shop",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CHECKOUT_SPECTRA_API_KEY": "spk_live_prodkey",
    "CHECKOUT_STRIPE_SECRET_KEY": "sk_live_prodkey",
    "CHECKOUT_STRIPE_PUBLISHABLE_KEY": "pk_live_prodkey",
    "CHECKOUT_WEBHOOK_SECRET": "whsec_prod",
    "CHECKOUT_SITE_URL": "https://shop.example.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CHECKOUT_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_a_complete_production_environment() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        "--settings=config.settings.production",
        env=PRODUCTION_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret() -> None:
    env = dict(PRODUCTION_ENV)
    del env["CHECKOUT_SPECTRA_API_KEY"]
    result = manage("check", "--settings=config.settings.production", env=env)
    assert result.returncode != 0
    assert "CHECKOUT_SPECTRA_API_KEY" in result.stderr
    assert "sk_live_prodkey" not in result.stderr


def test_app_settings_are_read_at_call_time(settings: Any) -> None:
    settings.CHECKOUT_SPECTRA_READ_TIMEOUT = 4
    assert app_settings.SPECTRA_READ_TIMEOUT == 4.0
    settings.CHECKOUT_SPECTRA_READ_TIMEOUT = 7
    assert app_settings.SPECTRA_READ_TIMEOUT == 7.0
    del settings.CHECKOUT_SPECTRA_READ_TIMEOUT
    assert app_settings.SPECTRA_READ_TIMEOUT == 10.0


def production_settings(code: str, **variables: str) -> str:
    env = {**PRODUCTION_ENV, "CACHE_URL": "redis://127.0.0.1:6379/1", **variables}
    result = manage("shell", "-c", code, "--settings=config.settings.production", env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_production_uses_djangos_own_database_cache_and_sessions() -> None:
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.SESSION_ENGINE)"
    )
    assert production_settings(code).split() == [
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        "django.contrib.sessions.backends.cached_db",
    ]


def test_production_pools_connections_in_place_of_persistent_ones() -> None:
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['OPTIONS'].get('pool', False), d['CONN_MAX_AGE'])"
    )
    assert production_settings(code) == ("{'min_size': 2, 'max_size': 16, 'timeout': 10.0} 0")
    assert production_settings(
        code, DATABASE_POOL_MAX_SIZE="40", DATABASE_POOL_MIN_SIZE="4", DATABASE_POOL_TIMEOUT="3"
    ) == ("{'min_size': 4, 'max_size': 40, 'timeout': 3.0} 0")
    assert production_settings(code, DATABASE_POOL="false") == "False 60"


def test_production_reads_the_trusted_proxies_from_the_environment() -> None:
    code = (
        "from checkout.conf import app_settings as s; "
        "print(s.TRUSTED_PROXY_COUNT, ','.join(s.TRUSTED_PROXIES))"
    )
    default = manage(
        "shell", "-c", code, "--settings=config.settings.production", env=PRODUCTION_ENV
    )
    assert default.returncode == 0, default.stderr
    # Production assumes the TLS proxy that SECURE_PROXY_SSL_HEADER names.
    assert default.stdout.strip().splitlines()[-1] == "1"
    env = {
        **PRODUCTION_ENV,
        "CHECKOUT_TRUSTED_PROXY_COUNT": "2",
        "CHECKOUT_TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.5",
    }
    result = manage("shell", "-c", code, "--settings=config.settings.production", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2 10.0.0.0/8,192.168.1.5"


def test_the_demo_refuses_to_serve_beyond_loopback(capsys: Any) -> None:
    from checkout import demo

    for host in ("0.0.0.0", "::", "192.168.1.20", "shop.example.com"):  # noqa: S104
        assert demo.main(["--host", host]) == 2
        assert "loopback only" in capsys.readouterr().err
