"""Terraform runner for ferry's Make targets, tests and local stack.

One place decides how Terraform reaches its providers:

* ``TF_MIRROR`` set: a CLI config is written that installs providers from that
  filesystem mirror only (no ``direct`` fallback, so nothing ever waits on the
  network), and the mirror is checked for the AWS provider before Terraform
  runs.
* ``TF_MIRROR`` empty: Terraform's own configuration is used (the registry).

Each root gets its own ``TF_DATA_DIR`` under ``.cache/`` so that parallel test
workers and a developer's own ``terraform`` runs never share ``.terraform``.

Command line (used by the Makefile)::

    python -m ferry_dev.terraform doctor
    python -m ferry_dev.terraform cli-config
    python -m ferry_dev.terraform test modules/kms
    python -m ferry_dev.terraform init environments/dev
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
AWS_PROVIDER_VERSION = "5.100.0"

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


def cli_config() -> Path | None:
    """Write (if needed) and return the CLI config for TF_MIRROR, or None."""
    mirror = os.environ.get("TF_MIRROR", "").strip()
    if not mirror:
        return None
    root = Path(mirror).expanduser().resolve()
    provider_dir = root / AWS_PROVIDER / AWS_PROVIDER_VERSION / _platform()
    if not provider_dir.is_dir():
        raise TerraformError(
            f"TF_MIRROR={mirror} does not hold hashicorp/aws {AWS_PROVIDER_VERSION} for "
            f"{_platform()} (looked for {provider_dir}). Fill it on a machine with "
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
    source = f"mirror {os.environ['TF_MIRROR']}" if rc else "registry (TF_MIRROR not set)"
    return f"terraform {version}; providers from {source}"


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
        out_dir = out_dir or Path(tempfile.mkdtemp(prefix="ferry-plan-"))
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
