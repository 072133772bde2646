"""Runtime settings, read once from the environment the Terraform pipeline module sets.

Only the standard library is imported here. The ``FERRY_DB_*`` variables are
read by the PostgreSQL connector (:mod:`ferry.csvload.db`); they appear here so
that one place lists what the pipeline module sets. Missing values are ``None`` and are
reported by the component that needs them (a function that never writes the
metadata table does not need ``FERRY_METADATA_TABLE``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: The processing configuration shipped at the root of the Lambda zip.
PACKAGED_CONFIG = Path(__file__).resolve().parent.parent / "ferry_config.json"
#: The same configuration in the source tree (used when running from a checkout).
SOURCE_CONFIG = Path(__file__).resolve().parent.parent / "config" / "ferry.json"


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Settings:
    ledger_table: str | None = None
    records_table: str | None = None
    metadata_table: str | None = None
    processed_bucket: str | None = None
    failed_bucket: str | None = None
    db_secret_arn: str | None = None
    db_host: str | None = None
    db_port: int = 5432
    db_name: str | None = None
    ledger_ttl_days: int = 90
    config_path: Path | None = None
    metrics_namespace: str = "Ferry"
    log_level: str = "INFO"
    service: str = "ferry"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def opt(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int, minimum: int) -> int:
            raw = opt(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not an integer") from None
            if value < minimum:
                raise SettingsError(f"{name}={value} must be at least {minimum}")
            return value

        config = opt("FERRY_CONFIG_PATH")
        return cls(
            ledger_table=opt("FERRY_LEDGER_TABLE"),
            records_table=opt("FERRY_RECORDS_TABLE"),
            metadata_table=opt("FERRY_METADATA_TABLE"),
            processed_bucket=opt("FERRY_PROCESSED_BUCKET"),
            failed_bucket=opt("FERRY_FAILED_BUCKET"),
            db_secret_arn=opt("FERRY_DB_SECRET_ARN"),
            db_host=opt("FERRY_DB_HOST"),
            db_port=integer("FERRY_DB_PORT", 5432, 1),
            db_name=opt("FERRY_DB_NAME"),
            ledger_ttl_days=integer("FERRY_LEDGER_TTL_DAYS", 90, 1),
            config_path=Path(config) if config else None,
            metrics_namespace=opt("FERRY_METRICS_NAMESPACE") or "Ferry",
            log_level=(opt("FERRY_LOG_LEVEL") or opt("AWS_LAMBDA_LOG_LEVEL") or "INFO").upper(),
            service=opt("AWS_LAMBDA_FUNCTION_NAME") or "ferry",
        )

    def require(self, attribute: str) -> str:
        """The value of a setting that must be present for the caller to work."""
        value = getattr(self, attribute)
        if not value:
            raise SettingsError(f"FERRY_{attribute.upper()} is not set")
        return str(value)

    def resolved_config_path(self) -> Path:
        """FERRY_CONFIG_PATH, else the configuration in the zip, else the one in the source tree."""
        if self.config_path is not None:
            return self.config_path
        if PACKAGED_CONFIG.is_file():
            return PACKAGED_CONFIG
        return SOURCE_CONFIG
