"""The loader role: created by the migration, loads a dataset, and can do nothing else.

Against the real throwaway PostgreSQL; the migration function runs with a
fake master secret in moto's Secrets Manager.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ferry import db, migrate_handler
from ferry.csvload import Dataset
from ferry.csvload.loader import Loader, Source
from ferry.csvload.migrate import grant_loader, loader_statements, migrate
from ferry.settings import DbSettings, Settings
from ferry_dev.services import MotoServer, PostgresServer
from tests.csvload.conftest import REPO
from tests.csvload.csvdata import orders_csv

CONFIG = REPO / "lambda_src/config/ferry.json"
LOADER = "ferry_loader_test"
PASSWORD = "loader-test-password"


def loader_dsn(postgres: PostgresServer, user: str = LOADER) -> str:
    return postgres.dsn(sslmode="verify-full", user=user, password=PASSWORD)


@pytest.fixture
def loader_db(pg_conn: psycopg.Connection, orders: Dataset) -> psycopg.Connection:
    migrate(pg_conn, [orders])
    pg_conn.execute("TRUNCATE sales.orders, ferry.loads")
    grant_loader(pg_conn, [orders], LOADER, PASSWORD)
    pg_conn.execute("CREATE SCHEMA IF NOT EXISTS private")
    pg_conn.execute("CREATE TABLE IF NOT EXISTS private.secrets (v text)")
    return pg_conn


def test_grants_are_exactly_what_loads_need(orders: Dataset) -> None:
    assert loader_statements("ferry_loader", [orders]) == [
        'GRANT USAGE ON SCHEMA "ferry", "sales" TO "ferry_loader"',
        'GRANT SELECT, INSERT ON ferry.loads TO "ferry_loader"',
        'GRANT USAGE ON SEQUENCE ferry.load_ids TO "ferry_loader"',
        'GRANT INSERT ON "sales"."orders" TO "ferry_loader"',
    ]


@pytest.mark.postgres
def test_loader_loads_a_csv_dataset(
    postgres: PostgresServer,
    loader_db: psycopg.Connection,
    orders: Dataset,
    stream_of: Callable[[bytes], Any],
) -> None:
    with psycopg.connect(loader_dsn(postgres), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (LOADER,)
        source = Source("raw", "incoming/orders/role.csv", "v1", '"e"')
        result = Loader(orders).load(conn, source, stream_of(orders_csv(25)))
        assert (result.status, result.rows_loaded) == ("loaded", 25)
        again = Loader(orders).load(conn, source, stream_of(orders_csv(25)))
        assert again.rows_loaded == 25  # the recorded load, read back: nothing twice
    assert loader_db.execute("SELECT count(*) FROM sales.orders").fetchone() == (25,)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "DROP TABLE sales.orders",
        "TRUNCATE sales.orders",
        "DELETE FROM sales.orders",
        "UPDATE sales.orders SET note = 'x'",
        "ALTER TABLE sales.orders ADD COLUMN x int",
        "SELECT * FROM private.secrets",
        "SELECT * FROM sales.orders",
        "CREATE TABLE sales.mine (v int)",
        "CREATE TABLE public.mine (v int)",
        "CREATE SCHEMA mine",
        "DELETE FROM ferry.loads",
        "CREATE ROLE other",
    ],
)
def test_loader_cannot_do_anything_else(
    postgres: PostgresServer, loader_db: psycopg.Connection, statement: str
) -> None:
    with (
        psycopg.connect(loader_dsn(postgres), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


@pytest.mark.postgres
def test_grant_loader_is_idempotent_and_grants_rds_iam_when_it_exists(
    loader_db: psycopg.Connection, orders: Dataset
) -> None:
    loader_db.execute("DROP ROLE IF EXISTS rds_iam")
    loader_db.execute("CREATE ROLE rds_iam")
    try:
        grant_loader(loader_db, [orders], LOADER)
        grant_loader(loader_db, [orders], LOADER)
        member = loader_db.execute(
            "SELECT pg_has_role(%s, 'rds_iam', 'MEMBER')", (LOADER,)
        ).fetchone()
        assert member == (True,)
        attrs = loader_db.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = %s",
            (LOADER,),
        ).fetchone()
        assert attrs == (True, False, False, False)
    finally:
        loader_db.execute("REVOKE rds_iam FROM " + LOADER)
        loader_db.execute("DROP ROLE rds_iam")


# --- the migration function ----------------------------------------------------------------


@pytest.fixture
def master_secret(moto_server: MotoServer, postgres: PostgresServer) -> str:
    import boto3

    sm = boto3.client("secretsmanager", region_name="eu-west-1")
    name = f"rds-master-{hashlib.sha256(str(postgres.port).encode()).hexdigest()[:8]}-{id(sm)}"
    return sm.create_secret(
        Name=name,
        SecretString=json.dumps({"username": postgres.user, "password": postgres.password}),
    )["ARN"]


def migration_settings(postgres: PostgresServer, secret_arn: str, **db_extra: Any) -> Settings:
    assert postgres.tls_files is not None
    return Settings(
        config_path=CONFIG,
        db=DbSettings(
            host="localhost",
            hostaddr="127.0.0.1",
            port=postgres.port,
            dbname=postgres.database,
            sslrootcert=postgres.tls_files.ca_cert,
            master_secret_arn=secret_arn,
            user=LOADER,
            **db_extra,
        ),
    )


def config_sha256() -> str:
    return hashlib.sha256(CONFIG.read_bytes()).hexdigest()


@pytest.mark.postgres
def test_migration_function_creates_tables_and_the_loader(
    postgres: PostgresServer, pg_conn: psycopg.Connection, master_secret: str
) -> None:
    pg_conn.execute("DROP TABLE IF EXISTS sales.orders")
    settings = migration_settings(postgres, master_secret, loader_password=PASSWORD)
    event = {"action": "migrate", "config_sha256": config_sha256()}
    for _ in range(2):  # idempotent
        result = migrate_handler.migrate(event, settings)
        assert result == {
            "status": "ok",
            "datasets": ["sales.orders"],
            "loader_user": LOADER,
            "warnings": [],
        }
    with psycopg.connect(loader_dsn(postgres), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sales.orders"
            " (order_id, customer, ordered_at, amount, quantity, status, is_gift)"
            " VALUES (1, 'c', now(), 1.5, 1, 'new', false)"
        )


@pytest.mark.postgres
def test_migration_function_through_the_lambda_entry_point(
    postgres: PostgresServer,
    pg_conn: psycopg.Connection,
    master_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert postgres.tls_files is not None
    env = {
        "FERRY_DB_MASTER_SECRET_ARN": master_secret,
        "FERRY_DB_HOST": "localhost",
        "FERRY_DB_HOSTADDR": "127.0.0.1",
        "FERRY_DB_PORT": str(postgres.port),
        "FERRY_DB_NAME": postgres.database,
        "FERRY_DB_SSLROOTCERT": str(postgres.tls_files.ca_cert),
        "FERRY_DB_USER": LOADER,
        "FERRY_CONFIG_PATH": str(CONFIG),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = migrate_handler.handler({"action": "migrate", "config_sha256": config_sha256()}, None)
    assert (result["status"], result["loader_user"]) == ("ok", LOADER)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"action": "drop"}, "unknown event"),
        ({"action": "migrate", "config_sha256": "0" * 64}, "not the one Terraform was given"),
    ],
)
def test_migration_function_raises_on_a_bad_event(
    postgres: PostgresServer, master_secret: str, event: dict[str, Any], message: str
) -> None:
    with pytest.raises(migrate_handler.MigrationError, match=message):
        migrate_handler.migrate(event, migration_settings(postgres, master_secret))


@pytest.mark.postgres
def test_migration_function_raises_when_tls_cannot_be_verified(
    postgres: PostgresServer, master_secret: str, tmp_path: Path
) -> None:
    settings = migration_settings(postgres, master_secret)
    other_ca = tmp_path / "other.pem"
    from ferry_dev.services import make_tls

    other_ca.write_bytes(make_tls(tmp_path / "tls").ca_cert.read_bytes())
    wrong = dataclasses.replace(settings, db=dataclasses.replace(settings.db, sslrootcert=other_ca))
    with pytest.raises(migrate_handler.MigrationError, match="cannot connect as the master user"):
        migrate_handler.migrate({"action": "migrate"}, wrong)


def test_migration_function_needs_the_master_secret() -> None:
    with pytest.raises(migrate_handler.MigrationError, match="FERRY_DB_MASTER_SECRET_ARN"):
        migrate_handler.migrate({"action": "migrate"}, Settings(config_path=CONFIG))


# --- IAM authentication in the processor ------------------------------------------------------


class Signer:
    """Stands in for the RDS client: records the token request."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def generate_db_auth_token(self, **kwargs: Any) -> str:
        self.calls.append(kwargs)
        return "token-from-iam"


