"""``python -m ferry.task``: one object version processed in a container (the large-file lane).

The state machine (``modules/container``) runs this as the Fargate task's
command, with the object in the container's environment (arguments override
them, for a run by hand)::

    FERRY_TASK_BUCKET      --bucket      the raw bucket
    FERRY_TASK_KEY         --key         the object key (literal, not URL-encoded)
    FERRY_TASK_VERSION_ID  --version-id  the version ("null" or empty: unversioned)
    FERRY_TASK_LEDGER_ID   --ledger-id   the ledger id the hand-off claimed (checked)
    FERRY_TASK_OWNER       --owner       the claim's owner: the execution's name
    FERRY_TASK_TIMEOUT_SECONDS           the task's time budget (3600)

The rest of the environment is the function's (``FERRY_*``, read by
:class:`ferry.settings.Settings`). The object goes through
:func:`ferry.flow.process_object` exactly as in the function: the same ledger
claim (as the hand-off's owner), processor, quarantine of rejected files and
finish. Exit status:

* ``0``: the object reached a terminal state (loaded or rejected) now or before;
* ``75`` (``EX_TEMPFAIL``): a transient failure or an unexpected error; the
  claim was released and the state machine's ``Retry`` runs the task again;
* ``64`` (``EX_USAGE``): the arguments do not name an object, or name one whose
  ledger id differs from the one claimed (a deployment error, not retried
  usefully: the failure state records it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from ferry.model import ObjectRef

log = logging.getLogger("ferry.task")

EXIT_DONE = 0
EXIT_USAGE = 64
EXIT_RETRY = 75
DEFAULT_TIMEOUT_SECONDS = 3600


class UsageError(ValueError):
    """The task was not told which object to process (or was told inconsistently)."""


def parse(argv: Sequence[str], env: Mapping[str, str]) -> tuple[ObjectRef, str, int]:
    """The object, the claim's owner and the time budget (s) from arguments over environment."""
    parser = argparse.ArgumentParser(prog="python -m ferry.task", description=__doc__)
    parser.add_argument("--bucket", default=env.get("FERRY_TASK_BUCKET"))
    parser.add_argument("--key", default=env.get("FERRY_TASK_KEY"))
    parser.add_argument("--version-id", default=env.get("FERRY_TASK_VERSION_ID"))
    parser.add_argument("--ledger-id", default=env.get("FERRY_TASK_LEDGER_ID"))
    parser.add_argument("--owner", default=env.get("FERRY_TASK_OWNER"))
    parser.add_argument(
        "--timeout-seconds",
        type=int,
        default=int(env.get("FERRY_TASK_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
    )
    args = parser.parse_args(list(argv))
    if not args.bucket or not args.key:
        raise UsageError("no object: set FERRY_TASK_BUCKET and FERRY_TASK_KEY (or --bucket/--key)")
    version = args.version_id if args.version_id not in (None, "", "null") else None
    ref = ObjectRef(bucket=args.bucket, key=args.key, version_id=version)
    if args.ledger_id and args.ledger_id != ref.ledger_id:
        raise UsageError(
            f"ledger id {args.ledger_id!r} is not the object's ({ref.ledger_id!r}): "
            "the state machine's input and the task's overrides disagree"
        )
    if args.timeout_seconds < 60:
        raise UsageError(f"timeout {args.timeout_seconds}s: at least 60 seconds")
    from ferry import lanes

    owner = args.owner or lanes.execution_name(ref)
    return ref, owner, args.timeout_seconds


def budget(seconds: int) -> Callable[[], int]:
    """Milliseconds left of the task's budget (the processors' ``remaining_ms``)."""
    deadline = time.monotonic() + seconds
    return lambda: max(0, int((deadline - time.monotonic()) * 1000))


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        ref, owner, timeout = parse(sys.argv[1:] if argv is None else argv, env)
    except UsageError as err:
        print(f"ferry.task: {err}", file=sys.stderr)
        return EXIT_USAGE

    from ferry import flow, obs
    from ferry.runtime import Runtime

    try:
        rt = Runtime.from_env()
    except Exception as err:  # settings or configuration: retried, and the history shows why
        log.exception("cannot start: %s", err)
        return EXIT_RETRY
    with (
        obs.invocation(owner, sample_rate=rt.settings.log_sample_rate),
        obs.bind(key=ref.key, bucket=ref.bucket, ledger_id=ref.ledger_id, owner=owner),
    ):
        done = flow.process_object(
            ref, rt, request_id=owner, remaining_ms=budget(timeout), in_container=True
        )
    return EXIT_DONE if done else EXIT_RETRY


if __name__ == "__main__":
    sys.exit(main())
