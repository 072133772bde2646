"""The container lane: handing a large object, with its ledger claim, to the state machine.

A route's objects go to the container lane when the route says so
(:meth:`ferry.config.Route.lane_for`). The function then does no processing:

1. it claims the object version in the ledger with the **execution name** as
   owner (:func:`execution_name`: a digest of bucket, key and version, so every
   delivery of the same version computes the same name), for
   ``FERRY_CONTAINER_LEASE_SECONDS``;
2. it calls ``StartExecution`` with that name and an input made of the object
   alone (:func:`execution_input`), so a redelivered message repeats an
   identical request: Step Functions answers it with the running execution
   instead of starting a second one (StartExecution is idempotent for the same
   name and input, https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html);
3. the state machine (``modules/container``) confirms the claim for the same
   owner, runs ``python -m ferry.task`` on Fargate, which claims the version as
   that owner again and runs the route's processor through
   :func:`ferry.flow.process_object` (same ledger, exactly-once and rejection
   logic as the function), and checks that the ledger reached a terminal state.

An execution of that name that has already *closed* while the ledger is not
terminal (its failure state recorded ``failed``, and the object is redriven)
cannot be started again under the same name for 90 days: the object is then
marked ``dead_lettered`` with the execution's name in the reason, never left
``in_progress``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ferry.aws import Refused, client, translate_errors
from ferry.model import ObjectRef

log = logging.getLogger("ferry.lanes")

#: Step Functions execution names: 1-80 characters of [0-9A-Za-z_-].
NAME_PREFIX = "ferry-"


def execution_name(ref: ObjectRef) -> str:
    """The deterministic execution name (and ledger owner) of one object version."""
    digest = hashlib.sha256(ref.ledger_id.encode("utf-8", "surrogatepass")).hexdigest()
    return NAME_PREFIX + digest[:64]


def execution_input(ref: ObjectRef) -> dict[str, Any]:
    """The execution's input: the object version alone (identical on every redelivery)."""
    return {
        "ledger_id": ref.ledger_id,
        "bucket": ref.bucket,
        "key": ref.key,
        "version_id": ref.version_id or "null",
    }


class AlreadyRan(Exception):
    """An execution with this name exists and has closed (names stay taken for 90 days)."""


@dataclass(slots=True)
class ContainerLane:
    """``StartExecution`` on the large-file state machine."""

    state_machine_arn: str
    lease_ms: int
    _client: Any = field(default=None, repr=False)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = client("stepfunctions")
        return self._client

    def start(self, ref: ObjectRef) -> str:
        """Start the object's execution (or find it running); its ARN. Transient, AlreadyRan."""
        name = execution_name(ref)
        try:
            with translate_errors(f"StartExecution {name}"):
                response = self.client.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=name,
                    input=json.dumps(execution_input(ref), sort_keys=True),
                )
        except Refused as err:
            if err.code == "ExecutionAlreadyExists":
                raise AlreadyRan(str(err)) from None
            raise
        return str(response["executionArn"])
