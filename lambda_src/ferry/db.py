"""PostgreSQL connections for processors that load into RDS.

:class:`PgConnectionFactory` is what ``ctx.db()`` calls. It reads the
credentials from Secrets Manager (``FERRY_DB_SECRET_ARN``; an RDS-managed
secret holds ``username`` and ``password``, and may hold ``host``, ``port``
and ``dbname``), caches them for the life of the execution environment, and
opens a new psycopg connection with TLS (``FERRY_DB_SSLMODE``, default
``verify-full``, CA bundle from ``FERRY_DB_SSLROOTCERT``). psycopg is imported
only here, on first use, so routes that never touch PostgreSQL never pay for it.

A database that cannot be reached is :class:`~ferry.model.Transient`: the message
is retried and never turned into a rejected file. A rotated password is picked
up by dropping the cached secret when authentication fails.
"""

from __future__ import annotations

import json
from typing import Any

from ferry.aws import client, translate_errors
from ferry.model import Transient
from ferry.settings import Settings, SettingsError


class PgConnectionFactory:
    """Callable returning a new ``psycopg.Connection`` (the caller closes it)."""

    def __init__(self, settings: Settings, secrets_client: Any = None) -> None:
        self._settings = settings
        self._secrets_client = secrets_client
        self._secret: dict[str, Any] | None = None

    def _credentials(self) -> dict[str, Any]:
        if self._secret is None:
            arn = self._settings.require("db_secret_arn")
            if self._secrets_client is None:
                self._secrets_client = client("secretsmanager")
            with translate_errors("GetSecretValue (database credentials)"):
                r = self._secrets_client.get_secret_value(SecretId=arn)
            try:
                secret = json.loads(r["SecretString"])
            except (KeyError, TypeError, json.JSONDecodeError) as err:
                raise SettingsError(f"secret {arn} is not a JSON SecretString") from err
            if not isinstance(secret, dict) or not {"username", "password"} <= set(secret):
                raise SettingsError(f"secret {arn} needs 'username' and 'password'")
            self._secret = secret
        return self._secret

    def conninfo(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (password included: never log this)."""
        secret = self._credentials()
        s = self._settings
        host = s.db_host or secret.get("host")
        dbname = s.db_name or secret.get("dbname")
        if not host or not dbname:
            raise SettingsError("FERRY_DB_HOST and FERRY_DB_NAME (or host/dbname in the secret)")
        params: dict[str, Any] = {
            "host": host,
            "port": int(s.db_port or secret.get("port") or 5432),
            "dbname": dbname,
            "user": secret["username"],
            "password": secret["password"],
            "sslmode": s.db_sslmode,
            "connect_timeout": 10,
            "application_name": s.service,
        }
        if s.db_sslrootcert:
            params["sslrootcert"] = s.db_sslrootcert
        return params

    def __call__(self, **overrides: Any) -> Any:
        import psycopg

        params = {**self.conninfo(), **overrides}
        try:
            return psycopg.connect(**params)
        except psycopg.OperationalError as err:
            if "password authentication failed" in str(err):
                self._secret = None  # rotated: read the secret again on the next attempt
            raise Transient(f"PostgreSQL {params['host']}:{params['port']}: {err}") from err
