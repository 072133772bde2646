"""The container lane on moto: routing by size, the hand-off with its ledger claim,
``python -m ferry.task``, and the state machine's own definition run step by step
(ferry_dev.stepfunctions) with the task in place of the Fargate container."""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import pytest

from ferry import flow, gate, lanes, task
from ferry.config import ConfigError, Route, parse_config
from ferry.lanes import ContainerLane, execution_name
from ferry.model import ObjectRef
from ferry.runtime import Runtime
from ferry_dev.stepfunctions import AslError, Interpreter, render
from tests.processors.conftest import Stack

pytestmark = pytest.mark.moto

THRESHOLD = 64
SMALL = b"%PDF-1.7\n"  # 9 bytes: under the threshold
LARGE = b"%PDF-1.7\n" + b"x" * 200


# --- configuration ---------------------------------------------------------------------


def _config(**route: Any) -> dict[str, Any]:
    base = {"name": "docs", "prefix": "in/", "processor": "file_metadata"}
    return {"routes": [{**base, **route}]}


def test_a_route_sends_objects_over_its_threshold_to_the_container() -> None:
    route = parse_config(_config(size_threshold_bytes=100)).routes[0]
    assert route.lane_for(100) == "function"
    assert route.lane_for(101) == "container"
    assert route.lane_for(None) == "container"  # unknown size: the lane that can take anything


