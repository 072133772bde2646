"""`make build`: the Lambda zip is complete, platform-correct and byte-for-byte reproducible."""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import shutil
import subprocess
import textwrap
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


def _python312() -> str | None:
    """A CPython 3.12 (the Lambda runtime's version) if this machine has one."""
    candidates = [
        shutil.which("python3.12"),
        *sorted(glob.glob("/root/.pyenv/versions/3.12*/bin/python3.12")),
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "pass"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return candidate
    return None


def test_zip_runs_on_python_312(two_builds: tuple[Path, Path], tmp_path: Path) -> None:
    """Unpacked like Lambda's /var/task: imports, configuration, jsonschema, psycopg's C library."""
    python = _python312()
    if python is None:
        pytest.skip("no CPython 3.12 on this machine to run the zip with")
    with zipfile.ZipFile(two_builds[0] / "processor.zip") as archive:
        archive.extractall(tmp_path)
    code = textwrap.dedent(
        """
        import ferry.handler
        from ferry.config import load_config
        from ferry.jsondoc import validator, violations
        from ferry.settings import Settings
        import psycopg
        config = load_config(Settings.from_env({}).resolved_config_path())
        compiled = validator("report", config.schemas["report"])
        assert violations(compiled, {"mission": "m", "source": "MASINT", "confidence": 0.5}) == []
        assert psycopg.pq.__impl__ == "binary", psycopg.pq.__impl__
        print("ok")
        """
    )
    out = subprocess.run(
        [python, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{code}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
