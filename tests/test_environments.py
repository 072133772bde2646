"""Plans of the dev, staging and prod environments, offline.

Each environment is planned with its own terraform.tfvars (plus offline_plan =
true and a fixture Lambda package), and the plan JSON is checked for what the
environments promise: exact resource counts, customer-managed KMS keys on
everything that stores data, private and TLS-only buckets, a private,
encrypted, TLS-only database, the Lambda in the VPC with tracing, a
multi-region validated trail with S3 data events, the Macie job, the
per-environment differences (NAT, Multi-AZ, Object Lock), and zero failed
checkov checks over the plan.

Values that come from resources created in the same plan (KMS key ARNs,
subnet ids, ...) are unknown until apply. Where a property depends on one, the
test asserts that it is unknown, i.e. set from a resource of this plan: the
only KMS keys in these plans are the kms module's customer-managed keys, so an
unknown key ARN is one of them, while an AWS-managed key would be a known
literal.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ferry_dev import terraform as tf
from policy.checks import module_call_skips
from policy.plan import planning_copy
from tests.conftest import missing
from tests.moved import PRE_COMPOSITION_REF, extract_layout, managed_addresses, resolve

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")

# --- expected resource counts -------------------------------------------------------

_DEV_COUNTS = {
    # kms
    "aws_kms_key": 3,
    "aws_kms_alias": 3,
    # network: 2 zones, private + isolated subnets, no NAT, endpoints, flow logs
    "aws_vpc": 1,
    "aws_subnet": 4,
    "aws_route_table": 3,
    "aws_route_table_association": 4,
    "aws_default_security_group": 1,
    "aws_security_group": 3,
    "aws_vpc_security_group_egress_rule": 4,
    "aws_vpc_security_group_ingress_rule": 2,
    "aws_vpc_endpoint": 8,
    "aws_flow_log": 1,
    # storage (raw, processed, failed, access logs) + the audit trail bucket
    "aws_s3_bucket": 5,
    "aws_s3_bucket_versioning": 5,
    "aws_s3_bucket_public_access_block": 5,
    "aws_s3_bucket_ownership_controls": 5,
    "aws_s3_bucket_server_side_encryption_configuration": 5,
    "aws_s3_bucket_lifecycle_configuration": 5,
    "aws_s3_bucket_policy": 5,
    "aws_s3_bucket_logging": 4,
    "aws_s3_bucket_object_lock_configuration": 2,
    # pipeline
    "aws_s3_bucket_notification": 1,
    # ingest queue and DLQ, and the Macie findings targets' dead-letter queue
    "aws_sqs_queue": 3,
    "aws_sqs_queue_policy": 1,
    # processor, dead-letter consumer, migration (RDS and a csv_postgres route)
    "aws_lambda_function": 3,
    "aws_lambda_event_source_mapping": 2,
    "aws_lambda_invocation": 1,
    "aws_dynamodb_table": 3,
    # queue age, DLQ depth, function errors, throttles, files dead-lettered,
    # dead-letter errors; ferry's own: rejection rate, batch item failures,
    # file events refused
    "aws_cloudwatch_metric_alarm": 9,
    # file events and the pipeline's dashboard
    "aws_cloudwatch_event_bus": 1,
    "aws_cloudwatch_dashboard": 1,
    # database
    "aws_db_instance": 1,
    "aws_db_parameter_group": 1,
    "aws_db_subnet_group": 1,
    "aws_iam_role_policy_attachment": 1,
    # audit
    "aws_cloudtrail": 1,
    "aws_iam_service_linked_role": 1,
    "aws_macie2_account": 1,
    "aws_macie2_classification_job": 1,
    "aws_cloudwatch_event_rule": 1,
    "aws_cloudwatch_event_target": 2,
    "aws_cloudwatch_log_resource_policy": 1,
    "aws_sns_topic_policy": 1,
    # shared by several modules
    # processor, dead-letter, migration, flow logs, 2 database exports, trail, findings
    "aws_cloudwatch_log_group": 8,
    # processor, dead-letter, migration, flow logs, RDS monitoring, trail delivery
    "aws_iam_role": 6,
    "aws_iam_role_policy": 5,
    "aws_sns_topic": 2,  # pipeline alarms, Macie findings
}
EXPECTED_COUNTS = {
    "dev": _DEV_COUNTS,
    # NAT only with egress CIDRs, and staging gives none: no public subnets,
    # internet gateway, NAT gateway or route out
    "staging": _DEV_COUNTS,
    # three zones, no NAT either (no egress CIDRs)
    "prod": {
        **_DEV_COUNTS,
        "aws_subnet": 6,
        "aws_route_table": 4,
        "aws_route_table_association": 6,
    },
}


# --- planning -------------------------------------------------------------------------


def _fixture_package(directory: Path) -> tuple[Path, str]:
    """A small zip standing in for `make build`'s package, and its base64 SHA-256."""
    path = directory / "processor.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ferry/__init__.py", '"""placeholder package for offline plans"""\n')
    digest = base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()
    return path, digest


