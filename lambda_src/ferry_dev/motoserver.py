"""``python -m ferry_dev.motoserver``: moto's server with resource-level IAM checks.

moto can enforce IAM (``INITIAL_NO_AUTH_ACTION_COUNT``, or ``POST
/moto-api/reset-auth`` with the count), but it evaluates identity policies
against the request's resource only where a service tells it which resource a
request is about: S3 (bucket and key ARNs) and SQS (the queue ARN). DynamoDB,
KMS, Secrets Manager and Step Functions requests are checked against ``"*"``, so a policy that
allows ``dynamodb:PutItem`` on one table ARN (least privilege, as AWS
evaluates it) is refused, and only ``"Resource": "*"`` passes.

This entry point names the resource for those three services the way AWS
does (the table ARN from ``TableName`` / ``RequestItems``, the key ARN from
``KeyId``, the secret ARN from ``SecretId``, the state machine or execution ARN
from ``stateMachineArn`` / ``executionArn``) and then runs moto's server
unchanged. ``tests/e2e/test_moto_iam.py`` measures what is enforced with and
without it. Everything else (conditions, resource policies, key policies,
permission boundaries) is moto's: see the README's "Enforced IAM" section.

EventBridge ``PutEvents`` is checked against ``"*"`` too, and moto passes no
request context to identity policies, so a role allowed ``events:PutEvents``
on one bus with an ``events:source`` condition (as AWS documents it) is
refused. Here each entry is authorised on its own: against its bus's ARN,
with ``events:source`` and ``events:detail-type`` from the entry ("Using IAM
policy conditions in Amazon EventBridge",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html),
by :func:`identity_allows` (Deny wins, an Allow must match action, resource and
every condition). One entry refused refuses the whole call (AWS reports it per
entry; ferry sends one entry per call, so the outcome is the same for it).

A retried request gets the first attempt's answer (:class:`RetryReplay`): the
AWS SDKs send every attempt of one call with the same ``amz-sdk-invocation-id``,
and under load the emulator answers some attempts too late for the SDK, which
retries a create that has already happened (``FlowLogAlreadyExists``,
``InvalidPermission.Duplicate``). AWS makes such retries safe with client
tokens, which moto ignores.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any


def _dynamodb_resource(handler: Any) -> str:
    body = getattr(handler, "body", None) or getattr(handler, "params", None) or {}
    if not isinstance(body, dict):
        return "*"
    name = body.get("TableName")
    if not name:
        for key in ("RequestItems",):
            items = body.get(key)
            if isinstance(items, dict) and items:
                name = next(iter(items))
        for key in ("TransactItems",):
            items = body.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict):
                first = next(iter(items[0].values()), {})
                name = first.get("TableName") if isinstance(first, dict) else None
    if not isinstance(name, str) or not name:
        return "*"
    if name.startswith("arn:"):
        return name
    from moto.utilities.utils import get_partition

    partition = get_partition(handler.region)
    return f"arn:{partition}:dynamodb:{handler.region}:{handler.current_account}:table/{name}"


def _json_param(handler: Any, name: str) -> Any:
    try:
        return json.loads(handler.body or "{}").get(name)
    except (TypeError, ValueError, AttributeError):
        return None


def _kms_resource(handler: Any) -> str:
    key_id = _json_param(handler, "KeyId")
    if not isinstance(key_id, str) or not key_id:
        return "*"
    from moto.kms.models import kms_backends

    try:
        backend = kms_backends[handler.current_account][handler.region]
        return str(backend.describe_key(key_id).arn)
    except Exception:  # an unknown key: let the action fail as moto would
        return "*"


def _secret_resource(handler: Any) -> str:
    secret_id = _json_param(handler, "SecretId")
    if not isinstance(secret_id, str) or not secret_id:
        return "*"
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        backend = secretsmanager_backends[handler.current_account][handler.region]
        return str(backend.describe_secret(secret_id).arn)
    except Exception:
        return "*"


def _states_resource(handler: Any) -> str:
    for name in ("stateMachineArn", "executionArn"):
        arn = _json_param(handler, name)
        if isinstance(arn, str) and arn.startswith("arn:"):
            return arn
    return "*"


# SQS authorises its batch actions with the single-message permissions
# ("Amazon SQS API permissions: Actions and resource reference",
# https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html):
# there is no sqs:DeleteMessageBatch in IAM. moto checks the batch name.
_SQS_BATCH = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:SendMessageBatch": "sqs:SendMessage",
}


def _patch_batch_actions() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = _SQS_BATCH.get(self._action, self._action)

    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


class Requests(str):
    """The resource moto checks (the first one), with every (resource ARN, context) to authorise."""

    requests: tuple[tuple[str, dict[str, str]], ...] = ()

    @classmethod
    def of(cls, requests: list[tuple[str, dict[str, str]]]) -> Requests:
        out = cls(requests[0][0] if requests else "*")
        out.requests = tuple(requests)
        return out


def _events_resource(handler: Any) -> str:
    """PutEvents: each entry's bus ARN, with its events:source and events:detail-type."""
    if handler._get_action() != "PutEvents":
        return "*"
    entries = _json_param(handler, "Entries")
    if not isinstance(entries, list) or not entries:
        return "*"
    from moto.utilities.utils import get_partition

    prefix = (
        f"arn:{get_partition(handler.region)}:events:{handler.region}:{handler.current_account}"
    )
    requests = []
    for given in entries:
        entry = given if isinstance(given, dict) else {}
        bus = str(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else f"{prefix}:event-bus/{bus}"
        context = {
            "events:source": str(entry.get("Source") or ""),
            "events:detail-type": str(entry.get("DetailType") or ""),
        }
        requests.append((arn, context))
    return Requests.of(requests)


def _matches(patterns: Any, value: str, *, case: bool = True) -> bool:
    flags = 0 if case else re.IGNORECASE
    for pattern in patterns if isinstance(patterns, list) else [patterns]:
        regex = "^" + ".*".join(re.escape(part) for part in str(pattern).split("*")) + "$"
        if re.match(regex.replace(r"\?", "."), value, flags):
            return True
    return False


# Condition operators "IAM JSON policy elements: Condition operators" defines
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)
# that this check evaluates; any other operator refuses the request (never a silent pass).
_OPERATORS = {
    "StringEquals": lambda want, got: got in (want if isinstance(want, list) else [want]),
    "StringLike": _matches,
    "ArnEquals": _matches,
    "ArnLike": _matches,
}


