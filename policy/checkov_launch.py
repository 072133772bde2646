"""checkov, imported before its plan exists: `python -m policy.checkov_launch`.

Importing checkov takes most of a review's checkov time (about 8 s of its
11 s on an idle 2-core machine, every runner's checks loaded whether used or
not). :func:`policy.checks.prestart_checkov` starts this module while
Terraform still plans, so the import overlaps the plan; the module then
reads checkov's arguments as one JSON line on stdin (when the plan JSON is
written) and runs checkov with them, exactly as the `checkov` command would.
An empty stdin (the review gave up) exits quietly.
"""

from __future__ import annotations

import json
import sys
import warnings


def main() -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)
        from checkov.main import Checkov

        line = sys.stdin.readline()
        if not line.strip():
            return 0
        argv = json.loads(line)
        return int(Checkov(argv).run() or 0)


if __name__ == "__main__":
    sys.exit(main())
