"""One typed settings object, built once from flags and ``TRAILKEEPER_*``
variables and passed in explicitly; nothing reads the environment later."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Deployment settings. Flags override environment variables."""

    model_config = SettingsConfigDict(env_prefix="TRAILKEEPER_", frozen=True, extra="ignore")

    data_dir: Path = Field(
        Path("./trailkeeper-data"), description="Where SQLite, files and keys live"
    )
    database_url: str | None = Field(None, description="postgresql://… to use PostgreSQL")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    read_rate_limit: int = Field(60, ge=1, description="Read requests per token per minute")
    ingest_rate_limit: int = Field(1200, ge=1, description="Ingest requests per token per minute")
    max_body_bytes: int = Field(10 * MiB, ge=1024)
    ingest_inflight_bytes: int = Field(
        32 * MiB, ge=MiB, description="Ingest body bytes parsed at once per process; over: 429"
    )
    pool_size: int = Field(8, ge=1, description="PostgreSQL connections per process")
    allow_private_destinations: bool = False
    secret_key: SecretStr | None = Field(
        None,
        description="Base64 key that encrypts stored secrets and signs cursors; every process "
        "of a deployment needs the same one (default: made once in the data dir)",
    )
    key_name: str = Field(
        "trailkeeper",
        pattern=r"^[^\s+]+$",
        description="Name in the signing key and its verifier key (no spaces or '+')",
    )
    signing_key: SecretStr | None = Field(
        None,
        description="C2SP signer key PRIVATE+KEY+… that signs checkpoints (default: made once "
        "in the data dir as signing.key); every process needs the same one",
    )
    checkpoint_interval: float = Field(
        5.0, gt=0, le=10, description="Seconds between checkpoints while events arrive"
    )
    public_url: str | None = Field(
        None, description="Base URL used in links (default: request URL)"
    )
    object_store: str | None = Field(
        None,
        description="Where exported files go: s3://bucket/prefix (with the usual AWS_* "
        "variables; AWS_ENDPOINT_URL for S3-compatible stores); default: the data dir",
    )
    export_max_days: int = Field(30, ge=1, description="Longest export window, in days")
    export_history_days: int = Field(
        180, ge=1, description="How far back an export may start, in days before today"
    )
    export_daily_quota: int = Field(
        6, ge=1, description="Export requests per token per resource per UTC day"
    )
    download_url_ttl: int = Field(
        3600, ge=60, le=7 * 86400, description="Seconds a download URL stays valid"
    )
    retention_days: int | None = Field(
        None,
        ge=0,
        le=36_500,
        description="Retention period, in days, of tenants that set none (default: forever)",
    )
    min_retention_days: int = Field(
        1, ge=0, le=36_500, description="The shortest retention period a tenant may set, in days"
    )
    retention_batch: int = Field(
        500,
        ge=1,
        le=100_000,
        description="Events deleted per transaction by retention (ingest waits at most one)",
    )
    erasure_batch: int = Field(
        5_000, ge=1, le=100_000, description="Events erased per transaction by an erasure job"
    )
    outbound_timeout: float = Field(
        10.0, gt=0, le=120, description="Seconds before a webhook or stream request times out"
    )
    stream_lease: float = Field(
        30.0,
        ge=1,
        le=600,
        description="Seconds a process holds a stream without renewing; another process "
        "takes over a stream this long after its deliverer died (keep it above 3 times "
        "outbound_timeout)",
    )

    ui_session_ttl: int = Field(
        8 * 3600, ge=60, le=30 * 86400, description="Seconds a web UI sign-in lasts"
    )

    @field_validator("object_store")
    @classmethod
    def _s3_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("s3://") or len(value) <= len("s3://"):
            raise ValueError(
                "object_store must be s3://bucket[/prefix] (the data dir is the default)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("database_url must start with postgresql:// (SQLite is the default)")
        return value

    def to_environment(self) -> dict[str, str]:
        """These settings as ``TRAILKEEPER_*`` variables, for child processes."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif name == "data_dir":
                value = Path(value).resolve()
            env[f"TRAILKEEPER_{name.upper()}"] = str(value)
        return env

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "trailkeeper.sqlite3"