def _condition_holds(operator: str, values: dict[str, Any], context: dict[str, str]) -> bool:
    """One condition operator over its keys; ``ForAllValues:`` / ``ForAnyValue:`` take a
    key's values as a set ("Set operators for multivalued context keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html)."""
    qualifier, _, operator = operator.rpartition(":")
    if qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise KeyError(qualifier)
    lowered = {k.lower(): v for k, v in context.items()}
    if operator == "Null":
        return all(
            (lowered.get(key.lower()) is None) == (str(want).lower() == "true")
            for key, want in values.items()
        )
    if_exists = operator.endswith("IfExists")
    name = operator.removesuffix("IfExists")
    negated = "Not" in name
    test = _OPERATORS.get(name.replace("Not", ""))
    if test is None:
        raise KeyError(operator)
    for key, want in values.items():
        got = lowered.get(key.lower())
        if got is None:
            if qualifier == "ForAllValues" or (not qualifier and (if_exists or negated)):
                continue
            return False
        each = [(test(want, g) != negated) for g in (got if isinstance(got, list) else [got])]
        if not (any(each) if qualifier == "ForAnyValue" else all(each)):
            return False
    return True


def _statement_applies(
    statement: dict[str, Any], action: str, resource: str, context: dict[str, str]
) -> bool:
    def element(name: str, value: str, *, case: bool) -> bool | None:
        if name in statement:
            return _matches(statement[name], value, case=case)
        if f"Not{name}" in statement:
            return not _matches(statement[f"Not{name}"], value, case=case)
        return None

    if not element("Action", action, case=False):
        return False
    if element("Resource", resource, case=True) is False:
        return False
    return all(
        _condition_holds(op, values, context)
        for op, values in (statement.get("Condition") or {}).items()
    )


def identity_allows(
    documents: list[dict[str, Any]], action: str, resource: str, context: dict[str, str]
) -> bool:
    """AWS's evaluation of identity policies for one request: an explicit Deny wins, else an Allow.

    ("Policy evaluation logic", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.)
    A condition operator this check does not evaluate refuses the request.
    """
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            try:
                applies = _statement_applies(statement, action, resource, context)
            except KeyError:
                return False
            if applies and statement.get("Effect") == "Deny":
                return False
            allowed = allowed or (applies and statement.get("Effect") == "Allow")
    return allowed


def _access_denied(principal: str, action: str, resource: str) -> Exception:
    """What a JSON-protocol service answers (HTTP 400, ``AccessDeniedException``), not
    moto's XML 403 that botocore reads as code ``"403"``."""
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(
        "AccessDeniedException",
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        "because no identity-based policy allows the action",
    )


def _patch_request_contexts() -> None:
    """Authorise a :class:`Requests` resource per (resource, context), with the conditions."""
    from moto.iam.access_control import IAMPolicy, IAMRequestBase

    original = IAMRequestBase.check_action_permitted

    def check(self: Any, resource: str) -> None:
        requests = getattr(resource, "requests", ())
        if not requests:
            return original(self, resource)
        documents = [IAMPolicy(p)._policy_json for p in self._access_key.collect_policies()]
        for arn, context in requests:
            if not identity_allows(documents, self._action, arn, context):
                raise _access_denied(self._access_key.arn, self._action, arn)
        return None

    IAMRequestBase.check_action_permitted = check  # type: ignore[method-assign]


