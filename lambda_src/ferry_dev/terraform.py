"""Terraform runner for ferry's Make targets, tests and local stack.

One place decides how Terraform reaches its providers (:func:`provider_source`):

* ``TF_MIRROR`` set: a CLI config is written that installs providers from that
  filesystem mirror only (no ``direct`` fallback, so nothing ever waits on the
  network), and the mirror is checked for the AWS provider before Terraform
  runs.
* ``TF_MIRROR`` empty and ``TF_CLI_CONFIG_FILE`` (or ``~/.terraformrc``) naming
  an existing file: that configuration is the user's choice and is used as is.
* Otherwise a mirror is looked for on this machine (:func:`find_mirror`: folders
  up to two levels below ``/`` that hold ``registry.terraform.io/hashicorp/aws/``,
  and Terraform's own plugin directories). One found is used as if it were
  ``TF_MIRROR``, and one line on stderr says which. None found: the registry,
  as Terraform does on its own, if it can be reached; if it cannot, ferry stops
  with a one-line instruction naming ``TF_MIRROR`` (:data:`NO_PROVIDER_SOURCE`),
  and so does a ``terraform init`` that fails on the registry.

Each root gets its own ``TF_DATA_DIR`` under ``.cache/`` so that parallel test
workers and a developer's own ``terraform`` runs never share ``.terraform``.

Command line (used by the Makefile and .ci/run)::

    python -m ferry_dev.terraform doctor
    python -m ferry_dev.terraform mirror        # the mirror in use (TF_MIRROR or found), or nothing
    python -m ferry_dev.terraform cli-config
    python -m ferry_dev.terraform test modules/kms
    python -m ferry_dev.terraform init environments/dev
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"
REGISTRY_HOST = "registry.terraform.io"

#: Where a provider mirror is looked for when TF_MIRROR is not set: (folder, depth)
#: pairs; a mirror is a folder at most ``depth`` levels below ``folder`` that holds
#: registry.terraform.io/ (``find / -maxdepth 3 -type d -name registry.terraform.io``).
SEARCH_ROOTS: tuple[tuple[Path, int], ...] = ((Path("/"), 2),)
#: Never searched: pseudo file systems, with many entries and no mirrors.
SKIP_DIRS = frozenset({"/proc", "/sys", "/dev", "/run"})

NO_PROVIDER_SOURCE = (
    f"Terraform cannot reach {REGISTRY_HOST} and no provider mirror was found on this "
    f"machine: set TF_MIRROR to a folder that holds {AWS_PROVIDER}/{AWS_PROVIDER_VERSION}/ "
    "(fill one with `terraform providers mirror <folder>` where the registry is reachable)"
)
# What `terraform init` says when it cannot reach the registry.
_REGISTRY_ERRORS = (
    f"could not connect to {REGISTRY_HOST}",
    "failed to request discovery document",
)

# Credentials and settings for offline plans: the provider blocks of ferry's
# environments skip every call that would need a real account.
OFFLINE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIAFERRYOFFLINE0000",
    "AWS_SECRET_ACCESS_KEY": "offline-plan-secret-key",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


class TerraformError(RuntimeError):
    """Terraform is missing, misconfigured, or a command failed."""


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    return f"{sys.platform}_{arch}"


def terraform_bin() -> str:
    path = shutil.which("terraform")
    if not path:
        raise TerraformError(
            "terraform is not on PATH. Install Terraform 1.11 or newer "
            "(https://developer.hashicorp.com/terraform/install) and run again."
        )
    return path


def holds_aws(mirror: Path, target: str | None = None) -> bool:
    """True if ``mirror`` holds the pinned AWS provider for ``target`` (default: this
    platform), unpacked (``<version>/<target>/``) or packed (``terraform-provider-aws_*.zip``,
    as ``terraform providers mirror`` writes it)."""
    target = target or _platform()
    base = mirror / AWS_PROVIDER
    return (base / AWS_PROVIDER_VERSION / target).is_dir() or (
        base / f"terraform-provider-aws_{AWS_PROVIDER_VERSION}_{target}.zip"
    ).is_file()


def plugin_dirs(
    env: Mapping[str, str] | None = None, system: str | None = None, home: Path | None = None
) -> list[Path]:
    """Terraform's implied local mirror directories on this operating system."""
    env = os.environ if env is None else env
    system = system or sys.platform
    home = home or Path.home()
    if system.startswith("win"):
        appdata = Path(env.get("APPDATA", home / "AppData" / "Roaming"))
        return [
            appdata / "terraform.d" / "plugins",
            appdata / "HashiCorp" / "Terraform" / "plugins",
        ]
    dirs = [home / ".terraform.d" / "plugins"]
    if system == "darwin":
        support = Path("Library") / "Application Support" / "io.terraform" / "plugins"
        return [*dirs, home / support, Path("/") / support]
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    dirs.append(data_home / "terraform" / "plugins")
    dirs += [Path(d) / "terraform" / "plugins" for d in data_dirs.split(os.pathsep) if d]
    return dirs


