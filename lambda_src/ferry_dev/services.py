"""Throwaway services for tests, benchmarks and the local stack.

* :class:`PostgresServer`: ``initdb`` + ``pg_ctl`` in a folder of its own,
  listening on a unix socket and a free loopback port, with TLS from a CA that
  is created on the spot (so clients can use ``sslmode=verify-full``).
* :class:`MotoServer`: moto's server (through :mod:`ferry_dev.motoserver`, which
  adds resource-level IAM checks) on a free loopback port.

Both are plain objects with ``start()`` / ``stop()`` and context-manager
support; nothing here listens on anything but 127.0.0.1 or a unix socket.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A service binary is missing or the service did not start."""


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: when we are root, run it as `postgres` (or nobody)."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise ServiceError("running as root and no `postgres` or `nobody` user to run PostgreSQL as")


def _chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    shutil.chown(path, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            shutil.chown(os.path.join(root, name), user)


#: sun_path holds 108 bytes including the terminating NUL.
MAX_SOCKET_PATH = 107


def socket_dir_for(base_dir: Path) -> Path:
    """``<tmp>/ferry-pg-<hash of base_dir>``: short, stable for one cluster folder."""
    import hashlib

    digest = hashlib.sha256(str(base_dir.resolve()).encode()).hexdigest()[:12]
    tmp = Path(tempfile.gettempdir())
    # ".s.PGSQL.<port>" is at most 15 bytes; a long TMPDIR falls back to /tmp.
    if len(str(tmp)) + len(f"/ferry-pg-{digest}/.s.PGSQL.65535") > MAX_SOCKET_PATH:
        tmp = Path("/tmp")
    return tmp / f"ferry-pg-{digest}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_pg_bin(name: str) -> str:
    """Locate a PostgreSQL server binary (PATH, then pg_config --bindir, then Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        candidates.append(Path(bindir.strip()) / name)
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    raise ServiceError(
        f"PostgreSQL server binary {name!r} not found. Install PostgreSQL 15 or newer "
        "(Debian/Ubuntu: `apt-get install postgresql`; it provides initdb, pg_ctl, postgres)."
    )


@dataclass
class TLSFiles:
    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_tls(directory: Path, hostnames: tuple[str, ...] = ("localhost",)) -> TLSFiles:
    """Create a throwaway CA and a server certificate for ``hostnames`` and 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def _key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ferry test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(directory / "ca.crt", directory / "server.crt", directory / "server.key")
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.server_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    files.server_key.chmod(0o600)
    return files


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster: superuser ``ferry`` (trust on the socket, password on TCP)."""

    base_dir: Path | None = None
    port: int = 0
    user: str = "ferry"
    password: str = "ferry-local-password"
    database: str = "ferry"
    tls: bool = True
    settings: dict[str, str] = field(default_factory=dict)
    tls_files: TLSFiles | None = None
    _owns_dir: bool = False

    @property
    def data_dir(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket lives: a short folder in the temporary directory.

        A unix socket path is limited to 107 bytes, so it never lives under the
        cluster's folder (a checkout at a long path would break it). The name is
        derived from the cluster's folder: a restarted cluster finds its socket again.
        """
        assert self.base_dir is not None
        return socket_dir_for(self.base_dir)

    @property
    def log_file(self) -> Path:
        assert self.base_dir is not None
        return self.base_dir / "postgres.log"

    def dsn(self, *, tcp: bool = True, sslmode: str | None = None, **extra: str) -> str:
        """libpq connection string. TCP uses 127.0.0.1 hostname ``localhost`` for verify-full."""
        parts = {"dbname": self.database, "user": self.user}
        if tcp:
            parts.update(host="localhost", hostaddr="127.0.0.1", port=str(self.port))
            parts["password"] = self.password
            if sslmode:
                parts["sslmode"] = sslmode
                if sslmode.startswith("verify") and self.tls_files:
                    parts["sslrootcert"] = str(self.tls_files.ca_cert)
        else:
            parts.update(host=str(self.socket_dir), port=str(self.port))
        parts.update(extra)
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def start(self) -> PostgresServer:
        initdb, pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")
        if self.base_dir is None:
            self.base_dir = Path(tempfile.mkdtemp(prefix="ferry-pg-"))
            self._owns_dir = True
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if not self.port:
            self.port = free_port()
        run_as = _server_user()
        if self.tls:
            self.tls_files = make_tls(self.base_dir / "tls")
        _chown_tree(self.base_dir, run_as)
        _chown_tree(self.socket_dir, run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            pwfile = self.base_dir / "pwfile"
            pwfile.write_text(self.password + "\n")
            _chown_tree(pwfile, run_as)
            _run(
                [
                    initdb,
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                "initdb",
                user=run_as,
            )
            pwfile.unlink()
        opts = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            **self.settings,
        }
        if self.tls_files:
            opts.update(
                ssl="on",
                ssl_cert_file=str(self.tls_files.server_cert),
                ssl_key_file=str(self.tls_files.server_key),
                ssl_ca_file=str(self.tls_files.ca_cert),
            )
        option_str = " ".join(f"-c {k}={v}" for k, v in opts.items())
        _run(
            [
                pg_ctl,
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                option_str,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
            log=self.log_file,
            user=run_as,
        )
        self._ensure_database()
        return self

    def _ensure_database(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn(tcp=False, dbname="postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    @property
    def pid(self) -> int | None:
        if self.base_dir is None:
            return None
        pidfile = self.data_dir / "postmaster.pid"
        try:
            return int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self, mode: str = "fast") -> None:
        if self.base_dir is None or not (self.data_dir / "postmaster.pid").exists():
            return
        subprocess.run(
            [find_pg_bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"],
            capture_output=True,
            timeout=60,
            user=_server_user(),
        )
        # The socket folder is always this server's own (named after its base folder).
        shutil.rmtree(self.socket_dir, ignore_errors=True)
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class MotoServer:
    """moto's server in a child process on 127.0.0.1:<free port>.

    IAM is not enforced until :meth:`enforce_iam` (moto's ``reset-auth``).
    """

    port: int = 0
    log_file: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> MotoServer:
        if not self.port:
            self.port = free_port()
        package_root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        env = {
            **os.environ,
            "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
            "PYTHONPATH": path,
            **self.env,
        }
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ferry_dev.motoserver",
                "-H",
                "127.0.0.1",
                "-p",
                str(self.port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"moto server exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise ServiceError(f"moto server did not answer on {self.endpoint_url} in {timeout}s")

    def reset(self) -> None:
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=30):
            pass

    def enforce_iam(self, after: float = 0) -> None:
        """Check every request against IAM after ``after`` more requests (``inf``: never)."""
        set_auth(self.endpoint_url, after)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def set_auth(endpoint_url: str, after: float) -> float:
    """moto's ``reset-auth``: authenticate requests after ``after`` more; returns the old count."""
    req = urllib.request.Request(
        f"{endpoint_url}/moto-api/reset-auth",
        data=str(after).encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},  # a form body would be parsed away
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return float(json.loads(resp.read())["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"])


def _run(cmd: list[str], what: str, log: Path | None = None, user: str | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, user=user, cwd="/")
    if proc.returncode != 0:
        tail = ""
        if log and log.exists():
            tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise ServiceError(f"{what} failed ({proc.returncode}): {proc.stderr.strip()}{tail}")
