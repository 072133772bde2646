"""Test servers do not depend on where the project is checked out."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest

from ferry_dev.services import MAX_SOCKET_PATH, PostgresServer, ServiceError, find_pg_bin
from tests.conftest import missing


def deep(root: Path) -> Path:
    path = root
    while len(str(path)) < 200:
        path = path / "a-checkout-folder-with-a-long-name"
    return path


def test_socket_paths_are_short_whatever_the_folder(tmp_path: Path) -> None:
    base = deep(tmp_path)
    server = PostgresServer(base_dir=base, port=65535)
    socket = server.socket_dir / ".s.PGSQL.65535"
    assert len(str(socket).encode()) <= MAX_SOCKET_PATH
    assert base not in server.socket_dir.parents
    # Stable: a restarted cluster in the same folder finds the same socket folder.
    assert PostgresServer(base_dir=base).socket_dir == server.socket_dir
    assert PostgresServer(base_dir=tmp_path / "other").socket_dir != server.socket_dir


def test_postgres_starts_from_a_deep_checkout_path() -> None:
    try:
        find_pg_bin("initdb")
    except ServiceError as err:
        missing(str(err))
    # Not pytest's tmp_path: run as root, the server runs as another user, who must
    # be able to reach the folder.
    root = Path(tempfile.mkdtemp(prefix="ferry-deep-"))
    root.chmod(0o755)
    base = deep(root) / "pg"
    assert len(str(base / "sock" / ".s.PGSQL.65535")) > MAX_SOCKET_PATH
    server = PostgresServer(base_dir=base, tls=False)
    try:
        server.start()
        with psycopg.connect(server.dsn(tcp=False), autocommit=True) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert server.socket_dir.is_dir()
        server.stop()
        assert not server.socket_dir.exists()  # nothing left behind in the temporary folder
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("tmpdir", ["/tmp", "/" + "x" * 120])
def test_a_long_temporary_directory_falls_back_to_tmp(
    tmpdir: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", tmpdir)
    socket_dir = PostgresServer(base_dir=tmp_path).socket_dir
    assert len(str(socket_dir / ".s.PGSQL.65535")) <= MAX_SOCKET_PATH
