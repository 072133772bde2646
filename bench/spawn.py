"""A small process that starts the benchmark's children and reports their peak RSS.

Linux carries a process's peak RSS across ``exec``, so a child forked from the
(large) benchmark runner would report at least the runner's size. The runner
therefore starts this helper first (``python -S``, a few MiB) and asks it to
fork each contender: the child's ``ru_maxrss`` (from ``os.wait4``) is then its
own, with this helper's size as the floor.

Protocol: one JSON array (argv) per line on stdin; one JSON object per line on
stdout: ``{"rc", "seconds", "maxrss_kib", "cpu_seconds", "stdout", "stderr"}``.
"""

import json
import os
import sys
import tempfile
import time


def run(argv: list[str]) -> dict[str, object]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: become the contender
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        _, status, usage = os.wait4(pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {
            "rc": os.waitstatus_to_exitcode(status),
            "seconds": seconds,
            "maxrss_kib": usage.ru_maxrss,
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace")[-4000:],
        }


def main() -> None:
    for line in sys.stdin:
        print(json.dumps(run(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
