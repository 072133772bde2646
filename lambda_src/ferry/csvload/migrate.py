"""Create the tables the CSV datasets load into, ``ferry.loads`` and the loader role. Idempotent.

In AWS the migration runs inside the VPC as the function
``ferry.migrate_handler.handler`` (Terraform invokes it on every apply that
changes the processing configuration). Against any other server, run it once
per deployment (``make migrate``), never on every invocation::

    python -m ferry.csvload.migrate --config lambda_src/config/ferry.json \\
        --dsn "host=... sslmode=verify-full sslrootcert=..."

Without ``--dsn`` the connection comes from the same environment the Lambda
uses (``FERRY_DB_*``, see :mod:`ferry.db`). Every statement is
``CREATE ... IF NOT EXISTS``; an existing table is left as it is (a column
that differs from the specification is reported, not altered), except for
the lineage columns, which are added when missing (:func:`lineage_statements`):
``ferry.loads.load_id`` (from the sequence ``ferry.load_ids``) and, on every
dataset table, ``_ferry_load_id`` (the load that wrote the row; the loader
sends it with every record, and its default reads the transaction's
``ferry.load_id`` setting for other writers) and ``_ferry_line`` (the row's
line in the source file).

The loader role (``FERRY_DB_USER``, default ``ferry_loader``) is what the
processor logs in as: a ``LOGIN`` role that owns nothing, with exactly what a
load needs (:func:`loader_statements`): ``USAGE`` on ``ferry`` and the dataset
schemas, ``INSERT`` on the dataset tables (``COPY ... FROM STDIN``), ``SELECT``
and ``INSERT`` on ``ferry.loads`` (the exactly-once record) and ``USAGE`` on
the ``ferry.load_ids`` sequence (a load's id). It cannot create,
alter, drop or truncate anything, nor read a table it was not granted. On RDS
it is granted ``rds_iam`` (IAM database authentication, no password); elsewhere
a password can be set for it (the local stack does).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ferry.csvload.config import Column, Dataset, DatasetError, parse_datasets

DEFAULT_LOADER = "ferry_loader"

LOADS_DDL = """
CREATE TABLE IF NOT EXISTS ferry.loads (
    bucket        text        NOT NULL,
    key           text        NOT NULL,
    version_id    text        NOT NULL,
    etag          text,
    dataset       text        NOT NULL,
    target_table  text        NOT NULL,
    rows_loaded   bigint      NOT NULL,
    rows_rejected bigint      NOT NULL,
    loaded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT loads_pkey PRIMARY KEY (bucket, key, version_id)
)
"""

#: Lineage: which load wrote a row (ferry.loads.load_id) and from which source line.
LOAD_ID_COLUMN = "_ferry_load_id"
LINE_COLUMN = "_ferry_line"
LOAD_ID_SETTING = "ferry.load_id"


def lineage_statements(datasets: Iterable[Dataset]) -> list[str]:
    """Add the lineage columns where they are missing (every statement is idempotent).

    ``ferry.loads`` rows written before get a ``load_id`` too (the sequence fills
    them when the column is added). Rows loaded before have NULL lineage.
    """
    out = [
        "CREATE SEQUENCE IF NOT EXISTS ferry.load_ids AS bigint",
        "ALTER TABLE ferry.loads ADD COLUMN IF NOT EXISTS"
        " load_id bigint NOT NULL DEFAULT nextval('ferry.load_ids')",
        "CREATE UNIQUE INDEX IF NOT EXISTS loads_load_id_key ON ferry.loads (load_id)",
    ]
    for ds in datasets:
        table = f'"{ds.schema}"."{ds.table}"'
        out += [
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {LOAD_ID_COLUMN} bigint"
            f" DEFAULT NULLIF(current_setting('{LOAD_ID_SETTING}', true), '')::bigint",
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {LINE_COLUMN} bigint",
            f'CREATE INDEX IF NOT EXISTS "{ds.table}_ferry_load_id" ON {table} ({LOAD_ID_COLUMN})',
        ]
    return out


def _column_sql(col: Column) -> str:
    parts = [f'"{col.name}"', col.sql_type]
    if not col.nullable:
        parts.append("NOT NULL")
    if col.type == "enum":
        values = ", ".join("'" + v.replace("'", "''") + "'" for v in col.values)
        parts.append(f'CHECK ("{col.name}" IN ({values}))')
    return " ".join(parts)


def table_ddl(ds: Dataset) -> list[str]:
    """The statements that create ``ds``'s schema and table."""
    body = [_column_sql(c) for c in ds.columns]
    if ds.primary_key:
        keys = ", ".join(f'"{k}"' for k in ds.primary_key)
        body.append(f'CONSTRAINT "{ds.table}_pkey" PRIMARY KEY ({keys})')
    inner = ",\n    ".join(body)
    return [
        f'CREATE SCHEMA IF NOT EXISTS "{ds.schema}"',
        f'CREATE TABLE IF NOT EXISTS "{ds.schema}"."{ds.table}" (\n    {inner}\n)',
    ]


def statements(datasets: Iterable[Dataset]) -> list[str]:
    datasets = list(datasets)
    out = ["CREATE SCHEMA IF NOT EXISTS ferry", LOADS_DDL.strip()]
    for ds in datasets:
        out += table_ddl(ds)
    return out + lineage_statements(datasets)


