"""How modules reference each other decides how long an apply waits.

Terraform reads a reference to a module call as a whole (``for k, b in
module.x``, ``values(module.x)``, ``module.x[each.key]``) as a dependency on
every resource inside every instance of it. A bucket's lifecycle configuration
alone waits a minute after it is written (the provider checks that the rules
read back the same ten times, five seconds apart), so such a reference held
the queues, the functions and the notifications back by that minute on every
apply. References here name one instance by a fixed key and one output.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WHOLE_CALL = [
    (re.compile(r"\bin\s+module\.\w+\s*:"), "iterates over a module call"),
    (re.compile(r"\b(?:values|keys)\(\s*module\.\w+\s*\)"), "takes a module call's values"),
    (re.compile(r"\bmodule\.\w+\[\s*(?![\"\d])"), "indexes a module call by a computed key"),
]


def whole_call_references(text: str) -> list[tuple[int, str]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        found += [(number, why) for pattern, why in WHOLE_CALL if pattern.search(code)]
    return found


def test_the_check_finds_each_form() -> None:
    text = (
        "a = { for role, b in module.data_bucket : role => b.name }\n"
        "b = values(module.kms)\n"
        "c = module.data_bucket[each.key].arn\n"
        'd = module.data_bucket["raw"].name  # module.x[k] in a comment\n'
        "e = module.access_log_bucket[0].name\n"
    )
    assert [n for n, _ in whole_call_references(text)] == [1, 2, 3]


def test_no_module_call_is_referenced_as_a_whole() -> None:
    files = sorted([*REPO.glob("modules/*/*.tf"), *REPO.glob("environments/*/*.tf")])
    assert files
    problems = [
        f"{path.relative_to(REPO)}:{number}: {why}"
        for path in files
        for number, why in whole_call_references(path.read_text())
    ]
    assert not problems, "\n".join(problems)