def _patch_retried_rules() -> None:
    """A retried AuthorizeSecurityGroupIngress/Egress of rules that exist gets them back.

    Under load the emulator's HTTP server now and then drops a connection after
    it has created a rule; the provider's SDK retries the request and moto
    answers InvalidPermission.Duplicate, failing the apply for a rule that is
    there. The emulator answers the retry with the existing rules, as the first
    answer would have. Only whole duplicates: a request adding any new rule
    still fails as before.
    """
    from moto.ec2.exceptions import InvalidPermissionDuplicateError
    from moto.ec2.models.security_groups import SecurityGroupBackend

    def idempotent(original: Any, *, is_egress: bool) -> Any:
        signature = inspect.signature(original)

        def authorize(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, *args, **kwargs)
            except InvalidPermissionDuplicateError:
                call = signature.bind(self, *args, **kwargs)
                call.apply_defaults()
                given = call.arguments
                ip_ranges = given["ip_ranges"]
                group = self.get_security_group_by_name_or_id(
                    given["group_name_or_id"], given["vpc_id"]
                )
                if group is None or (ip_ranges and not isinstance(ip_ranges, list)):
                    raise
                wanted = list(
                    self._iterate_security_rules(
                        given["ip_protocol"],
                        group.group_id,
                        given["from_port"],
                        given["to_port"],
                        ip_ranges or [],
                        self._add_source_group(given["source_groups"], given["vpc_id"]),
                        given["prefix_list_ids"] or [],
                        is_egress=is_egress,
                        tags=given["sgrule_tags"] or {},
                    )
                )
                rules = group.egress_rules if is_egress else group.ingress_rules
                existing = [rule for want in wanted for rule in rules if rule == want]
                if not wanted or len(existing) != len(wanted):
                    raise
                return existing, group

        return authorize

    backend = SecurityGroupBackend
    backend.authorize_security_group_egress = idempotent(  # type: ignore[method-assign]
        backend.authorize_security_group_egress, is_egress=True
    )
    backend.authorize_security_group_ingress = idempotent(  # type: ignore[method-assign]
        backend.authorize_security_group_ingress, is_egress=False
    )


class RetryReplay:
    """WSGI middleware: an attempt of a call already answered gets that answer again.

    Calls are told apart by the SDKs' ``amz-sdk-invocation-id`` header (the same
    on every attempt of one call). Only answers with a 2xx status to requests
    that change something (not GET or HEAD, whose bodies may be large) are kept,
    the last ``size`` of them; a retry arriving while its first attempt still
    runs waits for it. An attempt that failed is run again, as AWS would.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], size: int = 4096) -> None:
        self.app = app
        self.size = size
        self._lock = threading.Lock()
        self._calls: OrderedDict[str, tuple[threading.Event, list[Any]]] = OrderedDict()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        call = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        if not call or environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return self.app(environ, start_response)
        with self._lock:
            known = self._calls.get(call)
            if known is None:
                done, answer = threading.Event(), []
                self._calls[call] = (done, answer)
                while len(self._calls) > self.size:
                    self._calls.popitem(last=False)
        if known is not None:
            known[0].wait(timeout=300)
            if known[1]:
                status, headers, body = known[1]
                start_response(status, headers)
                return [body]
        seen: list[Any] = []

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            seen[:] = [status, headers]
            return start_response(status, headers, exc_info)

        try:
            result = self.app(environ, capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if known is None and seen and seen[0].startswith("2"):
                answer.extend([seen[0], seen[1], body])
            return [body]
        finally:
            if known is None:
                done.set()


def _patch_retry_replay() -> None:
    import moto.server

    dispatcher = moto.server.DomainDispatcherApplication

    def replaying(*args: Any, **kwargs: Any) -> RetryReplay:
        app = dispatcher(*args, **kwargs)
        wrapped = RetryReplay(app)
        wrapped.debug = True  # type: ignore[attr-defined]  # moto sets it on its app
        return wrapped

    moto.server.DomainDispatcherApplication = replaying  # type: ignore[assignment,misc]


def patch() -> None:
    """Give DynamoDB, KMS, Secrets Manager, Step Functions and EventBridge calls their resources."""
    _patch_batch_actions()
    _patch_request_contexts()
    _patch_retried_rules()
    _patch_retry_replay()
    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.kms.responses import KmsResponse
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    KmsResponse._determine_resource = _kms_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _states_resource  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _events_resource  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    patch()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
