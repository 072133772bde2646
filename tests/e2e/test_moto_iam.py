"""What moto's IAM enforcement actually checks: one small case per service.

The local stack runs the processors with the credentials of their roles and
moto's enforcement on (see the README, "Enforced IAM on the local stack").
These cases measure, on the same server the stack uses
(:mod:`ferry_dev.motoserver`), that a call the role allows passes, and that a
call it does not allow (another action, or the same action on another
resource) is refused, per service. A case that starts failing means moto
changed what it enforces: update the README's table with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from ferry_dev.services import MotoServer

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with MotoServer() as moto:
        yield moto


@pytest.fixture(scope="module")
def world(server: MotoServer) -> dict[str, Any]:
    """Two of each resource, and a role allowed one action on the first of each."""
    server.enforce_iam(float("inf"))

    def admin(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=server.endpoint_url,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )

    s3 = admin("s3")
    for bucket in ("iam-allowed", "iam-other"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    ddb = admin("dynamodb")
    for table in ("iam-allowed", "iam-other"):
        ddb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    sqs = admin("sqs")
    queues = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("iam-allowed", "iam-other")}
    kms = admin("kms")
    keys = {n: kms.create_key(Description=n)["KeyMetadata"]["Arn"] for n in ("allowed", "other")}
    events = admin("events")
    for bus in ("iam-allowed", "iam-other"):
        events.create_event_bus(Name=bus)
    sm = admin("secretsmanager")
    secrets = {
        n: sm.create_secret(Name=f"iam-{n}", SecretString="s")["ARN"] for n in ("allowed", "other")
    }
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::iam-allowed/*"},
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-allowed",
            },
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-allowed",
            },
            {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": keys["allowed"]},
            {
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": secrets["allowed"],
            },
            {
                "Effect": "Allow",
                "Action": "events:PutEvents",
                "Resource": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/iam-allowed",
                "Condition": {"StringEquals": {"events:source": "ferry.allowed"}},
            },
        ],
    }
    iam = admin("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="iam-probe", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="iam-probe", PolicyName="p", PolicyDocument=json.dumps(policy))
    creds = admin("sts").assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="probe")[
        "Credentials"
    ]
    server.enforce_iam(0)

    def as_role(service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=server.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    return {"as_role": as_role, "queues": queues, "keys": keys, "secrets": secrets}


def outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as err:
        code = err.response["Error"].get("Code", "")
        status = err.response["ResponseMetadata"].get("HTTPStatusCode")
        if status == 403 or "AccessDenied" in code:
            return "denied"
        return f"error {code}"
    return "allowed"


def test_s3(world: dict[str, Any]) -> None:
    s3 = world["as_role"]("s3")
    assert outcome(lambda: s3.get_object(Bucket="iam-allowed", Key="k")) == "allowed"
    assert outcome(lambda: s3.get_object(Bucket="iam-other", Key="k")) == "denied"
    assert outcome(lambda: s3.put_object(Bucket="iam-allowed", Key="k2", Body=b"")) == "denied"


def test_dynamodb(world: dict[str, Any]) -> None:
    ddb = world["as_role"]("dynamodb")
    key = {"id": {"S": "a"}}
    assert outcome(lambda: ddb.get_item(TableName="iam-allowed", Key=key)) == "allowed"
    assert outcome(lambda: ddb.get_item(TableName="iam-other", Key=key)) == "denied"
    assert outcome(lambda: ddb.delete_item(TableName="iam-allowed", Key=key)) == "denied"


def test_sqs(world: dict[str, Any]) -> None:
    sqs = world["as_role"]("sqs")
    queues = world["queues"]
    assert outcome(lambda: sqs.send_message(QueueUrl=queues["iam-allowed"], MessageBody="m")) == (
        "allowed"
    )
    assert outcome(lambda: sqs.send_message(QueueUrl=queues["iam-other"], MessageBody="m")) == (
        "denied"
    )
    assert outcome(lambda: sqs.purge_queue(QueueUrl=queues["iam-allowed"])) == "denied"


def test_kms(world: dict[str, Any]) -> None:
    kms = world["as_role"]("kms")
    keys = world["keys"]
    assert outcome(lambda: kms.encrypt(KeyId=keys["allowed"], Plaintext=b"x")) == "allowed"
    assert outcome(lambda: kms.encrypt(KeyId=keys["other"], Plaintext=b"x")) == "denied"
    assert (
        outcome(lambda: kms.generate_data_key(KeyId=keys["allowed"], KeySpec="AES_256")) == "denied"
    )


def test_secrets_manager(world: dict[str, Any]) -> None:
    sm = world["as_role"]("secretsmanager")
    secrets = world["secrets"]
    assert outcome(lambda: sm.get_secret_value(SecretId=secrets["allowed"])) == "allowed"
    assert outcome(lambda: sm.get_secret_value(SecretId="iam-allowed")) == "allowed"  # by name
    assert outcome(lambda: sm.get_secret_value(SecretId=secrets["other"])) == "denied"
    assert outcome(lambda: sm.put_secret_value(SecretId=secrets["allowed"], SecretString="z")) == (
        "denied"
    )


def test_eventbridge_put_events_on_the_bus_with_the_source(world: dict[str, Any]) -> None:
    """PutEvents per entry: the bus ARN and events:source (ferry_dev.motoserver)."""
    ev = world["as_role"]("events")

    def put(*entries: tuple[str, str]) -> Callable[[], Any]:
        return lambda: ev.put_events(
            Entries=[
                {"Source": src, "DetailType": "FileLoaded", "Detail": "{}", "EventBusName": bus}
                for bus, src in entries
            ]
        )

    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/iam-allowed"
    assert outcome(put(("iam-allowed", "ferry.allowed"))) == "allowed"
    assert outcome(put((bus_arn, "ferry.allowed"))) == "allowed"  # the bus by ARN
    assert outcome(put(("iam-allowed", "ferry.other"))) == "denied"  # another source
    assert outcome(put(("iam-other", "ferry.allowed"))) == "denied"  # another bus
    assert outcome(put(("default", "ferry.allowed"))) == "denied"  # the default bus
    # One refused entry refuses the call.
    assert outcome(put(("iam-allowed", "ferry.allowed"), ("iam-other", "ferry.allowed"))) == (
        "denied"
    )
    assert outcome(lambda: ev.list_rules(EventBusName="iam-allowed")) == "denied"
    # Refused as EventBridge refuses (what ferry.events reads as the deployment's problem).
    with pytest.raises(ClientError) as err:
        put(("iam-other", "ferry.allowed"))()
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"


def test_identity_allows_follows_aws_evaluation() -> None:
    from ferry_dev.motoserver import identity_allows

    bus = "arn:aws:events:eu-west-1:1:event-bus/b"
    allow = {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": bus,
        "Condition": {"StringEquals": {"events:source": ["a", "b"]}},
    }
    doc = {"Statement": [allow]}
    assert identity_allows([doc], "events:PutEvents", bus, {"events:source": "a"})
    assert not identity_allows([doc], "events:PutEvents", bus, {"events:source": "c"})
    assert not identity_allows([doc], "events:PutEvents", bus, {})  # key absent
    assert not identity_allows([doc], "events:PutEvents", bus + "x", {"events:source": "a"})
    deny = {"Effect": "Deny", "Action": "events:*", "Resource": "*"}
    assert not identity_allows(
        [doc, {"Statement": deny}], "events:PutEvents", bus, {"events:source": "a"}
    )
    # events:source is multivalued: the module's set operator and Null check
    sets = {
        **allow,
        "Condition": {
            "ForAllValues:StringEquals": {"events:source": "a"},
            "Null": {"events:source": "false"},
        },
    }
    assert identity_allows([{"Statement": [sets]}], "events:PutEvents", bus, {"events:source": "a"})
    assert not identity_allows(
        [{"Statement": [sets]}], "events:PutEvents", bus, {"events:source": "b"}
    )
    assert not identity_allows([{"Statement": [sets]}], "events:PutEvents", bus, {})
    any_of = {**allow, "Condition": {"ForAnyValue:StringEquals": {"events:source": "a"}}}
    assert not identity_allows([{"Statement": [any_of]}], "events:PutEvents", bus, {})
    unknown = {**allow, "Condition": {"NumericEquals": {"events:source": "1"}}}
    assert not identity_allows(
        [{"Statement": [unknown]}], "events:PutEvents", bus, {"events:source": "1"}
    )
    if_exists = {**allow, "Condition": {"StringEqualsIfExists": {"events:source": "a"}}}
    assert identity_allows([{"Statement": [if_exists]}], "events:PutEvents", bus, {})
    not_equals = {**allow, "Condition": {"StringNotEquals": {"events:source": "a"}}}
    assert not identity_allows(
        [{"Statement": not_equals}], "events:PutEvents", bus, {"events:source": "a"}
    )
    assert identity_allows(
        [{"Statement": not_equals}], "events:PutEvents", bus, {"events:source": "z"}
    )


def test_unknown_credentials_are_refused(server: MotoServer, world: dict[str, Any]) -> None:
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=server.endpoint_url,
        aws_access_key_id="nobody",
        aws_secret_access_key="nobody",
    )
    assert outcome(lambda: s3.get_object(Bucket="iam-allowed", Key="k")) != "allowed"


def _deny_all(resource: str, action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": action, "Resource": resource}
            ],
        }
    )


def _admin(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=server.endpoint_url,
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )


def test_bucket_policy_deny_is_enforced(server: MotoServer, world: dict[str, Any]) -> None:
    server.enforce_iam(float("inf"))
    s3 = _admin(server, "s3")
    s3.put_bucket_policy(
        Bucket="iam-allowed", Policy=_deny_all("arn:aws:s3:::iam-allowed/*", "s3:GetObject")
    )
    server.enforce_iam(0)
    try:
        role_s3 = world["as_role"]("s3")
        assert outcome(lambda: role_s3.get_object(Bucket="iam-allowed", Key="k")) == "denied"
    finally:
        server.enforce_iam(float("inf"))
        s3.delete_bucket_policy(Bucket="iam-allowed")
        server.enforce_iam(0)


def test_key_policy_is_not_enforced(server: MotoServer, world: dict[str, Any]) -> None:
    """moto ignores KMS key policies: AWS would refuse this Encrypt."""
    key = world["keys"]["allowed"]
    server.enforce_iam(float("inf"))
    kms = _admin(server, "kms")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=_deny_all("*", "kms:*"))
    server.enforce_iam(0)
    try:
        role_kms = world["as_role"]("kms")
        assert outcome(lambda: role_kms.encrypt(KeyId=key, Plaintext=b"x")) == "allowed"
    finally:
        server.enforce_iam(float("inf"))
        kms.put_key_policy(
            KeyId=key,
            PolicyName="default",
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                            "Action": "kms:*",
                            "Resource": "*",
                        }
                    ],
                }
            ),
        )
        server.enforce_iam(0)


def test_plain_moto_checks_dynamodb_kms_and_secrets_against_star_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why ferry_dev.motoserver exists: without it a least-privilege allow is refused."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # in-process moto, not a server
    from moto import mock_aws, settings
    from moto.core.authorization import ActionAuthenticatorMixin

    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="setup", aws_secret_access_key="setup", region_name=REGION
        )
        session.client("dynamodb").create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        iam = session.client("iam")
        iam.create_user(UserName="u")
        iam.put_user_policy(
            UserName="u",
            PolicyName="p",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "dynamodb:GetItem",
                            "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/t",
                        }
                    ],
                }
            ),
        )
        key = iam.create_access_key(UserName="u")["AccessKey"]
        saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
        try:
            ddb = boto3.client(
                "dynamodb",
                region_name=REGION,
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
            )
            result = outcome(lambda: ddb.get_item(TableName="t", Key={"id": {"S": "a"}}))
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
    assert result == "denied"


def test_local_stack_assumes_the_roles_and_switches_enforcement_on(
    server: MotoServer, world: dict[str, Any], tmp_path: Any
) -> None:
    """Stack.setup_iam on a role like the one Terraform creates: workers get its credentials."""
    from ferry_dev.local import Stack

    server.enforce_iam(float("inf"))
    assert server.proc is not None
    stack = Stack(tmp_path, verbose=False)
    stack.state = {
        "moto": {"port": server.port, "pid": server.proc.pid},
        "outputs": {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/iam-probe"},
    }
    stack.setup_iam()
    try:
        assert stack.state["iam"]["enforced"] is True
        as_role = stack.client("s3", "processor")
        assert outcome(lambda: as_role.get_object(Bucket="iam-allowed", Key="k")) == "allowed"
        assert outcome(lambda: as_role.get_object(Bucket="iam-other", Key="k")) == "denied"
        operator = stack.client("s3")
        assert outcome(lambda: operator.get_object(Bucket="iam-other", Key="k")) == "allowed"
        # No dead-letter role here: that worker would run as the operator.
        assert "deadletter" not in stack.state["credentials"]
        stack.setup_iam()  # again (make local on a running stack): still one operator key
        iam = stack.client("iam")
        keys = iam.list_access_keys(UserName="ferry-local-operator")["AccessKeyMetadata"]
        assert len(keys) == 1
    finally:
        stack.relax_iam()
        server.enforce_iam(0)


@pytest.mark.parametrize("direction", ["egress", "ingress"])
def test_a_retried_rule_gets_the_existing_rule(direction: str) -> None:
    """The emulator answers a retried AuthorizeSecurityGroupEgress/Ingress with the rule it made."""
    with MotoServer() as own:  # IAM not enforced: the rule is the point here
        _retried_rule(_admin(own, "ec2"), direction)


def _retried_rule(ec2: Any, direction: str) -> None:
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="retry", Description="retry", VpcId=vpc)["GroupId"]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
            "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}  # fmt: skip
    first = authorize(GroupId=group, IpPermissions=[rule])
    again = authorize(GroupId=group, IpPermissions=[rule])
    ids = [r["SecurityGroupRuleId"] for r in first["SecurityGroupRules"]]
    assert [r["SecurityGroupRuleId"] for r in again["SecurityGroupRules"]] == ids
    other = {**rule, "IpRanges": [{"CidrIp": "10.9.0.0/16"}, {"CidrIp": "10.8.0.0/16"}]}
    with pytest.raises(ClientError, match=r"InvalidPermission\.Duplicate"):
        authorize(GroupId=group, IpPermissions=[other])


def test_an_attempt_of_a_call_already_answered_gets_that_answer() -> None:
    """Every attempt of one SDK call carries one invocation id: a retry is not run twice."""
    with MotoServer() as own:
        ec2 = _admin(own, "ec2")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        call_id = {"value": "retried-call-1"}

        def same_call(request: Any, **_: Any) -> None:
            request.headers["amz-sdk-invocation-id"] = call_id["value"]

        ec2.meta.events.register("before-send.ec2.CreateSecurityGroup", same_call)
        made = [
            ec2.create_security_group(GroupName="once", Description="once", VpcId=vpc)["GroupId"]
            for _ in range(2)
        ]
        assert made[0] == made[1]  # the second attempt got the first answer
        groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["once"]}])
        assert len(groups["SecurityGroups"]) == 1
        call_id["value"] = "another-call"  # a new call is run, and refused as a duplicate
        with pytest.raises(ClientError, match=r"InvalidGroup\.Duplicate"):
            ec2.create_security_group(GroupName="once", Description="once", VpcId=vpc)
