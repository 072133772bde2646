"""The container lane on the local stack: executions the function started, run step by step.

The function's hand-off calls ``StartExecution`` on the emulator, which keeps
the execution ``RUNNING`` and runs nothing. :class:`LocalLane` finds those
executions, runs each through :class:`ferry_dev.stepfunctions.Interpreter`
(the module's own definition), and runs ``python -m ferry.task`` as a child
process where Fargate would run the container: the task's environment
(:meth:`ferry_dev.local.Stack.task_env`, the secret injected as ECS injects it)
plus the state machine's overrides. A closed execution is stopped on the
emulator, so starting its name again is refused as Step Functions refuses it.

``python -m ferry_dev.lane`` keeps doing that until interrupted (``make
local`` users run it next to the workers); tests call :meth:`LocalLane.run_pending`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ferry_dev.local import DEFAULT_STATE_DIR, REPO, Stack
from ferry_dev.stepfunctions import Execution, Interpreter, render

log = logging.getLogger("ferry.local.lane")

#: Called with each task process just after it starts (fault injection in tests).
OnStart = Callable[[subprocess.Popen[bytes]], None]


class LocalLane:
    def __init__(
        self, stack: Stack, *, backoff_scale: float = 1.0, on_start: OnStart | None = None
    ) -> None:
        self.stack = stack
        self.backoff_scale = backoff_scale
        self.on_start = on_start
        self.arn = stack.outputs["function_environment"]["FERRY_STATE_MACHINE_ARN"]
        self.sfn = stack.client("stepfunctions")
        self.tasks: list[int | None] = []  # exit codes of the task processes, in order

    def run_task(self, overrides: dict[str, str], timeout: float | None) -> tuple[int | None, str]:
        """One container: ``python -m ferry.task`` with the task's environment and the overrides."""
        env = {
            **os.environ,
            **self.stack.task_env(),
            **overrides,
            "PYTHONPATH": str(REPO / "lambda_src"),
        }
        logfile = self.stack.state_dir / "task.log"
        with open(logfile, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ferry.task"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            if self.on_start is not None:
                self.on_start(proc)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                self.tasks.append(None)
                return None, f"task stopped after {timeout:.0f}s (TimeoutSeconds)"
        self.tasks.append(code)
        reason = "Essential container in task exited" if code else "task finished"
        return code, reason

    def pending(self) -> list[dict[str, Any]]:
        return self.sfn.list_executions(stateMachineArn=self.arn, statusFilter="RUNNING")[
            "executions"
        ]

    def run_pending(self) -> list[Execution]:
        """Run every execution the emulator holds as RUNNING, to its end."""
        definition = json.loads(
            self.sfn.describe_state_machine(stateMachineArn=self.arn)["definition"]
        )
        interpreter = Interpreter(
            definition,
            dynamodb=self.stack.client("dynamodb", "processor"),
            run_task=self.run_task,
            backoff_scale=self.backoff_scale,
        )
        done = []
        for summary in self.pending():
            arn = summary["executionArn"]
            described = self.sfn.describe_execution(executionArn=arn)
            execution = interpreter.run(summary["name"], arn, json.loads(described["input"]))
            self.sfn.stop_execution(
                executionArn=arn, error=execution.error or "", cause=execution.status
            )
            log.info("execution %s: %s %s", summary["name"], execution.status, execution.history)
            done.append(execution)
        return done

    def definition_is_the_modules(self) -> bool:
        """The emulator's state machine is exactly the module's rendered definition."""
        stored = json.loads(self.sfn.describe_state_machine(stateMachineArn=self.arn)["definition"])
        return stored == render(self.stack.container_values())


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ferry_dev.lane", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    lane = LocalLane(Stack(args.state_dir))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.is_set():
        lane.run_pending()
        stop.wait(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
