"""Sandbox configuration: API keys, scopes, rate tiers and the tunable [ours] defaults.

Every setting has a command-line flag and an ``SPECTRA_SANDBOX_*`` environment variable;
flags win. Keys are given as ``KEY:SCOPES[:TIER]`` where SCOPES is a comma-separated list
(or ``*`` for all), e.g. ``spk_test_ro:catalog:read,orders:read:free``, or as JSON in
``SPECTRA_SANDBOX_KEYS`` (``[{"key": ..., "scopes": [...], "tier": "free"}]``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

ALL_SCOPES: frozenset[str] = frozenset(
    {"catalog:read", "orders:read", "orders:write", "webhooks:manage"}
)

# tier -> [(limit, window_seconds), ...]; an empty list means unlimited. [doc]
DEFAULT_TIERS: dict[str, list[tuple[int, int]]] = {
    "free": [(100, 3600), (1_000, 86_400)],
    "standard": [(1_000, 3600), (50_000, 86_400)],
    "premium": [(10_000, 3600), (1_000_000, 86_400)],
    "unlimited": [],
}

DEFAULT_TEST_KEY = "spk_test_sandbox"
DEFAULT_LIVE_KEY = "spk_live_sandbox"
FREE_TEST_KEY = "spk_test_free"
FREE_LIVE_KEY = "spk_live_free"

# The two contracts: "default" is generous wherever the docs are silent ([ours]);
# "documented" gives only what the docs promise (see docs/sandbox.md for each difference).
DEFAULT_CONTRACT = "default"
DOCUMENTED_CONTRACT = "documented"
CONTRACTS = (DEFAULT_CONTRACT, DOCUMENTED_CONTRACT)


class ConfigError(ValueError):
    """A key, tier or flag given to the sandbox does not parse."""


@dataclass(frozen=True)
class KeySpec:
    """One API key: its secret, scopes and rate limits."""

    key: str
    scopes: frozenset[str]
    tier: str = "unlimited"
    limits: tuple[tuple[int, int], ...] = ()

    @property
    def is_test(self) -> bool:
        return self.key.startswith("spk_test_")

    @property
    def is_limited(self) -> bool:
        return bool(self.limits)


def make_key(
    key: str,
    scopes: Sequence[str] | str = "*",
    tier: str = "unlimited",
    tiers: Mapping[str, Sequence[tuple[int, int]]] | None = None,
    limits: Sequence[Sequence[int]] | None = None,
) -> KeySpec:
    """Build a validated ``KeySpec``; ``limits`` overrides the tier's windows."""
    if not (key.startswith("spk_test_") or key.startswith("spk_live_")) or len(key) <= 9:
        raise ConfigError("a key must start with spk_test_ or spk_live_")
    if isinstance(scopes, str):
        scope_list = [s.strip() for s in scopes.split(",") if s.strip()]
    else:
        scope_list = list(scopes)
    scope_set = ALL_SCOPES if "*" in scope_list else frozenset(scope_list)
    known_tiers = dict(tiers or DEFAULT_TIERS)
    if limits is not None:
        windows = tuple((int(n), int(w)) for n, w in limits)
        if any(n < 0 or w <= 0 for n, w in windows):
            raise ConfigError("limits must be [count >= 0, window_seconds > 0] pairs")
    else:
        if tier not in known_tiers:
            raise ConfigError(f"unknown rate tier {tier!r}")
        windows = tuple(known_tiers[tier])
    return KeySpec(key=key, scopes=scope_set, tier=tier, limits=windows)


def parse_key_spec(spec: str, tiers: Mapping[str, Sequence[tuple[int, int]]]) -> KeySpec:
    """Parse ``KEY:SCOPES[:TIER]`` (scopes themselves contain colons)."""
    key, sep, rest = spec.partition(":")
    if not sep:
        return make_key(key, "*", tiers=tiers)
    tier = "unlimited"
    head, _, last = rest.rpartition(":")
    if head and last in tiers:
        rest, tier = head, last
    elif rest in tiers:
        rest, tier = "*", rest
    return make_key(key, rest or "*", tier, tiers=tiers)


