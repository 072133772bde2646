"""The dev and prod plans with every value known, planned once per environment.

Values AWS assigns at apply (KMS key ids, subnet ids, the RDS resource id and
its managed secret, ...) are deterministic stand-ins written into a local state
(policy.standin): one resource has one stand-in in every policy that names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import REPO
from policy.simulate import KnownPlan
from policy.standin import known_plan, tfvars_string

ENVIRONMENTS = ("dev", "prod")


@pytest.fixture(
    scope="session",
    params=[pytest.param(env, marks=pytest.mark.xdist_group(f"sim-{env}")) for env in ENVIRONMENTS],
)
def known(
    request: pytest.FixtureRequest, terraform_ready: str, tmp_path_factory: pytest.TempPathFactory
) -> KnownPlan:
    env = request.param
    tfvars = REPO / "environments" / env / "terraform.tfvars"
    work: Path = tmp_path_factory.mktemp(f"known-{env}")
    doc = known_plan(env, work)
    return KnownPlan(doc, tfvars_string(tfvars, "region"), tfvars_string(tfvars, "account_id"))
