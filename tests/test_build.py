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


# --- CONFIG=path: the user's processing configuration, packed byte for byte ----------

# Valid, but formatted as no serialiser would write it (CRLF, tabs, non-ASCII, no
# final newline): only an exact copy has the SHA-256 Terraform computes from the file.
USER_CONFIG = (
    '{"routes": [\r\n\t{"name": "docs", "prefix": "drop/docs/", "processor": "file_metadata",'
    ' "description": "Notes d\u00e9pos\u00e9es"}],\r\n "delete_raw": "never"}'
).encode()


@pytest.fixture
def no_dependencies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Builds without the platform wheels (offline, seconds): only the package and config."""
    deps = tmp_path / "deps"
    (deps / "dep").mkdir(parents=True)
    (deps / "dep" / "__init__.py").write_text("")
    monkeypatch.setattr(build, "dependencies", lambda arch, *, log=True: deps)


@pytest.fixture
def user_config(tmp_path: Path) -> Path:
    path = tmp_path / "my-ferry.json"
    path.write_bytes(USER_CONFIG)
    return path


def _packed(out: Path) -> bytes:
    with zipfile.ZipFile(out / "processor.zip") as archive:
        return archive.read("ferry_config.json")


def test_user_configuration_is_packed_byte_for_byte(
    no_dependencies: None, user_config: Path, tmp_path: Path
) -> None:
    (artifact,) = build.build(tmp_path / "out", config=user_config, log=False)
    assert _packed(tmp_path / "out") == USER_CONFIG
    assert artifact.config_sha256 == hashlib.sha256(USER_CONFIG).hexdigest()


def test_same_configuration_same_zip_another_configuration_another_zip(
    no_dependencies: None, user_config: Path, tmp_path: Path
) -> None:
    a, b, default = (tmp_path / name for name in ("a", "b", "default"))
    build.build(a, config=user_config, log=False)
    build.build(b, config=user_config, log=False)
    build.build(default, log=False)
    digests = [hashlib.sha256((out / "processor.zip").read_bytes()).hexdigest() for out in (a, b)]
    assert digests[0] == digests[1]
    assert hashlib.sha256((default / "processor.zip").read_bytes()).hexdigest() != digests[0]
    assert _packed(default) == build.CONFIG.read_bytes()  # the default, unchanged too


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"routes": []}', "routes"),
        (b'{"routes": [{"name": "x", "processor": "no_such_processor"}]}', "processor"),
        (b'{"routes": [', "not valid JSON"),
        ('{"routes": [{"name": "caf\u0065\u0301", "processor": "file_metadata"}]}'.encode(), "NFC"),
        (b'{"routes": [{"name": "\xff", "processor": "file_metadata"}]}', "UTF-8"),
    ],
)
def test_configuration_is_refused_before_packing(
    no_dependencies: None, tmp_path: Path, text: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(text)
    with pytest.raises(build.BuildError, match=message):
        build.build(tmp_path / "out", config=path, log=False)
    assert not (tmp_path / "out" / "processor.zip").exists()


def test_command_line_takes_the_configuration(
    no_dependencies: None, user_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert build.main(["--out", str(out), "--config", str(user_config)]) == 0
    assert _packed(out) == USER_CONFIG
    assert f"sha256 {hashlib.sha256(USER_CONFIG).hexdigest()}" in capsys.readouterr().out
    missing_file = tmp_path / "missing.json"
    assert build.main(["--out", str(out), "--config", str(missing_file)]) == 1
    assert "cannot read the processing configuration" in capsys.readouterr().err
