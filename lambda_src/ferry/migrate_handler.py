"""Lambda entry point ``ferry.migrate_handler.handler``: the dataset migrations, inside the VPC.

Terraform invokes it (``aws_lambda_invocation``) with
``{"action": "migrate", "config_sha256": "<hex>"}`` whenever the processing
configuration changes; the function runs in the processor's subnets, so it
reaches an RDS instance that admits nothing from outside. It

1. reads the master user's secret (``FERRY_DB_MASTER_SECRET_ARN``, the
   RDS-managed ``{"username", "password"}``) and connects to ``FERRY_DB_HOST`` /
   ``FERRY_DB_PORT`` / ``FERRY_DB_NAME`` with ``sslmode=verify-full`` against
   the packed RDS CA bundle (``FERRY_DB_SSLROOTCERT``);
2. checks that the packed configuration is the one Terraform hashed
   (``config_sha256``) and runs its dataset migrations
   (:func:`ferry.csvload.migrate.migrate`);
3. creates the loader role ``FERRY_DB_USER`` (default ``ferry_loader``) with
   only the grants loads need (:func:`ferry.csvload.migrate.grant_loader`).

It returns ``{"status": "ok", "datasets": [...], "loader_user": "..."}`` (plus
drift ``warnings``) and raises on anything else, so the invocation, and with
it ``terraform apply``, fails with the message. Every step is idempotent.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from ferry import obs
from ferry.settings import Settings

log = logging.getLogger("ferry.migrate")


class MigrationError(RuntimeError):
    """The migration did not run; the message says why (it fails the Terraform apply)."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return migrate(event, Settings.from_env())


def migrate(event: Any, settings: Settings, **clients: Any) -> dict[str, Any]:
    """Run the migration ``event`` asks for (``clients`` go to :func:`ferry.db.connect`)."""
    from ferry import db
    from ferry.config import ConfigError, load_config
    from ferry.csvload.config import DatasetError
    from ferry.csvload.migrate import DEFAULT_LOADER, grant_loader, load_datasets
    from ferry.csvload.migrate import migrate as run_migrations

    obs.setup_logging(settings.log_level)
    if not isinstance(event, dict) or event.get("action") != "migrate":
        raise MigrationError(f'unknown event {event!r:.200}: expected {{"action": "migrate", ...}}')
    expected = event.get("config_sha256")
    if expected is not None and not isinstance(expected, str):
        raise MigrationError("config_sha256 must be a hex string")
    master = settings.db.master_secret_arn
    if not master:
        raise MigrationError("FERRY_DB_MASTER_SECRET_ARN is not set: no login to migrate with")
    path = settings.resolved_config_path()
    try:
        load_config(path, expected_sha256=expected or None)
        datasets = load_datasets(path)
    except (ConfigError, DatasetError, OSError, ValueError) as err:
        raise MigrationError(str(err)) from err
    loader = settings.db.user or DEFAULT_LOADER
    as_master = dataclasses.replace(
        settings.db,
        auth="secret",
        secret_arn=master,
        application_name="ferry-migrate",
    )
    try:
        conn = db.connect(as_master, **clients)
    except (db.ConnectError, db.DatabaseConfigError) as err:
        raise MigrationError(f"cannot connect as the master user: {err}") from err
    with conn:
        warnings = run_migrations(conn, datasets)
        grant_loader(conn, datasets, loader, settings.db.loader_password)
    names = [ds.qualified_table for ds in datasets]
    for warning in warnings:
        log.warning("drift: %s", warning)
    log.info("migrated", extra={"datasets": names, "loader_user": loader})
    return {"status": "ok", "datasets": names, "loader_user": loader, "warnings": warnings}