class Plan:
    """One environment's plan JSON with lookups by address."""

    def __init__(self, env: str, doc: dict[str, Any], path: Path) -> None:
        self.env = env
        self.doc = doc
        self.path = path
        self.changes = {
            rc["address"]: rc for rc in doc["resource_changes"] if rc["mode"] == "managed"
        }
        self.data = {rc["address"]: rc["change"]["after"] for rc in doc["resource_changes"]}
        self._collect_prior(doc.get("prior_state", {}).get("values", {}).get("root_module", {}))

    def _collect_prior(self, module: dict[str, Any]) -> None:
        for res in module.get("resources", []):
            self.data.setdefault(res["address"], res["values"])
        for child in module.get("child_modules", []):
            self._collect_prior(child)

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {a: rc for a, rc in self.changes.items() if rc["type"] == rtype}

    def after(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {a: rc["change"]["after"] for a, rc in self.of_type(rtype).items()}

    def unknown(self, address: str, *path: str | int) -> bool:
        """Whether the value at path is unknown until apply (set from this plan's resources)."""
        node: Any = self.changes[address]["change"]["after_unknown"]
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                return False
        return node is True

    def config(self, address: str) -> dict[str, Any]:
        """The configuration block of a resource (expressions and their references)."""
        prefix, local = _split(address)
        module = self.doc["configuration"]["root_module"]
        for name in re.findall(r"module\.([\w-]+)", prefix):
            module = module["module_calls"][name]["module"]
        local = re.sub(r"\[[^\]]*\]$", "", local)
        return next(r for r in module["resources"] if r["address"] == local)

    def policy_statements(self, address: str, attribute: str = "policy") -> list[dict[str, Any]]:
        """Statements of a resource's policy: the known JSON, or the policy document it reads."""
        value = self.changes[address]["change"]["after"].get(attribute)
        if isinstance(value, str):
            return [_normalise(s) for s in json.loads(value)["Statement"]]
        prefix, _ = _split(address)
        refs = self.config(address)["expressions"][attribute]["references"]
        doc_ref = next(r for r in refs if r.startswith("data.aws_iam_policy_document."))
        doc_address = prefix + ".".join(doc_ref.split(".")[:3])
        return [_normalise(s) for s in self.data[doc_address]["statement"]]


def _split(address: str) -> tuple[str, str]:
    match = re.match(r"^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)(.*)$", address)
    assert match
    return match.group(1), match.group(2)


def _listify(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _normalise(statement: dict[str, Any]) -> dict[str, Any]:
    """IAM JSON or aws_iam_policy_document statement -> effect, actions, principals, conditions."""
    if "Effect" in statement:
        principals = statement.get("Principal", {})
        if principals == "*":
            principals = {"AWS": "*"}
        return {
            "effect": statement["Effect"],
            "actions": set(_listify(statement.get("Action"))),
            "principals": {(k, v) for k, vs in principals.items() for v in _listify(vs)},
            "conditions": {
                (test, var, str(v).lower())
                for test, body in statement.get("Condition", {}).items()
                for var, vs in body.items()
                for v in _listify(vs)
            },
        }
    return {
        "effect": statement.get("effect") or "Allow",
        "actions": set(statement.get("actions") or []),
        "principals": {
            (p["type"], i) for p in statement.get("principals") or [] for i in p["identifiers"]
        },
        "conditions": {
            (c["test"], c["variable"], str(v).lower())
            for c in statement.get("condition") or []
            for v in c["values"]
        },
    }


def _composition_call(plan: Plan, name: str) -> dict[str, Any]:
    """The expressions of one module call inside modules/ferry."""
    ferry = plan.doc["configuration"]["root_module"]["module_calls"]["ferry"]["module"]
    return ferry["module_calls"][name]["expressions"]


def _denies_insecure_transport(statements: list[dict[str, Any]]) -> bool:
    return any(
        s["effect"] == "Deny"
        and ("Bool", "aws:SecureTransport", "false") in s["conditions"]
        and ("AWS", "*") in s["principals"]
        for s in statements
    )


@pytest.fixture(scope="session")
def planning_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ferry-environments")


@pytest.fixture(
    scope="session",
    params=[
        pytest.param(env, marks=pytest.mark.xdist_group(f"plan-{env}")) for env in ENVIRONMENTS
    ],
)
def plan(request: pytest.FixtureRequest, tf_root, planning_base: Path) -> Plan:
    env = request.param
    root_dir = planning_copy(env, planning_base / env)
    package, digest = _fixture_package(planning_base / env)
    if env == "staging":
        # A given hash is enough: the zip itself is only read at apply, so a
        # plan can run before `make build` (CI reviews do).
        package = planning_base / env / "not-built" / "processor.zip"
    root = tf_root(root_dir, env=dict(tf.OFFLINE_AWS_ENV))
    out = planning_base / env / "plan"
    out.mkdir()
    doc = root.plan_json(
        variables={"offline_plan": True, "package_path": str(package), "package_sha256": digest},
        var_files=[root_dir / "terraform.tfvars"],
        out_dir=out,
    )
    path = out / "plan.json"
    path.write_text(json.dumps(doc))
    return Plan(env, doc, path)


@pytest.fixture(scope="session")
def old_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """modules/ and environments/ of the last release before modules/ferry."""
    base = tmp_path_factory.mktemp("ferry-1.0.0")
    try:
        return extract_layout(REPO, PRE_COMPOSITION_REF, ("modules", "environments"), base)
    except Exception as err:  # a shallow clone or an export without history
        missing(f"git history with {PRE_COMPOSITION_REF} is needed for the upgrade check: {err}")
        raise


def _old_plan(env: str, old_layout: Path, tf_root, planning_base: Path) -> dict[str, Any]:
    root_dir = old_layout / "environments" / env
    (root_dir / "backend.tf").unlink(missing_ok=True)
    _, digest = _fixture_package(planning_base / env)
    out = planning_base / env / "old-plan"
    out.mkdir(exist_ok=True)
    root = tf_root(root_dir, env=dict(tf.OFFLINE_AWS_ENV))
    return root.plan_json(
        variables={
            "offline_plan": True,
            "package_path": str(planning_base / env / "processor.zip"),
            "package_sha256": digest,
        },
        var_files=[root_dir / "terraform.tfvars"],
        out_dir=out,
    )


# --- the roots themselves --------------------------------------------------------------


def _hcl_lines(text: str) -> list[str]:
    """Lines of HCL that are not blank, comments or moved blocks (upgrade bookkeeping)."""
    text = re.sub(r"^moved\s*\{.*?^\}", "", text, flags=re.M | re.S)
    return [
        line
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith(("#", "//"))
    ]


def test_no_environment_file_is_a_copy_of_another():
    roots = [REPO / "environments" / env for env in (*ENVIRONMENTS, "local")]
    texts: dict[str, Path] = {}
    for root in roots:
        for path in sorted(root.iterdir()):
            if not path.is_file() or path.name == ".terraform.lock.hcl":
                continue
            text = path.read_text()
            assert text not in texts, f"{path} is a copy of {texts[text]}"
            texts[text] = path


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_environment_is_one_call_of_the_composition(env):
    root = REPO / "environments" / env
    tf_files = sorted(p.name for p in root.glob("*.tf"))
    assert tf_files == ["main.tf"], f"environments/{env} must be one main.tf, not {tf_files}"
    main = (root / "main.tf").read_text()
    assert re.findall(r'^module "(\w+)"', main, re.M) == ["ferry"]
    assert 'source = "../../modules/ferry"' in main
    assert not re.search(r"^(resource|data) ", main, re.M), "resources belong in modules/"
    lines = _hcl_lines(main)
    assert len(lines) <= 80, f"environments/{env}/main.tf holds {len(lines)} lines of HCL"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_root_files(env):
    root = REPO / "environments" / env
    main = (root / "main.tf").read_text()
    assert re.search(r'backend\s+"s3"\s*\{\s*\}', main)
    assert re.search(rf'Environment\s*=\s*"{env}"', main), "default tags name the environment"
    example = (root / "backend.hcl.example").read_text()
    assert re.search(r"^use_lockfile\s*=\s*true$", example, re.M)
    assert f"ferry/{env}/terraform.tfstate" in example
    lock = (root / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'version\s*=\s*"5\.100\.0"', lock)
    assert re.search(r'constraints\s*=\s*">= 5\.100\.0, < 7\.0\.0"', lock)
    assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', lock), "the lock file must carry h1 hashes"
    tfvars = (root / "terraform.tfvars").read_text()
    assert re.search(r'^account_id\s*=\s*"\d{12}"$', tfvars, re.M)
    assert "offline_plan" not in tfvars, "offline_plan is for tests only, never in tfvars"


def test_offline_plan_is_off_unless_asked_for():
    main = (REPO / "environments" / "dev" / "main.tf").read_text()
    block = re.search(r'variable "offline_plan" \{(.*?)\n\}', main, re.S)
    assert block
    assert re.search(r"default\s*=\s*false", block.group(1))
    for setting in (
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_metadata_api_check",
    ):
        assert re.search(rf"{setting}\s*=\s*var\.offline_plan\b", main), setting
    assert re.search(
        r"allowed_account_ids\s*=\s*var\.offline_plan \? null : \[var\.account_id\]", main
    )


# --- the plans ------------------------------------------------------------------------


def test_resource_counts(plan: Plan):
    counts = Counter(rc["type"] for rc in plan.changes.values())
    assert dict(counts) == EXPECTED_COUNTS[plan.env]
    assert all(rc["change"]["actions"] == ["create"] for rc in plan.changes.values())


def test_provider_and_tags(plan: Plan):
    provider = plan.doc["configuration"]["provider_config"]["aws"]
    assert provider["full_name"] == "registry.terraform.io/hashicorp/aws"
    for address, rc in plan.changes.items():
        tags_all = rc["change"]["after"].get("tags_all")
        if tags_all is not None:
            assert tags_all["Environment"] == plan.env, address
            assert tags_all["Project"] == "ferry", address
            assert tags_all["ManagedBy"] == "terraform", address


def test_customer_managed_keys(plan: Plan):
    keys = plan.after("aws_kms_key")
    assert len(keys) == 3
    assert all(k["enable_key_rotation"] for k in keys.values())
    assert all(k["deletion_window_in_days"] >= 7 for k in keys.values())
    assert all(k["customer_master_key_spec"] == "SYMMETRIC_DEFAULT" for k in keys.values())


def test_policies_are_known_at_plan_time(plan: Plan):
    """Key, queue and role policies are readable in the plan (the review evaluates them)."""
    keys = plan.after("aws_kms_key")
    for address in keys:
        assert not plan.unknown(address, "policy"), f"{address}: key policy known only after apply"
    for address in plan.of_type("aws_sqs_queue"):
        if ".pipeline." in address:
            assert not plan.unknown(address, "policy"), address
    for name in ("processor", "deadletter", "migrate[0]"):
        doc = plan.changes.get(f"module.ferry.module.pipeline.data.aws_iam_policy_document.{name}")
        after_unknown = (doc or {}).get("change", {}).get("after_unknown", {})
        assert doc is None or after_unknown.get("statement") is not True, name
    account_id = plan.doc["variables"]["account_id"]["value"]
    roles = {r["name"] for r in plan.after("aws_iam_role").values()}
    storage = json.loads(keys['module.ferry.module.kms[0].aws_kms_key.this["storage"]']["policy"])
    principals = {
        s["Sid"]: set(_listify(s["Principal"]["AWS"]))
        for s in storage["Statement"]
        if isinstance(s.get("Principal"), dict) and "AWS" in s["Principal"]
    }
    prefix = f"arn:aws:iam::{account_id}:role/"
    assert principals["KeyUsers"] == {f"{prefix}{n}" for n in roles if n.endswith("-processor")}
    macie = f"{prefix}aws-service-role/macie.amazonaws.com/AWSServiceRoleForAmazonMacie"
    assert principals["DecryptOnly"] == {macie}


def test_keys_wait_for_the_roles_their_policies_name(plan: Plan):
    """KMS refuses a key policy naming a principal that does not exist yet: the
    keys depend on the created roles (the policies name them by built ARNs)."""
    key = plan.config('module.ferry.module.kms[0].aws_kms_key.this["storage"]')
    assert "var.principal_dependencies" in key.get("depends_on", [])
    refs = set(_composition_call(plan, "kms")["principal_dependencies"]["references"])
    assert {
        "module.pipeline.created_role_arns",
        "module.audit[0].created_macie_service_role_arns",
    } <= refs
    ferry = plan.doc["configuration"]["root_module"]["module_calls"]["ferry"]["module"]
    outputs = {
        "pipeline": ("created_role_arns", {"aws_iam_role.processor", "aws_iam_role.deadletter"}),
        "audit": ("created_macie_service_role_arns", {"aws_iam_service_linked_role.macie"}),
    }
    for call, (output, resources) in outputs.items():
        expression = ferry["module_calls"][call]["module"]["outputs"][output]["expression"]
        assert resources <= set(expression["references"]), (call, output)


def test_kms_everywhere(plan: Plan):
    # S3: SSE-KMS with a key of this plan on every bucket but the access-log
    # bucket (S3 server access log delivery only supports SSE-S3 targets).
    for address, sse in plan.after("aws_s3_bucket_server_side_encryption_configuration").items():
        default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
        if ".access_log_bucket[" in address:
            assert default["sse_algorithm"] == "AES256", address
            continue
        assert default["sse_algorithm"] == "aws:kms", address
        assert plan.unknown(
            address, "rule", 0, "apply_server_side_encryption_by_default", 0, "kms_master_key_id"
        ), address
    for address in plan.of_type("aws_cloudwatch_log_group"):
        assert plan.unknown(address, "kms_key_id"), f"{address}: log group without a CMK"
    for address in plan.of_type("aws_sqs_queue"):
        assert plan.unknown(address, "kms_master_key_id"), f"{address}: queue without a CMK"
    for address in plan.of_type("aws_sns_topic"):
        assert plan.unknown(address, "kms_master_key_id"), f"{address}: topic without a CMK"
    for address, table in plan.after("aws_dynamodb_table").items():
        assert table["server_side_encryption"][0]["enabled"], address
        assert plan.unknown(address, "server_side_encryption", 0, "kms_key_arn"), address
    (db,) = plan.of_type("aws_db_instance")
    for attribute in (
        "kms_key_id",
        "performance_insights_kms_key_id",
        "master_user_secret_kms_key_id",
    ):
        assert plan.unknown(db, attribute), f"database {attribute} must be a CMK of this plan"
    (trail,) = plan.of_type("aws_cloudtrail")
    assert plan.unknown(trail, "kms_key_id")
    for function in plan.of_type("aws_lambda_function"):
        assert plan.unknown(function, "kms_key_arn"), function


def test_buckets_versioned_private_tls_only(plan: Plan):
    buckets = plan.after("aws_s3_bucket")
    names = {b["bucket"] for b in buckets.values()}
    assert len(names) == 5
    assert all(b["force_destroy"] is False for b in buckets.values())
    for address, v in plan.after("aws_s3_bucket_versioning").items():
        assert v["versioning_configuration"][0]["status"] == "Enabled", address
    for address, pab in plan.after("aws_s3_bucket_public_access_block").items():
        flags = (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
        assert all(pab[f] for f in flags), address
    for address, oc in plan.after("aws_s3_bucket_ownership_controls").items():
        assert oc["rule"][0]["object_ownership"] == "BucketOwnerEnforced", address
    policies = plan.of_type("aws_s3_bucket_policy")
    assert len(policies) == 5
    for address in policies:
        assert _denies_insecure_transport(plan.policy_statements(address)), (
            f"{address}: no Deny for aws:SecureTransport = false"
        )


def test_trail_bucket_admits_only_this_trail(plan: Plan):
    audit = "module.ferry.module.audit[0]"
    bucket_policy = plan.policy_statements(
        f"{audit}.module.trail_bucket[0].aws_s3_bucket_policy.this[0]"
    )
    assert _denies_insecure_transport(bucket_policy)
    # CloudTrail's grant, merged into the bucket module's policy.
    statements = [
        _normalise(s)
        for s in plan.data[f"{audit}.data.aws_iam_policy_document.trail_delivery"]["statement"]
    ]
    account_id = plan.doc["variables"]["account_id"]["value"]
    trail_arn = f"arn:aws:cloudtrail:eu-west-1:{account_id}:trail/ferry-{plan.env}-trail"
    allows = [s for s in statements if s["effect"] == "Allow"]
    assert {a for s in allows for a in s["actions"]} == {"s3:GetBucketAcl", "s3:PutObject"}
    for s in allows:
        assert s["principals"] == {("Service", "cloudtrail.amazonaws.com")}
        assert ("StringEquals", "aws:SourceArn", trail_arn.lower()) in s["conditions"]


def test_trail_bucket_may_deliver_access_logs(plan: Plan):
    (trail_bucket,) = [
        b
        for a, b in plan.after("aws_s3_bucket").items()
        if a.startswith("module.ferry.module.audit[0].")
    ]
    statements = plan.policy_statements(
        "module.ferry.module.storage.module.access_log_bucket[0].aws_s3_bucket_policy.this[0]"
    )
    (delivery,) = [s for s in statements if s["effect"] == "Allow"]
    sources = {v for _, var, v in delivery["conditions"] if var == "aws:SourceArn"}
    assert f"arn:aws:s3:::{trail_bucket['bucket']}" in sources, sources


def test_logs_key_admits_exactly_this_trail(plan: Plan):
    (trail,) = plan.after("aws_cloudtrail").values()
    account_id = plan.doc["variables"]["account_id"]["value"]
    trail_arn = f"arn:aws:cloudtrail:eu-west-1:{account_id}:trail/{trail['name']}"
    statements = plan.data['module.ferry.module.kms[0].data.aws_iam_policy_document.key["logs"]'][
        "statement"
    ]
    cloudtrail = [
        s
        for s in statements
        if any("cloudtrail.amazonaws.com" in p["identifiers"] for p in s.get("principals") or [])
    ]
    assert cloudtrail, "the logs key must let CloudTrail encrypt"
    for statement in cloudtrail:
        arns = {
            v
            for c in statement["condition"]
            if c["variable"] == "aws:SourceArn"
            for v in c["values"]
        }
        assert arns == {trail_arn}, statement.get("sid")


def test_database_private_encrypted_tls_only(plan: Plan):
    (db,) = plan.after("aws_db_instance").values()
    assert db["engine"] == "postgres"
    assert db["publicly_accessible"] is False
    assert db["storage_encrypted"] is True
    assert db["manage_master_user_password"] is True
    assert db.get("password") is None
    assert db["iam_database_authentication_enabled"] is True
    assert db["backup_retention_period"] >= 7
    assert db["copy_tags_to_snapshot"] is True
    assert db["skip_final_snapshot"] is False
    assert db["storage_type"] == "gp3"
    assert db["ca_cert_identifier"] == "rds-ca-rsa2048-g1"
    assert set(db["enabled_cloudwatch_logs_exports"]) == {"postgresql", "upgrade"}
    assert db["performance_insights_enabled"] is True
    assert db["monitoring_interval"] > 0
    (params,) = plan.after("aws_db_parameter_group").values()
    values = {p["name"]: p["value"] for p in params["parameter"]}
    assert values["rds.force_ssl"] == "1"
    assert values["ssl_min_protocol_version"] == "TLSv1.2"
    assert values["log_connections"] == "1"
    assert params["family"] == "postgres" + db["engine_version"].split(".")[0]
    prod_like = plan.env in {"staging", "prod"}
    assert db["multi_az"] is prod_like
    assert db["deletion_protection"] is prod_like
    if plan.env == "prod":
        assert db["backup_retention_period"] == 35


def test_database_in_isolated_subnets(plan: Plan):
    (group,) = plan.of_type("aws_db_subnet_group")
    refs = _composition_call(plan, "database")
    assert "local.network.isolated_subnet_ids" in refs["subnet_ids"]["references"]
    assert "local.network.database_security_group_ids" in refs["security_group_ids"]["references"]
    assert plan.unknown(group, "subnet_ids")


def test_lambda_in_vpc_with_tracing(plan: Plan):
    functions = plan.after("aws_lambda_function")
    assert {fn["handler"] for fn in functions.values()} == {
        "ferry.handler.handler",
        "ferry.deadletter.handler",
        "ferry.migrate_handler.handler",
    }
    for address, fn in functions.items():
        assert fn["tracing_config"][0]["mode"] == "Active", address
        assert fn["vpc_config"], f"{address} must run in the VPC"
        assert plan.unknown(address, "vpc_config", 0, "subnet_ids")
        assert plan.unknown(address, "vpc_config", 0, "security_group_ids")
    refs = _composition_call(plan, "pipeline")
    assert "local.network.private_subnet_ids" in refs["subnet_ids"]["references"]
    mappings = plan.after("aws_lambda_event_source_mapping")
    assert len(mappings) == 2
    for mapping in mappings.values():
        assert "ReportBatchItemFailures" in mapping["function_response_types"]
    queues = plan.after("aws_sqs_queue")
    main = next(a for a in queues if a.endswith(".aws_sqs_queue.this"))
    assert queues[main].get("redrive_policy") is not None or plan.unknown(main, "redrive_policy")


def test_migration_runs_from_the_apply(plan: Plan):
    # The environment map is unknown until the database exists (its address);
    # modules/ferry's tests assert FERRY_DB_AUTH=iam and FERRY_DB_USER there.
    # So is the role policy (rds-db:connect names the instance's resource id):
    # modules/pipeline's tests assert rds-db:connect and no secret there.
    functions = plan.after("aws_lambda_function")
    migrate = next(f for f in functions.values() if f["handler"] == "ferry.migrate_handler.handler")
    assert migrate["function_name"] == f"ferry-{plan.env}-migrate"
    (invocation,) = plan.after("aws_lambda_invocation").values()
    config = (REPO / "lambda_src" / "config" / "ferry.json").read_text()
    assert json.loads(invocation["input"]) == {
        "action": "migrate",
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
    }


def test_cloudtrail_multi_region_validated_with_data_events(plan: Plan):
    ((address, trail),) = plan.after("aws_cloudtrail").items()
    assert trail["is_multi_region_trail"] is True
    assert trail["include_global_service_events"] is True
    assert trail["enable_log_file_validation"] is True
    assert trail["enable_logging"] is True
    assert plan.unknown(address, "cloud_watch_logs_group_arn")
    assert plan.unknown(address, "cloud_watch_logs_role_arn")
    selectors = trail["advanced_event_selector"]
    fields = [{f["field"]: f for f in s["field_selector"]} for s in selectors]
    assert any(f.get("eventCategory", {}).get("equals") == ["Management"] for f in fields)
    (data_index,) = [i for i, f in enumerate(fields) if "resources.type" in f]
    assert fields[data_index]["resources.type"]["equals"] == ["AWS::S3::Object"]
    arn_index = next(
        i
        for i, f in enumerate(selectors[data_index]["field_selector"])
        if f["field"] == "resources.ARN"
    )
    # The three data bucket ARNs, from the storage module (known after apply).
    assert plan.unknown(
        address, "advanced_event_selector", data_index, "field_selector", arn_index, "starts_with"
    )
    refs = _composition_call(plan, "audit")
    assert "module.storage.bucket_arns" in refs["data_event_bucket_arns"]["references"]


def test_macie_scans_raw_and_failed(plan: Plan):
    (account,) = plan.after("aws_macie2_account").values()
    assert account["status"] == "ENABLED"
    (job,) = plan.after("aws_macie2_classification_job").values()
    assert job["job_type"] == "SCHEDULED"
    definition = job["s3_job_definition"][0]["bucket_definitions"][0]
    account_id = plan.doc["variables"]["account_id"]["value"]
    assert definition["account_id"] == account_id
    assert definition["buckets"] == [
        f"ferry-{plan.env}-raw-{account_id}",
        f"ferry-{plan.env}-failed-{account_id}",
    ]
    schedule = job["schedule_frequency"][0]
    if plan.env == "dev":
        assert schedule["weekly_schedule"] == "MONDAY"
    else:
        assert schedule["daily_schedule"] is True
    (rule,) = plan.after("aws_cloudwatch_event_rule").values()
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.macie"],
        "detail-type": ["Macie Finding"],
    }
    (slr,) = plan.after("aws_iam_service_linked_role").values()
    assert slr["aws_service_name"] == "macie.amazonaws.com"


def test_object_lock_per_environment(plan: Plan):
    locks = plan.after("aws_s3_bucket_object_lock_configuration")
    assert len(locks) == 2
    expected = {
        "dev": ("GOVERNANCE", 1),
        "staging": ("GOVERNANCE", 7),
        "prod": ("COMPLIANCE", 365),
    }[plan.env]
    for address, lock in locks.items():
        retention = lock["rule"][0]["default_retention"][0]
        assert (retention["mode"], retention["days"]) == expected, address


def test_no_nat_without_egress_cidrs(plan: Plan):
    """NAT only with a purpose: no environment gives egress CIDRs, so none has NAT."""
    assert not plan.of_type("aws_nat_gateway")
    assert not plan.of_type("aws_internet_gateway")
    assert not plan.of_type("aws_eip")


def test_default_routes_use_gateways(plan: Plan):
    routes = plan.of_type("aws_route")
    assert len(routes) == EXPECTED_COUNTS[plan.env].get("aws_route", 0)
    for address in routes:
        after = plan.changes[address]["change"]["after"]
        assert after["destination_cidr_block"] == "0.0.0.0/0", address
        expressions = plan.config(address)["expressions"]
        assert "instance_id" not in expressions, f"{address}: routes through an instance"
        assert "network_interface_id" not in expressions, f"{address}: routes through an ENI"
        if ".private_nat" in address:
            refs = expressions["nat_gateway_id"]["references"]
            assert any(r.startswith("aws_nat_gateway.") for r in refs), address
        else:
            refs = expressions["gateway_id"]["references"]
            assert any(r.startswith("aws_internet_gateway.") for r in refs), address


def test_log_retention_per_environment(plan: Plan):
    retention = {
        g["name"]: g["retention_in_days"] for g in plan.after("aws_cloudwatch_log_group").values()
    }
    assert min(retention.values()) >= 365
    audit = {
        n: d for n, d in retention.items() if n.startswith(("/aws/cloudtrail/", "/aws/events/"))
    }
    assert len(audit) == 2
    if plan.env == "prod":
        assert set(audit.values()) == {2557}
        assert min(retention.values()) >= 731


# --- checkov ---------------------------------------------------------------------------


def _checkov(plan: Plan) -> dict[str, Any]:
    args = [
        str(REPO / ".venv" / "bin" / "checkov"),
        "--skip-download",
        "--framework",
        "terraform_plan",
        "-f",
        str(plan.path),
        "--repo-root-for-plan-enrichment",
        str(REPO),
        "-o",
        "json",
    ]
    config = REPO / "environments" / plan.env / ".checkov.yaml"
    if config.exists():
        args += ["--config-file", str(config)]
    if not Path(args[0]).exists():
        args[0] = shutil.which("checkov") or "checkov"
    env = dict(
        os.environ,
        BC_SKIP_MAPPING="TRUE",
        # Unknown-until-apply values (KMS key ARNs of this plan) count as set;
        # test_kms_everywhere asserts they come from this plan's keys.
        EVAL_TF_PLAN_AFTER_UNKNOWN="true",
    )
    proc = subprocess.run(
        args, capture_output=True, text=True, env=env, timeout=600, cwd=REPO, check=False
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"checkov failed to run ({proc.returncode}):\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_has_no_failed_checks(plan: Plan):
    report = _checkov(plan)
    results = report["results"]
    env_dir = REPO / "environments" / plan.env
    failed = [
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in results["failed_checks"]
        if c["check_id"] not in module_call_skips(env_dir, c["resource"])
    ]
    assert failed == [], "checkov failed checks:\n" + "\n".join(failed)
    assert report["summary"]["passed"] >= 250, "checkov scanned far less than the plan holds"
    # Exceptions taken through environments/<env>/.checkov.yaml, and nothing else.
    config_skips = {"dev": {"CKV_AWS_157", "CKV_AWS_293"}, "staging": {"CKV2_AWS_35"}}
    config_skips["prod"] = config_skips["staging"]
    config = REPO / "environments" / plan.env / ".checkov.yaml"
    listed = set(re.findall(r"^\s*-\s*(CKV2?_AWS_\d+)\s*$", config.read_text(), re.M))
    assert listed == config_skips[plan.env]


# --- upgrade from the layout before modules/ferry -------------------------------------

# Resources 2.x adds (the dead-letter consumer, the migration, the findings
# dead-letter queue, their alarms; the file-event bus, the dashboard and ferry's
# own alarms) and the ones it removes on purpose: staging
# and prod lose their NAT (gateways, addresses, internet gateway, public
# subnets and routes), which nothing could use, unless egress CIDRs are given.
_ADDED_SINCE_1_0 = re.compile(
    r"\.(deadletter|migrate)(\[|$)|aws_lambda_invocation\.|\.findings_dlq$"
    r'|aws_cloudwatch_metric_alarm\.function\["(files-dead-lettered|deadletter-errors)"\]'
    r"|aws_cloudwatch_event_bus\.files\[|aws_cloudwatch_dashboard\.pipeline\["
    r'|aws_cloudwatch_metric_alarm\.ferry\["'
)
_NAT_REMOVED = re.compile(
    r"aws_nat_gateway\.|aws_eip\.nat|aws_internet_gateway\.|aws_subnet\.public"
    r"|aws_route_table\.public|aws_route\.(public_internet|private_nat)"
    r"|aws_route_table_association\.public"
)


def _removed_since_1_0(env: str, address: str) -> bool:
    return env in ("staging", "prod") and bool(_NAT_REMOVED.search(address))


def test_upgrade_moves_every_resource(plan: Plan, old_layout: Path, tf_root, planning_base):
    """Each resource of the 1.0.0 plan, moved as Terraform would, is one of the new plan.

    Same resources (addresses aside), and a moved block for every address that
    changed: a resource without one would be destroyed and created again.
    """
    old = _old_plan(plan.env, old_layout, tf_root, planning_base)
    root_dir = planning_base / plan.env / "environments" / plan.env
    calls = plan.doc["configuration"]["root_module"]["module_calls"]
    old_addresses = {a for a in managed_addresses(old) if not _removed_since_1_0(plan.env, a)}
    mapped = {resolve(address, root_dir, calls): address for address in old_addresses}
    new_addresses = managed_addresses(plan.doc)
    unmoved = sorted(mapped[a] for a in set(mapped) - new_addresses)
    assert unmoved == [], f"no moved block takes these 1.0.0 addresses to the new layout: {unmoved}"
    added = sorted(a for a in new_addresses - set(mapped) if not _ADDED_SINCE_1_0.search(a))
    assert added == [], f"resources the 1.0.0 plan did not have: {added}"
    old_types = Counter(
        rc["type"]
        for rc in old["resource_changes"]
        if rc["mode"] == "managed" and not _removed_since_1_0(plan.env, rc["address"])
    )
    new_types = Counter(
        rc["type"] for a, rc in plan.changes.items() if not _ADDED_SINCE_1_0.search(a)
    )
    assert old_types == new_types
