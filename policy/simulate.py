"""Service-to-service permissions of a plan, evaluated as AWS would evaluate them.

:func:`build_cases` turns a plan with every value known (:mod:`policy.standin`)
into IAM requests: who calls (a service principal or a role), which action on
which resource, with the request context AWS documents for that integration,
and every policy that takes part (the caller's identity policies, the
resource's policy, a KMS key's key policy). :func:`simulate` evaluates a batch
of them in one process of ``@cloud-copilot/iam-simulate`` (tools/iam-sim: a
development-time tool, AGPL-3.0, run as its own process and never imported or
shipped) and returns allowed or denied with the deciding statements.

Each integration has requests that must be allowed and look-alikes that must be
denied (another account, another bucket, queue, rule, trail or log group).
Where AWS documents a request's context loosely, the case follows AWS's
documented example and says so in its ``note``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from policy import REPO, ReviewError
from policy.engine import Violation
from policy.standin import PlanFiller, is_unresolved

SIMULATOR_DIR = REPO / "tools" / "iam-sim"
SIMULATOR_SCRIPT = SIMULATOR_DIR / "simulate.mjs"
SIMULATOR_PACKAGE = SIMULATOR_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate"

#: The account of look-alike requests ("someone else's bucket, queue, trail").
OTHER_ACCOUNT = "222222222222"
#: ... and the one used when the plan's own account is OTHER_ACCOUNT.
OTHER_ACCOUNT_ELSE = "444444444444"

Policy = dict[str, Any]


class Unknown(dict):
    """A policy document that cannot be read at plan time (an empty mapping with a reason)."""

    def __init__(self, why: str, address: str) -> None:
        super().__init__()
        self.why = why
        self.address = address

    def __bool__(self) -> bool:  # present, only unreadable
        return True


@dataclass(frozen=True)
class Case:
    """One IAM request and the decision the integration needs."""

    kind: str  # the integration, e.g. "s3-to-sqs-key"
    name: str  # what this request is, unique within the kind
    principal: str
    action: str
    resource: str
    resource_account: str
    expect: str  # "allowed" | "denied"
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    identity: tuple[tuple[str, Policy], ...] = ()
    resource_policy: Policy | None = None
    endpoint_policies: tuple[tuple[str, Policy], ...] = ()
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}: {self.name}"

    def request(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "principal": self.principal,
            "action": self.action,
            "resource": self.resource,
            "resourceAccount": self.resource_account,
            "context": dict(self.context),
            "identityPolicies": [{"name": n, "policy": p} for n, p in self.identity],
            "resourcePolicy": self.resource_policy,
            "endpointPolicies": [{"name": n, "policy": p} for n, p in self.endpoint_policies],
        }


@dataclass(frozen=True)
class Decision:
    case: Case
    result: str  # Allowed | ImplicitlyDenied | ExplicitlyDenied | Error
    reason: str

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"

    @property
    def as_expected(self) -> bool:
        if self.result == "Error":
            return False
        return self.allowed == (self.case.expect == "allowed")

    def describe(self) -> str:
        want = self.case.expect
        note = f"\n    note: {self.case.note}" if self.case.note else ""
        return (
            f"{self.case.id}\n    {self.case.principal} {self.case.action} {self.case.resource}"
            f"\n    expected {want}, got {self.result}: {self.reason}{note}"
        )


# --- the simulator process -------------------------------------------------------------


def simulator_missing() -> str | None:
    """Why the simulator cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH (the IAM simulation runs @cloud-copilot/iam-simulate)"
    if not (SIMULATOR_PACKAGE / "package.json").is_file():
        return (
            "@cloud-copilot/iam-simulate is not installed: "
            "npm ci --prefix tools/iam-sim --no-audit --no-fund (make setup does it)"
        )
    return None