def test_lane_forces_one_lane_and_no_setting_means_the_function() -> None:
    assert parse_config(_config(lane="container")).routes[0].lane_for(1) == "container"
    assert parse_config(_config(lane="function")).routes[0].lane_for(10**12) == "function"
    assert parse_config(_config()).routes[0].lane_for(10**12) == "function"


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"lane": "fargate"}, "routes[0].lane: must be one of ['function', 'container']"),
        ({"size_threshold_bytes": 0}, "routes[0].size_threshold_bytes: must be a positive"),
        ({"size_threshold_bytes": "1GB"}, "routes[0].size_threshold_bytes: must be a positive"),
        ({"size_threshold_bytes": True}, "routes[0].size_threshold_bytes: must be a positive"),
        (
            {"lane": "container", "size_threshold_bytes": 10},
            "size_threshold_bytes would never apply: set one of the two",
        ),
    ],
)
def test_lane_settings_are_validated(route: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_config(_config(**route))


def test_execution_names_are_deterministic_and_valid() -> None:
    ref = ObjectRef("raw", "in/ä b.csv", "v1")
    name = execution_name(ref)
    assert name == execution_name(ObjectRef("raw", "in/ä b.csv", "v1", size=5, message_id="m"))
    assert name != execution_name(ObjectRef("raw", "in/ä b.csv", "v2"))
    assert len(name) <= 80
    assert name.replace("-", "").isalnum()
    assert lanes.execution_input(ref) == {
        "ledger_id": "s3://raw/in/ä b.csv#v1",
        "bucket": "raw",
        "key": "in/ä b.csv",
        "version_id": "v1",
    }


# --- the hand-off ----------------------------------------------------------------------


def _definition(stack: Stack, *, attempts: int = 2) -> dict[str, Any]:
    return render(
        {
            "partition": "aws",
            "ledger_table": stack.runtime.settings.ledger_table,
            "cluster_arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/test",
            "task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/test",
            "container_name": "ferry",
            "subnet_ids": ["subnet-0a1b2c3d4e5f60001"],
            "security_group_ids": ["sg-0a1b2c3d4e5f60003"],
            "task_timeout_seconds": 600,
            "task_max_attempts": attempts,
            "retry_interval_seconds": 1,
        }
    )


@pytest.fixture
def lane_stack(stack: Stack) -> Stack:
    """The moto stack with a documents route over THRESHOLD bytes and a state machine."""
    config = parse_config(
        {
            "routes": [
                {
                    "name": "documents",
                    "prefix": "incoming/documents/",
                    "processor": "file_metadata",
                    "size_threshold_bytes": THRESHOLD,
                }
            ]
        }
    )
    sfn = stack.aws("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"ferry-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps(_definition(stack)),
        roleArn="arn:aws:iam::123456789012:role/ferry-test-states",
    )["stateMachineArn"]
    stack.runtime = dataclasses.replace(
        stack.runtime,
        config=config,
        container_lane=ContainerLane(arn, 3_600_000, sfn),
    )
    return stack


def _executions(stack: Stack) -> list[dict[str, Any]]:
    lane = stack.runtime.container_lane
    assert lane is not None
    return stack.aws("stepfunctions").list_executions(stateMachineArn=lane.state_machine_arn)[
        "executions"
    ]


def test_a_large_object_is_handed_off_with_its_claim_once(lane_stack: Stack) -> None:
    ref = lane_stack.put("incoming/documents/big.pdf", LARGE)
    event = lane_stack.event(ref)
    assert lane_stack.run(event)["batchItemFailures"] == []
    assert lane_stack.run(event)["batchItemFailures"] == []  # redelivered: same request again

    executions = _executions(lane_stack)
    assert [e["name"] for e in executions] == [execution_name(ref)]
    described = lane_stack.aws("stepfunctions").describe_execution(
        executionArn=executions[0]["executionArn"]
    )
    assert json.loads(described["input"]) == lanes.execution_input(ref)
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "in_progress"
    assert item["owner"] == execution_name(ref)
    assert lane_stack.scan(lane_stack.metadata) == []  # nothing processed in the function


def test_a_small_object_on_the_same_route_stays_in_the_function(lane_stack: Stack) -> None:
    ref = lane_stack.put("incoming/documents/small.pdf", SMALL)
    assert lane_stack.run(lane_stack.event(ref))["batchItemFailures"] == []
    assert _executions(lane_stack) == []
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"


def test_without_a_state_machine_the_object_is_retried_not_dropped(lane_stack: Stack) -> None:
    lane_stack.runtime = dataclasses.replace(lane_stack.runtime, container_lane=None)
    ref = lane_stack.put("incoming/documents/big.pdf", LARGE)
    response = lane_stack.run(lane_stack.event(ref))
    assert response["batchItemFailures"] == [{"itemIdentifier": ref.message_id}]
    assert lane_stack.ledger(ref) is None


def test_an_execution_that_closed_without_a_result_dead_letters_the_object(
    lane_stack: Stack,
) -> None:
    ref = lane_stack.put("incoming/documents/big.pdf", LARGE)
    assert lane_stack.run(lane_stack.event(ref))["batchItemFailures"] == []
    sfn = lane_stack.aws("stepfunctions")
    sfn.stop_execution(executionArn=_executions(lane_stack)[0]["executionArn"])
    ledger = lane_stack.runtime.ledger
    ledger.mark_dead_lettered(ref, "recorded by the failure state")  # redrivable, as `failed` is
    assert lane_stack.run(lane_stack.event(ref))["batchItemFailures"] == []
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "dead_lettered"
    assert execution_name(ref) in item["reason"]
    assert "closed" in item["reason"]


# --- python -m ferry.task ----------------------------------------------------------------


def test_task_arguments_override_the_environment() -> None:
    env = {
        "FERRY_TASK_BUCKET": "raw",
        "FERRY_TASK_KEY": "a.csv",
        "FERRY_TASK_VERSION_ID": "null",
        "FERRY_TASK_LEDGER_ID": "s3://raw/a.csv#null",
        "FERRY_TASK_OWNER": "ferry-abc",
    }
    ref, owner, timeout = task.parse([], env)
    assert (ref, owner, timeout) == (ObjectRef("raw", "a.csv"), "ferry-abc", 3600)
    ref, owner, _ = task.parse(["--key", "b.csv", "--ledger-id", "s3://raw/b.csv#null"], env)
    assert ref.key == "b.csv"
    assert owner == "ferry-abc"


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        ([], {}),
        (["--bucket", "raw", "--key", "a.csv", "--ledger-id", "s3://raw/other.csv#null"], {}),
        (["--bucket", "raw", "--key", "a.csv", "--timeout-seconds", "5"], {}),
    ],
)
def test_task_refuses_an_object_it_cannot_name(argv: list[str], env: dict[str, str]) -> None:
    assert task.main(argv, env) == task.EXIT_USAGE


