"""Settings from the environment (pydantic-settings), read once per process.

Every setting is documented in docs/configuration.md (a test keeps them in step).
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(entry: str) -> str:
    """One entry of `CORS_ALLOW_ORIGINS` as a browser serializes the origin in its `Origin`
    header: lower-case, without the scheme's default port. ValueError says what is wrong."""
    parts = urlsplit(entry)
    shape = "an origin is scheme://host[:port], e.g. https://app.example.com or http://localhost:3000"
    if parts.scheme.lower() not in _DEFAULT_PORTS or not entry.lower().startswith(parts.scheme.lower() + "://"):
        raise ValueError(f"{entry!r} does not start with http:// or https:// ({shape})")
    if "@" in parts.netloc:
        raise ValueError(f"{entry!r} holds a user name or password ({shape})")
    if parts.path or parts.query or parts.fragment or entry.endswith(("?", "#")):
        raise ValueError(f"{entry!r} has a path, query or fragment (no trailing slash: {shape})")
    host = parts.hostname or ""
    if "*" in host:
        raise ValueError(f"{entry!r}: wildcards are not supported; list every origin, or give `*` alone for any")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{entry!r} has an invalid port ({shape})") from None
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise ValueError(f"{entry!r} has an invalid IPv6 address ({shape})") from None
    elif not _HOST_NAME.fullmatch(host):
        raise ValueError(f"{entry!r} has no valid host name (an international one in its xn-- form; {shape})")
    scheme = parts.scheme.lower()
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else "")


