"""Settings, read once from the environment at start-up and passed down explicitly."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .domain.providers import ProviderKey

DEFAULT_SQLITE_PATH = Path("data") / "gql-telephony.sqlite3"
PROVIDER_API_PREFIX = "GQL_TELEPHONY_PROVIDER_API_"


class SettingsError(ValueError):
    """A setting is missing or malformed; the process must not start."""


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
    secret_keys: tuple[str, ...] = ()
    broker_url: str = "memory://"
    env: str = "development"
    allowed_origins: tuple[str, ...] = ()
    db_pool_size: int = 10
    db_pool_timeout: float = 30.0
    ws_init_timeout: float = 10.0
    # Requests per minute per API key (per client address without a valid key), and how many
    # may come at once (api/middleware/rate_buckets.py; one limit for every process with a Redis broker).
    # 0: off.
    rate_limit_per_minute: int = 3000
    rate_limit_burst: int = 300
    # Addresses or networks of the reverse proxies whose X-Forwarded-For names the client.
    # Empty: the header is ignored and the client is the socket's peer.
    trusted_proxies: tuple[str, ...] = ()
    # Seconds a connection may take to send a request's complete headers before it is closed.
    header_timeout: float = 10.0
    # Open connections (WebSockets included) per process; 0: as many as the descriptor limit
    # leaves room for (gql_telephony/server.py).
    max_connections: int = 0
    # Reads run a plan compiled from the validated document when one covers it (the same
    # answer as the generic executor, much faster); off: every read takes the generic executor.
    compiled_plans: bool = True
    # Memory per process for everything kept per query document, in one bound (api/memory_bound.py):
    # whole responses, reused until the organization's data changes, parsed documents and plans.
    # 0: no responses are kept (documents and plans are, within 16 MiB).
    response_cache_mb: int = 64
    # Provider key ("TWILIO") -> the origin its API calls go to instead of the public one (a test
    # double or a regional endpoint); the operator's choice, so not held to the private-address rule.
    provider_api_origins: dict[str, str] = field(default_factory=dict)
    # Hosts a tenant typed (an ARI endpoint, a SignalWire space) may resolve to loopback or private
    # addresses: for a server on the same private network as its Asterisk, or tests.
    allow_private_provider_hosts: bool = False
    # Seconds between scheduled re-checks of every configuration with its provider; 0: off.
    provider_check_interval: int = 21600
    # Seconds one attempt of a provider call may take, from connecting to the last byte.
    provider_timeout: float = 10.0
    # Off: no check runs by itself (after a change or on a schedule); checkTelephonyConfig still asks.
    provider_checks: bool = True
    # Days an audit event is kept; older ones are pruned in the background. 0: kept forever.
    audit_retention_days: int = 400
    # Webhook endpoint URLs may resolve to loopback or private addresses: for receivers on the
    # same private network, or tests.
    allow_private_webhook_hosts: bool = False
    # Off: this process sends no webhook deliveries (another process, or none, does); the outbox
    # keeps them.
    webhook_deliveries: bool = True
    # Seconds before the first retry of a failed delivery; later retries back off from it.
    webhook_retry_base: float = 5.0
    # Seconds after which a delivery that keeps failing is given up, and an endpoint whose every
    # attempt failed for that long is disabled (about a day).
    webhook_give_up_after: int = 86400
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL (None for :memory: and server databases)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[-1].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("GQL_TELEPHONY_ENV", "development").strip().lower() or "development"
        if mode not in ("development", "production"):
            raise SettingsError("GQL_TELEPHONY_ENV must be 'development' or 'production'")
        database_url = env.get("GQL_TELEPHONY_DATABASE_URL", "").strip() or cls.database_url
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                "GQL_TELEPHONY_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        if database_url.startswith("sqlite") and ":memory:" in database_url:
            raise SettingsError(
                "GQL_TELEPHONY_DATABASE_URL must name a SQLite file: an in-memory database is not shared by connections"
            )
        broker_url = env.get("GQL_TELEPHONY_BROKER_URL", "").strip() or cls.broker_url
        if not broker_url.startswith(("memory://", "redis://", "rediss://")):
            raise SettingsError("GQL_TELEPHONY_BROKER_URL must be memory:// or redis://HOST:PORT/DB")
        return cls(
            database_url=database_url,
            secret_keys=_split(env.get("GQL_TELEPHONY_SECRET_KEYS", "")),
            broker_url=broker_url,
            env=mode,
            allowed_origins=_allowed_origins(env.get("GQL_TELEPHONY_ALLOWED_ORIGINS", "")),
            db_pool_size=_positive_int(env, "GQL_TELEPHONY_DB_POOL_SIZE", cls.db_pool_size),
            db_pool_timeout=float(_positive_int(env, "GQL_TELEPHONY_DB_POOL_TIMEOUT", 30)),
            ws_init_timeout=float(_positive_int(env, "GQL_TELEPHONY_WS_INIT_TIMEOUT", 10)),
            rate_limit_per_minute=_whole_number(env, "GQL_TELEPHONY_RATE_LIMIT_PER_MINUTE", cls.rate_limit_per_minute),
            rate_limit_burst=_positive_int(env, "GQL_TELEPHONY_RATE_LIMIT_BURST", cls.rate_limit_burst),
            trusted_proxies=_networks(env, "GQL_TELEPHONY_TRUSTED_PROXIES"),
            header_timeout=float(_positive_int(env, "GQL_TELEPHONY_HEADER_TIMEOUT", 10)),
            max_connections=_whole_number(env, "GQL_TELEPHONY_MAX_CONNECTIONS", cls.max_connections),
            compiled_plans=_switch(env, "GQL_TELEPHONY_COMPILED_PLANS", cls.compiled_plans),
            response_cache_mb=_whole_number(env, "GQL_TELEPHONY_RESPONSE_CACHE_MB", cls.response_cache_mb),
            provider_api_origins=_provider_api_origins(env),
            allow_private_provider_hosts=_switch(
                env, "GQL_TELEPHONY_ALLOW_PRIVATE_PROVIDER_HOSTS", cls.allow_private_provider_hosts
            ),
            provider_check_interval=_whole_number(
                env, "GQL_TELEPHONY_PROVIDER_CHECK_INTERVAL", cls.provider_check_interval
            ),
            provider_timeout=_positive_seconds(env, "GQL_TELEPHONY_PROVIDER_TIMEOUT", cls.provider_timeout),
            provider_checks=_switch(env, "GQL_TELEPHONY_PROVIDER_CHECKS", cls.provider_checks),
            audit_retention_days=_whole_number(env, "GQL_TELEPHONY_AUDIT_RETENTION_DAYS", cls.audit_retention_days),
            allow_private_webhook_hosts=_switch(
                env, "GQL_TELEPHONY_ALLOW_PRIVATE_WEBHOOK_HOSTS", cls.allow_private_webhook_hosts
            ),
            webhook_deliveries=_switch(env, "GQL_TELEPHONY_WEBHOOK_DELIVERIES", cls.webhook_deliveries),
            webhook_retry_base=_positive_seconds(env, "GQL_TELEPHONY_WEBHOOK_RETRY_BASE", cls.webhook_retry_base),
            webhook_give_up_after=_positive_int(
                env, "GQL_TELEPHONY_WEBHOOK_GIVE_UP_AFTER", cls.webhook_give_up_after
            ),
        )


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


ORIGINS_VARIABLE = "GQL_TELEPHONY_ALLOWED_ORIGINS"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _allowed_origins(value: str) -> tuple[str, ...]:
    """Each entry as a browser writes it in its Origin header (CORS compares the two as text):
    scheme and host in lower case, no default port, no trailing slash. An entry that is more
    than an origin is refused, by position: the value is not echoed, it may hold a password."""
    origins: list[str] = []
    for position, entry in enumerate(_split(value), start=1):
        try:
            origin = _normalized_origin(entry)
        except _NotAnOrigin as why:
            raise SettingsError(
                f"{ORIGINS_VARIABLE}: entry {position} is not an origin ({why}). List origins as "
                "scheme://host[:port], comma-separated, e.g. https://dashboard.example.com,http://localhost:3000"
            ) from None
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


class _NotAnOrigin(ValueError):
    """Why an entry is not an origin: a phrase that quotes nothing of the entry."""


def _normalized_origin(entry: str) -> str:
    """scheme://host[:port] as a browser sends it; _NotAnOrigin for anything more or less."""
    if entry == "*":
        raise _NotAnOrigin("'*' is not accepted: list each origin whose pages may call this API")
    if not entry.isascii() or any(c.isspace() or c == "\\" for c in entry):
        raise _NotAnOrigin("it holds spaces, backslashes or non-ASCII characters; write a host in ASCII (punycode)")
    try:
        parts = urlsplit(entry)
        port = parts.port
    except ValueError:
        raise _NotAnOrigin("its host or port cannot be read") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not entry.lower().startswith(scheme + "://"):
        raise _NotAnOrigin("it must start with http:// or https://")
    if "@" in parts.netloc:
        raise _NotAnOrigin("it holds a user name or password")
    if not parts.hostname or parts.netloc.endswith(":"):
        raise _NotAnOrigin("it has no host, or an empty port")
    if parts.path not in ("", "/") or parts.query or parts.fragment or entry.endswith(("?", "#")):
        raise _NotAnOrigin("it has a path, a query or a fragment; an origin ends after the host and port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def _networks(env: os._Environ[str] | dict[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (CIDR), each checked; '*' is refused because
    trusting every peer would let any client choose the address it is limited by."""
    entries = _split(env.get(name, ""))
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=True)
        except ValueError:
            raise SettingsError(
                f"{name} must list IP addresses or networks such as 10.0.0.5 or 10.0.0.0/24 "
                f"(comma-separated; not '*', not host names): {entry[:60]!r} is not one"
            ) from None
    return entries


def _positive_int(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive whole number")
    return int(raw)


def _whole_number(env: os._Environ[str] | dict[str, str], name: str, default: int) -> int:
    """A positive whole number, or 0 (which turns the feature off)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise SettingsError(f"{name} must be a whole number (0 turns it off)")
    return int(raw)


def _switch(env: os._Environ[str] | dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("0", "1", "true", "false", "on", "off"):
        raise SettingsError(f"{name} must be 1 or 0 (or true/false, on/off)")
    return raw in ("1", "true", "on")


def _provider_api_origins(env: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    """Every GQL_TELEPHONY_PROVIDER_API_<PROVIDER> that is set, checked. A message names the
    variable, never its value: an origin could carry a user and password."""
    known = [key.value for key in ProviderKey]
    origins: dict[str, str] = {}
    for name, raw in env.items():
        if not name.startswith(PROVIDER_API_PREFIX) or not raw.strip():
            continue
        provider = name.removeprefix(PROVIDER_API_PREFIX)
        if provider not in known:
            raise SettingsError(f"{name} names no provider: the suffix must be one of {', '.join(known)}")
        if not _is_origin(raw.strip()):
            raise SettingsError(
                f"{name} must be an http:// or https:// origin such as https://api.example.com "
                "(a port and a path prefix may follow; no user, password, query or fragment)"
            )
        origins[provider] = raw.strip()
    return origins


def _is_origin(value: str) -> bool:
    if not value.isascii() or any(c.isspace() or c in "?#@\\" for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it checks the port (ValueError when not a number in range)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.netloc.endswith(":")


def _positive_seconds(env: os._Environ[str] | dict[str, str], name: str, default: float) -> float:
    """Seconds above zero, decimals allowed (0.5)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", raw) is None or float(raw) <= 0:
        raise SettingsError(f"{name} must be a positive number of seconds such as 10 or 0.5")
    return float(raw)