def _folders(root: Path, depth: int) -> Iterator[Path]:
    """``root`` and the folders at most ``depth`` levels below it, breadth first, sorted,
    without following symbolic links."""
    level = [root]
    for remaining in range(depth, -1, -1):
        below: list[Path] = []
        for folder in level:
            yield folder
            if remaining == 0 or str(folder) in SKIP_DIRS:
                continue
            try:
                with os.scandir(folder) as entries:
                    below += sorted(
                        Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)
                    )
            except OSError:
                continue
        level = below


def find_mirror(
    roots: Sequence[tuple[Path, int]] | None = None, plugins: Sequence[Path] | None = None
) -> Path | None:
    """The first folder that holds the pinned AWS provider: Terraform's plugin
    directories first, then the folders below :data:`SEARCH_ROOTS`."""
    candidates: list[Iterator[Path] | Sequence[Path]] = [
        plugin_dirs() if plugins is None else plugins
    ]
    candidates += [_folders(r, d) for r, d in (SEARCH_ROOTS if roots is None else roots)]
    for group in candidates:
        for folder in group:
            if (folder / REGISTRY_HOST).is_dir() and holds_aws(folder):
                return folder
    return None


def registry_reachable(timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the registry opens (assumed so behind a proxy)."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy")):
        return True
    try:
        socket.create_connection((REGISTRY_HOST, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def own_cli_config() -> Path | None:
    """The user's own Terraform CLI configuration, if there is one."""
    named = os.environ.get("TF_CLI_CONFIG_FILE", "").strip()
    candidates = [Path(named).expanduser()] if named else []
    candidates += [Path.home() / ".terraformrc", Path.home() / "terraform.rc"]
    return next((c for c in candidates if c.is_file()), None)


_registry_checked = False


def provider_source() -> Path | None:
    """The mirror Terraform installs providers from, or None for the registry (or the
    user's own CLI configuration). Raises :class:`TerraformError` when neither a mirror
    nor the registry is there."""
    global _registry_checked
    mirror = os.environ.get("TF_MIRROR", "").strip()
    if mirror:
        return Path(mirror).expanduser().resolve()
    if _registry_checked or own_cli_config() is not None:
        return None
    found = find_mirror()
    if found is not None:
        # Children (make's later commands, pytest workers) inherit it silently.
        os.environ["TF_MIRROR"] = str(found)
        print(
            f"using Terraform provider mirror {found} (found on this machine; "
            "set TF_MIRROR to use another)",
            file=sys.stderr,
            flush=True,
        )
        return found
    if not registry_reachable():
        raise TerraformError(NO_PROVIDER_SOURCE)
    _registry_checked = True
    return None


def cli_config() -> Path | None:
    """Write (if needed) and return the CLI config for the mirror in use, or None."""
    root = provider_source()
    if root is None:
        return None
    mirror = os.environ["TF_MIRROR"]
    if not holds_aws(root):
        raise TerraformError(
            f"TF_MIRROR={mirror} does not hold hashicorp/aws {AWS_PROVIDER_VERSION} for "
            f"{_platform()} (looked for {root / AWS_PROVIDER / AWS_PROVIDER_VERSION / _platform()}"
            " or its packed zip). Fill it on a machine with "
            f"registry access: `terraform providers mirror {mirror}` in any ferry "
            "environment, or leave TF_MIRROR empty to use the registry."
        )
    body = (
        "# Written by ferry_dev.terraform for TF_MIRROR; do not edit.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(root))}\n"
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"terraformrc-{hashlib.sha256(body.encode()).hexdigest()[:12]}"
    if not path.exists() or path.read_text() != body:
        path.write_text(body)
    return path


def registry_failure(output: str) -> bool:
    """Whether Terraform's output is its error for an unreachable registry."""
    return any(marker in output for marker in _REGISTRY_ERRORS)


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"})
    rc = cli_config()
    if rc is not None:
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    elif env.get("TF_CLI_CONFIG_FILE") and not Path(env["TF_CLI_CONFIG_FILE"]).exists():
        # A dangling TF_CLI_CONFIG_FILE only produces warnings; drop it.
        env.pop("TF_CLI_CONFIG_FILE")
    if extra:
        env.update(extra)
    return env


def doctor() -> str:
    """Check terraform and the provider source; return a one-line summary."""
    binary = terraform_bin()
    out = subprocess.run(
        [binary, "version", "-json"], capture_output=True, text=True, check=True, timeout=60
    )
    version = json.loads(out.stdout)["terraform_version"]
    rc = cli_config()
    if rc is not None:
        source = f"mirror {os.environ['TF_MIRROR']}"
    elif own_cli_config() is not None:
        source = f"your CLI configuration {own_cli_config()}"
    else:
        source = "the registry (TF_MIRROR not set, no mirror found)"
    return f"terraform {version}; providers from {source}"


def run_blocks(module: Path) -> int:
    """How many ``run`` blocks a module's ``tests/*.tftest.hcl`` files hold."""
    return sum(
        len(re.findall(r'^run\s+"', f.read_text(), re.MULTILINE))
        for f in Path(module).glob("tests/*.tftest.hcl")
    )


@dataclass
class Root:
    """A Terraform root (environment, example, or test fixture) in the repository."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)
    data_dir: Path | None = None
    timeout: int = 900

    def __post_init__(self) -> None:
        self.path = Path(self.path).resolve()
        if not self.path.is_dir():
            raise TerraformError(f"no Terraform root at {self.path}")
        if self.data_dir is None:
            try:
                rel = self.path.relative_to(REPO)
                slug = str(rel).replace(os.sep, "__")
            except ValueError:
                slug = hashlib.sha256(str(self.path).encode()).hexdigest()[:16]
            self.data_dir = CACHE / "tf-data" / f"{slug}-{os.getpid()}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._bin = terraform_bin()

    def run(
        self, *args: str, check: bool = True, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = base_env({"TF_DATA_DIR": str(self.data_dir), **self.env, **(extra_env or {})})
        cmd = [self._bin, *args]
        try:
            proc = subprocess.run(
                cmd,
                cwd=self.path,
                env=env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise TerraformError(
                f"terraform {' '.join(args)} in {self.path} timed out after {self.timeout}s"
            ) from err
        if check and proc.returncode != 0:
            if not os.environ.get("TF_MIRROR") and registry_failure(proc.stderr + proc.stdout):
                raise TerraformError(NO_PROVIDER_SOURCE)
            raise TerraformError(
                f"terraform {' '.join(args)} in {self.path} failed ({proc.returncode}):\n"
                f"{proc.stderr.strip() or proc.stdout.strip()}"
            )
        return proc

    def init(self, *, backend: bool = False, upgrade: bool = False) -> None:
        args = ["init", "-no-color", "-input=false", f"-backend={str(backend).lower()}"]
        if upgrade:
            args.append("-upgrade")
        elif (self.path / ".terraform.lock.hcl").exists():
            args.append("-lockfile=readonly")  # committed lock files are never rewritten
        self.run(*args)

    def plan_json(
        self,
        variables: Mapping[str, object] | None = None,
        var_files: Sequence[str | Path] = (),
        out_dir: Path | None = None,
    ) -> dict:
        """`terraform plan -out` then `show -json`; returns the plan document."""
        if out_dir is None:
            with tempfile.TemporaryDirectory(prefix="ferry-plan-") as tmp:
                return self.plan_json(variables, var_files, Path(tmp))
        plan_file = out_dir / "plan.tfplan"
        args = ["plan", "-no-color", "-input=false", "-lock=false", f"-out={plan_file}"]
        for vf in var_files:
            args.append(f"-var-file={Path(vf).resolve()}")
        if variables:
            tfvars = out_dir / "vars.auto.tfvars.json"
            tfvars.write_text(json.dumps(variables))
            args.append(f"-var-file={tfvars}")
        self.run(*args)
        shown = self.run("show", "-json", "-no-color", str(plan_file))
        return json.loads(shown.stdout)

    def test(self) -> subprocess.CompletedProcess[str]:
        self.init()
        return self.run("test", "-no-color", check=False)


def _main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, rest = argv[0], list(argv[1:])
    try:
        if cmd == "doctor":
            print(doctor())
            return 0
        if cmd == "mirror":
            # For .ci/run: `export TF_MIRROR=$(python -m ferry_dev.terraform mirror)`
            mirror = provider_source()
            print(mirror or "")
            return 0
        if cmd == "cli-config":
            # For shell use: `export TF_CLI_CONFIG_FILE=$(python -m ferry_dev.terraform cli-config)`
            rc = cli_config()
            print(rc or os.environ.get("TF_CLI_CONFIG_FILE", ""))
            return 0
        if cmd == "init":
            Root(Path(rest[0])).init(upgrade="-upgrade" in rest)
            return 0
        if cmd == "test":
            root = Root(Path(rest[0]))
            proc = root.test()
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
            return proc.returncode
    except TerraformError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"unknown command {cmd!r}; see `python -m ferry_dev.terraform`", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