def parse_tier_spec(spec: str) -> tuple[str, list[tuple[int, int]]]:
    """Parse ``NAME=COUNT/SECONDS[,COUNT/SECONDS...]``, e.g. ``tiny=3/60,10/86400``."""
    name, sep, windows = spec.partition("=")
    if not sep or not name:
        raise ConfigError(f"bad tier spec {spec!r}; expected NAME=COUNT/SECONDS[,...]")
    result: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in windows.split(","))):
        count, slash, seconds = part.partition("/")
        if not slash:
            raise ConfigError(f"bad window {part!r}; expected COUNT/SECONDS")
        result.append((int(count), int(seconds)))
    return name.strip(), result


@dataclass
class SandboxConfig:
    """Everything the sandbox can be told at start; defaults are the [ours] decisions."""

    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str = ""
    keys: list[KeySpec] = field(default_factory=list)
    tiers: dict[str, list[tuple[int, int]]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_TIERS.items()}
    )
    free_shipping_threshold: Decimal = Decimal("99.00")
    origin_zip: str = "07094"
    stripe_api_base: str = ""
    stripe_secret_key: str = ""
    stripe_timeout: float = 10.0
    webhook_timeout: float = 5.0
    webhook_reorder_hold: float = 2.0
    seed: int = 20260515
    order_id_start: int = 1001
    contract: str = DEFAULT_CONTRACT

    # Added to every API answer (not the control API), to feel a real API's latency:
    # latency_ms plus a uniform random share of latency_jitter_ms.
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0

    def answer_delay(self) -> float:
        """Return the seconds the next API answer waits (latency plus its jitter)."""
        jitter = random.uniform(0, self.latency_jitter_ms) if self.latency_jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    @property
    def documented(self) -> bool:
        """Whether the sandbox gives only what the docs promise (no [ours] generosity)."""
        return self.contract == DOCUMENTED_CONTRACT

    @property
    def stripe_enabled(self) -> bool:
        return bool(self.stripe_api_base and self.stripe_secret_key)

    def key_map(self) -> dict[str, KeySpec]:
        return {k.key: k for k in self.keys}


def default_keys(contract: str = DEFAULT_CONTRACT) -> list[KeySpec]:
    """The keys every sandbox accepts; documented ones carry the tiers' real limits."""
    if contract != DOCUMENTED_CONTRACT:
        return [make_key(DEFAULT_TEST_KEY, "*"), make_key(DEFAULT_LIVE_KEY, "*")]
    # No tier is documented as the default, so the usual keys are Standard and a second
    # pair shows how little a Free key allows.
    return [
        make_key(DEFAULT_TEST_KEY, "*", "standard"),
        make_key(DEFAULT_LIVE_KEY, "*", "standard"),
        make_key(FREE_TEST_KEY, "*", "free"),
        make_key(FREE_LIVE_KEY, "*", "free"),
    ]


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"SPECTRA_SANDBOX_{name}", default)


