"""`make build`: the Lambda zip is complete, platform-correct and byte-for-byte reproducible."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from ferry.config import parse_config
from ferry_dev import build
from tests.conftest import missing


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    outs = (tmp_path_factory.mktemp("build-a"), tmp_path_factory.mktemp("build-b"))
    for out in outs:
        try:
            build.build(out, "x86_64", log=False)
        except build.BuildError as err:
            if "could not download" in str(err):
                missing(f"no package index reachable to fill the wheel cache: {err}")
            raise
    return outs


def test_building_twice_gives_identical_zips(two_builds: tuple[Path, Path]) -> None:
    a, b = (out / "processor.zip" for out in two_builds)
    digest_a = hashlib.sha256(a.read_bytes()).digest()
    assert digest_a == hashlib.sha256(b.read_bytes()).digest()
    sidecar = (two_builds[0] / "processor.zip.sha256").read_text().strip()
    assert sidecar == base64.b64encode(digest_a).decode()


def test_zip_holds_the_package_config_and_platform_dependencies(
    two_builds: tuple[Path, Path],
) -> None:
    with zipfile.ZipFile(two_builds[0] / "processor.zip") as archive:
        names = archive.namelist()
        infos = archive.infolist()
        config = json.loads(archive.read("ferry_config.json"))
    assert names == sorted(names)
    assert "ferry/handler.py" in names
    assert "ferry/processors/json_records.py" in names
    assert "ferry_config.json" in names
    parse_config(config)  # the packaged configuration is valid
    assert any(n.startswith("jsonschema/") for n in names)
    assert any(n.startswith("psycopg/") for n in names)
    binaries = [n for n in names if n.startswith("psycopg_binary/") and n.endswith(".so")]
    assert binaries, "psycopg's binary package must be in the zip"
    assert all("cpython-312-x86_64-linux-gnu" in n for n in binaries), binaries
    assert not [n for n in names if n.startswith("ferry_dev/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("botocore/", "boto3/", "bin/"))]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_unknown_arch_is_refused() -> None:
    with pytest.raises(build.BuildError, match="unknown ARCH"):
        build.platforms("sparc")
