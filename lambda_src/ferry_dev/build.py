"""Build the Lambda zips: ``python -m ferry_dev.build [--arch ...] [--out ...] [--config ...]``.

``--arch x86_64|arm64`` (default x86_64), ``--out`` (default ``build``),
``--config PATH`` (default ``lambda_src/config/ferry.json``).

One zip per function (today: ``processor``) holding

* the runtime dependencies from ``lambda_src/requirements.txt`` as binary wheels
  for the Lambda platform (``manylinux`` x86_64 or aarch64, CPython 3.12), minus
  what the Lambda Python runtime already provides (boto3, botocore and their
  dependencies);
* the ``ferry`` package (never ``ferry_dev``);
* ``ferry/certs/rds-ca-bundle.pem`` when a route uses ``csv_postgres``: the CA
  bundle the loader verifies the database against (:func:`ca_bundle`: the file
  ``RDS_CA_BUNDLE`` / ``--rds-ca-bundle`` names, else AWS's global RDS bundle
  downloaded from :data:`RDS_CA_BUNDLE_URL` and checked against
  :data:`RDS_CA_BUNDLE_SHA256`, else the build stops);
* ``ferry_config.json``: the processing configuration (``--config``, default
  ``lambda_src/config/ferry.json``), validated (schemas compiled) and packed
  byte for byte, so its SHA-256 is the one Terraform computes from the same
  file (``sha256(file(path))``, the pipeline module's ``FERRY_CONFIG_SHA256``).

Reproducible: entries sorted, timestamps fixed (1980-01-01), permissions fixed
(0644), no ``__pycache__``/``.pyc``, no console scripts (their shebang names the
build machine's interpreter). Wheels are downloaded once into
``.cache/lambda-wheels/<platform>`` and installed from there without an index;
the installed tree is kept in ``.cache/lambda-deps/<arch>-<hash of requirements>``,
so a second build takes seconds and works offline. Prints each zip's size and SHA-256 (hex,
and base64 for Terraform's ``source_code_hash``) and writes ``<zip>.sha256`` (base64) and
``<zip>.arch`` (``x86_64`` or ``arm64``: what ``make apply`` compares with the
function's architecture).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unicodedata
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAMBDA_SRC = REPO / "lambda_src"
REQUIREMENTS = LAMBDA_SRC / "requirements.txt"
CONFIG = LAMBDA_SRC / "config" / "ferry.json"
CACHE = REPO / ".cache"
PYTHON_VERSION = "3.12"

#: Function name -> packages from lambda_src copied into its zip.
FUNCTIONS: dict[str, tuple[str, ...]] = {"processor": ("ferry",)}

#: Distributions the Lambda Python runtime provides: never packaged.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python_dateutil", "six"}
)

ARCHES = {"x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
#: Lambda's name for each architecture (``<zip>.arch``, the function's ``architectures``).
LAMBDA_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}

#: AWS's global RDS CA bundle (every commercial region), from the RDS user guide,
#: "Using SSL/TLS to encrypt a connection to a DB instance": certificate bundles.
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
#: SHA-256 of that bundle as pinned. AWS republishes it when it adds a CA: the
#: download then fails this check and the build stops, naming RDS_CA_BUNDLE.
#: Check the new file against AWS's documentation, then update this pin.
RDS_CA_BUNDLE_SHA256 = "5fa49cac7e6e9202ef85331c6f83377a71339d692d5644c9417a2d81406f0c03"
#: Where the bundle goes in the zip (``FERRY_DB_SSLROOTCERT``'s default in Lambda).
CA_BUNDLE_ENTRY = "ferry/certs/rds-ca-bundle.pem"
#: Routes with this processor connect to PostgreSQL and need the bundle.
DATABASE_PROCESSORS = frozenset({"csv_postgres"})
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
EXCLUDED_DIRS = {"__pycache__", "bin"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


class BuildError(RuntimeError):
    """The build cannot proceed (no wheels, pip failed, configuration invalid)."""


@dataclass(frozen=True)
class Artifact:
    name: str
    path: Path
    size: int
    sha256_hex: str
    sha256_b64: str
    config_sha256: str = ""


def platforms(arch: str) -> list[str]:
    machine = ARCHES.get(arch)
    if machine is None:
        raise BuildError(f"unknown ARCH {arch!r} (use x86_64 or arm64)")
    # Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34).
    return [f"manylinux_2_28_{machine}", f"manylinux2014_{machine}"]


def requirements() -> list[str]:
    lines = []
    for raw in REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def _pip(args: list[str], *, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check"]
    if quiet:
        command.append("--quiet")
    env = {**os.environ, "PIP_NO_INPUT": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def _platform_args(arch: str) -> list[str]:
    args: list[str] = []
    for platform in platforms(arch):
        args += ["--platform", platform]
    args += ["--python-version", PYTHON_VERSION, "--implementation", "cp"]
    args.append("--only-binary=:all:")
    return args


def wheel_cache(arch: str) -> Path:
    return CACHE / "lambda-wheels" / f"{ARCHES[arch]}-cp{PYTHON_VERSION.replace('.', '')}"


def install_dependencies(target: Path, arch: str, *, log: bool = True) -> None:
    """pip install into ``target`` from the wheel cache; fill the cache first if needed."""
    cache = wheel_cache(arch)
    cache.mkdir(parents=True, exist_ok=True)
    reqs = requirements()
    install = ["install", "--target", str(target), "--no-compile", *_platform_args(arch)]
    offline = _pip([*install, "--no-index", "--find-links", str(cache), *reqs])
    if offline.returncode == 0:
        return
    if log:
        print(f"filling the wheel cache {cache.relative_to(REPO)} ...", file=sys.stderr)
    download = _pip(
        [
            "download",
            "--dest",
            str(cache),
            "--cache-dir",
            str(CACHE / "pip"),
            *_platform_args(arch),
            *reqs,
        ]
    )
    if download.returncode != 0:
        raise BuildError(
            "pip could not download the Lambda dependencies (is a package index reachable?):\n"
            + download.stderr.strip()
        )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    retry = _pip([*install, "--no-index", "--find-links", str(cache), *reqs])
    if retry.returncode != 0:
        raise BuildError("pip install from the wheel cache failed:\n" + retry.stderr.strip())


def dependencies(arch: str, *, log: bool = True) -> Path:
    """The installed, trimmed dependency tree for ``arch``, cached by what determines it."""
    key = hashlib.sha256(
        json.dumps(
            [requirements(), platforms(arch), PYTHON_VERSION, sorted(RUNTIME_PROVIDED)]
        ).encode()
    ).hexdigest()[:16]
    folder = CACHE / "lambda-deps" / f"{ARCHES[arch]}-{key}"
    if (folder / ".complete").is_file():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)  # a fresh clone has no .cache yet
    staging = Path(tempfile.mkdtemp(prefix="deps-", dir=folder.parent.parent)) / "deps"
    staging.mkdir(parents=True)
    try:
        install_dependencies(staging, arch, log=log)
        remove_runtime_provided(staging)
        (staging / ".complete").write_text(key + "\n")
        folder.parent.mkdir(parents=True, exist_ok=True)
        if (folder / ".complete").is_file():
            return folder  # a concurrent build finished first: never pull it from under a reader
        shutil.rmtree(folder, ignore_errors=True)
        try:
            staging.replace(folder)
        except OSError:
            if not (folder / ".complete").is_file():  # not a concurrent build's result
                raise
    finally:
        shutil.rmtree(staging.parent, ignore_errors=True)
    return folder


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def remove_runtime_provided(target: Path) -> list[str]:
    """Delete distributions the runtime provides, file by file from their RECORD."""
    removed = []
    for dist_info in sorted(target.glob("*.dist-info")):
        name = _normalise(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        if name not in RUNTIME_PROVIDED:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text().splitlines() if record.exists() else []:
            relative = line.split(",", 1)[0]
            path = (target / relative).resolve()
            if path.is_file() and target.resolve() in path.parents:
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    # Remove package folders emptied by the deletions.
    for folder in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    return removed


def packaged_config(path: Path = CONFIG) -> bytes:
    """The processing configuration at ``path``, validated, as its exact bytes.

    Never re-serialised: the function compares the SHA-256 of these bytes with
    FERRY_CONFIG_SHA256, which Terraform computes from the same file.
    """
    from ferry.config import ConfigError, check_schemas, load_config

    try:
        data = path.read_bytes()
    except OSError as err:
        raise BuildError(f"cannot read the processing configuration {path}: {err}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BuildError(f"{path}: not UTF-8 ({err}); Terraform's file() reads UTF-8") from None
    if not unicodedata.is_normalized("NFC", text):
        # Terraform normalises strings to NFC, so sha256(file(path)) would hash other bytes.
        raise BuildError(
            f"{path}: text is not in Unicode NFC form; Terraform would hash it differently "
            "(normalise it, e.g. python -c 'import sys,unicodedata; "
            'sys.stdout.write(unicodedata.normalize("NFC", sys.stdin.read()))\')'
        )
    try:
        check_schemas(load_config(path))
    except ConfigError as err:
        raise BuildError(str(err)) from None
    return data


def needs_ca_bundle(config_bytes: bytes) -> bool:
    """True when a route of the configuration loads into PostgreSQL."""
    routes = json.loads(config_bytes).get("routes", [])
    return any(isinstance(r, dict) and r.get("processor") in DATABASE_PROCESSORS for r in routes)


def _check_pem(data: bytes, where: str) -> bytes:
    """``data`` must be one or more PEM CA certificates (what libpq's sslrootcert reads)."""
    try:
        text = data.decode("ascii")
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValueError("no PEM certificate in it")
        ssl.create_default_context(cadata=text)
    except (UnicodeDecodeError, ValueError, ssl.SSLError) as err:
        raise BuildError(f"{where} is not a PEM CA bundle ({err})") from None
    return data


def _download(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def ca_bundle(
    path: Path | None = None,
    *,
    fetch: Callable[[str, float], bytes] = _download,
    cache: Path = CACHE / "rds-ca",
    log: bool = True,
) -> bytes:
    """The CA bundle to pack: ``path`` (RDS_CA_BUNDLE), else the pinned download.

    A verified download is kept in ``cache`` (by its SHA-256), so later builds work offline.
    """
    if path is not None:
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise BuildError(f"RDS_CA_BUNDLE={path}: cannot read it ({err})") from None
        return _check_pem(data, f"RDS_CA_BUNDLE={path}")
    cached = cache / f"{RDS_CA_BUNDLE_SHA256}.pem"
    if cached.is_file() and hashlib.sha256(cached.read_bytes()).hexdigest() == RDS_CA_BUNDLE_SHA256:
        return cached.read_bytes()
    stop = (
        "A route uses csv_postgres, so the zip needs the CA bundle of the database's "
        "certificates. Give it with RDS_CA_BUNDLE=/path/to/bundle.pem (make build "
        "RDS_CA_BUNDLE=...), for RDS the global bundle from " + RDS_CA_BUNDLE_URL
    )
    if log:
        print(f"downloading the RDS CA bundle from {RDS_CA_BUNDLE_URL} ...", file=sys.stderr)
    try:
        data = fetch(RDS_CA_BUNDLE_URL, 20.0)
    except OSError as err:
        raise BuildError(f"cannot download the RDS CA bundle ({err}). {stop}.") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != RDS_CA_BUNDLE_SHA256:
        raise BuildError(
            f"the downloaded RDS CA bundle has sha256 {actual}, the pinned one is "
            f"{RDS_CA_BUNDLE_SHA256} (AWS may have published a new bundle: check it, then "
            f"update RDS_CA_BUNDLE_SHA256 in ferry_dev/build.py). {stop}."
        )
    _check_pem(data, RDS_CA_BUNDLE_URL)
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def _files(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """Files under ``root`` as (zip name, path), without caches, bytecode or scripts."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir() or path.suffix in EXCLUDED_SUFFIXES:
            continue
        if "__pycache__" in relative.parts or relative.parts[0] in EXCLUDED_DIRS:
            continue
        yield (prefix + relative.as_posix(), path)


def write_zip(destination: Path, entries: Iterable[tuple[str, bytes]]) -> None:
    """A zip with sorted entries, fixed timestamps and fixed permissions."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name, data in sorted(entries, key=lambda e: e[0]):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr holds the mode
            info.external_attr = (0o100644 & 0xFFFF) << 16
            archive.writestr(info, data, compresslevel=9)
    tmp.replace(destination)


def digest(path: Path) -> tuple[str, str]:
    h = hashlib.sha256(path.read_bytes())
    return h.hexdigest(), base64.b64encode(h.digest()).decode()


def build(
    out: Path,
    arch: str = "x86_64",
    *,
    config: Path = CONFIG,
    rds_ca_bundle: Path | None = None,
    log: bool = True,
) -> list[Artifact]:
    """Build every function's zip into ``out`` with the configuration at ``config``.

    ``rds_ca_bundle``: the CA bundle file to pack (default: ``RDS_CA_BUNDLE``
    from the environment, else the pinned download); packed only when a route
    uses the database.
    """
    platforms(arch)  # refuses an unknown architecture before anything else
    lambda_arch = LAMBDA_ARCH[ARCHES[arch]]
    config_bytes = packaged_config(config)
    config_sha256 = hashlib.sha256(config_bytes).hexdigest()
    if rds_ca_bundle is None and os.environ.get("RDS_CA_BUNDLE", "").strip():
        rds_ca_bundle = Path(os.environ["RDS_CA_BUNDLE"].strip())
    bundle = ca_bundle(rds_ca_bundle, log=log) if needs_ca_bundle(config_bytes) else None
    artifacts = []
    deps = dependencies(arch, log=log)
    dependency_entries = [
        (name, path.read_bytes()) for name, path in _files(deps) if name != ".complete"
    ]
    for function, packages in FUNCTIONS.items():
        entries = list(dependency_entries)
        taken = {name for name, _ in entries}
        for package in packages:
            for name, path in _files(LAMBDA_SRC / package, prefix=f"{package}/"):
                if name == CA_BUNDLE_ENTRY:
                    continue  # only the bundle the build chose is packed
                if name in taken:
                    raise BuildError(f"{name} is both a dependency and part of {package}")
                entries.append((name, path.read_bytes()))
        entries.append(("ferry_config.json", config_bytes))
        if bundle is not None:
            entries.append((CA_BUNDLE_ENTRY, bundle))
        zip_path = out / f"{function}.zip"
        write_zip(zip_path, entries)
        hex_digest, b64_digest = digest(zip_path)
        (out / f"{function}.zip.sha256").write_text(b64_digest + "\n")
        (out / f"{function}.zip.arch").write_text(lambda_arch + "\n")
        artifacts.append(
            Artifact(
                function,
                zip_path,
                zip_path.stat().st_size,
                hex_digest,
                b64_digest,
                config_sha256,
            )
        )
    return artifacts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--arch", default=os.environ.get("ARCH", "x86_64"))
    parser.add_argument("--out", type=Path, default=REPO / "build")
    parser.add_argument(
        "--config",
        type=Path,
        default=CONFIG,
        help="processing configuration packed as ferry_config.json (default: %(default)s)",
    )
    parser.add_argument(
        "--rds-ca-bundle",
        type=Path,
        default=None,
        help="CA bundle to pack for PostgreSQL TLS (default: RDS_CA_BUNDLE, else the pinned"
        " download of AWS's global RDS bundle)",
    )
    args = parser.parse_args(argv)
    try:
        artifacts = build(args.out, args.arch, config=args.config, rds_ca_bundle=args.rds_ca_bundle)
    except BuildError as err:
        print(f"build failed: {err}", file=sys.stderr)
        return 1
    for a in artifacts:
        shown = a.path.relative_to(REPO) if a.path.is_relative_to(REPO) else a.path
        print(f"{shown}  {a.size:,} bytes  ({args.arch})")
        print(f"  sha256 {a.sha256_hex}")
        print(f"  base64 {a.sha256_b64}  (source_code_hash; also in {shown}.sha256)")
        print(f"  config {args.config}  sha256 {a.config_sha256}  (FERRY_CONFIG_SHA256)")
        print(f"  arch   {LAMBDA_ARCH[ARCHES[args.arch]]}  (in {shown}.arch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
