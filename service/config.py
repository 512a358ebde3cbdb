"""Settings from the environment (pydantic-settings), read once per process.

Every setting is documented in the README's configuration reference.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    idempotency_ttl_seconds: int = 86400
    bulk_max_employee_rows: int = 10000
    bulk_max_measurement_rows: int = 50000
    score_inline_max: int = 2000

    # Webhooks (service/webhooks/): delivery engine, retries, safety limits.
    webhook_inprocess: bool | None = None  # None: in-process delivery exactly when on SQLite
    webhook_poll_seconds: float = 1.0
    webhook_batch_size: int = 20
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
