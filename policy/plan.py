"""Offline plans of ferry's environments, for the plan review.

Environments are planned the way tests/test_environments.py plans them: a
copy of the root without its S3 backend block (the backend plays no part in
what is planned) beside links to modules/ and lambda_src/, its terraform.tfvars, and
offline_plan = true with fake credentials. The Lambda package is build/processor.zip
when `make build` has made it, else a small placeholder zip.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

from policy import REPO, ReviewError


def _package(directory: Path) -> tuple[Path, str]:
    built = REPO / "build" / "processor.zip"
    path = built
    if not built.is_file():
        path = directory / "processor.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("ferry/__init__.py", '"""placeholder package for offline plans"""\n')
    digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    return path, digest


_BACKEND = re.compile(r'^\s*backend\s+"s3"\s*\{\s*\}\s*$', re.M)


def planning_copy(env: str, base: Path, extra: tuple[Path, ...] = ()) -> Path:
    """environments/<env> without its S3 backend block, beside links to modules/ and lambda_src/.

    `terraform plan` refuses a root whose backend was skipped at init; the S3
    backend plays no part in what is planned, so the copy drops the
    `backend "s3" {}` block and keeps everything else (the committed lock file
    included) unchanged.
    """
    source = REPO / "environments" / env
    if not (source / "main.tf").is_file():
        known = sorted(p.name for p in (REPO / "environments").iterdir() if p.is_dir())
        raise ReviewError(f"no environment {env!r} (environments/: {', '.join(known)})")
    if base.exists():
        shutil.rmtree(base)
    (base / "environments").mkdir(parents=True)
    for shared in ("modules", "lambda_src"):
        (base / shared).symlink_to(REPO / shared, target_is_directory=True)
    target = base / "environments" / env
    target.mkdir()
    for item in source.iterdir():
        if item.is_file() and item.name != "backend.tf":
            shutil.copy2(item, target / item.name)
    for tf_file in target.glob("*.tf"):
        tf_file.write_text(_BACKEND.sub("", tf_file.read_text()))
    for item in extra:  # override files (fixtures: the environment with a feature on)
        shutil.copy2(item, target / item.name)
    return target


def plan_environment(env: str, work: Path, extra: tuple[Path, ...] = ()) -> dict:
    """Offline plan of environments/<env> (plus ``extra`` files, e.g. Terraform override
    files, in its copy); returns the `terraform show -json` document."""
    from ferry_dev import terraform as tf

    root_dir = planning_copy(env, work / "root", extra)
    package, digest = _package(work)
    variables: dict[str, object] = {"offline_plan": True}
    declared = "".join(tf_file.read_text() for tf_file in root_dir.glob("*.tf"))
    if 'variable "package_path"' in declared:
        variables.update(package_path=str(package), package_sha256=digest)
    var_files = [root_dir / "terraform.tfvars"] if (root_dir / "terraform.tfvars").exists() else []
    data_dir = work / "tf-data"
    out = work / "tfplan"
    out.mkdir(parents=True, exist_ok=True)
    try:
        root = tf.Root(root_dir, env=dict(tf.OFFLINE_AWS_ENV), data_dir=data_dir)
        # A data dir from an earlier review is reused as is (init takes a second
        # or two); when modules or provider locks changed, Terraform asks for
        # init and the plan is retried once after it.
        if not (data_dir / "modules" / "modules.json").exists():
            root.init()
        try:
            return root.plan_json(variables=variables, var_files=var_files, out_dir=out)
        except tf.TerraformError as err:
            if "terraform init" not in str(err):
                raise
            root.init()
            return root.plan_json(variables=variables, var_files=var_files, out_dir=out)
    except tf.TerraformError as err:
        raise ReviewError(str(err)) from err
