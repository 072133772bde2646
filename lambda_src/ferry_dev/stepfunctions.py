"""The large-file state machine, run locally: the module's own definition, step by step.

moto stores state machines and executions (``StartExecution`` with its
name/input idempotency, as Step Functions has) but runs nothing. This module
renders ``modules/container/state_machine.asl.json.tftpl`` with the values
Terraform would pass (:func:`render`) and interprets it (:class:`Interpreter`)
for the parts of Amazon States Language that definition uses:

* ``Task`` states on ``arn:<partition>:states:::dynamodb:updateItem`` (the
  request goes to the emulator's DynamoDB; an error ``Code`` becomes
  ``DynamoDB.<Code>``, as the service integration names it) and on
  ``arn:<partition>:states:::ecs:runTask.sync`` (the container's environment
  overrides are handed to a ``run_task`` callable, which the local stack
  implements as a child process ``python -m ferry.task``; a non-zero exit is
  ``States.TaskFailed``, running past ``TimeoutSeconds`` is ``States.Timeout``);
* ``Parameters`` with ``.$`` paths into the input (``$.a.b``) and the context
  (``$$.Execution.Name|Id|StartTime``, ``$$.State.EnteredTime``) and the
  ``States.Format`` intrinsic;
* ``Retry`` (``ErrorEquals`` with ``States.ALL``, ``IntervalSeconds``,
  ``MaxAttempts``, ``BackoffRate``; waits scaled by ``backoff_scale``),
  ``Catch`` with ``ResultPath``, ``ResultPath: null``, ``Succeed``, ``Fail``.

Anything else in a definition is an :class:`AslError`, never a silent skip.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry_dev.terraform import REPO

TEMPLATE = REPO / "modules" / "container" / "state_machine.asl.json.tftpl"
CONTAINER_NAME = "ferry"

#: run_task(environment overrides, timeout seconds) -> (exit code, stop reason)
RunTask = Callable[[dict[str, str], float | None], tuple[int | None, str]]


class AslError(RuntimeError):
    """The definition uses something this interpreter does not implement."""


class StateError(Exception):
    """A state failed with a Step Functions error name and cause."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


def render(values: Mapping[str, Any], template: Path = TEMPLATE) -> dict[str, Any]:
    """The definition as Terraform's templatefile renders it (simple ``${name}`` values)."""
    text = template.read_text()

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise AslError(f"{template.name}: no value for ${{{name}}}")
        v = values[name]
        return json.dumps(v) if isinstance(v, list) else str(v)

    return json.loads(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, text))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path(doc: Any, path: str) -> Any:
    """``$.a.b`` (or ``$``) in ``doc``; a missing field is States.Runtime, as in AWS."""
    if path == "$":
        return doc
    if not path.startswith("$."):
        raise AslError(f"unsupported path {path!r}")
    current = doc
    for part in path[2:].split("."):
        if not isinstance(current, dict) or part not in current:
            raise StateError("States.Runtime", f"the JSONPath {path} is not in the input")
        current = current[part]
    return current


def _set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    if path == "$":
        return value
    if not path.startswith("$."):
        raise AslError(f"unsupported ResultPath {path!r}")
    out = json.loads(json.dumps(doc))
    target = out
    parts = path[2:].split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return out


_FORMAT = re.compile(r"^States\.Format\('((?:[^'\\]|\\.)*)'((?:\s*,\s*[^,]+)*)\)$")


@dataclass
class Execution:
    name: str
    arn: str
    input: dict[str, Any]
    start_time: str = field(default_factory=_now)
    status: str = "RUNNING"
    error: str | None = None
    cause: str | None = None
    history: list[tuple[str, str]] = field(default_factory=list)  # (state, what happened)


