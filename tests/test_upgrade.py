"""Existing deployments upgrade in place to the composition layout.

The local stack of the last release before modules/ferry is applied to a
fresh emulator; then today's environments/local plans against that state.
Terraform must move every resource (moved {} blocks) and destroy or create
nothing. The same proof for dev, staging and prod, which cannot be applied
offline, maps their old plans through the moved blocks
(tests/test_environments.py::test_upgrade_moves_every_resource).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from ferry_dev import terraform as tf
from ferry_dev.services import MotoServer
from tests.conftest import REPO, missing
from tests.moved import PRE_COMPOSITION_REF, extract_layout, managed_addresses, resolve

pytestmark = [pytest.mark.terraform, pytest.mark.e2e, pytest.mark.xdist_group("upgrade")]

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _package(directory: Path) -> Path:
    path = directory / "processor.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("ferry/__init__.py", date_time=(2020, 1, 1, 0, 0, 0))
        zf.writestr(info, '"""placeholder package for the upgrade test"""\n')
    return path


def _old_layout(base: Path) -> Path:
    try:
        return extract_layout(REPO, PRE_COMPOSITION_REF, ("modules", "environments"), base)
    except Exception as err:  # a shallow clone or an export without history
        missing(f"git history with {PRE_COMPOSITION_REF} is needed for the upgrade test: {err}")
        raise


def _new_layout(base: Path) -> Path:
    (base / "environments").mkdir(parents=True)
    for shared in ("modules", "lambda_src"):
        (base / shared).symlink_to(REPO / shared, target_is_directory=True)
    shutil.copytree(REPO / "environments" / "local", base / "environments" / "local")
    return base / "environments" / "local"


def test_local_stack_of_the_previous_layout_upgrades_without_destroying(
    tmp_path: Path, terraform_ready: str
):
    old_root = _old_layout(tmp_path / "old") / "environments" / "local"
    new_root = _new_layout(tmp_path / "new")
    package = _package(tmp_path)
    variables = {
        "database": {"host": "localhost", "port": 5432},
        "package_path": str(package),
    }

    with MotoServer() as moto:
        env = {**_FAKE_AWS, "AWS_ENDPOINT_URL": moto.endpoint_url}
        variables["endpoint"] = moto.endpoint_url

        old = tf.Root(old_root, env=env, timeout=1200)
        old.init(backend=True)
        tfvars = tmp_path / "upgrade.auto.tfvars.json"
        tfvars.write_text(json.dumps(variables))
        old.run("apply", "-no-color", "-input=false", "-auto-approve", f"-var-file={tfvars}")
        state = old_root / "terraform.tfstate"
        assert state.exists(), "the old layout wrote no state"
        old_addresses = {
            f"{r.get('module', '') + '.' if r.get('module') else ''}{r['type']}.{r['name']}"
            for r in json.loads(state.read_text())["resources"]
            if r["mode"] == "managed"
        }
        assert len(old_addresses) > 50, old_addresses

        shutil.copy2(state, new_root / "terraform.tfstate")
        new = tf.Root(new_root, env=env, timeout=1200)
        new.init(backend=True)
        plan = new.plan_json(variables=variables, out_dir=tmp_path)

    destroyed = [
        rc["address"] for rc in plan["resource_changes"] if "delete" in rc["change"]["actions"]
    ]
    assert destroyed == [], f"the upgrade would destroy {destroyed}"
    # New resources of later releases are fine (roles the local workers assume,
    # dead-letter queues of EventBridge targets): nothing old is destroyed, and
    # every old resource is moved below, so none can be a re-creation.
    moved = [
        rc
        for rc in plan["resource_changes"]
        if rc.get("previous_address") and rc["mode"] == "managed"
    ]
    assert len(moved) >= len(old_addresses), "every resource must be moved to its new address"

    # Every old instance lands where the moved blocks say.
    calls = plan["configuration"]["root_module"]["module_calls"]
    for rc in moved:
        target = resolve(rc["previous_address"], new_root, calls)
        assert target == rc["address"], (rc["previous_address"], target, rc["address"])
    assert {rc["address"] for rc in moved} <= managed_addresses(plan)
