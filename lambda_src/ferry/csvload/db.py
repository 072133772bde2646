"""PostgreSQL connections for the CSV loader: credentials, mandatory TLS, warm reuse.

Settings (environment, as the pipeline module sets them):

=========================  ====================================================
``FERRY_DB_HOST``          server host name (what the certificate must name)
``FERRY_DB_PORT``          default 5432
``FERRY_DB_NAME``          database
``FERRY_DB_AUTH``          ``secret`` (default) or ``iam``
``FERRY_DB_SECRET_ARN``    secret JSON with ``username`` and ``password`` (the
                           RDS-managed secret); ``host``/``port``/``dbname`` in
                           it are used when the variables above are unset
``FERRY_DB_USER``          user for IAM authentication
``FERRY_DB_SSLROOTCERT``   CA bundle (default: ``certs/rds-ca-bundle.pem`` in
                           this package; ship AWS's RDS bundle there)
``FERRY_DB_HOSTADDR``      optional IP to connect to (the certificate is still
                           checked against ``FERRY_DB_HOST``)
=========================  ====================================================

TLS is always ``sslmode=verify-full``: the server certificate must chain to
the bundle and name the host. Without a bundle the loader refuses to connect
rather than downgrade. :class:`ConnectionCache` keeps one connection (the
processor holds it for the life of the execution environment), checks it with
``SELECT 1`` before reuse and replaces a broken one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferry.model import Transient

DEFAULT_CA_BUNDLE = Path(__file__).resolve().parent / "certs" / "rds-ca-bundle.pem"


class DatabaseConfigError(RuntimeError):
    """The database settings are missing or unusable (a deployment problem)."""


class ConnectError(Transient):
    """The server could not be reached or did not prove its identity."""


@dataclass(frozen=True, slots=True)
class DbSettings:
    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    auth: str = "secret"
    secret_arn: str | None = None
    user: str | None = None
    sslrootcert: Path = DEFAULT_CA_BUNDLE
    region: str | None = None
    hostaddr: str | None = None  # connect to this IP, verify the certificate against host
    connect_timeout: int = 10
    application_name: str = "ferry-csvload"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DbSettings:
        env = os.environ if env is None else env

        def opt(name: str) -> str | None:
            return env.get(name, "").strip() or None

        port = opt("FERRY_DB_PORT")
        auth = (opt("FERRY_DB_AUTH") or "secret").lower()
        if auth not in {"secret", "iam"}:
            raise DatabaseConfigError(f"FERRY_DB_AUTH={auth!r}: use 'secret' or 'iam'")
        if port is not None and not port.isdigit():
            raise DatabaseConfigError(f"FERRY_DB_PORT={port!r} is not a port number")
        return cls(
            host=opt("FERRY_DB_HOST"),
            port=int(port) if port else None,
            dbname=opt("FERRY_DB_NAME"),
            auth=auth,
            secret_arn=opt("FERRY_DB_SECRET_ARN"),
            user=opt("FERRY_DB_USER"),
            sslrootcert=Path(opt("FERRY_DB_SSLROOTCERT") or DEFAULT_CA_BUNDLE),
            region=opt("AWS_REGION") or opt("AWS_DEFAULT_REGION"),
            hostaddr=opt("FERRY_DB_HOSTADDR"),
        )


def _secret(settings: DbSettings, client: Any) -> dict[str, Any]:
    from ferry.aws import translate_errors

    if not settings.secret_arn:
        raise DatabaseConfigError("FERRY_DB_SECRET_ARN is not set (FERRY_DB_AUTH=secret)")
    with translate_errors("GetSecretValue (database credentials)"):
        response = client.get_secret_value(SecretId=settings.secret_arn)
    try:
        secret = json.loads(response["SecretString"])
    except (KeyError, TypeError, json.JSONDecodeError) as err:
        raise DatabaseConfigError(f"secret {settings.secret_arn} is not a JSON string") from err
    if not isinstance(secret, dict) or not {"username", "password"} <= set(secret):
        raise DatabaseConfigError(f"secret {settings.secret_arn} needs username and password")
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
        secret = _secret(settings, secrets_client or aws_client("secretsmanager"))
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

    params = conninfo(settings or DbSettings.from_env(), **clients)
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
