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
"""

from __future__ import annotations

import json
import sys
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


def patch() -> None:
    """Give DynamoDB, KMS, Secrets Manager and Step Functions requests their resource ARN."""
    _patch_batch_actions()
    from moto.dynamodb.responses import DynamoHandler
    from moto.kms.responses import KmsResponse
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    KmsResponse._determine_resource = _kms_resource  # type: ignore[attr-defined]
    SecretsManagerResponse._determine_resource = _secret_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _states_resource  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> None:
    patch()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
