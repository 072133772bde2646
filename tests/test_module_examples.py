"""Every module example plans offline with the real provider, and the plan
holds what the module promises.

Each modules/*/examples/* root is planned with fake credentials and no AWS
calls. Inputs an example leaves without a default (the outputs of other
modules, in a real root) come from COMPOSED_INPUTS, fake values in the shape of
the module contracts; checkov must find nothing to fail in the plan (inline
skips are honoured through plan enrichment). The kms, network, database
and storage examples are then read closely: real, fully rendered key and
bucket policies, routes, security group rules, flow logs and the database
instance's settings.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ferry_dev import terraform as tf
from policy.checks import module_call_skips

pytestmark = [pytest.mark.terraform, pytest.mark.xdist_group("module_examples")]

REPO = Path(__file__).resolve().parents[1]
CHECKOV = Path(sys.executable).with_name("checkov")
ACCOUNT = "123456789012"
REGION = "eu-west-1"

# Examples that need inputs a plain plan cannot supply (a built package), each
# planned by its own test instead.
PLANNED_ELSEWHERE = {"modules/pipeline/examples/basic": "tests/test_pipeline_example.py"}
# Examples written for a real account (no offline provider settings): they
# cannot plan here. Each entry must still be such an example; once it plans
# offline, drop it from this list and it is planned and scanned like the rest.
NEEDS_A_REAL_ACCOUNT = {"modules/audit/examples/basic"}
OFFLINE_SETTINGS = ("skip_credentials_validation", "skip_requesting_account_id")

KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1a2b3c4d-0000-4000-8000-00000000000"
ROLES = ("raw", "processed", "failed")
# Stand-ins for other modules' outputs, by the input name examples use for them.
COMPOSED_INPUTS: dict[str, object] = {
    "account_id": ACCOUNT,
    "storage_key_arn": f"{KEY_ARN}1",
    "operational_key_arn": f"{KEY_ARN}2",
    "logs_key_arn": f"{KEY_ARN}3",
    "data_bucket_names": {r: f"ferry-example-{r}-{ACCOUNT}" for r in ROLES},
    "isolated_subnet_ids": ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"],
    "private_subnet_ids": ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    "database_security_group_id": "sg-0a1b2c3d4e5f60004",
    "processor_security_group_id": "sg-0a1b2c3d4e5f60003",
}

_VARIABLE = re.compile(r'^variable\s+"([^"]+)"\s*\{(.*?)^\}', re.M | re.S)


def required_variables(root: Path) -> list[str]:
    names = []
    for path in root.glob("*.tf"):
        for name, body in _VARIABLE.findall(path.read_text()):
            if not re.search(r"^\s*default\s*=", body, re.M):
                names.append(name)
    return names


def examples() -> list[str]:
    found = sorted(
        str(p.relative_to(REPO))
        for p in (REPO / "modules").glob("*/examples/*")
        if p.is_dir() and any(p.glob("*.tf"))
    )
    return [e for e in found if e not in PLANNED_ELSEWHERE and e not in NEEDS_A_REAL_ACCOUNT]


def plans_offline(example: str) -> bool:
    text = "\n".join(p.read_text() for p in (REPO / example).glob("*.tf"))
    return all(re.search(rf"^\s*{key}\s*=\s*true", text, re.M) for key in OFFLINE_SETTINGS)


_plans: dict[str, tuple[dict, Path]] = {}


@pytest.fixture
def planned(tf_root, tmp_path_factory):
    """plan(example) -> (plan JSON, plan JSON file); each example planned once per worker."""

    def plan(example: str) -> tuple[dict, Path]:
        if example not in _plans:
            root = tf_root(example, env=dict(tf.OFFLINE_AWS_ENV))
            out = tmp_path_factory.mktemp("plan-" + example.replace("/", "-"))
            required = required_variables(REPO / example)
            unknown = sorted(set(required) - set(COMPOSED_INPUTS))
            assert not unknown, (
                f"{example} needs inputs {unknown}: give them defaults or add stand-ins to "
                "COMPOSED_INPUTS"
            )
            doc = root.plan_json(
                variables={name: COMPOSED_INPUTS[name] for name in required}, out_dir=out
            )
            path = out / "plan.json"
            path.write_text(json.dumps(doc))
            _plans[example] = (doc, path)
        return _plans[example]

    return plan


def changes(plan: dict) -> dict[str, dict]:
    return {rc["address"]: rc for rc in plan["resource_changes"] if rc["mode"] == "managed"}


def of_type(plan: dict, rtype: str) -> dict[str, dict]:
    return {a: rc["change"]["after"] for a, rc in changes(plan).items() if rc["type"] == rtype}


def policy(after: dict, key: str = "policy") -> dict:
    assert isinstance(after.get(key), str), f"{key} is not known at plan time"
    return json.loads(after[key])


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def checkov_plan(plan_file: Path, example: str) -> dict[str, list]:
    proc = subprocess.run(
        [
            str(CHECKOV),
            "--skip-download",
            "--framework",
            "terraform_plan",
            "--output",
            "json",
            "-f",
            str(plan_file),
            "--repo-root-for-plan-enrichment",
            str(REPO / Path(example).parents[1]),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**tf.base_env(), "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    found: dict[str, list] = {"passed": [], "failed": [], "skipped": []}
    for report in reports:
        for kind in found:
            found[kind] += report.get("results", {}).get(f"{kind}_checks", [])
    return found


# --- every example -------------------------------------------------------------------


def test_examples_left_out_are_still_what_they_are_listed_as():
    for example in NEEDS_A_REAL_ACCOUNT:
        assert (REPO / example).is_dir(), f"{example} is gone: drop it from NEEDS_A_REAL_ACCOUNT"
        assert not plans_offline(example), f"{example} plans offline now: drop it from the list"
    for example in examples():
        assert plans_offline(example), f"{example} must configure the provider for offline plans"


def test_examples_planned_elsewhere_have_their_test():
    for example, test in PLANNED_ELSEWHERE.items():
        assert (REPO / example).is_dir(), f"{example} is gone: drop it from PLANNED_ELSEWHERE"
        assert (REPO / test).is_file(), f"{example} must be planned by {test}"


@pytest.mark.parametrize("example", examples())
def test_example_plans_offline(example, planned):
    plan, _ = planned(example)
    rcs = changes(plan)
    assert rcs, "the example plans nothing"
    assert {tuple(rc["change"]["actions"]) for rc in rcs.values()} == {("create",)}


@pytest.mark.parametrize("example", examples())
def test_checkov_finds_nothing_in_example_plan(example, planned):
    _, plan_file = planned(example)
    found = checkov_plan(plan_file, example)
    for r in list(found["failed"]):
        reason = module_call_skips(REPO / example, r["resource"]).get(r["check_id"])
        if reason:
            found["failed"].remove(r)
            found["skipped"].append({**r, "check_result": {"suppress_comment": reason}})
    failed = [f"{r['check_id']} {r['resource']}" for r in found["failed"]]
    assert not failed, failed
    assert found["passed"], "checkov passed nothing in the plan"
    for r in found["skipped"]:
        reason = (r.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason) >= 20, f"{r['check_id']} on {r['resource']} skipped without a reason"


# --- kms -----------------------------------------------------------------------------

KMS = "modules/kms/examples/basic"


def test_kms_keys_rotate_and_keep_their_deletion_window(planned):
    plan, _ = planned(KMS)
    keys = of_type(plan, "aws_kms_key")
    assert {a.split('"')[1] for a in keys} == {"storage", "operational", "logs"}
    for after in keys.values():
        assert after["enable_key_rotation"] is True
        assert after["rotation_period_in_days"] == 365
        assert after["deletion_window_in_days"] == 30
        assert after["bypass_policy_lockout_safety_check"] is False
    aliases = sorted(a["name"] for a in of_type(plan, "aws_kms_alias").values())
    assert aliases == [f"alias/ferry-example-{t}" for t in ("logs", "operational", "storage")]


def key_policies(plan: dict) -> dict[str, dict]:
    return {
        address.split('"')[1]: policy(after)
        for address, after in of_type(plan, "aws_kms_key").items()
    }


def test_kms_policies_have_no_wildcard_principal_and_no_kms_star(planned):
    plan, _ = planned(KMS)
    for tier, doc in key_policies(plan).items():
        for st in doc["Statement"]:
            assert st["Effect"] == "Allow", (tier, st["Sid"])
            assert st["Principal"] != "*", (tier, st["Sid"])
            for ids in st["Principal"].values():
                assert "*" not in as_list(ids), (tier, st["Sid"])
            assert "kms:*" not in as_list(st["Action"]), (tier, st["Sid"])


def test_kms_root_administers_only(planned):
    plan, _ = planned(KMS)
    for tier, doc in key_policies(plan).items():
        (root,) = [s for s in doc["Statement"] if s["Sid"] == "RootAdministration"]
        assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, tier
        actions = set(as_list(root["Action"]))
        assert "kms:PutKeyPolicy" in actions
        assert not actions & {
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:CreateGrant",
        }


def test_kms_service_use_is_scoped(planned):
    plan, _ = planned(KMS)
    docs = key_policies(plan)
    # No account-wide use through services: only named users and services.
    assert not [
        s for doc in docs.values() for s in doc["Statement"] if s["Sid"] == "UseThroughServices"
    ]
    root = f"arn:aws:iam::{ACCOUNT}:root"
    for tier, doc in docs.items():
        for s in doc["Statement"]:
            if root in as_list(s.get("Principal", {}).get("AWS", [])):
                assert not {"kms:Decrypt", "kms:ReEncrypt*"} & set(as_list(s["Action"])), (tier, s)
    (create,) = [
        s for s in docs["operational"]["Statement"] if s["Sid"] == "CreateEncryptedResources"
    ]
    assert set(as_list(create["Condition"]["StringEquals"]["kms:ViaService"])) == {
        f"{svc}.{REGION}.amazonaws.com" for svc in ("lambda", "secretsmanager")
    }
    for tier, doc in docs.items():
        for s in doc["Statement"]:
            if s["Sid"] in {"CreateEncryptedResources", "CreateGrantsForServices"}:
                assert s["Condition"]["StringEquals"]["kms:CallerAccount"] == ACCOUNT, tier
    queues = next(
        s
        for s in docs["operational"]["Statement"]
        if s["Sid"] == "ServiceDeliveryIntoEncryptedQueues"
    )
    (pattern,) = as_list(queues["Condition"]["ArnLike"]["kms:EncryptionContext:aws:sqs:arn"])
    assert pattern.startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:")
    assert pattern.endswith("-*")
    assert set(queues["Condition"]) == {"ArnLike"}, "no source conditions"

    logs = {s["Sid"]: s for s in docs["logs"]["Statement"]}
    assert logs["CloudWatchLogs"]["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["CloudWatchLogs"]["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"
        }
    }
    trail = logs["CloudTrailEncryptLogs"]
    assert trail["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert trail["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert trail["Condition"]["ArnLike"]["kms:EncryptionContext:aws:cloudtrail:arn"] == (
        f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"
    )

    grants = {
        tier: [s for s in doc["Statement"] if s["Sid"] == "CreateGrantsForServices"]
        for tier, doc in docs.items()
    }
    assert not grants["storage"]
    assert not grants["logs"]
    (grant,) = grants["operational"]
    assert set(as_list(grant["Condition"]["StringEquals"]["kms:ViaService"])) == {
        f"dynamodb.{REGION}.amazonaws.com",
        f"rds.{REGION}.amazonaws.com",
        f"lambda.{REGION}.amazonaws.com",
    }
    assert grant["Condition"]["Bool"] == {"kms:GrantIsForAWSResource": "true"}

    users = [s for s in docs["storage"]["Statement"] if s["Sid"] == "KeyUsers"]
    assert users[0]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ferry-example-processor"}
    assert not [s for s in docs["logs"]["Statement"] if s["Sid"] == "KeyUsers"]


# --- network -------------------------------------------------------------------------

NETWORK = "modules/network/examples/basic"


def module_resources(plan: dict, *path: str) -> list[dict]:
    mod = plan["configuration"]["root_module"]
    for name in path:
        mod = mod["module_calls"][name]["module"]
    return mod["resources"]


def test_network_has_no_way_out_by_default(planned):
    plan, _ = planned(NETWORK)
    rcs = changes(plan)
    kinds = {rc["type"] for rc in rcs.values()}
    assert not kinds & {"aws_internet_gateway", "aws_nat_gateway", "aws_eip", "aws_route"}
    subnets = of_type(plan, "aws_subnet")
    assert len(subnets) == 4  # private and isolated in two zones
    assert all(s["map_public_ip_on_launch"] is False for s in subnets.values())
    cidrs = sorted(s["cidr_block"] for s in subnets.values())
    assert cidrs == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20", "10.40.48.0/20"]


def test_network_isolated_route_table_gets_no_route(planned):
    plan, _ = planned(NETWORK)
    for res in module_resources(plan, "network"):
        if res["type"] == "aws_route":
            refs = res["expressions"]["route_table_id"]["references"]
            assert "aws_route_table.isolated" not in refs, res["address"]


def test_network_default_security_group_is_emptied(planned):
    plan, _ = planned(NETWORK)
    (default_sg,) = [
        r for r in module_resources(plan, "network") if r["type"] == "aws_default_security_group"
    ]
    assert default_sg["expressions"]["ingress"] == {"constant_value": []}
    assert default_sg["expressions"]["egress"] == {"constant_value": []}


def test_network_security_group_rules(planned):
    plan, _ = planned(NETWORK)
    rules = {
        **of_type(plan, "aws_vpc_security_group_ingress_rule"),
        **of_type(plan, "aws_vpc_security_group_egress_rule"),
    }
    assert len(rules) == 6
    for address, rule in rules.items():
        assert rule["cidr_ipv4"] in (None, "10.40.0.0/16"), address
        assert rule["cidr_ipv6"] is None, address
        assert rule["ip_protocol"] == "tcp", address
        assert rule["description"], address
    ingress = of_type(plan, "aws_vpc_security_group_ingress_rule")
    ports = sorted((r["from_port"], r["to_port"]) for r in ingress.values())
    assert ports == [(443, 443), (5432, 5432)]


def test_network_endpoints(planned):
    plan, _ = planned(NETWORK)
    endpoints = of_type(plan, "aws_vpc_endpoint")
    by_type: dict[str, set[str]] = {}
    for ep in endpoints.values():
        by_type.setdefault(ep["vpc_endpoint_type"], set()).add(ep["service_name"])
        if ep["vpc_endpoint_type"] == "Interface":
            assert ep["private_dns_enabled"] is True
    assert by_type["Gateway"] == {f"com.amazonaws.{REGION}.s3", f"com.amazonaws.{REGION}.dynamodb"}
    assert by_type["Interface"] == {
        f"com.amazonaws.{REGION}.{svc}"
        for svc in ("sqs", "kms", "logs", "secretsmanager", "sts", "xray")
    }


def test_network_flow_logs(planned):
    plan, _ = planned(NETWORK)
    (flow,) = of_type(plan, "aws_flow_log").values()
    assert flow["traffic_type"] == "ALL"
    assert flow["log_destination_type"] == "cloud-watch-logs"
    (group,) = of_type(plan, "aws_cloudwatch_log_group").values()
    assert group["retention_in_days"] == 365
    assert group["kms_key_id"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    (role,) = of_type(plan, "aws_iam_role").values()
    trust = policy(role, "assume_role_policy")["Statement"]
    assert trust == [
        {
            "Sid": "VpcFlowLogsOfThisAccount",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"},
            },
        }
    ]


# --- database ------------------------------------------------------------------------

DATABASE = "modules/database/examples/basic"


def test_database_instance_is_private_encrypted_and_protected(planned):
    plan, _ = planned(DATABASE)
    (db,) = of_type(plan, "aws_db_instance").values()
    key = COMPOSED_INPUTS["operational_key_arn"]
    assert db["publicly_accessible"] is False
    assert db["storage_encrypted"] is True
    assert db["kms_key_id"] == key
    assert db["performance_insights_kms_key_id"] == key
    assert db["manage_master_user_password"] is True
    assert db["master_user_secret_kms_key_id"] == key
    assert db.get("password") is None
    assert db["iam_database_authentication_enabled"] is True
    assert db["deletion_protection"] is True
    assert db["skip_final_snapshot"] is False
    assert db["final_snapshot_identifier"] == "ferry-example-db-final"
    assert db["multi_az"] is True
    assert db["vpc_security_group_ids"] == [COMPOSED_INPUTS["database_security_group_id"]]
    (subnets,) = of_type(plan, "aws_db_subnet_group").values()
    assert sorted(subnets["subnet_ids"]) == sorted(COMPOSED_INPUTS["isolated_subnet_ids"])


def test_database_log_groups_use_the_logs_key(planned):
    plan, _ = planned(DATABASE)
    groups = of_type(plan, "aws_cloudwatch_log_group").values()
    assert sorted(g["name"] for g in groups) == [
        "/aws/rds/instance/ferry-example-db/postgresql",
        "/aws/rds/instance/ferry-example-db/upgrade",
    ]
    for group in groups:
        assert group["kms_key_id"] == COMPOSED_INPUTS["logs_key_arn"]
        assert group["retention_in_days"] == 365


# --- storage -------------------------------------------------------------------------

STORAGE = "modules/storage/examples/basic"


def by_role(plan: dict, rtype: str) -> dict[str, dict]:
    out = {}
    for address, after in of_type(plan, rtype).items():
        match = re.search(r'data_bucket\["(\w+)"\]', address)
        assert match or "module.access_log_bucket[0]." in address, address
        out[match.group(1) if match else "access_logs"] = after
    return out


def test_storage_buckets_are_encrypted_versioned_and_private(planned):
    plan, _ = planned(STORAGE)
    buckets = by_role(plan, "aws_s3_bucket")
    assert {r: b["bucket"] for r, b in buckets.items()} == {
        **{r: f"ferry-example-{r}-{ACCOUNT}" for r in ROLES},
        "access_logs": f"ferry-example-access-logs-{ACCOUNT}",
    }
    assert all(b["force_destroy"] is False for b in buckets.values())
    assert {r: b["object_lock_enabled"] for r, b in buckets.items()} == {
        "raw": False,
        "processed": True,
        "failed": True,
        "access_logs": False,
    }
    sse = by_role(plan, "aws_s3_bucket_server_side_encryption_configuration")
    for role in ROLES:
        rule = sse[role]["rule"][0]
        default = rule["apply_server_side_encryption_by_default"][0]
        assert default["sse_algorithm"] == "aws:kms"
        assert default["kms_master_key_id"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
        assert rule["bucket_key_enabled"] is True
    assert (
        sse["access_logs"]["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"]
        == "AES256"
    )
    versioning = by_role(plan, "aws_s3_bucket_versioning")
    assert {v["versioning_configuration"][0]["status"] for v in versioning.values()} == {"Enabled"}
    assert len(versioning) == 4
    blocks = by_role(plan, "aws_s3_bucket_public_access_block")
    assert len(blocks) == 4
    for block in blocks.values():
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert block[flag] is True, flag
    ownership = by_role(plan, "aws_s3_bucket_ownership_controls")
    assert {o["rule"][0]["object_ownership"] for o in ownership.values()} == {"BucketOwnerEnforced"}
    locks = by_role(plan, "aws_s3_bucket_object_lock_configuration")
    assert set(locks) == {"processed", "failed"}
    for lock in locks.values():
        assert lock["rule"][0]["default_retention"][0] | {"years": None} == {
            "mode": "GOVERNANCE",
            "days": 14,
            "years": None,
        }


def test_storage_data_bucket_policies(planned):
    plan, _ = planned(STORAGE)
    policies = by_role(plan, "aws_s3_bucket_policy")
    key_arn = by_role(plan, "aws_s3_bucket_server_side_encryption_configuration")["raw"]["rule"][0][
        "apply_server_side_encryption_by_default"
    ][0]["kms_master_key_id"]
    for role in ROLES:
        arn = f"arn:aws:s3:::ferry-example-{role}-{ACCOUNT}"
        statements = {s["Sid"]: s for s in policy(policies[role])["Statement"]}
        assert set(statements) == {
            "DenyInsecureTransport",
            "DenyOutdatedTls",
            "DenyOtherEncryptionTypes",
            "DenyOtherKmsKeys",
        }
        for st in statements.values():
            assert st["Effect"] == "Deny"
            assert st["Principal"] == {"AWS": "*"}  # not the bare "*": see the module README
        assert set(statements["DenyInsecureTransport"]["Resource"]) == {arn, f"{arn}/*"}
        assert statements["DenyInsecureTransport"]["Condition"] == {
            "Bool": {"aws:SecureTransport": "false"}
        }
        assert statements["DenyOutdatedTls"]["Condition"] == {
            "NumericLessThan": {"s3:TlsVersion": "1.2"}
        }
        assert statements["DenyOtherEncryptionTypes"]["Condition"] == {
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            "Null": {"s3:x-amz-server-side-encryption": "false"},
        }
        assert statements["DenyOtherKmsKeys"]["Condition"] == {
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn},
            "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
        }
        assert statements["DenyOtherKmsKeys"]["Resource"] == f"{arn}/*"


def test_storage_access_log_bucket_policy(planned):
    plan, _ = planned(STORAGE)
    statements = policy(by_role(plan, "aws_s3_bucket_policy")["access_logs"])["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert set(allow["Condition"]["ArnLike"]["aws:SourceArn"]) == {
        f"arn:aws:s3:::ferry-example-{r}-{ACCOUNT}" for r in ROLES
    }
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert {s["Sid"] for s in denies} == {"DenyInsecureTransport", "DenyOutdatedTls"}
    assert all(s["Principal"] == {"AWS": "*"} for s in denies)


def test_storage_logging_and_lifecycle(planned):
    plan, _ = planned(STORAGE)
    logging = by_role(plan, "aws_s3_bucket_logging")
    assert {r: lg["target_prefix"] for r, lg in logging.items()} == {r: f"{r}/" for r in ROLES}
    lifecycle = by_role(plan, "aws_s3_bucket_lifecycle_configuration")
    assert len(lifecycle) == 4

    def main_rule(role):
        (rule,) = [r for r in lifecycle[role]["rule"] if r["id"] == "expire-and-clean-up"]
        return rule

    assert main_rule("raw")["expiration"][0]["days"] == 30  # the example's override
    assert main_rule("processed")["expiration"] == []  # kept until deleted
    assert main_rule("failed")["expiration"][0]["days"] == 180
    for role in (*ROLES, "access_logs"):
        rule = main_rule(role)
        assert rule["status"] == "Enabled"
        assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] >= 1
        assert rule["abort_incomplete_multipart_upload"][0]["days_after_initiation"] >= 1