class Interpreter:
    """Runs one definition; ``dynamodb`` is a boto3 client, ``run_task`` runs the container."""

    def __init__(
        self,
        definition: Mapping[str, Any],
        *,
        dynamodb: Any,
        run_task: RunTask,
        backoff_scale: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.definition = definition
        self.dynamodb = dynamodb
        self.run_task = run_task
        self.backoff_scale = backoff_scale
        self.sleep = sleep

    # --- values --------------------------------------------------------------------

    def _resolve(self, template: Any, data: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(template, list):
            return [self._resolve(v, data, context) for v in template]
        if not isinstance(template, dict):
            return template
        out: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = self._expression(value, data, context)
            else:
                out[key] = self._resolve(value, data, context)
        return out

    def _expression(self, expr: str, data: Any, context: Mapping[str, Any]) -> Any:
        if expr.startswith("$$."):
            return _path(context, "$." + expr[3:])
        if expr.startswith("$"):
            return _path(data, expr)
        match = _FORMAT.match(expr)
        if match:
            template = match.group(1).replace("\\'", "'")
            args = [a.strip() for a in match.group(2).split(",") if a.strip()]
            values = [self._expression(a, data, context) for a in args]
            if template.count("{}") != len(values):
                raise StateError("States.IntrinsicFailure", f"{expr}: arguments do not match")
            for v in values:
                template = template.replace("{}", v if isinstance(v, str) else json.dumps(v), 1)
            return template
        raise AslError(f"unsupported expression {expr!r}")

    # --- tasks ---------------------------------------------------------------------------

    def _task(self, state: Mapping[str, Any], params: dict[str, Any]) -> Any:
        resource = str(state.get("Resource", ""))
        if resource.endswith(":states:::dynamodb:updateItem"):
            from botocore.exceptions import ClientError

            try:
                return self.dynamodb.update_item(**params)
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "AmazonDynamoDBException")
                raise StateError(f"DynamoDB.{code}", str(err)) from None
        if resource.endswith(":states:::ecs:runTask.sync"):
            environment: dict[str, str] = {}
            for override in params.get("Overrides", {}).get("ContainerOverrides", []):
                if override.get("Name") != CONTAINER_NAME:
                    raise AslError(f"override for an unknown container {override.get('Name')!r}")
                for pair in override.get("Environment", []):
                    environment[pair["Name"]] = str(pair["Value"])
            network = params.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
            if network.get("AssignPublicIp") != "DISABLED":
                raise StateError("ECS.InvalidParameterException", "tasks run without a public IP")
            timeout = state.get("TimeoutSeconds")
            code, reason = self.run_task(environment, float(timeout) if timeout else None)
            if code is None:
                raise StateError("States.Timeout", reason)
            if code != 0:
                containers = [{"name": CONTAINER_NAME, "exitCode": code}]
                cause = json.dumps({"containers": containers, "stoppedReason": reason})
                raise StateError("States.TaskFailed", cause)
            return {"containers": [{"name": CONTAINER_NAME, "exitCode": 0}]}
        raise AslError(f"unsupported Task resource {resource!r}")

    @staticmethod
    def _matches(error: str, names: list[str]) -> bool:
        return error in names or "States.ALL" in names

    def _run_with_retries(
        self, name: str, state: Mapping[str, Any], params: dict[str, Any], execution: Execution
    ) -> Any:
        """The task, retried by the first retrier that matches its error (as in AWS)."""
        retriers = state.get("Retry", [])
        attempts: dict[int, int] = {}
        while True:
            try:
                return self._task(state, params)
            except StateError as err:
                matching = [
                    i for i, r in enumerate(retriers) if self._matches(err.error, r["ErrorEquals"])
                ]
                index = matching[0] if matching else None
                if index is None:
                    raise
                retrier = retriers[index]
                done = attempts.get(index, 0)
                if done >= int(retrier.get("MaxAttempts", 3)):
                    raise
                attempts[index] = done + 1
                interval = float(retrier.get("IntervalSeconds", 1))
                wait = interval * float(retrier.get("BackoffRate", 2.0)) ** done
                execution.history.append((name, f"retry {done + 1} after {err.error}"))
                self.sleep(wait * self.backoff_scale)

    # --- the execution ----------------------------------------------------------------------

    def run(self, name: str, arn: str, execution_input: dict[str, Any]) -> Execution:
        execution = Execution(name=name, arn=arn, input=execution_input)
        states = self.definition["States"]
        current = self.definition["StartAt"]
        data: Any = execution_input
        while True:
            state = states[current]
            kind = state["Type"]
            context = {
                "Execution": {"Name": name, "Id": arn, "StartTime": execution.start_time},
                "State": {"Name": current, "EnteredTime": _now()},
            }
            if kind == "Succeed":
                execution.history.append((current, "succeeded"))
                execution.status = "SUCCEEDED"
                return execution
            if kind == "Fail":
                execution.history.append((current, "failed"))
                execution.status = "FAILED"
                execution.error = state.get("Error")
                execution.cause = state.get("Cause")
                return execution
            if kind != "Task":
                raise AslError(f"unsupported state type {kind!r} ({current})")
            try:
                params = self._resolve(state.get("Parameters", {}), data, context)
                result = self._run_with_retries(current, state, params, execution)
            except StateError as err:
                for catcher in state.get("Catch", []):
                    if self._matches(err.error, catcher["ErrorEquals"]):
                        execution.history.append((current, f"caught {err.error}"))
                        data = _set_path(
                            data,
                            catcher.get("ResultPath", "$"),
                            {"Error": err.error, "Cause": err.cause},
                        )
                        current = catcher["Next"]
                        break
                else:
                    execution.status = "FAILED"
                    execution.error, execution.cause = err.error, err.cause
                    execution.history.append((current, f"failed {err.error}"))
                    return execution
                continue
            execution.history.append((current, "done"))
            if not ("ResultPath" in state and state["ResultPath"] is None):
                data = _set_path(data, state.get("ResultPath", "$"), result)
            if state.get("End"):
                execution.status = "SUCCEEDED"
                return execution
            current = state["Next"]