def drift(conn: Any, ds: Dataset) -> list[str]:
    """Differences between an existing table and the specification (names and types)."""
    rows = conn.execute(
        "SELECT column_name, format_type(a.atttypid, a.atttypmod), a.attnotnull"
        " FROM information_schema.columns c"
        " JOIN pg_attribute a ON a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)"
        "::regclass AND a.attname = c.column_name"
        " WHERE c.table_schema = %s AND c.table_name = %s",
        (ds.schema, ds.table),
    ).fetchall()
    have = {name: (kind, notnull) for name, kind, notnull in rows}
    problems = []
    for col in ds.columns:
        if col.name not in have:
            problems.append(f"{ds.qualified_table}: column {col.name} is missing")
            continue
        kind, notnull = have[col.name]
        want = {
            "int": "integer",
            "text": f"character varying({col.max_length})",
            "timestamptz": "timestamp with time zone",
        }.get(col.type, col.sql_type)
        if kind != want:
            problems.append(f"{ds.qualified_table}.{col.name}: is {kind}, the dataset says {want}")
        if notnull == col.nullable:
            problems.append(
                f"{ds.qualified_table}.{col.name}: NOT NULL is {notnull}, "
                f"the dataset says nullable={col.nullable}"
            )
    return problems


def migrate(conn: Any, datasets: Sequence[Dataset]) -> list[str]:
    """Create what is missing (one transaction); returns drift warnings for existing tables."""
    encoding = conn.execute("SHOW server_encoding").fetchone()[0]
    if encoding.upper() not in {"UTF8", "UTF-8"}:
        raise RuntimeError(f"the database encoding is {encoding}; ferry loads UTF-8 text: use UTF8")
    with conn.transaction():
        # Concurrent migrations (two deploys at once) wait for each other.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ferry.csvload.migrate'))")
        for statement in statements(datasets):
            conn.execute(statement)
    warnings: list[str] = []
    for ds in datasets:
        warnings += drift(conn, ds)
    return warnings


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def loader_statements(user: str, datasets: Sequence[Dataset]) -> list[str]:
    """The grants of the loader role (after the role exists). Re-running them is harmless."""
    role = _ident(user)
    schemas = sorted({"ferry", *(ds.schema for ds in datasets)})
    out = [f"GRANT USAGE ON SCHEMA {', '.join(_ident(s) for s in schemas)} TO {role}"]
    out.append(f"GRANT SELECT, INSERT ON ferry.loads TO {role}")
    out.append(f"GRANT USAGE ON SEQUENCE ferry.load_ids TO {role}")
    tables = sorted({f"{_ident(ds.schema)}.{_ident(ds.table)}" for ds in datasets})
    if tables:
        out.append(f"GRANT INSERT ON {', '.join(tables)} TO {role}")
    return out


def grant_loader(
    conn: Any, datasets: Sequence[Dataset], user: str = DEFAULT_LOADER, password: str | None = None
) -> None:
    """Create the loader role if missing, set its password if given, grant what loads need.

    ``rds_iam`` is granted when that role exists (RDS): the loader then logs in
    with an IAM authentication token. One transaction, serialised like :func:`migrate`.
    """
    from psycopg import sql

    role = sql.Identifier(user)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('ferry.csvload.migrate'))")
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        # A new role has no other attribute (NOSUPERUSER, NOCREATEDB, ...); RDS's
        # master user could not change the superuser-only ones anyway.
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN").format(sql.SQL("ALTER" if exists else "CREATE"), role)
        )
        if password:
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone():
            conn.execute(sql.SQL("GRANT rds_iam TO {}").format(role))
        for statement in loader_statements(user, datasets):
            conn.execute(statement)


def load_datasets(config_path: Path) -> list[Dataset]:
    data = json.loads(config_path.read_text(encoding="utf-8"))
    return list(parse_datasets(data.get("datasets", {})).values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ferry.csvload.migrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="processing configuration")
    parser.add_argument("--dsn", help="libpq connection string (default: FERRY_DB_* environment)")
    parser.add_argument("--print", action="store_true", help="print the SQL, connect to nothing")
    parser.add_argument(
        "--loader-user",
        default=None,
        help=f"loader role to create and grant (default: FERRY_DB_USER, else {DEFAULT_LOADER})",
    )
    args = parser.parse_args(argv)
    try:
        datasets = load_datasets(args.config)
    except (OSError, ValueError, DatasetError) as err:
        print(f"error: {args.config}: {err}", file=sys.stderr)
        return 2
    from ferry.settings import Settings, SettingsError

    loader = args.loader_user or Settings.from_env().db.user or DEFAULT_LOADER
    if args.print:
        print(";\n\n".join(statements(datasets) + loader_statements(loader, datasets)) + ";")
        return 0
    import psycopg

    from ferry import db

    try:
        conn = psycopg.connect(args.dsn, autocommit=True) if args.dsn else db.connect()
    except (psycopg.Error, db.DatabaseConfigError, SettingsError) as err:
        print(f"error: cannot connect: {err}", file=sys.stderr)
        return 1
    with conn:
        conn.autocommit = True
        warnings = migrate(conn, datasets)
        grant_loader(conn, datasets, loader)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    names = ", ".join(ds.qualified_table for ds in datasets) or "no datasets"
    print(f"migrated: ferry.loads, {names}; loader role {loader}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