def test_iam_auth_uses_a_token_for_the_loader_user(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = Settings.from_env(
        {
            "FERRY_DB_AUTH": "iam",
            "FERRY_DB_USER": "ferry_loader",
            "FERRY_DB_HOST": "db.example.eu-west-1.rds.amazonaws.com",
            "FERRY_DB_PORT": "5432",
            "FERRY_DB_NAME": "ferry",
            "FERRY_DB_SSLROOTCERT": str(ca),
            "AWS_REGION": "eu-west-1",
        }
    ).db
    signer = Signer()
    params = db.conninfo(settings, rds_client=signer)
    assert signer.calls == [
        {
            "DBHostname": "db.example.eu-west-1.rds.amazonaws.com",
            "Port": 5432,
            "DBUsername": "ferry_loader",
            "Region": "eu-west-1",
        }
    ]
    assert (params["user"], params["password"]) == ("ferry_loader", "token-from-iam")
    assert (params["sslmode"], params["sslrootcert"]) == ("verify-full", str(ca))


def test_iam_auth_token_is_signed_by_boto3_for_the_user(tmp_path: Path) -> None:
    """The real signer (botocore, offline): a presigned rds-db:connect URL for the user."""
    import boto3

    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = DbSettings(
        host="db.example.eu-west-1.rds.amazonaws.com",
        port=5432,
        dbname="ferry",
        auth="iam",
        user="ferry_loader",
        sslrootcert=ca,
        region="eu-west-1",
    )
    rds = boto3.session.Session(
        aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="s", region_name="eu-west-1"
    ).client("rds")
    token = db.conninfo(settings, rds_client=rds)["password"]
    assert token.startswith("db.example.eu-west-1.rds.amazonaws.com:5432/?Action=connect")
    assert "DBUser=ferry_loader" in token
    assert "X-Amz-Signature=" in token


def test_iam_auth_needs_the_user(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = DbSettings(host="h", dbname="d", auth="iam", sslrootcert=ca)
    with pytest.raises(db.DatabaseConfigError, match="FERRY_DB_USER"):
        db.conninfo(settings, rds_client=Signer())


def test_default_ca_bundle_is_where_the_build_packs_it() -> None:
    from ferry import settings as settings_module

    assert settings_module.DEFAULT_CA_BUNDLE.as_posix().endswith("/ferry/certs/rds-ca-bundle.pem")
    assert settings_module.CA_BUNDLE_IN_PACKAGE == "ferry/certs/rds-ca-bundle.pem"
    assert Settings.from_env({}).db.sslrootcert == settings_module.DEFAULT_CA_BUNDLE
