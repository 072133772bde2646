"""The dev and prod plans with every value known, planned once per environment, and
prod with the malware gate and file notifications on (prod-gate: the override
file of policy/fixtures/roots/gate laid over prod's copy).

Values AWS assigns at apply (KMS key ids, subnet ids, the RDS resource id and
its managed secret, ...) are deterministic stand-ins written into a local state
(policy.standin): one resource has one stand-in in every policy that names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import REPO
from policy.fixtures.regenerate import KNOWN
from policy.simulate import KnownPlan
from policy.standin import known_plan, tfvars_string

#: plan -> (environment, override files)
PLANS = {"dev": ("dev", ()), "prod": ("prod", ()), "prod-gate": KNOWN["prod-gate-known"]}


@pytest.fixture(
    scope="session",
    params=[pytest.param(name, marks=pytest.mark.xdist_group(f"sim-{name}")) for name in PLANS],
)
def known(
    request: pytest.FixtureRequest, terraform_ready: str, tmp_path_factory: pytest.TempPathFactory
) -> KnownPlan:
    env, extra = PLANS[request.param]
    tfvars = REPO / "environments" / env / "terraform.tfvars"
    work: Path = tmp_path_factory.mktemp(f"known-{request.param}")
    doc = known_plan(env, work, extra)
    return KnownPlan(doc, tfvars_string(tfvars, "region"), tfvars_string(tfvars, "account_id"))
