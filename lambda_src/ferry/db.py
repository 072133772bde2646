"""The one PostgreSQL connection seam: credentials, mandatory TLS, warm reuse.

Every connection ferry opens comes from :func:`connect` (the runtime hands it
to processors as ``ctx.db``; ``python -m ferry.csvload.migrate`` uses it too).
The settings are :class:`ferry.settings.DbSettings` (``FERRY_DB_*``, parsed by
:class:`ferry.settings.Settings` and nowhere else).

TLS is always ``sslmode=verify-full``: the server certificate must chain to
the bundle and name the host. Without a bundle there is no connection rather
than a downgrade. :class:`ConnectionCache` keeps one connection (the processor
holds it for the life of the execution environment), checks it with
``SELECT 1`` before reuse and replaces a broken one. psycopg is imported on the
first connection only, so functions that never see a CSV file never pay for it.
Connection failures are :class:`~ferry.model.Transient` (retried, never a
rejected file).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from ferry.model import Transient
from ferry.settings import DbSettings, Settings


class DatabaseConfigError(RuntimeError):
    """The database settings are missing or unusable (a deployment problem)."""


class ConnectError(Transient):
    """The server could not be reached or did not prove its identity."""


def _secret(settings: DbSettings, client: Any) -> dict[str, Any]:
    from ferry.aws import translate_errors

    if settings.secret_json:  # injected by ECS (container task): no API call, no permission
        where, text = "FERRY_DB_SECRET", settings.secret_json
    else:
        if not settings.secret_arn:
            raise DatabaseConfigError("FERRY_DB_SECRET_ARN is not set (FERRY_DB_AUTH=secret)")
        with translate_errors("GetSecretValue (database credentials)"):
            response = client.get_secret_value(SecretId=settings.secret_arn)
        where, text = f"secret {settings.secret_arn}", response.get("SecretString")
    try:
        secret = json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise DatabaseConfigError(f"{where} is not a JSON string") from None
    if not isinstance(secret, dict) or not {"username", "password"} <= set(secret):
        raise DatabaseConfigError(f"{where} needs username and password")
    return secret


def conninfo(
    settings: DbSettings,
    *,
    secrets_client: Any = None,
    rds_client: Any = None,
) -> dict[str, Any]:
    """Keyword arguments for ``psycopg.connect`` (holds a password: never log it)."""
    from ferry.aws import client as aws_client

    ca = settings.sslrootcert
    if not ca.is_file():
        raise DatabaseConfigError(
            f"no CA bundle at {ca}: set FERRY_DB_SSLROOTCERT to the RDS CA bundle "
            "(the loader only connects with sslmode=verify-full)"
        )
    host, port, dbname = settings.host, settings.port, settings.dbname
    if settings.auth == "iam":
        if not (host and dbname and settings.user):
            raise DatabaseConfigError("IAM auth needs FERRY_DB_HOST, FERRY_DB_NAME, FERRY_DB_USER")
        from ferry.aws import translate_errors

        rds = rds_client or aws_client("rds")
        with translate_errors("GenerateDBAuthToken"):
            password = rds.generate_db_auth_token(
                DBHostname=host, Port=port or 5432, DBUsername=settings.user, Region=settings.region
            )
        user = settings.user
    else:
        secret = _secret(
            settings,
            secrets_client or (None if settings.secret_json else aws_client("secretsmanager")),
        )
        host = host or secret.get("host")
        port = port or (int(secret["port"]) if secret.get("port") else None)
        dbname = dbname or secret.get("dbname")
        user, password = secret["username"], secret["password"]
        if not (host and dbname):
            raise DatabaseConfigError("FERRY_DB_HOST and FERRY_DB_NAME (or host/dbname in secret)")
    params = {
        "host": host,
        "port": port or 5432,
        "dbname": dbname,
        "user": user,
        "password": password,
        "sslmode": "verify-full",
        "sslrootcert": str(ca),
        "connect_timeout": settings.connect_timeout,
        "application_name": settings.application_name,
        "client_encoding": "UTF8",
    }
    if settings.hostaddr:
        params["hostaddr"] = settings.hostaddr
    return params


def connect(settings: DbSettings | None = None, **clients: Any) -> Any:
    """A new autocommit connection (the loader opens its own transactions)."""
    import psycopg

    params = conninfo(settings or Settings.from_env().db, **clients)
    try:
        return psycopg.connect(**params, autocommit=True)
    except psycopg.OperationalError as err:
        message = " ".join(str(err).split())
        raise ConnectError(
            f"cannot connect to PostgreSQL at {params['host']}:{params['port']}"
            f" (sslmode=verify-full, CA {params['sslrootcert']}): {message}"
        ) from err


class ConnectionCache:
    """One connection kept for the life of the execution environment, checked before reuse."""

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self._factory = factory or connect
        self._conn: Any = None

    def get(self) -> Any:
        import psycopg

        conn = self._conn
        if conn is not None:
            if not conn.closed and not conn.broken:
                try:
                    conn.execute("SELECT 1")
                    return conn
                except psycopg.Error:
                    pass
            self.discard()
        self._conn = self._factory()
        return self._conn

    def discard(self) -> None:
        """Close and forget the connection (after a failure that may have broken it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            # closing a dead connection must not hide the real error
            with contextlib.suppress(Exception):
                conn.close()