def simulate(cases: Iterable[Case], timeout: int = 300) -> list[Decision]:
    """Evaluate every case in one simulator process."""
    cases = list(cases)
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise ReviewError(f"simulation cases must have unique ids; repeated: {twice[:10]}")
    why = simulator_missing()
    if why:
        raise ReviewError(why)
    payload = json.dumps({"cases": [c.request() for c in cases]})
    proc = subprocess.run(
        ["node", str(SIMULATOR_SCRIPT)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=SIMULATOR_DIR,
        timeout=timeout,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    if proc.returncode != 0:
        raise ReviewError(f"iam-simulate failed ({proc.returncode}): {proc.stderr.strip()}")
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    return [Decision(c, results[c.id]["result"], results[c.id]["reason"]) for c in cases]


# --- the plan ---------------------------------------------------------------------------


class KnownPlan:
    """Lookups in a plan whose values are all known."""

    def __init__(
        self,
        doc: Mapping[str, Any],
        region: str,
        account: str,
        values: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.doc = doc
        self.region = region
        self.account = account
        self.resources: dict[str, tuple[str, dict[str, Any]]] = {
            rc["address"]: (
                rc["type"],
                (values or {}).get(rc["address"]) or rc["change"]["after"] or {},
            )
            for rc in doc["resource_changes"]
            if rc["mode"] == "managed"
        }
        self._address = {id(v): a for a, (_, v) in self.resources.items()}

    @classmethod
    def filled(cls, doc: Mapping[str, Any]) -> KnownPlan:
        """Any plan with its unknown values worked out in memory (:class:`PlanFiller`)."""
        filler = PlanFiller(doc)
        values = {a: filler.after(a) for a, rc in filler.changes.items() if rc["mode"] == "managed"}
        return cls(doc, filler.region, filler.account, values)

    def doc_of(self, value: Mapping[str, Any] | None, attr: str = "policy") -> Policy | None:
        """A policy attribute as a document; :class:`Unknown` when known only after apply."""
        if value is None:
            return None
        text = value.get(attr)
        if isinstance(text, str) and text:
            return json.loads(text)
        address = self._address.get(id(value), "?")
        rc_unknown = self._unknown_attrs.get(address, {})
        if rc_unknown.get(attr) is True:
            return Unknown(f"{address} ({attr} known only after apply)", address)
        return None

    @cached_property
    def _unknown_attrs(self) -> dict[str, dict[str, Any]]:
        return {
            rc["address"]: rc["change"].get("after_unknown") or {}
            for rc in self.doc["resource_changes"]
            if rc["mode"] == "managed"
        }

    def address_of(self, rtype: str, **match: Any) -> str | None:
        value = self.one(rtype, **match)
        return None if value is None else self._address.get(id(value))

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {a: v for a, (t, v) in self.resources.items() if t == rtype}

    def one(self, rtype: str, **match: Any) -> dict[str, Any] | None:
        for value in self.of_type(rtype).values():
            if all(value.get(k) == v for k, v in match.items()):
                return value
        return None

    # policies ---------------------------------------------------------------------------

    def key_policy(self, key_arn: str) -> Policy:
        key = self.one("aws_kms_key", arn=key_arn)
        if key is None:
            if is_unresolved(key_arn):
                return Unknown(f"a key known only after apply {key_arn}", "")
            raise ReviewError(f"no KMS key {key_arn} in the plan")
        return self.doc_of(key) or {}

    def queue_policy(self, queue_arn: str) -> Policy | None:
        for policy in self.of_type("aws_sqs_queue_policy").values():
            queue = self.one("aws_sqs_queue", url=policy["queue_url"])
            if queue and queue["arn"] == queue_arn:
                return self.doc_of(policy)
        return self.doc_of(self.one("aws_sqs_queue", arn=queue_arn))

    def topic_policy(self, topic_arn: str) -> Policy | None:
        policy = self.one("aws_sns_topic_policy", arn=topic_arn)
        if policy:
            return self.doc_of(policy)
        return self.doc_of(self.one("aws_sns_topic", arn=topic_arn))

    def bucket_policy(self, bucket: str) -> Policy | None:
        return self.doc_of(self.one("aws_s3_bucket_policy", bucket=bucket))

    def bucket_key(self, bucket: str) -> str | None:
        sse = self.one("aws_s3_bucket_server_side_encryption_configuration", bucket=bucket)
        if not sse:
            return None
        default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
        return default["kms_master_key_id"] or None

    def role(self, role_arn: str) -> dict[str, Any]:
        role = self.one("aws_iam_role", arn=role_arn)
        if role is None:
            raise ReviewError(f"no IAM role {role_arn} in the plan")
        return role

    def role_policies(self, role_arn: str) -> tuple[tuple[str, Policy], ...]:
        """Inline policies of a role (managed attachments are AWS's and not in the plan)."""
        role = self.role(role_arn)
        return tuple(
            (p["name"], self.doc_of(p) or {})
            for p in self.of_type("aws_iam_role_policy").values()
            if p["role"] == role["name"]
        )

    def trust_policy(self, role_arn: str) -> Policy:
        return self.doc_of(self.role(role_arn), "assume_role_policy") or {}

    def identity_policies(self) -> dict[str, Policy]:
        """Every IAM identity policy document in the plan (inline role policies), by address."""
        return {
            address: self.doc_of(value) or {}
            for rtype in ("aws_iam_role_policy", "aws_iam_policy", "aws_iam_user_policy")
            for address, value in self.of_type(rtype).items()
            if value.get("policy") or self.doc_of(value)
        }

    def endpoint_policies(self, service: str) -> tuple[tuple[str, Policy], ...]:
        """Non-default policies of this plan's VPC endpoints for ``service``."""
        out = []
        for address, endpoint in self.of_type("aws_vpc_endpoint").items():
            if endpoint["service_name"].endswith(f".{service}") and self.doc_of(endpoint):
                out.append((address, self.doc_of(endpoint) or {}))
        return tuple(out)

    # ARNs ------------------------------------------------------------------------------

    @property
    def other_account(self) -> str:
        """An account that is not the plan's, for look-alike requests."""
        return OTHER_ACCOUNT if self.account != OTHER_ACCOUNT else OTHER_ACCOUNT_ELSE

    def arn(self, service: str, resource: str, account: str | None = None) -> str:
        return f"arn:aws:{service}:{self.region}:{account or self.account}:{resource}"

    def via(self, service: str) -> str:
        return f"{service}.{self.region}.amazonaws.com"


def _tls() -> dict[str, str]:
    return {"aws:SecureTransport": "true"}


def _service(plan: KnownPlan, source_arn: str | None, account: str | None = None) -> dict[str, Any]:
    ctx: dict[str, Any] = _tls()
    if source_arn:
        ctx["aws:SourceArn"] = source_arn
    ctx["aws:SourceAccount"] = account or plan.account
    return ctx


# --- the integrations -------------------------------------------------------------------


def _s3_to_sqs(plan: KnownPlan) -> Iterator[Case]:
    """S3 event notifications to SQS, and the queue's key."""
    for note in plan.of_type("aws_s3_bucket_notification").values():
        bucket = note["bucket"]
        bucket_arn = f"arn:aws:s3:::{bucket}"
        for queue_arn in sorted({q["queue_arn"] for q in note.get("queue") or []}):
            policy = plan.queue_policy(queue_arn)
            name = queue_arn.rsplit(":", 1)[1]
            base = {
                "principal": "s3.amazonaws.com",
                "action": "sqs:SendMessage",
                "resource": queue_arn,
                "resource_account": plan.account,
                "resource_policy": policy,
            }
            yield Case(
                "s3-to-sqs-queue",
                f"{bucket} -> {name}",
                expect="allowed",
                context=_service(plan, bucket_arn),
                **base,
            )
            yield Case(
                "s3-to-sqs-queue",
                f"another bucket of this account -> {name}",
                expect="denied",
                context=_service(plan, "arn:aws:s3:::another-bucket-of-this-account"),
                **base,
            )
            yield Case(
                "s3-to-sqs-queue",
                f"a bucket of another account -> {name}",
                expect="denied",
                context=_service(plan, "arn:aws:s3:::lookalike-bucket", plan.other_account),
                **base,
            )
            queue = plan.one("aws_sqs_queue", arn=queue_arn) or {}
            key = queue.get("kms_master_key_id")
            if not key:
                continue
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                yield Case(
                    "s3-to-sqs-key",
                    f"{bucket} -> {name}: {action}",
                    principal="s3.amazonaws.com",
                    action=action,
                    resource=key,
                    resource_account=plan.account,
                    expect="allowed",
                    context={
                        **_tls(),
                        "kms:ViaService": plan.via("sqs"),
                        "kms:EncryptionContext:aws:sqs:arn": queue_arn,
                    },
                    resource_policy=plan.key_policy(key),
                    note="AWS documents no aws:SourceAccount/aws:SourceArn on S3's KMS request "
                    "for an encrypted destination queue; its key-policy example has no "
                    "condition. The context is SQS's encryption context (aws:sqs:arn).",
                )
            yield Case(
                "s3-to-sqs-key",
                f"{bucket} -> a queue of another account: kms:GenerateDataKey",
                principal="s3.amazonaws.com",
                action="kms:GenerateDataKey",
                resource=key,
                resource_account=plan.account,
                expect="denied",
                context={
                    **_service(plan, "arn:aws:s3:::lookalike-bucket", plan.other_account),
                    "kms:ViaService": plan.via("sqs"),
                    "kms:EncryptionContext:aws:sqs:arn": plan.arn("sqs", name, plan.other_account),
                },
                resource_policy=plan.key_policy(key),
            )


def _rule_arn(plan: KnownPlan, rule: str, bus: str | None = None) -> str:
    """A rule's ARN: ``rule/<name>`` on the default bus, ``rule/<bus>/<name>`` on another."""
    bus = (bus or "default").rsplit("/", 1)[-1]
    return plan.arn("events", f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}")


def _eventbridge(plan: KnownPlan) -> Iterator[Case]:
    """EventBridge rule targets: SNS topics, SQS queues, CloudWatch Logs groups, their keys.

    A target's dead-letter queue is an EventBridge -> SQS delivery too: its queue
    policy must let events.amazonaws.com send from the rule, and its key let
    EventBridge generate data keys ("Granting permissions to the dead-letter
    queue", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
    """
    dead_letters: set[tuple[str, str]] = set()  # one rule's targets often share one
    for target in plan.of_type("aws_cloudwatch_event_target").values():
        bus = target.get("event_bus_name")
        rule_arn = _rule_arn(plan, target["rule"], bus)
        for dlq in target.get("dead_letter_config") or []:
            pair = (target["rule"], dlq.get("arn") or "")
            if pair[1] and not is_unresolved(pair[1]) and pair not in dead_letters:
                dead_letters.add(pair)
                yield from _eventbridge_into(plan, *pair, "dead letters", bus=bus)
        arn = target["arn"]
        if is_unresolved(arn):
            continue  # reported by _unknown_targets
        service = arn.split(":")[2]
        if service in ("sns", "sqs"):
            yield from _eventbridge_into(plan, target["rule"], arn, bus=bus)
        elif service == "logs":
            group = arn.split(":log-group:", 1)[1]
            policies = [
                plan.doc_of(p, "policy_document") or {}
                for p in plan.of_type("aws_cloudwatch_log_resource_policy").values()
            ]
            unknown = [p for p in policies if isinstance(p, Unknown)]
            policy: Policy = (
                unknown[0]
                if unknown
                else {
                    "Version": "2012-10-17",
                    "Statement": [s for p in policies for s in _statements(p)],
                }
            )
            stream = plan.arn("logs", f"log-group:{group}:log-stream:findings-stream")
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                yield Case(
                    "eventbridge-to-logs",
                    f"{target['rule']} -> {group}: {action}",
                    principal="events.amazonaws.com",
                    action=action,
                    resource=stream,
                    resource_account=plan.account,
                    expect="allowed",
                    context=_service(plan, rule_arn),
                    resource_policy=policy,
                )
            yield Case(
                "eventbridge-to-logs",
                f"{target['rule']} -> a group not named: logs:PutLogEvents",
                principal="events.amazonaws.com",
                action="logs:PutLogEvents",
                resource=plan.arn("logs", "log-group:/aws/events/another:log-stream:s"),
                resource_account=plan.account,
                expect="denied",
                context=_service(plan, rule_arn),
                resource_policy=policy,
            )


#: Why the EventBridge key requests carry no source conditions, per target service.
_EVENTBRIDGE_KEY_NOTE = {
    "sns": "SNS's key-management guide: source conditions (aws:SourceAccount, "
    "aws:SourceArn) are not supported for EventBridge to encrypted topics, so "
    "the request carries only the service's encryption context.",
    "sqs": "SQS's key-management guide gives EventBridge kms:GenerateDataKey and "
    "kms:Decrypt in its key-policy example without a source condition; the request "
    "here carries only the queue's encryption context.",
}


def _eventbridge_into(
    plan: KnownPlan, rule: str, arn: str, what: str = "", bus: str | None = None
) -> Iterator[Case]:
    """EventBridge delivering from ``rule`` (on ``bus``) into a topic or a queue, and its key.

    The file-notification topics are these too: rules on the file-event bus, whose
    ARNs name the bus (``rule/<bus>/<rule>``).
    """
    rule_arn = _rule_arn(plan, rule, bus)
    service = arn.split(":")[2]
    action = "sns:Publish" if service == "sns" else "sqs:SendMessage"
    policy = plan.topic_policy(arn) if service == "sns" else plan.queue_policy(arn)
    kind = f"eventbridge-to-{service}"
    name = arn.rsplit(":", 1)[1] + (f" ({what})" if what else "")
    base = {
        "principal": "events.amazonaws.com",
        "action": action,
        "resource": arn,
        "resource_account": plan.account,
        "resource_policy": policy,
    }
    yield Case(
        kind, f"{rule} -> {name}", expect="allowed", **base, context=_service(plan, rule_arn)
    )
    yield Case(
        kind,
        f"another rule -> {name}",
        expect="denied",
        **base,
        context=_service(plan, _rule_arn(plan, "another-rule", bus)),
    )
    yield Case(
        kind,
        f"a rule of another account -> {name}",
        expect="denied",
        **base,
        context=_service(plan, _rule_arn_other(plan), plan.other_account),
    )
    owner = plan.one("aws_sns_topic" if service == "sns" else "aws_sqs_queue", arn=arn)
    key = (owner or {}).get("kms_master_key_id")
    if key:
        yield from _delivery_key(
            plan,
            f"{kind}-key",
            principal="events.amazonaws.com",
            key=key,
            service=service,
            target_arn=arn,
            name=f"{rule} -> {name}",
            note=_EVENTBRIDGE_KEY_NOTE[service],
        )


def _rule_arn_other(plan: KnownPlan) -> str:
    return plan.arn("events", "rule/lookalike-rule", plan.other_account)


def _statements(policy: Policy) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _delivery_key(
    plan: KnownPlan,
    kind: str,
    *,
    principal: str,
    key: str,
    service: str,
    target_arn: str,
    name: str,
    note: str,
) -> Iterator[Case]:
    """A service delivering into an encrypted topic or queue: the key-policy side."""
    context_key = (
        "kms:EncryptionContext:aws:sns:topicArn"
        if service == "sns"
        else "kms:EncryptionContext:aws:sqs:arn"
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        yield Case(
            kind,
            f"{name}: {action}",
            principal=principal,
            action=action,
            resource=key,
            resource_account=plan.account,
            expect="allowed",
            context={**_tls(), "kms:ViaService": plan.via(service), context_key: target_arn},
            resource_policy=plan.key_policy(key),
            note=note,
        )
    lookalike = target_arn.replace(f":{plan.account}:", f":{plan.other_account}:")
    yield Case(
        kind,
        f"{name} of another account: kms:GenerateDataKey",
        principal=principal,
        action="kms:GenerateDataKey",
        resource=key,
        resource_account=plan.account,
        expect="denied",
        context={
            **_service(plan, None, plan.other_account),
            "kms:ViaService": plan.via(service),
            context_key: lookalike,
        },
        resource_policy=plan.key_policy(key),
    )


def _alarms(plan: KnownPlan) -> Iterator[Case]:
    """CloudWatch alarms publishing to SNS topics, and the topics' keys."""
    seen_keys: set[str] = set()
    for alarm in plan.of_type("aws_cloudwatch_metric_alarm").values():
        alarm_arn = plan.arn("cloudwatch", f"alarm:{alarm['alarm_name']}")
        actions = {*alarm.get("alarm_actions", []), *alarm.get("ok_actions", [])}
        for topic_arn in sorted(a for a in actions if a.startswith("arn:aws:sns:")):
            topic = topic_arn.rsplit(":", 1)[1]
            base = {
                "principal": "cloudwatch.amazonaws.com",
                "action": "sns:Publish",
                "resource": topic_arn,
                "resource_account": plan.account,
                "resource_policy": plan.topic_policy(topic_arn),
            }
            yield Case(
                "alarms-to-sns",
                f"{alarm['alarm_name']} -> {topic}",
                expect="allowed",
                context=_service(plan, alarm_arn),
                **base,
            )
            yield Case(
                "alarms-to-sns",
                f"an alarm of another account -> {topic} ({alarm['alarm_name']})",
                expect="denied",
                context=_service(
                    plan,
                    plan.arn("cloudwatch", "alarm:lookalike", plan.other_account),
                    plan.other_account,
                ),
                **base,
            )
            key = (plan.one("aws_sns_topic", arn=topic_arn) or {}).get("kms_master_key_id")
            if key and topic_arn not in seen_keys:
                seen_keys.add(topic_arn)
                yield from _delivery_key(
                    plan,
                    "alarms-to-sns-key",
                    principal="cloudwatch.amazonaws.com",
                    key=key,
                    service="sns",
                    target_arn=topic_arn,
                    name=f"alarms -> {topic}",
                    note="CloudWatch's guide for alarms on encrypted topics gives a key-policy "
                    "statement with no condition and documents no source keys on the KMS "
                    "request; the request carries SNS's encryption context only.",
                )


def _cloudtrail(plan: KnownPlan) -> Iterator[Case]:
    """CloudTrail: the bucket (ACL check, log files), the key, CloudWatch Logs via its role."""
    for trail in plan.of_type("aws_cloudtrail").values():
        trail_arn = plan.arn("cloudtrail", f"trail/{trail['name']}")
        other_trail = plan.arn("cloudtrail", "trail/another-trail")
        bucket = trail["s3_bucket_name"]
        bucket_policy = plan.bucket_policy(bucket)
        prefix = f"{trail['s3_key_prefix']}/" if trail.get("s3_key_prefix") else ""
        log_file = (
            f"arn:aws:s3:::{bucket}/{prefix}AWSLogs/{plan.account}/CloudTrail/{plan.region}/"
            f"2025/01/01/{plan.account}_CloudTrail_{plan.region}_20250101T0000Z_x.json.gz"
        )
        key = trail.get("kms_key_id")
        put_context = {
            **_service(plan, trail_arn),
            "s3:x-amz-acl": "bucket-owner-full-control",
            "s3:TlsVersion": "1.2",
        }
        if key:
            put_context["s3:x-amz-server-side-encryption"] = "aws:kms"
            put_context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key
        s3 = {"principal": "cloudtrail.amazonaws.com", "resource_account": plan.account}
        yield Case(
            "cloudtrail-to-bucket",
            f"{trail['name']}: s3:GetBucketAcl",
            **s3,
            action="s3:GetBucketAcl",
            resource=f"arn:aws:s3:::{bucket}",
            expect="allowed",
            context={**_service(plan, trail_arn), "s3:TlsVersion": "1.2"},
            resource_policy=bucket_policy,
        )
        yield Case(
            "cloudtrail-to-bucket",
            f"{trail['name']}: s3:PutObject (log file)",
            **s3,
            action="s3:PutObject",
            resource=log_file,
            expect="allowed",
            context=put_context,
            resource_policy=bucket_policy,
        )
        yield Case(
            "cloudtrail-to-bucket",
            "another trail: s3:PutObject",
            **s3,
            action="s3:PutObject",
            resource=log_file,
            expect="denied",
            context={**put_context, "aws:SourceArn": other_trail},
            resource_policy=bucket_policy,
        )
        yield Case(
            "cloudtrail-to-bucket",
            "a trail of another account: s3:PutObject",
            **s3,
            action="s3:PutObject",
            resource=log_file.replace(f"AWSLogs/{plan.account}/", f"AWSLogs/{plan.other_account}/"),
            expect="denied",
            context={
                **put_context,
                "aws:SourceArn": plan.arn("cloudtrail", "trail/lookalike", plan.other_account),
                "aws:SourceAccount": plan.other_account,
            },
            resource_policy=bucket_policy,
        )
        if key:
            kms = {
                "principal": "cloudtrail.amazonaws.com",
                "resource": key,
                "resource_account": plan.account,
                "resource_policy": plan.key_policy(key),
            }
            yield Case(
                "cloudtrail-to-key",
                f"{trail['name']}: kms:GenerateDataKey",
                **kms,
                action="kms:GenerateDataKey",
                expect="allowed",
                context={
                    **_service(plan, trail_arn),
                    "kms:EncryptionContext:aws:cloudtrail:arn": trail_arn,
                },
            )
            yield Case(
                "cloudtrail-to-key",
                f"{trail['name']}: kms:DescribeKey",
                **kms,
                action="kms:DescribeKey",
                expect="allowed",
                context=_service(plan, trail_arn),
            )
            yield Case(
                "cloudtrail-to-key",
                "another trail: kms:GenerateDataKey",
                **kms,
                action="kms:GenerateDataKey",
                expect="denied",
                context={
                    **_service(plan, other_trail),
                    "kms:EncryptionContext:aws:cloudtrail:arn": other_trail,
                },
            )
        role_arn = trail.get("cloud_watch_logs_role_arn")
        group_arn = trail.get("cloud_watch_logs_group_arn")
        if role_arn and group_arn:
            yield from _delivery_role(
                plan,
                "cloudtrail-to-logs",
                service="cloudtrail.amazonaws.com",
                role_arn=role_arn,
                source_arn=trail_arn,
                other_source=other_trail,
                stream_arn=group_arn.removesuffix(":*")
                + f":log-stream:{plan.account}_CloudTrail_{plan.region}",
                actions=("logs:CreateLogStream", "logs:PutLogEvents"),
            )


def _delivery_role(
    plan: KnownPlan,
    kind: str,
    *,
    service: str,
    role_arn: str,
    source_arn: str,
    other_source: str,
    stream_arn: str,
    actions: tuple[str, ...],
) -> Iterator[Case]:
    """A service assumes its delivery role (trust policy), then writes with it."""
    role = plan.role(role_arn)
    trust = plan.trust_policy(role_arn)
    assume = {
        "principal": service,
        "action": "sts:AssumeRole",
        "resource": role_arn,
        "resource_account": plan.account,
        "resource_policy": trust,
    }
    yield Case(
        kind,
        f"{service} assumes {role['name']}",
        expect="allowed",
        context=_service(plan, source_arn),
        **assume,
    )
    yield Case(
        kind,
        f"{service} for another source assumes {role['name']}",
        expect="denied",
        context=_service(plan, other_source),
        **assume,
    )
    yield Case(
        kind,
        f"{service} for another account assumes {role['name']}",
        expect="denied",
        context=_service(
            plan, other_source.replace(plan.account, plan.other_account), plan.other_account
        ),
        **assume,
    )
    session = f"arn:aws:sts::{plan.account}:assumed-role/{role['name']}/delivery"
    identity = plan.role_policies(role_arn)
    for action in actions:
        yield Case(
            kind,
            f"{role['name']}: {action}",
            principal=session,
            action=action,
            resource=stream_arn,
            resource_account=plan.account,
            expect="allowed",
            context=_tls(),
            identity=identity,
        )
    prefix = stream_arn.split(":log-group:", maxsplit=1)[0]
    other_stream = f"{prefix}:log-group:/another/group:log-stream:s"
    yield Case(
        kind,
        f"{role['name']}: logs:PutLogEvents to another group",
        principal=session,
        action="logs:PutLogEvents",
        resource=other_stream,
        resource_account=plan.account,
        expect="denied",
        context=_tls(),
        identity=identity,
    )


def _flow_logs(plan: KnownPlan) -> Iterator[Case]:
    """VPC flow logs deliver to CloudWatch Logs through their role."""
    for flow in plan.of_type("aws_flow_log").values():
        if not flow.get("iam_role_arn") or flow.get("log_destination_type") not in (
            None,
            "cloud-watch-logs",
        ):
            continue
        flow_arn = plan.arn("ec2", "vpc-flow-log/fl-0123456789abcdef0")
        yield from _delivery_role(
            plan,
            "flow-logs-to-logs",
            service="vpc-flow-logs.amazonaws.com",
            role_arn=flow["iam_role_arn"],
            source_arn=flow_arn,
            other_source=plan.arn("ec2", "vpc-flow-log/fl-lookalike", plan.other_account),
            stream_arn=flow["log_destination"] + ":log-stream:eni-0123456789abcdef0-all",
            actions=("logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"),
        )


def _logs_keys(plan: KnownPlan) -> Iterator[Case]:
    """CloudWatch Logs encrypting each log group with its key."""
    principal = f"logs.{plan.region}.amazonaws.com"
    for group in plan.of_type("aws_cloudwatch_log_group").values():
        key = group.get("kms_key_id")
        if not key:
            continue
        group_arn = plan.arn("logs", f"log-group:{group['name']}")
        kms = {
            "principal": principal,
            "resource": key,
            "resource_account": plan.account,
            "resource_policy": plan.key_policy(key),
        }
        # AWS's key-policy example puts every action under the encryption-context
        # condition: CloudWatch Logs uses the key only with the group's context.
        for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"):
            context = {**_tls(), "kms:EncryptionContext:aws:logs:arn": group_arn}
            yield Case(
                "logs-to-key",
                f"{group['name']}: {action}",
                action=action,
                expect="allowed",
                context=context,
                **kms,
            )
        yield Case(
            "logs-to-key",
            f"a group of another account ({group['name']}): kms:GenerateDataKey",
            action="kms:GenerateDataKey",
            expect="denied",
            context={
                **_tls(),
                "kms:EncryptionContext:aws:logs:arn": plan.arn(
                    "logs", f"log-group:{group['name']}", plan.other_account
                ),
            },
            **kms,
        )


#: What AWS's managed AmazonMacieServiceRolePolicy grants the service-linked role on
#: objects (AWS's managed policy is not part of the plan): reading any object.
MACIE_SERVICE_ROLE_READ: Policy = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "MacieReadsObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": "*",
        }
    ],
}


def _macie(plan: KnownPlan) -> Iterator[Case]:
    """Macie's service-linked role reading the job's objects and decrypting their keys."""
    slr = next(iter(plan.of_type("aws_iam_service_linked_role").values()), None)
    jobs = plan.of_type("aws_macie2_classification_job").values()
    if slr is None:
        return
    other_slr = slr["arn"].replace(f"::{plan.account}:", f"::{plan.other_account}:")
    session = slr["arn"]
    identity = (
        ("AmazonMacieServiceRolePolicy (AWS managed, object reads)", MACIE_SERVICE_ROLE_READ),
    )
    for job in jobs:
        for definition in job["s3_job_definition"][0]["bucket_definitions"]:
            for bucket in definition["buckets"]:
                obj = f"arn:aws:s3:::{bucket}/incoming/sample.csv"
                s3 = {
                    "action": "s3:GetObject",
                    "resource": obj,
                    "resource_account": plan.account,
                    "resource_policy": plan.bucket_policy(bucket),
                }
                ctx = {**_tls(), "s3:TlsVersion": "1.2"}
                yield Case(
                    "macie-to-objects",
                    f"{bucket}: s3:GetObject",
                    principal=session,
                    expect="allowed",
                    context=ctx,
                    identity=identity,
                    **s3,
                )
                key = plan.bucket_key(bucket)
                if not key:
                    continue
                kms = {
                    "resource": key,
                    "resource_account": plan.account,
                    "resource_policy": plan.key_policy(key),
                }
                ctx = {
                    **_tls(),
                    "kms:ViaService": plan.via("s3"),
                    "kms:CallerAccount": plan.account,
                    "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}",
                }
                yield Case(
                    "macie-to-keys",
                    f"{bucket}: kms:Decrypt",
                    principal=session,
                    action="kms:Decrypt",
                    expect="allowed",
                    context=ctx,
                    **kms,
                )
                yield Case(
                    "macie-to-keys",
                    f"another account's Macie, {bucket}: kms:Decrypt",
                    principal=other_slr,
                    action="kms:Decrypt",
                    expect="denied",
                    context={**ctx, "kms:CallerAccount": plan.other_account},
                    **kms,
                )
                yield Case(
                    "macie-least-privilege",
                    f"{bucket}'s key: kms:GenerateDataKey",
                    principal=session,
                    action="kms:GenerateDataKey",
                    expect="denied",
                    context=ctx,
                    **kms,
                )


# --- the processor role -----------------------------------------------------------------


@dataclass(frozen=True)
class _Processor:
    plan: KnownPlan
    function: dict[str, Any]

    @property
    def role_arn(self) -> str:
        return self.function["role"]

    @property
    def session(self) -> str:
        name = self.role_arn.rsplit("/", 1)[1]
        return (
            f"arn:aws:sts::{self.plan.account}:assumed-role/{name}/{self.function['function_name']}"
        )

    @property
    def env(self) -> dict[str, str]:
        env = (self.function.get("environment") or [{}])[0].get("variables") or {}
        return env if isinstance(env, dict) and not is_unresolved(env) else {}

    # One parameter per field of the request, positional like the request reads.
    def case(  # noqa: PLR0917
        self,
        kind: str,
        name: str,
        action: str,
        resource: str,
        expect: str,
        context: Mapping[str, Any] | None = None,
        resource_policy: Policy | None = None,
        endpoint: str | None = None,
        account: str | None = None,
        note: str = "",
    ) -> Case:
        plan = self.plan
        ctx = {
            **_tls(),
            "aws:PrincipalArn": self.role_arn,
            "aws:PrincipalAccount": plan.account,
            "aws:ResourceAccount": account or plan.account,
            **(context or {}),
        }
        return Case(
            kind,
            name,
            principal=self.session,
            action=action,
            resource=resource,
            resource_account=account or plan.account,
            expect=expect,
            context=ctx,
            identity=plan.role_policies(self.role_arn),
            resource_policy=resource_policy,
            endpoint_policies=plan.endpoint_policies(endpoint) if endpoint else (),
            note=note,
        )

    def key_case(  # noqa: PLR0917
        self,
        kind: str,
        name: str,
        action: str,
        key: str,
        via: str | None,
        expect: str,
        context: Mapping[str, Any] | None = None,
    ) -> Case:
        plan = self.plan
        ctx: dict[str, Any] = {"kms:CallerAccount": plan.account, **(context or {})}
        if via:
            ctx["kms:ViaService"] = plan.via(via)
        return self.case(kind, name, action, key, expect, ctx, plan.key_policy(key))


def _processor(plan: KnownPlan, delete_raw: str) -> Iterator[Case]:
    """Every AWS call lambda_src/ferry makes with the function's role."""
    for function in plan.of_type("aws_lambda_function").values():
        p = _Processor(plan, function)
        env = p.env
        if "FERRY_PROCESSED_BUCKET" not in env:
            continue  # the dead-letter consumer and the migration function have their own roles
        raw = _raw_bucket(plan, function)
        processed, failed = env["FERRY_PROCESSED_BUCKET"], env["FERRY_FAILED_BUCKET"]
        s3ctx = {"s3:TlsVersion": "1.2"}

        def obj(bucket: str, key: str = "incoming/orders/2025/a.csv") -> str:
            return f"arn:aws:s3:::{bucket}/{key}"

        # S3 (ferry.aws.S3): HeadObject/GetObject (+VersionId) on raw; PutObject on
        # processed and failed; CopyObject raw -> failed (GetObject + PutObject).
        for action in ("s3:GetObject", "s3:GetObjectVersion"):
            yield p.case(
                "processor-s3",
                f"raw: {action}",
                action,
                obj(raw),
                "allowed",
                s3ctx,
                plan.bucket_policy(raw),
                "s3",
            )
        for bucket in (processed, failed):
            yield p.case(
                "processor-s3",
                f"{bucket}: s3:PutObject",
                "s3:PutObject",
                obj(bucket, "results/a.json"),
                "allowed",
                s3ctx,
                plan.bucket_policy(bucket),
                "s3",
            )
        yield p.case(
            "processor-s3",
            "raw: s3:DeleteObject",
            "s3:DeleteObject",
            obj(raw),
            "denied" if delete_raw == "never" else "allowed",
            s3ctx,
            plan.bucket_policy(raw),
            "s3",
            note=f"the processing configuration's delete_raw is {delete_raw!r}",
        )
        yield p.case(
            "processor-s3",
            "raw: s3:PutObject (never writes raw)",
            "s3:PutObject",
            obj(raw),
            "denied",
            s3ctx,
            plan.bucket_policy(raw),
            "s3",
        )
        for other in _other_buckets(plan, {raw, processed, failed}):
            yield p.case(
                "processor-s3",
                f"{other}: s3:GetObject",
                "s3:GetObject",
                obj(other),
                "denied",
                s3ctx,
                plan.bucket_policy(other),
                "s3",
            )
        yield p.case(
            "processor-s3",
            "another account's bucket: s3:PutObject",
            "s3:PutObject",
            obj("lookalike-bucket"),
            "denied",
            s3ctx,
            None,
            "s3",
            account=plan.other_account,
        )

        # KMS through S3: decrypt raw objects, data keys for written objects.
        for bucket, action in (
            (raw, "kms:Decrypt"),
            (processed, "kms:GenerateDataKey"),
            (failed, "kms:GenerateDataKey"),
            (failed, "kms:Decrypt"),
        ):
            key = plan.bucket_key(bucket)
            if key:
                yield p.key_case(
                    "processor-kms-via-s3",
                    f"{bucket}: {action}",
                    action,
                    key,
                    "s3",
                    "allowed",
                    {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"},
                )
        key = plan.bucket_key(raw)
        if key:
            yield p.key_case(
                "processor-kms-via-s3",
                "storage key used directly: kms:Decrypt",
                "kms:Decrypt",
                key,
                None,
                "denied",
            )

        # DynamoDB (ferry.ledger, ferry.aws.DynamoDB): ledger get/put/update, records
        # put and batch write, metadata put; tables encrypted with their keys.
        calls = {
            "FERRY_LEDGER_TABLE": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
            "FERRY_RECORDS_TABLE": ("dynamodb:PutItem", "dynamodb:BatchWriteItem"),
            "FERRY_METADATA_TABLE": ("dynamodb:PutItem",),
        }
        for variable, actions in calls.items():
            table = env[variable]
            arn = plan.arn("dynamodb", f"table/{table}")
            for action in actions:
                yield p.case(
                    "processor-dynamodb",
                    f"{table}: {action}",
                    action,
                    arn,
                    "allowed",
                    endpoint="dynamodb",
                )
            spec = plan.one("aws_dynamodb_table", name=table) or {}
            sse = (spec.get("server_side_encryption") or [{}])[0]
            if sse.get("kms_key_arn"):
                yield p.key_case(
                    "processor-dynamodb",
                    f"{table}'s key: kms:Decrypt",
                    "kms:Decrypt",
                    sse["kms_key_arn"],
                    "dynamodb",
                    "allowed",
                )
        yield p.case(
            "processor-dynamodb",
            "another table: dynamodb:PutItem",
            "dynamodb:PutItem",
            plan.arn("dynamodb", "table/another-table"),
            "denied",
            endpoint="dynamodb",
        )

        # SQS: the event source mapping polls with the function's role.
        for mapping in plan.of_type("aws_lambda_event_source_mapping").values():
            target = str(mapping.get("function_name") or "")
            if target and not target.endswith(str(function.get("function_name"))):
                continue  # another function's mapping (the dead-letter consumer's)
            queue_arn = mapping["event_source_arn"]
            policy = plan.queue_policy(queue_arn)
            for action in (
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ):
                yield p.case(
                    "processor-sqs",
                    f"{action}",
                    action,
                    queue_arn,
                    "allowed",
                    resource_policy=policy,
                    endpoint="sqs",
                )
            key = (plan.one("aws_sqs_queue", arn=queue_arn) or {}).get("kms_master_key_id")
            if key:
                yield p.key_case(
                    "processor-sqs",
                    "queue key: kms:Decrypt",
                    "kms:Decrypt",
                    key,
                    "sqs",
                    "allowed",
                    {"kms:EncryptionContext:aws:sqs:arn": queue_arn},
                )
            yield p.case(
                "processor-sqs",
                "another queue: sqs:ReceiveMessage",
                "sqs:ReceiveMessage",
                plan.arn("sqs", "another-queue"),
                "denied",
                endpoint="sqs",
            )
            yield p.case(
                "processor-sqs",
                "another account's queue: sqs:ReceiveMessage",
                "sqs:ReceiveMessage",
                plan.arn("sqs", queue_arn.rsplit(":", 1)[1], plan.other_account),
                "denied",
                endpoint="sqs",
                account=plan.other_account,
            )

        # The database (ferry.db): a secret, or IAM authentication.
        yield from _processor_database(plan, p)

        # X-Ray (ferry.tracing) and CloudWatch Logs (the runtime and EMF metrics).
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            yield p.case("processor-telemetry", action, action, "*", "allowed")
        group = (function.get("logging_config") or [{}])[0].get("log_group") or (
            f"/aws/lambda/{function['function_name']}"
        )
        stream = plan.arn("logs", f"log-group:{group}:log-stream:2025/01/01/[$LATEST]abc")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            yield p.case(
                "processor-telemetry",
                f"{group}: {action}",
                action,
                stream,
                "allowed",
                endpoint="logs",
            )
        yield p.case(
            "processor-telemetry",
            "another group: logs:PutLogEvents",
            "logs:PutLogEvents",
            plan.arn("logs", "log-group:/aws/lambda/another:log-stream:s"),
            "denied",
        )

        yield from _eni(plan, p)


def _raw_bucket(plan: KnownPlan, function: dict[str, Any]) -> str:
    for note in plan.of_type("aws_s3_bucket_notification").values():
        return note["bucket"]
    raise ReviewError(f"no raw bucket notification for {function['function_name']}")


def _other_buckets(plan: KnownPlan, ours: set[str]) -> list[str]:
    return sorted(
        b["bucket"] for b in plan.of_type("aws_s3_bucket").values() if b["bucket"] not in ours
    )


def _processor_database(plan: KnownPlan, p: _Processor) -> Iterator[Case]:
    env = p.env
    auth = env.get("FERRY_DB_AUTH", "secret" if env.get("FERRY_DB_SECRET_ARN") else "")
    if auth == "secret":
        secret = env["FERRY_DB_SECRET_ARN"]
        yield p.case(
            "processor-database",
            "secretsmanager:GetSecretValue",
            "secretsmanager:GetSecretValue",
            secret,
            "allowed",
            endpoint="secretsmanager",
        )
        db = next(iter(plan.of_type("aws_db_instance").values()), {})
        for entry in db.get("master_user_secret") or []:
            if entry.get("secret_arn") == secret and entry.get("kms_key_id"):
                yield p.key_case(
                    "processor-database",
                    "secret key: kms:Decrypt",
                    "kms:Decrypt",
                    entry["kms_key_id"],
                    "secretsmanager",
                    "allowed",
                    {"kms:EncryptionContext:SecretARN": secret},
                )
        yield p.case(
            "processor-database",
            "another secret: secretsmanager:GetSecretValue",
            "secretsmanager:GetSecretValue",
            plan.arn("secretsmanager", "secret:another-AbCdEf"),
            "denied",
            endpoint="secretsmanager",
        )
    elif auth == "iam":
        db = next(iter(plan.of_type("aws_db_instance").values()))
        user = env["FERRY_DB_USER"]
        arn = plan.arn("rds-db", f"dbuser:{db['resource_id']}/{user}")
        yield p.case(
            "processor-database", f"rds-db:connect as {user}", "rds-db:connect", arn, "allowed"
        )
        master = db.get("username") or "postgres"
        yield p.case(
            "processor-database",
            f"rds-db:connect as {master}",
            "rds-db:connect",
            plan.arn("rds-db", f"dbuser:{db['resource_id']}/{master}"),
            "denied",
        )


def _eni(plan: KnownPlan, p: _Processor) -> Iterator[Case]:
    """Lambda managing the function's network interfaces with its execution role."""
    vpc = (p.function.get("vpc_config") or [{}])[0]
    if not vpc.get("subnet_ids"):
        return
    note = (
        "Lambda's VPC guide: CreateNetworkInterface and DescribeNetworkInterfaces only "
        "work when allowed on all resources, and DeleteNetworkInterface needs every "
        "interface; Lambda checks them at function creation with no subnet in the request. "
        "The request is an interface of this account with no ec2:Subnet context."
    )
    eni = plan.arn("ec2", "network-interface/eni-0123456789abcdef0")
    for action in (
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ):
        yield p.case("lambda-eni", action, action, eni, "allowed", note=note)
    for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"):
        yield p.case("lambda-eni-describe", action, action, "*", "allowed")


def _file_events(plan: KnownPlan) -> Iterator[Case]:
    """The processor and the dead-letter consumer publishing file events to their bus.

    PutEvents on the bus's ARN with the entry's source and detail-type as
    ``events:source`` / ``events:detail-type`` ("Using IAM policy conditions in
    Amazon EventBridge", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html).
    Look-alikes: another source on the same bus, the same source on the default
    bus, and a bus of the same name in another account.
    """
    for function in plan.of_type("aws_lambda_function").values():
        p = _Processor(plan, function)
        bus, source = p.env.get("FERRY_EVENT_BUS"), p.env.get("FERRY_EVENT_SOURCE")
        if not bus or not source:
            continue
        bus_arn = bus if bus.startswith("arn:") else plan.arn("events", f"event-bus/{bus}")
        name = function["function_name"]
        account = bus_arn.split(":")[4]
        for label, arn, src, expect, in_account in (
            (f"{source} on its bus", bus_arn, source, "allowed", account),
            ("another source on its bus", bus_arn, "ferry.another", "denied", account),
            (f"{source} on the default bus", plan.arn("events", "event-bus/default"), source,
             "denied", plan.account),
            (f"{source} on a bus of another account",
             bus_arn.replace(f":{account}:", f":{plan.other_account}:"), source, "denied",
             plan.other_account),
        ):  # fmt: skip
            yield p.case(
                "functions-to-eventbridge",
                f"{name}: {label}",
                "events:PutEvents",
                arn,
                expect,
                {"events:source": src, "events:detail-type": "FileLoaded"},
                account=in_account,
            )


#: GuardDuty Malware Protection for S3's service principal (the plan's role trusts it).
MALWARE_PRINCIPAL = "malware-protection-plan.guardduty.amazonaws.com"
MALWARE_RULE = "rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3"


def _as_role(  # noqa: PLR0917
    plan: KnownPlan,
    role_arn: str,
    identity: tuple[tuple[str, Policy], ...],
    label: str,
    action: str,
    resource: str,
    expect: str,
    context: Mapping[str, Any] | None = None,
    resource_policy: Policy | None = None,
    kind: str = "malware-role",
) -> Case:
    """A request of a session of ``role_arn`` (a role a service assumes)."""
    name = role_arn.rsplit("/", 1)[1]
    ctx = {**_tls(), "aws:PrincipalArn": role_arn, "aws:PrincipalAccount": plan.account}
    return Case(
        kind,
        label,
        f"arn:aws:sts::{plan.account}:assumed-role/{name}/GuardDutyMalwareProtection",
        action,
        resource,
        plan.account,
        expect,
        {**ctx, **(context or {})},
        identity=identity,
        resource_policy=resource_policy,
    )


def _malware(plan: KnownPlan) -> Iterator[Case]:
    """GuardDuty Malware Protection for S3: assuming the plan's role, and what the role does.

    "Create or update IAM role policy",
    https://docs.aws.amazon.com/guardduty/latest/ug/malware-protection-s3-iam-policy-prerequisite.html:
    the trust policy for malware-protection-plan.guardduty.amazonaws.com (that page's
    trust policy names no condition; the module adds aws:SourceAccount against a
    confused deputy, and the request carries the plan as aws:SourceArn), the managed EventBridge
    rule (events:ManagedBy), the bucket's EventBridge notifications, reading and
    tagging objects, the validation object, and the objects' key through S3.
    """
    for gd in plan.of_type("aws_guardduty_malware_protection_plan").values():
        role_arn = gd["role"]
        bucket = gd["protected_resource"][0]["s3_bucket"][0]["bucket_name"]
        plan_arn = gd.get("arn")
        if not plan_arn or is_unresolved(plan_arn):
            # The plan's id exists only after apply and is never named in a policy
            # (the role exists before the plan); any id of this account stands in.
            plan_arn = plan.arn("guardduty", "malware-protection-plan/b4c7f464ab3a4EXAMPLE")
        trust = plan.trust_policy(role_arn)
        assume = {
            "action": "sts:AssumeRole",
            "resource": role_arn,
            "resource_account": plan.account,
            "resource_policy": trust,
        }
        yield Case(
            "malware-trust", "the plan of this account", MALWARE_PRINCIPAL,
            expect="allowed", context=_service(plan, plan_arn), **assume,
        )  # fmt: skip
        other = plan_arn.replace(f":{plan.account}:", f":{plan.other_account}:")
        yield Case(
            "malware-trust", "a plan of another account", MALWARE_PRINCIPAL,
            expect="denied", context=_service(plan, other, plan.other_account), **assume,
        )  # fmt: skip
        yield Case(
            "malware-trust", "GuardDuty's EC2 malware scanning (another principal)",
            "malware-protection.guardduty.amazonaws.com",
            expect="denied", context=_service(plan, plan_arn), **assume,
        )  # fmt: skip

        bucket_policy = plan.bucket_policy(bucket)
        raw = f"arn:aws:s3:::{bucket}"
        managed_rule = plan.arn("events", f"{MALWARE_RULE}-{bucket}")
        managed = {"events:ManagedBy": MALWARE_PRINCIPAL}

        role_case = functools.partial(_as_role, plan, role_arn, plan.role_policies(role_arn))

        obj = f"{raw}/incoming/orders/a.csv"
        tags = gd.get("actions") or [{}]
        tagging = (tags[0].get("tagging") or [{}])[0].get("status") == "ENABLED"
        allowed = [
            ("events:PutRule", managed_rule, managed), ("events:PutTargets", managed_rule, managed),
            ("events:DeleteRule", managed_rule, managed),
            ("events:RemoveTargets", managed_rule, managed),
            ("events:DescribeRule", managed_rule, None),
            ("events:ListTargetsByRule", managed_rule, None),
            ("s3:PutBucketNotification", raw, None), ("s3:GetBucketNotification", raw, None),
            ("s3:ListBucket", raw, None), ("s3:GetObject", obj, None),
            ("s3:GetObjectVersion", obj, None),
            ("s3:PutObject", f"{raw}/malware-protection-resource-validation-object", None),
        ] + ([("s3:PutObjectTagging", obj, None), ("s3:GetObjectTagging", obj, None)]
             if tagging else [])  # fmt: skip
        for action, resource, ctx in allowed:
            policy = bucket_policy if resource.startswith("arn:aws:s3") else None
            yield role_case(f"{action} {resource.rsplit(':', 1)[-1]}", action, resource,
                            "allowed", ctx, policy)  # fmt: skip
        for label, action, resource, ctx in (
            ("a rule GuardDuty does not manage", "events:PutRule",
             plan.arn("events", "rule/another-rule"), managed),
            ("its rule, not as GuardDuty's managed rule", "events:PutTargets", managed_rule,
             {"events:ManagedBy": "another.amazonaws.com"}),
            ("an object other than the validation object", "s3:PutObject", obj, None),
            ("another bucket", "s3:GetObject", "arn:aws:s3:::another-bucket/a.csv", None),
        ):  # fmt: skip
            policy = bucket_policy if resource.startswith(raw) else None
            yield role_case(label, action, resource, "denied", ctx, policy)

        key = plan.bucket_key(bucket)
        if not key:
            continue
        via = {"kms:ViaService": plan.via("s3"), "kms:EncryptionContext:aws:s3:arn": raw}
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            yield role_case(f"{action} through S3", action, key, "allowed",
                            {**via, "kms:CallerAccount": plan.account}, plan.key_policy(key),
                            "malware-key")  # fmt: skip
        yield role_case("kms:Decrypt not through S3", "kms:Decrypt", key, "denied",
                        {"kms:CallerAccount": plan.account}, plan.key_policy(key),
                        "malware-key")  # fmt: skip


# --- everything -------------------------------------------------------------------------

#: The integrations, in report order.
BUILDERS = (
    _s3_to_sqs,
    _eventbridge,
    _alarms,
    _cloudtrail,
    _flow_logs,
    _logs_keys,
    _macie,
    _file_events,
    _malware,
)


def build_cases(plan: KnownPlan, delete_raw: str = "never") -> list[Case]:
    cases = [c for build in BUILDERS for c in build(plan)]
    cases += list(_processor(plan, delete_raw))
    return cases


# --- the review's deployability findings -------------------------------------------------

#: Integration -> (rule id, the AWS page its request context and policies follow).
#: The rules' severity and title are declared in policy/rego/deploy.rego with the
#: other deployability rules (so policy/COMPLIANCE.md lists them).
INTEGRATIONS: dict[str, tuple[str, str]] = {
    "s3-to-sqs-queue": ("FERRY-DEPLOY-101", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html"),
    "s3-to-sqs-key": ("FERRY-DEPLOY-102", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services"),
    "eventbridge-to-sns": ("FERRY-DEPLOY-103", "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions"),
    "eventbridge-to-sns-key": ("FERRY-DEPLOY-104", "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services"),
    "eventbridge-to-sqs": ("FERRY-DEPLOY-105", "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions"),
    "eventbridge-to-sqs-key": ("FERRY-DEPLOY-106", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html#compatibility-with-aws-services"),
    "eventbridge-to-logs": ("FERRY-DEPLOY-107", "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions"),
    "alarms-to-sns": ("FERRY-DEPLOY-108", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-sns-topic-policy"),
    "alarms-to-sns-key": ("FERRY-DEPLOY-109", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#Encrypted_SNS_Topics"),
    "cloudtrail-to-bucket": ("FERRY-DEPLOY-110", "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html"),
    "cloudtrail-to-key": ("FERRY-DEPLOY-111", "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html"),
    "cloudtrail-to-logs": ("FERRY-DEPLOY-112", "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-required-policy-for-cloudwatch-logs.html"),
    "flow-logs-to-logs": ("FERRY-DEPLOY-113", "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"),
    "logs-to-key": ("FERRY-DEPLOY-114", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"),
    "macie-to-objects": ("FERRY-DEPLOY-115", "https://docs.aws.amazon.com/macie/latest/user/service-linked-roles.html"),
    "macie-to-keys": ("FERRY-DEPLOY-116", "https://docs.aws.amazon.com/macie/latest/user/discovery-supported-encryption-types.html"),
    "macie-least-privilege": ("FERRY-DEPLOY-117", "https://docs.aws.amazon.com/macie/latest/user/discovery-supported-encryption-types.html"),
    "processor-s3": ("FERRY-DEPLOY-118", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html"),
    "processor-kms-via-s3": ("FERRY-DEPLOY-119", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html#aws-managed-customer-managed-keys"),
    "processor-dynamodb": ("FERRY-DEPLOY-120", "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.usagenotes.html"),
    "processor-sqs": ("FERRY-DEPLOY-121", "https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-permissions"),
    "processor-database": ("FERRY-DEPLOY-122", "https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html"),
    "processor-telemetry": ("FERRY-DEPLOY-123", "https://docs.aws.amazon.com/lambda/latest/dg/permissions-executionrole-features.html"),
    "lambda-eni": ("FERRY-DEPLOY-124", "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions"),
    "lambda-eni-describe": ("FERRY-DEPLOY-125", "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions"),
    "functions-to-eventbridge": ("FERRY-DEPLOY-126", "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html"),
    "malware-trust": ("FERRY-DEPLOY-127", "https://docs.aws.amazon.com/guardduty/latest/ug/malware-protection-s3-iam-policy-prerequisite.html"),
    "malware-role": ("FERRY-DEPLOY-128", "https://docs.aws.amazon.com/guardduty/latest/ug/malware-protection-s3-iam-policy-prerequisite.html"),
    "malware-key": ("FERRY-DEPLOY-129", "https://docs.aws.amazon.com/guardduty/latest/ug/malware-protection-s3-iam-policy-prerequisite.html"),
}  # fmt: skip

#: The simulation could not run (no node, no simulator): said as a finding, never a pass.
NOT_RUN = "FERRY-DEPLOY-100"
#: A request could not be evaluated (a policy or an ARN it needs is known only after apply).
COULD_NOT_EVALUATE = "FERRY-DEPLOY-UNKNOWN"
#: Severities, as declared in policy/rego/deploy.rego (checked by tests/policy).
SEVERITY = {NOT_RUN: "high", COULD_NOT_EVALUATE: "medium", "FERRY-DEPLOY-117": "medium"}
#: Cases listed in full in one finding's message; the rest are counted.
SHOWN = 3


def unknowns(case: Case) -> list[tuple[str, str]]:
    """(address, why) of everything a case needs that is known only after apply."""
    out: list[tuple[str, str]] = []
    policies = [p for _, p in case.identity] + [p for _, p in case.endpoint_policies]
    policies.append(case.resource_policy or {})
    out += [(p.address, p.why) for p in policies if isinstance(p, Unknown)]
    for label, value in (("principal", case.principal), ("resource", case.resource)):
        if is_unresolved(value):
            out.append((_where(value), f"the {label} {value}"))
    for key, value in case.context.items():
        if is_unresolved(value):
            out.append((_where(str(value)), f"the request's {key} {value}"))
    return out


def _where(marker: str) -> str:
    """The resource address inside an unresolved marker."""
    inner = marker.split("(unknown:", 1)[1].rsplit(")", 1)[0]
    match = re.match(
        r"^((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*[a-z0-9_]+\.[\w-]+(?:\[[^\]]*\])?)", inner
    )
    return match.group(1) if match else inner


def _subject(plan: KnownPlan, case: Case) -> str:
    """The plan address a finding on this case points at: what decides the request."""
    resource = case.resource
    if case.action.startswith("kms:"):
        address = plan.address_of("aws_kms_key", arn=resource)
        if address:
            return address
    if case.action == "sts:AssumeRole":
        return plan.address_of("aws_iam_role", arn=resource) or resource
    session = re.match(r"^arn:aws:sts::\d+:assumed-role/([^/]+)/", case.principal)
    if session:
        return plan.address_of("aws_iam_role", name=session.group(1)) or case.principal
    # Before the service-linked role: AWS manages its policy, so what the plan decides
    # about its object reads is the bucket policy.
    if resource.startswith("arn:aws:s3:::"):
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        return (
            plan.address_of("aws_s3_bucket_policy", bucket=bucket)
            or plan.address_of("aws_s3_bucket", bucket=bucket)
            or resource
        )
    if case.principal.startswith("arn:aws:iam::") and "aws-service-role" in case.principal:
        return plan.address_of("aws_iam_service_linked_role", arn=case.principal) or case.principal
    for rtype in ("aws_sqs_queue", "aws_sns_topic"):
        address = plan.address_of(rtype, arn=resource)
        if address:
            return address
    if ":log-group:" in resource:
        policies = list(plan.of_type("aws_cloudwatch_log_resource_policy"))
        return policies[0] if policies else resource
    return resource


def _could_not_evaluate(address: str, kinds: set[str], why: list[str]) -> Violation:
    rules = ", ".join(sorted({INTEGRATIONS[k][0] for k in kinds if k in INTEGRATIONS}))
    reasons = "; ".join(sorted(set(why))[:SHOWN])
    more = len(set(why)) - SHOWN
    return Violation(
        COULD_NOT_EVALUATE,
        SEVERITY[COULD_NOT_EVALUATE],
        address,
        f"{COULD_NOT_EVALUATE} ({SEVERITY[COULD_NOT_EVALUATE]}): {address}: could not evaluate "
        f"{rules} (the service-integration simulation): {reasons}"
        f"{f' (+{more} more)' if more > 0 else ''}; make it known at plan time (build ARNs "
        "from names, account and region; policies from aws_iam_policy_document with known "
        "inputs) or waive this finding",
    )


def _finding(kind: str, address: str, wrong: list[Decision]) -> Violation:
    rid, doc = INTEGRATIONS[kind]
    severity = SEVERITY.get(rid, "high")
    shown = [
        f"{d.case.name}: {d.case.principal} {d.case.action} {d.case.resource} must be "
        f"{d.case.expect}, got {d.result} ({d.reason})"
        + (f" [note: {d.case.note}]" if d.case.note else "")
        for d in wrong[:SHOWN]
    ]
    more = f" (+{len(wrong) - SHOWN} more)" if len(wrong) > SHOWN else ""
    denied = sum(1 for d in wrong if d.case.expect == "allowed")
    what = (
        f"AWS would refuse {denied} request(s) the {kind} integration makes"
        if denied
        else f"{len(wrong)} look-alike request(s) of the {kind} integration would be allowed"
    )
    return Violation(
        rid,
        severity,
        address,
        f"{rid} ({severity}): {address}: {what}: " + "; ".join(shown) + more + f"; see {doc}",
    )


def violations(plan: Mapping[str, Any]) -> list[Violation]:
    """The service-integration simulation of any plan, as deployability findings.

    Unknown values are worked out in memory (:meth:`KnownPlan.filled`); a
    request that needs a policy or an ARN known only after apply is a
    FERRY-DEPLOY-UNKNOWN finding on the resource that holds it, never a pass.
    Each integration whose requests AWS would decide otherwise than needed
    (a denied request, an allowed look-alike) is one FERRY-DEPLOY-1xx finding
    per deciding resource, with the requests, the deciding statements and the
    AWS page. Without node or the simulator the review gets FERRY-DEPLOY-100.
    """
    if not plan.get("resource_changes"):
        return []
    known = KnownPlan.filled(plan)
    cases: list[Case] = []
    blocked: dict[str, tuple[set[str], list[str]]] = {}

    def cannot(address: str, kind: str, why: str) -> None:
        kinds, reasons = blocked.setdefault(address, (set(), []))
        kinds.add(kind)
        reasons.append(why)

    for build in (*BUILDERS, lambda p: _processor(p, "never")):
        try:
            built = list(build(known))
        except (KeyError, TypeError, AttributeError, IndexError, ReviewError) as err:
            name = getattr(build, "__name__", "processor").strip("_")
            cannot("plan", name, f"the {name} requests could not be built ({err!r})")
            continue
        cases += built
    for address, kinds in {**_unknown_environments(known), **_unknown_targets(known)}.items():
        for kind in kinds:
            cannot(address, kind, _UNKNOWN_WHY[kind.split("-", 1)[0]])
    evaluable = []
    for case in cases:
        missing = unknowns(case)
        for address, why in missing:
            cannot(address or _subject(known, case), case.kind, why)
        if not missing:
            evaluable.append(case)
    out = [_could_not_evaluate(a, k, w) for a, (k, w) in blocked.items()]
    why = simulator_missing()
    if why and evaluable:
        return sorted([*out, _not_run(why, len(evaluable))])
    wrong: dict[tuple[str, str], list[Decision]] = {}
    for decision in simulate(evaluable) if evaluable else []:
        if not decision.as_expected:
            key = (decision.case.kind, _subject(known, decision.case))
            wrong.setdefault(key, []).append(decision)
    out += [_finding(kind, address, ds) for (kind, address), ds in wrong.items()]
    return sorted(out)


def _not_run(why: str, count: int) -> Violation:
    return Violation(
        NOT_RUN,
        SEVERITY[NOT_RUN],
        "plan",
        f"{NOT_RUN} ({SEVERITY[NOT_RUN]}): plan: the service-integration simulation did not "
        f"run, {count} request(s) unevaluated: {why}",
    )


_UNKNOWN_WHY = {
    "processor": "the function's environment (its buckets, tables, queue) is known after apply",
    "eventbridge": "the target's ARN is known only after apply",
}


def _unknown_targets(plan: KnownPlan) -> dict[str, set[str]]:
    """EventBridge targets whose ARN is known only after apply (and names nothing here)."""
    kinds = {"eventbridge-to-sns", "eventbridge-to-sqs", "eventbridge-to-logs"}
    return {
        address: kinds
        for address, target in plan.of_type("aws_cloudwatch_event_target").items()
        if is_unresolved(target.get("arn"))
    }


def _unknown_environments(plan: KnownPlan) -> dict[str, set[str]]:
    """Functions consuming a queue whose environment is known only after apply."""
    consumers = {
        str(m.get("function_name") or "")
        for m in plan.of_type("aws_lambda_event_source_mapping").values()
    }
    out: dict[str, set[str]] = {}
    for address, function in plan.of_type("aws_lambda_function").items():
        name = str(function.get("function_name"))
        if not any(c.endswith(name) or c == function.get("arn") for c in consumers):
            continue
        env = (function.get("environment") or [{}])[0].get("variables")
        if not isinstance(env, dict) or is_unresolved(env):
            out[address] = {k for k in INTEGRATIONS if k.startswith("processor-")}
    return out


def report(decisions: Iterable[Decision]) -> str:
    lines = []
    for d in decisions:
        mark = "ok  " if d.as_expected else "FAIL"
        lines.append(f"{mark} {d.case.id}: {d.result} (expected {d.case.expect})")
    return "\n".join(lines)


__all__ = [
    "Case",
    "Decision",
    "KnownPlan",
    "build_cases",
    "report",
    "simulate",
    "simulator_missing",
    "violations",
]
