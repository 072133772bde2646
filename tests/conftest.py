"""Session-wide test services: a throwaway PostgreSQL, a moto server, Terraform.

Each pytest worker gets its own PostgreSQL cluster and moto server (started on
first use, stopped at the end). A missing binary skips the tests that need it
on a developer's machine, and fails them under CI=true, so nothing is silently
left out in CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pytest

from ferry_dev import terraform as tf
from ferry_dev.services import MotoServer, PostgresServer, ServiceError, find_pg_bin

REPO = Path(__file__).resolve().parents[1]

# Work is handed to the test workers in collection order (make test passes
# --no-loadscope-reorder): the longest chains go first, so that they do not
# start last and leave one worker alone at the end. The local stack's group
# (a minute and a half to apply, then every end-to-end test on it), the
# upgrade (two applies), the modules' terraform test suites (largest first),
# the simulations' plans; then everything else as collected.
FIRST_GROUPS = ("local-stack", "upgrade")


def _rank(item: pytest.Item) -> tuple[int, int]:
    marker = item.get_closest_marker("xdist_group")
    group = (marker.args[0] if marker.args else marker.kwargs.get("name")) if marker else None
    if group in FIRST_GROUPS:
        return FIRST_GROUPS.index(group), 0
    if item.nodeid.startswith("tests/test_module_terraform_tests.py::test_terraform_test_passes"):
        module = REPO / "modules" / item.nodeid.rsplit("[", 1)[1].rstrip("]")
        return len(FIRST_GROUPS), -tf.run_blocks(module)
    if isinstance(group, str) and group.startswith("sim-"):
        return len(FIRST_GROUPS) + 1, 0
    return len(FIRST_GROUPS) + 2, 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the same order on every worker


IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REGION = "eu-west-1"


def missing(reason: str) -> None:
    """Skip locally, fail in CI: CI must never pass by leaving tests out."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: missing prerequisites are failures)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server with TLS (CA in ``.tls_files.ca_cert``) on loopback + unix socket."""
    try:
        find_pg_bin("initdb")
        find_pg_bin("pg_ctl")
    except ServiceError as err:
        missing(str(err))
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_conn(postgres: PostgresServer) -> Iterator[psycopg.Connection]:
    """An autocommit superuser connection over the unix socket."""
    with psycopg.connect(postgres.dsn(tcp=False), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server on a free loopback port; AWS_* variables point boto3 at it."""
    server = MotoServer()
    server.start()
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(_AWS_ENV)
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    yield server
    os.environ.pop("AWS_ENDPOINT_URL", None)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture
def aws(moto_server: MotoServer) -> Callable[[str], Any]:
    """A factory for boto3 clients on a freshly reset moto server: ``aws("s3")``."""
    moto_server.reset()
    session = boto3.session.Session(region_name=REGION)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_server.endpoint_url)

    return client


@pytest.fixture(scope="session")
def terraform_ready() -> str:
    """terraform on PATH and the provider reachable (TF_MIRROR or registry)."""
    if shutil.which("terraform") is None:
        missing("terraform is not on PATH")
    try:
        return tf.doctor()
    except tf.TerraformError as err:
        missing(str(err))
        raise


@pytest.fixture(scope="session")
def tf_root(terraform_ready: str) -> Callable[..., tf.Root]:
    """Factory: ``tf_root(path)`` gives an initialised :class:`ferry_dev.terraform.Root`."""
    cache: dict[Path, tf.Root] = {}

    def make(path: str | Path, **kwargs: object) -> tf.Root:
        path = (REPO / path).resolve()
        if path not in cache:
            root = tf.Root(path, **kwargs)  # type: ignore[arg-type]
            root.init()
            cache[path] = root
        return cache[path]

    return make
