"""Connections: Secrets Manager and IAM credentials, verify-full TLS for real, warm reuse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ferry.db import (
    ConnectError,
    ConnectionCache,
    DatabaseConfigError,
    connect,
    conninfo,
)
from ferry.model import Transient
from ferry.settings import DbSettings, Settings, SettingsError
from ferry_dev.services import PostgresServer, make_tls


def settings_for(postgres: PostgresServer, **overrides: Any) -> DbSettings:
    assert postgres.tls_files is not None
    base: dict[str, Any] = {
        "host": "localhost",
        "hostaddr": "127.0.0.1",
        "port": postgres.port,
        "dbname": postgres.database,
        "secret_arn": "unused",
        "sslrootcert": postgres.tls_files.ca_cert,
    }
    base.update(overrides)
    return DbSettings(**base)


@pytest.fixture
def secret(aws: Callable[[str], Any], postgres: PostgresServer) -> tuple[str, Any]:
    client = aws("secretsmanager")
    arn = client.create_secret(
        Name="rds!db-ferry",
        SecretString=json.dumps({"username": postgres.user, "password": postgres.password}),
    )["ARN"]
    return arn, client


@pytest.mark.postgres
@pytest.mark.moto
def test_secret_and_verify_full(postgres: PostgresServer, secret: tuple[str, Any]) -> None:
    arn, client = secret
    conn = connect(settings_for(postgres, secret_arn=arn), secrets_client=client)
    with conn:
        assert conn.autocommit
        row = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
        assert row == (True,)
        assert conn.info.encoding == "utf-8"


@pytest.mark.postgres
@pytest.mark.moto
def test_wrong_ca_fails_clearly(
    postgres: PostgresServer, secret: tuple[str, Any], tmp_path: Path
) -> None:
    other_ca = make_tls(tmp_path / "other").ca_cert
    arn, client = secret
    with pytest.raises(ConnectError) as err:
        connect(settings_for(postgres, secret_arn=arn, sslrootcert=other_ca), secrets_client=client)
    message = str(err.value)
    assert "sslmode=verify-full" in message
    assert "SSL error" in message  # the chain does not verify against the other CA
    assert isinstance(err.value, Transient)


@pytest.mark.postgres
@pytest.mark.moto
def test_wrong_host_name_fails_clearly(postgres: PostgresServer, secret: tuple[str, Any]) -> None:
    arn, client = secret
    settings = settings_for(postgres, secret_arn=arn, host="db.example.internal")
    with pytest.raises(ConnectError) as err:
        connect(settings, secrets_client=client)
    assert 'does not match host name "db.example.internal"' in str(err.value)


def test_no_ca_bundle_no_connection(tmp_path: Path) -> None:
    settings = DbSettings(host="h", dbname="d", secret_arn="a", sslrootcert=tmp_path / "none.pem")
    with pytest.raises(DatabaseConfigError, match=r"no CA bundle at .*none\.pem"):
        conninfo(settings)


@pytest.mark.moto
def test_iam_token(aws: Callable[[str], Any], tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("placeholder: only the path is checked before connecting\n")
    settings = DbSettings(
        host="db.example.internal",
        port=5432,
        dbname="ferry",
        auth="iam",
        user="ferry_loader",
        sslrootcert=ca,
        region="eu-west-1",
    )
    params = conninfo(settings, rds_client=aws("rds"))
    assert params["user"] == "ferry_loader"
    assert params["password"].startswith("db.example.internal:5432/?Action=connect")
    assert "DBUser=ferry_loader" in params["password"]
    assert params["sslmode"] == "verify-full"


def test_settings_from_env() -> None:
    s = Settings.from_env(
        {
            "FERRY_DB_HOST": "db",
            "FERRY_DB_PORT": "6432",
            "FERRY_DB_NAME": "app",
            "FERRY_DB_AUTH": "IAM",
            "FERRY_DB_USER": "u",
            "FERRY_DB_SSLROOTCERT": "/opt/ca.pem",
        }
    ).db
    assert (s.host, s.port, s.dbname, s.auth, s.user) == ("db", 6432, "app", "iam", "u")
    assert s.sslrootcert == Path("/opt/ca.pem")
    with pytest.raises(SettingsError, match="FERRY_DB_AUTH"):
        Settings.from_env({"FERRY_DB_AUTH": "password"})
    with pytest.raises(SettingsError, match="FERRY_DB_PORT='pg' is not an integer"):
        Settings.from_env({"FERRY_DB_PORT": "pg"})


@pytest.mark.postgres
def test_cache_reuses_and_replaces_broken(
    postgres: PostgresServer, pg_conn: psycopg.Connection
) -> None:
    opened: list[psycopg.Connection] = []

    def factory() -> psycopg.Connection:
        opened.append(psycopg.connect(postgres.dsn(sslmode="verify-full"), autocommit=True))
        return opened[-1]

    cache = ConnectionCache(factory)
    first = cache.get()
    assert cache.get() is first  # warm reuse
    pg_conn.execute("SELECT pg_terminate_backend(%s)", (first.info.backend_pid,))
    second = cache.get()  # the health check notices and reconnects
    assert second is not first
    assert len(opened) == 2
    assert second.execute("SELECT 1").fetchone() == (1,)
    cache.discard()
    assert second.closed