def milliseconds(value: str) -> float:
    """Parse a latency flag: a number of milliseconds in 0-60000 (argparse type)."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 60_000:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of milliseconds in 0-60000")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m checkout.testing.sandbox",
        description="Offline in-memory emulator of the Spectra commerce API.",
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8765")))
    parser.add_argument(
        "--public-url",
        default=_env("PUBLIC_URL"),
        help="base URL used in image links (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="KEY:SCOPES[:TIER]",
        help="extra API key, e.g. spk_test_ro:catalog:read,orders:read:free (repeatable)",
    )
    parser.add_argument(
        "--tier",
        action="append",
        default=[],
        metavar="NAME=COUNT/SECONDS[,...]",
        help="define or override a rate tier, e.g. tiny=3/60 (repeatable)",
    )
    parser.add_argument(
        "--no-default-keys",
        action="store_true",
        default=_env("NO_DEFAULT_KEYS") in {"1", "true", "yes"},
        help="do not accept spk_test_sandbox / spk_live_sandbox",
    )
    parser.add_argument(
        "--free-shipping-threshold", default=_env("FREE_SHIPPING_THRESHOLD", "99.00")
    )
    parser.add_argument("--origin-zip", default=_env("ORIGIN_ZIP", "07094"))
    parser.add_argument("--stripe-api-base", default=_env("STRIPE_API_BASE"))
    parser.add_argument("--stripe-secret-key", default=_env("STRIPE_SECRET_KEY"))
    parser.add_argument(
        "--webhook-timeout", type=float, default=float(_env("WEBHOOK_TIMEOUT", "5"))
    )
    parser.add_argument(
        "--webhook-reorder-hold",
        type=float,
        default=float(_env("WEBHOOK_REORDER_HOLD", "2")),
        help="seconds a delivery held for reordering waits at most",
    )
    parser.add_argument(
        "--latency-ms",
        type=milliseconds,
        default=milliseconds(_env("LATENCY_MS", "0")),
        help="milliseconds every API answer waits, as a real API's latency (default 0)",
    )
    parser.add_argument(
        "--latency-jitter-ms",
        type=milliseconds,
        default=milliseconds(_env("LATENCY_JITTER_MS", "0")),
        help="up to this many milliseconds more, at random, per answer (default 0)",
    )
    parser.add_argument("--seed", type=int, default=int(_env("SEED", "20260515")))
    parser.add_argument(
        "--contract",
        choices=CONTRACTS,
        # SANDBOX_CONTRACT is the short name the docs and the demo use.
        default=_env("CONTRACT") or os.environ.get("SANDBOX_CONTRACT") or DEFAULT_CONTRACT,
        help="default: generous where the docs are silent; documented: only what the "
        "docs promise (partial orders and webhooks, no cart_id filter, no capture, "
        "tier limits on keys, customer emails for live orders)",
    )
    parser.add_argument("--log-level", default=_env("LOG_LEVEL", "INFO"))
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> tuple[SandboxConfig, str]:
    """Parse flags and env vars into a config; also return the log level."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.contract not in CONTRACTS:  # argparse checks choices on flags, not defaults
        parser.error(f"unknown contract {args.contract!r}; choose {' or '.join(CONTRACTS)}")
    config = SandboxConfig(
        host=args.host,
        port=args.port,
        public_url=args.public_url.rstrip("/"),
        free_shipping_threshold=Decimal(args.free_shipping_threshold),
        origin_zip=args.origin_zip,
        stripe_api_base=args.stripe_api_base.rstrip("/"),
        stripe_secret_key=args.stripe_secret_key,
        webhook_timeout=args.webhook_timeout,
        webhook_reorder_hold=args.webhook_reorder_hold,
        seed=args.seed,
        contract=args.contract,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
    )
    tier_specs = [*filter(None, _env("TIERS").split()), *args.tier]
    for spec in tier_specs:
        name, windows = parse_tier_spec(spec)
        config.tiers[name] = windows
    keys: list[KeySpec] = [] if args.no_default_keys else default_keys(config.contract)
    env_keys = _env("KEYS").strip()
    if env_keys.startswith("["):
        for item in json.loads(env_keys):
            keys.append(
                make_key(
                    item["key"],
                    item.get("scopes", "*"),
                    item.get("tier", "unlimited"),
                    tiers=config.tiers,
                    limits=item.get("limits"),
                )
            )
    elif env_keys:
        keys.extend(parse_key_spec(s, config.tiers) for s in env_keys.split())
    keys.extend(parse_key_spec(s, config.tiers) for s in args.key)
    config.keys = keys
    return config, str(args.log_level).upper()