def _task_runner(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, exits: list[int] | None = None
) -> tuple[list[dict[str, str]], Any]:
    """run_task for the interpreter: ferry.task's main in-process, on the test runtime."""
    monkeypatch.setattr(Runtime, "from_env", classmethod(lambda cls, settings=None: stack.runtime))
    calls: list[dict[str, str]] = []
    scripted = list(exits or [])

    def run(overrides: dict[str, str], timeout: float | None) -> tuple[int | None, str]:
        calls.append(overrides)
        if scripted:
            return scripted.pop(0), "scripted"
        return task.main([], overrides), "exited"

    return calls, run


def _interpreter(stack: Stack, run: Any, attempts: int = 2) -> Interpreter:
    return Interpreter(
        _definition(stack, attempts=attempts),
        dynamodb=stack.ddb,
        run_task=run,
        backoff_scale=0.0,
    )


def _hand_off(stack: Stack, body: bytes = LARGE) -> tuple[ObjectRef, dict[str, Any]]:
    ref = stack.put("incoming/documents/big.pdf", body)
    assert stack.run(stack.event(ref))["batchItemFailures"] == []
    summary = _executions(stack)[0]
    return ref, summary


def test_the_state_machine_runs_the_task_and_checks_the_ledger(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, summary = _hand_off(lane_stack)
    calls, run = _task_runner(lane_stack, monkeypatch)
    execution = _interpreter(lane_stack, run).run(
        summary["name"], summary["executionArn"], lanes.execution_input(ref)
    )
    assert execution.status == "SUCCEEDED", execution.history
    assert [s for s, _ in execution.history] == ["Claim", "RunTask", "Finish", "Done"]
    assert calls == [
        {
            "FERRY_TASK_BUCKET": ref.bucket,
            "FERRY_TASK_KEY": ref.key,
            "FERRY_TASK_VERSION_ID": ref.version_id,
            "FERRY_TASK_LEDGER_ID": ref.ledger_id,
            "FERRY_TASK_OWNER": execution_name(ref),
        }
    ]
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"
    assert item["lane"] == "container"
    assert item["execution_arn"] == summary["executionArn"]
    assert int(item["attempt"]) == 2  # the hand-off's claim, then the task's (same owner)
    assert len(lane_stack.scan(lane_stack.metadata)) == 1


def test_transient_task_failures_are_retried(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, summary = _hand_off(lane_stack)
    calls, run = _task_runner(lane_stack, monkeypatch, exits=[task.EXIT_RETRY, -9])
    execution = _interpreter(lane_stack, run).run(
        summary["name"], summary["executionArn"], lanes.execution_input(ref)
    )
    assert execution.status == "SUCCEEDED"
    assert len(calls) == 3
    assert ("RunTask", "retry 2 after States.TaskFailed") in execution.history
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"
    assert len(lane_stack.scan(lane_stack.metadata)) == 1


def test_a_task_that_keeps_failing_is_recorded_in_the_ledger(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, summary = _hand_off(lane_stack)
    calls, run = _task_runner(lane_stack, monkeypatch, exits=[task.EXIT_RETRY] * 3)
    execution = _interpreter(lane_stack, run, attempts=2).run(
        summary["name"], summary["executionArn"], lanes.execution_input(ref)
    )
    assert execution.status == "FAILED"
    assert execution.error == "FerryContainerLaneFailed"
    assert len(calls) == 3  # the first run and two retries
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "failed"
    assert item["reason"] == "container lane: States.TaskFailed"
    assert json.loads(item["last_error"])["containers"][0]["exitCode"] == task.EXIT_RETRY
    assert "lease_until" not in item


def test_a_task_that_exits_cleanly_without_a_result_is_a_failure(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, summary = _hand_off(lane_stack)
    _, run = _task_runner(lane_stack, monkeypatch, exits=[0])
    execution = _interpreter(lane_stack, run).run(
        summary["name"], summary["executionArn"], lanes.execution_input(ref)
    )
    assert execution.status == "FAILED"
    assert ("Finish", "caught DynamoDB.ConditionalCheckFailedException") in execution.history
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "failed"


def test_an_object_done_already_runs_no_task(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, summary = _hand_off(lane_stack)
    calls, run = _task_runner(lane_stack, monkeypatch)
    interpreter = _interpreter(lane_stack, run)
    first = interpreter.run(summary["name"], summary["executionArn"], lanes.execution_input(ref))
    second = interpreter.run("ferry-other", "arn:other", lanes.execution_input(ref))
    assert (first.status, second.status) == ("SUCCEEDED", "SUCCEEDED")
    assert second.history == [
        ("Claim", "caught DynamoDB.ConditionalCheckFailedException"),
        ("AlreadyClaimed", "succeeded"),
    ]
    assert len(calls) == 1


def test_an_eventbridge_start_claims_a_new_object(
    lane_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = lane_stack.put("incoming/documents/direct.pdf", LARGE)  # no function involved
    _, run = _task_runner(lane_stack, monkeypatch)
    execution = _interpreter(lane_stack, run).run(
        "a1b2c3-random",
        "arn:aws:states:eu-west-1:123456789012:execution:x:a1b2c3",
        lanes.execution_input(ref),
    )
    assert execution.status == "SUCCEEDED", execution.history
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"
    assert item["owner"] == "a1b2c3-random"


def test_the_interpreter_refuses_what_it_does_not_implement(lane_stack: Stack) -> None:
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 1}}}
    with pytest.raises(AslError, match="Wait"):
        Interpreter(definition, dynamodb=None, run_task=lambda e, t: (0, "")).run("n", "a", {})


def test_routes_keep_their_options() -> None:
    route = Route("r", "p/", "", "file_metadata", {"size_threshold_bytes": 5})
    assert route.lane_for(6) == "container"


def test_settings_name_the_state_machine_and_the_injected_secret() -> None:
    from ferry.settings import Settings

    settings = Settings.from_env(
        {
            "FERRY_STATE_MACHINE_ARN": "arn:aws:states:eu-west-1:1:stateMachine:x",
            "FERRY_CONTAINER_LEASE_SECONDS": "900",
            "FERRY_DB_SECRET": '{"username": "u", "password": "p"}',
        }
    )
    assert settings.state_machine_arn == "arn:aws:states:eu-west-1:1:stateMachine:x"
    assert settings.container_lease_seconds == 900
    assert settings.db.secret_json == '{"username": "u", "password": "p"}'


def test_an_injected_secret_is_used_without_calling_secrets_manager() -> None:
    from ferry.db import DatabaseConfigError, _secret
    from ferry.settings import DbSettings

    class NoCalls:
        def get_secret_value(self, **_: Any) -> Any:
            raise AssertionError("the task must not read Secrets Manager")

    secret = _secret(DbSettings(secret_json='{"username": "u", "password": "p"}'), NoCalls())
    assert secret == {"username": "u", "password": "p"}
    with pytest.raises(DatabaseConfigError, match="FERRY_DB_SECRET needs username and password"):
        _secret(DbSettings(secret_json='{"username": "u"}'), NoCalls())


def test_the_gate_quarantines_a_large_infected_file_in_the_function(lane_stack: Stack) -> None:
    """With the malware gate on, an infected file over the threshold is never handed off."""
    settings = dataclasses.replace(lane_stack.runtime.settings, malware_gate=True)
    lane_stack.runtime = dataclasses.replace(lane_stack.runtime, settings=settings)
    ref = lane_stack.put("incoming/documents/big.pdf", LARGE)
    infected = dataclasses.replace(ref, scan_result="THREATS_FOUND", threats=("EICAR",))
    assert flow.process_object(
        infected, lane_stack.runtime, request_id="r1", remaining_ms=lambda: 60_000
    )
    assert _executions(lane_stack) == []
    item = lane_stack.ledger(ref)
    assert item is not None
    assert (item["status"], item["processor"]) == ("rejected", gate.PROCESSOR)


def test_the_container_task_is_not_stopped_by_the_gate(lane_stack: Stack) -> None:
    """The task gets what the function handed over (after the gate): no scan result to wait for."""
    settings = dataclasses.replace(lane_stack.runtime.settings, malware_gate=True)
    lane_stack.runtime = dataclasses.replace(lane_stack.runtime, settings=settings)
    ref = lane_stack.put("incoming/documents/big.pdf", LARGE)
    assert ref.scan_result is None
    done = flow.process_object(
        ref, lane_stack.runtime, request_id="task", remaining_ms=lambda: 60_000, in_container=True
    )
    assert done
    item = lane_stack.ledger(ref)
    assert item is not None
    assert item["status"] == "loaded"
