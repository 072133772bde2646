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
from ferry_dev.services import make_tls
from tests.conftest import missing


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA of the tests' own, passed to the build as RDS_CA_BUNDLE (as the local stack does)."""
    return make_tls(tmp_path_factory.mktemp("ca")).ca_cert


@pytest.fixture(autouse=True)
def _rds_ca_bundle(test_ca: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDS_CA_BUNDLE", str(test_ca))


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory, test_ca: Path) -> tuple[Path, Path]:
    outs = (tmp_path_factory.mktemp("build-a"), tmp_path_factory.mktemp("build-b"))
    for out in outs:
        try:
            build.build(out, "x86_64", rds_ca_bundle=test_ca, log=False)
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


# --- the RDS CA bundle and the architecture sidecar -------------------------------------------


def _names(out: Path) -> list[str]:
    with zipfile.ZipFile(out / "processor.zip") as archive:
        return archive.namelist()


def test_ca_bundle_from_rds_ca_bundle_is_packed_where_the_loader_looks(
    no_dependencies: None, tmp_path: Path, test_ca: Path
) -> None:
    build.build(tmp_path / "out", log=False)  # the default configuration has a CSV route
    with zipfile.ZipFile(tmp_path / "out" / "processor.zip") as archive:
        assert archive.read("ferry/certs/rds-ca-bundle.pem") == test_ca.read_bytes()
    from ferry.settings import CA_BUNDLE_IN_PACKAGE

    assert build.CA_BUNDLE_ENTRY == CA_BUNDLE_IN_PACKAGE


def test_no_csv_route_no_bundle(no_dependencies: None, user_config: Path, tmp_path: Path) -> None:
    build.build(tmp_path / "out", config=user_config, rds_ca_bundle=None, log=False)
    assert "ferry/certs/rds-ca-bundle.pem" not in _names(tmp_path / "out")


def test_not_a_pem_bundle_is_refused(no_dependencies: None, tmp_path: Path) -> None:
    bad = tmp_path / "bundle.pem"
    bad.write_text("hello")
    with pytest.raises(build.BuildError, match="not a PEM CA bundle"):
        build.build(tmp_path / "out", rds_ca_bundle=bad, log=False)
    with pytest.raises(build.BuildError, match="cannot read it"):
        build.build(tmp_path / "out", rds_ca_bundle=tmp_path / "missing.pem", log=False)
    assert not (tmp_path / "out" / "processor.zip").exists()


def test_without_rds_ca_bundle_and_network_the_build_stops_naming_it(tmp_path: Path) -> None:
    def offline(url: str, timeout: float) -> bytes:
        raise OSError("Name or service not known")

    with pytest.raises(build.BuildError, match=r"RDS_CA_BUNDLE=/path/to/bundle\.pem") as err:
        build.ca_bundle(None, fetch=offline, cache=tmp_path, log=False)
    assert "cannot download" in str(err.value)


def test_pinned_download_is_checked_and_cached(tmp_path: Path, test_ca: Path) -> None:
    urls: list[str] = []

    def changed(url: str, timeout: float) -> bytes:
        urls.append(url)
        return test_ca.read_bytes()  # not the pinned bundle

    with pytest.raises(build.BuildError, match="RDS_CA_BUNDLE_SHA256"):
        build.ca_bundle(None, fetch=changed, cache=tmp_path, log=False)
    assert urls == [build.RDS_CA_BUNDLE_URL]
    assert build.RDS_CA_BUNDLE_URL.startswith("https://truststore.pki.rds.amazonaws.com/")
    assert not list(tmp_path.iterdir())  # nothing unverified is kept

    pinned = test_ca.read_bytes()
    digest = hashlib.sha256(pinned).hexdigest()
    original = build.RDS_CA_BUNDLE_SHA256
    try:
        build.RDS_CA_BUNDLE_SHA256 = digest
        assert build.ca_bundle(None, fetch=changed, cache=tmp_path, log=False) == pinned
        assert (tmp_path / f"{digest}.pem").read_bytes() == pinned

        def offline(url: str, timeout: float) -> bytes:
            raise OSError("offline")

        assert build.ca_bundle(None, fetch=offline, cache=tmp_path, log=False) == pinned
    finally:
        build.RDS_CA_BUNDLE_SHA256 = original


def test_a_bundle_left_in_the_source_tree_is_never_packed(
    no_dependencies: None, tmp_path: Path, test_ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "lambda_src"
    shutil.copytree(
        build.LAMBDA_SRC / "ferry", source / "ferry", ignore=shutil.ignore_patterns("__pycache__")
    )
    (source / "ferry" / "certs" / "rds-ca-bundle.pem").write_text("stale")
    monkeypatch.setattr(build, "LAMBDA_SRC", source)
    build.build(tmp_path / "out", log=False)
    with zipfile.ZipFile(tmp_path / "out" / "processor.zip") as archive:
        assert archive.read("ferry/certs/rds-ca-bundle.pem") == test_ca.read_bytes()


@pytest.mark.parametrize(
    ("arch", "written"), [("x86_64", "x86_64"), ("arm64", "arm64"), ("aarch64", "arm64")]
)
def test_arch_sidecar(no_dependencies: None, tmp_path: Path, arch: str, written: str) -> None:
    build.build(tmp_path / "out", arch, log=False)
    assert (tmp_path / "out" / "processor.zip.arch").read_text() == written + "\n"


def test_command_line_takes_the_bundle(
    no_dependencies: None,
    tmp_path: Path,
    test_ca: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("RDS_CA_BUNDLE")
    out = tmp_path / "out"
    assert build.main(["--out", str(out), "--rds-ca-bundle", str(test_ca), "--arch", "arm64"]) == 0
    assert "arch   arm64" in capsys.readouterr().out
    assert "ferry/certs/rds-ca-bundle.pem" in _names(out)
