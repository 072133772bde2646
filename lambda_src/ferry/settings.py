"""Runtime settings, read once from the environment the Terraform pipeline module sets.

This is the only place that reads ``FERRY_*`` variables. Only the standard
library is imported here. Missing names are ``None`` and are reported by the
component that needs them (:meth:`Settings.require`): a function that never
writes the metadata table does not need ``FERRY_METADATA_TABLE``.

=============================  =====================================================
``FERRY_LEDGER_TABLE``         the job ledger (DynamoDB)
``FERRY_RECORDS_TABLE``        default table of ``json_records`` routes
``FERRY_METADATA_TABLE``       table of ``file_metadata`` routes
``FERRY_PROCESSED_BUCKET``     where ``json_transform`` writes
``FERRY_FAILED_BUCKET``        rejected files, sidecars and reject reports
``FERRY_LEDGER_TTL_DAYS``      ledger records expire after this many days (90)
``FERRY_CONFIG_PATH``          processing configuration (default: the one in the zip)
``FERRY_CONFIG_SHA256``        SHA-256 of the configuration Terraform was given;
                               when set, the packed ``ferry_config.json`` must have
                               this hash (not checked for a FERRY_CONFIG_PATH override)
``FERRY_METRICS_NAMESPACE``    EMF namespace (``Ferry``)
``FERRY_LOG_LEVEL``            log level (else ``AWS_LAMBDA_LOG_LEVEL``, else INFO)
``FERRY_LOG_SAMPLE_RATE``      fraction of invocations logged at DEBUG (0 to 1, default 0)
``FERRY_EVENT_BUS``            EventBridge bus (name or ARN) the file events go to;
                               unset: no events (:mod:`ferry.events`)
``FERRY_EVENT_SOURCE``         the events' ``source`` (default ``ferry``)
``FERRY_MALWARE_GATE``         ``on``: a file is processed only after GuardDuty's
                               ``NO_THREATS_FOUND`` scan result (:mod:`ferry.gate`)
``FERRY_STATE_MACHINE_ARN``    the large-file state machine: objects of a route's
                               container lane are handed to it (:mod:`ferry.lanes`)
``FERRY_CONTAINER_LEASE_SECONDS`` how long a hand-off holds the object's ledger claim
                               (the state machine's longest run; default 10800)
``FERRY_DB_HOST``              PostgreSQL host (what the certificate must name)
``FERRY_DB_PORT``              default 5432
``FERRY_DB_NAME``              database
``FERRY_DB_AUTH``              ``secret`` (default) or ``iam``
``FERRY_DB_SECRET_ARN``        secret JSON with ``username`` and ``password`` (the
                               RDS-managed secret); ``host``/``port``/``dbname`` in it
                               are used when the variables above are unset
``FERRY_DB_USER``              the loader role: user for IAM authentication, and the
                               role the migration creates (default ``ferry_loader``)
``FERRY_DB_MASTER_SECRET_ARN`` the master user's secret (RDS-managed: ``username`` and
                               ``password``): read by the migration function only
``FERRY_DB_LOADER_PASSWORD``   a password the migration sets for the loader role
                               (servers without IAM authentication: the local stack)
``FERRY_DB_SECRET``            the secret's JSON itself, injected by ECS into the
                               container task (``secrets`` of the task definition):
                               used instead of reading FERRY_DB_SECRET_ARN
``FERRY_DB_SSLROOTCERT``       CA bundle (default: the one the build packs,
                               ``ferry/certs/rds-ca-bundle.pem``)
``FERRY_DB_HOSTADDR``          optional IP to connect to (the certificate is still
                               checked against ``FERRY_DB_HOST``)
=============================  =====================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
#: The processing configuration shipped at the root of the Lambda zip.
PACKAGED_CONFIG = _PACKAGE_ROOT / "ferry_config.json"
#: The same configuration in the source tree (used when running from a checkout).
SOURCE_CONFIG = _PACKAGE_ROOT / "config" / "ferry.json"
#: Where the build packs the RDS CA bundle (see ``ferry_dev.build``): in Lambda,
#: ``/var/task/ferry/certs/rds-ca-bundle.pem``.
CA_BUNDLE_IN_PACKAGE = "ferry/certs/rds-ca-bundle.pem"
DEFAULT_CA_BUNDLE = _PACKAGE_ROOT / CA_BUNDLE_IN_PACKAGE

DB_AUTH_CHOICES = ("secret", "iam")


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


@dataclass(frozen=True, slots=True)
class DbSettings:
    """Where and how to reach PostgreSQL (part of :class:`Settings`, never parsed alone)."""

    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    auth: str = "secret"
    secret_arn: str | None = None
    secret_json: str | None = None  # injected by ECS; never logged
    user: str | None = None
    sslrootcert: Path = DEFAULT_CA_BUNDLE
    region: str | None = None
    hostaddr: str | None = None  # connect to this IP, verify the certificate against host
    master_secret_arn: str | None = None  # the migration function's login
    loader_password: str | None = None  # only where IAM authentication is not available
    connect_timeout: int = 10
    application_name: str = "ferry-csvload"


@dataclass(frozen=True, slots=True)
class Settings:
    ledger_table: str | None = None
    records_table: str | None = None
    metadata_table: str | None = None
    processed_bucket: str | None = None
    failed_bucket: str | None = None
    ledger_ttl_days: int = 90
    config_path: Path | None = None
    config_sha256: str | None = None
    metrics_namespace: str = "Ferry"
    log_level: str = "INFO"
    log_sample_rate: float = 0.0
    service: str = "ferry"
    event_bus: str | None = None
    event_source: str = "ferry"
    malware_gate: bool = False
    state_machine_arn: str | None = None
    container_lease_seconds: int = 10_800
    db: DbSettings = field(default_factory=DbSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def opt(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def integer(name: str, default: int | None, minimum: int) -> int | None:
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

        def fraction(name: str) -> float:
            raw = opt(name)
            try:
                value = float(raw) if raw is not None else 0.0
            except ValueError:
                raise SettingsError(f"{name}={raw!r} is not a number") from None
            if not 0.0 <= value <= 1.0:
                raise SettingsError(f"{name}={value} must be between 0 and 1")
            return value

        auth = (opt("FERRY_DB_AUTH") or "secret").lower()
        if auth not in DB_AUTH_CHOICES:
            raise SettingsError(f"FERRY_DB_AUTH={auth!r}: use 'secret' or 'iam'")
        config = opt("FERRY_CONFIG_PATH")
        gate = (opt("FERRY_MALWARE_GATE") or "off").lower()
        if gate not in ("on", "off"):
            raise SettingsError(f"FERRY_MALWARE_GATE={gate!r}: use 'on' or 'off'")
        return cls(
            ledger_table=opt("FERRY_LEDGER_TABLE"),
            records_table=opt("FERRY_RECORDS_TABLE"),
            metadata_table=opt("FERRY_METADATA_TABLE"),
            processed_bucket=opt("FERRY_PROCESSED_BUCKET"),
            failed_bucket=opt("FERRY_FAILED_BUCKET"),
            ledger_ttl_days=integer("FERRY_LEDGER_TTL_DAYS", 90, 1) or 90,
            config_path=Path(config) if config else None,
            config_sha256=opt("FERRY_CONFIG_SHA256"),
            metrics_namespace=opt("FERRY_METRICS_NAMESPACE") or "Ferry",
            log_level=(opt("FERRY_LOG_LEVEL") or opt("AWS_LAMBDA_LOG_LEVEL") or "INFO").upper(),
            log_sample_rate=fraction("FERRY_LOG_SAMPLE_RATE"),
            service=opt("AWS_LAMBDA_FUNCTION_NAME") or "ferry",
            event_bus=opt("FERRY_EVENT_BUS"),
            event_source=opt("FERRY_EVENT_SOURCE") or "ferry",
            malware_gate=gate == "on",
            state_machine_arn=opt("FERRY_STATE_MACHINE_ARN"),
            container_lease_seconds=integer("FERRY_CONTAINER_LEASE_SECONDS", 10_800, 60) or 10_800,
            db=DbSettings(
                host=opt("FERRY_DB_HOST"),
                port=integer("FERRY_DB_PORT", None, 1),
                dbname=opt("FERRY_DB_NAME"),
                auth=auth,
                secret_arn=opt("FERRY_DB_SECRET_ARN"),
                secret_json=opt("FERRY_DB_SECRET"),
                user=opt("FERRY_DB_USER"),
                sslrootcert=Path(opt("FERRY_DB_SSLROOTCERT") or DEFAULT_CA_BUNDLE),
                region=opt("AWS_REGION") or opt("AWS_DEFAULT_REGION"),
                hostaddr=opt("FERRY_DB_HOSTADDR"),
                master_secret_arn=opt("FERRY_DB_MASTER_SECRET_ARN"),
                loader_password=opt("FERRY_DB_LOADER_PASSWORD"),
            ),
        )

    def require(self, attribute: str) -> str:
        """The value of a setting that must be present for the caller to work."""
        value = getattr(self, attribute)
        if not value:
            raise SettingsError(f"FERRY_{attribute.upper()} is not set")
        return str(value)

    def expected_config_sha256(self) -> str | None:
        """FERRY_CONFIG_SHA256: the hash the loaded configuration must have, if set.

        It holds for whichever file is loaded (the zip's, or FERRY_CONFIG_PATH):
        the local stack gives Terraform the same file its workers load.
        """
        return self.config_sha256

    def resolved_config_path(self) -> Path:
        """FERRY_CONFIG_PATH, else the configuration in the zip, else the one in the source tree."""
        if self.config_path is not None:
            return self.config_path
        if PACKAGED_CONFIG.is_file():
            return PACKAGED_CONFIG
        return SOURCE_CONFIG