def parse_origins(value: str | None) -> tuple[str, ...]:
    """`CORS_ALLOW_ORIGINS`: comma-separated origins, each `scheme://host[:port]` (http or
    https, nothing after the port), compared as browsers send them (case and a default port
    do not matter); or `*` alone, any origin. Unset or empty: none, no CORS at all."""
    if value is None or not value.strip():
        return ()
    entries = [e.strip() for e in value.split(",")]
    if not all(entries):
        raise ValueError(f"CORS_ALLOW_ORIGINS has an empty entry (a stray comma?): {value!r}")
    if "*" in entries:
        if len(entries) > 1:
            raise ValueError("CORS_ALLOW_ORIGINS: `*` (any origin) must be the only entry")
        return ("*",)
    origins: list[str] = []
    for entry in entries:
        try:
            origins.append(_origin(entry))
        except ValueError as exc:
            raise ValueError(f"CORS_ALLOW_ORIGINS: {exc}") from None
    return tuple(dict.fromkeys(origins))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    data_dir: Path = Path("./data")
    database_url: str | None = None
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str = "perf-service"
    jwt_audience: str = "perf-api"
    jwt_jwks_algorithms: str = "RS256,ES256"
    access_token_ttl_seconds: int = 900
    log_level: str = "INFO"
    log_json: bool = True
    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_echo: bool = False
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 5000
    graphql_max_nodes: int = 2000  # fields after fragment expansion (service/graphql/cost.py)
    graphql_max_cost: int = 50000  # fields weighted by page sizes
    graphql_timeout_seconds: float = 10.0  # the backstop: an operation running longer is stopped
    idempotency_ttl_seconds: int = 86400
    bulk_max_employee_rows: int = 10000
    bulk_max_measurement_rows: int = 50000
    score_inline_max: int = 2000
    score_job_lease_seconds: float = 60.0  # a recompute chunk's lease (service/scoring/jobs.py)
    score_job_chunk: int = Field(1000, ge=1, le=10000)  # employees per leased chunk of a recompute job
    score_jobs_in_api: bool = True  # the API process runs recompute chunks too (the worker always does)
    score_job_poll_seconds: float = Field(1.0, gt=0)  # an idle runner looks for chunks this often
    # The worker applies every organization's retention this often (docs/data-protection.md); 0: never.
    retention_interval_seconds: float = Field(3600.0, ge=0)
    score_refresh_per_round: int = Field(20, ge=0)  # cycles a refresh round queues a job for, at most
    # A write affecting more employees of one cycle than this queues a recompute instead of
    # re-scoring them in its transaction (service/scoring/freshness.py).
    score_touch_max: int = Field(200, ge=1)

    # Webhooks (service/webhooks/): delivery engine, retries, safety limits.
    webhook_inprocess: bool | None = None  # None: in-process delivery exactly when on SQLite
    webhook_poll_seconds: float = 1.0
    webhook_batch_size: int = 20
    # organizations with pending work served per round (claims are per organization)
    webhook_orgs_per_round: int = Field(50, ge=1)
    webhook_lease_seconds: float = 60.0
    webhook_connect_timeout_seconds: float = 5.0
    webhook_timeout_seconds: float = 15.0
    webhook_retry_scale: float = 1.0  # multiplies the retry schedule (tests run it in ms)
    webhook_retry_jitter: float = 0.2  # +/- fraction of each scheduled delay
    webhook_retry_after_max_seconds: float = 36000.0
    webhook_disable_after_dead: int = 5
    webhook_disable_after_failing_seconds: float = 5 * 86400.0
    webhook_secret_grace_seconds: float = 86400.0
    webhook_secret_key: str | None = None  # when set, secrets are encrypted at rest (Fernet)

    # Production operation (docs/configuration.md; docs/operations.md, "Scale-out design").
    database_read_url: str | None = None  # a read replica for the read-heavy list endpoints
    db_pool_timeout_seconds: float = 30.0
    db_pool_recycle_seconds: int = 1800
    # test each pooled connection before use (one more round trip a request); off: a dead
    # connection fails its first statement and the request runs again on a fresh one
    db_pool_pre_ping: bool = False
    db_statement_timeout_ms: int = 30000  # PostgreSQL statement_timeout; 0 disables
    db_statement_cache_size: int = 100  # asyncpg prepared statements per connection
    db_pgbouncer: bool = False  # behind PgBouncer in transaction mode: no session state
    # connections of the pool that hot reads use straight on asyncpg (service/kit/direct_reads.py);
    # 0: those reads go through SQLAlchemy's pool like every other statement
    db_direct_pool_size: int = 10
    db_retry_after_seconds: int = 2  # Retry-After of the 503 for a timed-out statement
    max_body_bytes: int = 1_048_576  # request bodies above this answer 413
    max_bulk_body_bytes: int = 33_554_432  # the same for paths ending in /bulk
    max_json_depth: int = 64  # JSON bodies nesting arrays and objects deeper answer 400
    max_header_bytes: int = 32768  # a request line and headers larger answer 431 (service/web/http_protocol.py)
    rate_limit_enabled: bool = True
    route_cache: bool = True  # remember which route answered a request's shape (service/web/routing.py)
    rate_limit_bulk_per_minute: float = 30.0
    rate_limit_bulk_burst: int = 5
    rate_limit_recompute_per_minute: float = 6.0
    rate_limit_recompute_burst: int = 2
    rate_limit_payroll_per_minute: float = 300.0
    rate_limit_payroll_burst: int = 60
    rate_limit_max_clients: int = 100_000  # buckets kept per replica (least recently used go)
    tracing_enabled: bool = False  # deprecated: the OTEL_* variables decide (service/observability.py)
    tracing_exporter: str = "otlp"  # with TRACING_ENABLED only; OTEL_TRACES_EXPORTER wins
    tracing_service_name: str = "perf-service"
    web_concurrency: int = 2  # gunicorn worker processes per container
    port: int = 8000  # gunicorn's listening port
    # Prometheus `/metrics` on a port of its own (served by gunicorn's master, or beside
    # `serve`); unset: the app answers `/metrics` itself (service/observability.py).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    forwarded_allow_ips: str = "127.0.0.1"  # proxies whose X-Forwarded-* headers are trusted
    gunicorn_timeout_seconds: int = 60
    worker_metrics_port: int | None = None  # `worker` serves Prometheus metrics on this port

    # Browsers (service/web/browsers.py; docs/api.md, "Browsers: CORS and compression").
    cors_allow_origins: str | None = None  # comma-separated origins (or `*`); unset: no CORS headers
    cors_max_age_seconds: int = Field(600, ge=0)  # how long a browser may reuse a preflight's answer
    gzip_min_bytes: int = Field(1000, ge=0)  # responses this large are gzipped when asked; 0: never

    @field_validator("cors_allow_origins")
    @classmethod
    def _check_origins(cls, value: str | None) -> str | None:
        parse_origins(value)  # a typo fails at start-up, naming the entry
        return value

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """The origins browsers may call the API from (`("*",)`: any); empty: no CORS."""
        return parse_origins(self.cors_allow_origins)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'perf.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def webhook_inprocess_enabled(self) -> bool:
        """Deliver webhooks from the API process: the default for the embedded SQLite."""
        return self.is_sqlite if self.webhook_inprocess is None else self.webhook_inprocess

    @property
    def effective_jwt_secret(self) -> str:
        """The local HS256 key: `JWT_SECRET`, else a key generated once and kept in the data dir."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.data_dir / "jwt_secret"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
