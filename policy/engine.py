"""Evaluate ferry's Rego rules in-process with regopy (rego-cpp).

The rules live in ``policy/rego/*.rego`` as conftest-style packages
(``package ferry.<domain>``, ``deny contains msg if ...``) with a ``rules``
object of metadata per package, so ``conftest test --all-namespaces`` or
``opa eval`` run the same files. Here they are compiled once into a bundle
and evaluated per plan.

rego-cpp differs from OPA in a few places the rules are written around (no
``(?i)`` in regexes, no ``net.cidr_*``, no ``rego.metadata``, no
``some k, v in x`` inside comprehensions, undefined instead of errors for some
built-ins). :func:`self_test` checks every built-in the rules rely on, so an
engine that silently returns something else fails loudly instead of passing
every plan.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import regopy

REGO_DIR = Path(__file__).resolve().parent / "rego"
SEVERITIES = ("critical", "high", "medium", "low")
RULE_ID = r"FERRY-[A-Z0-9]+-(?:\d{3}|UNKNOWN)"
MESSAGE = re.compile(
    r"^(?P<id>FERRY-[A-Z0-9]+-(?:\d{3}|UNKNOWN)) \((?P<severity>[a-z]+)\): (?P<rest>.*)$", re.S
)

QUERY = (
    "violations := [m | some p; some m in data.ferry[p].deny]; "
    "rules := [[id, meta] | some p; r := data.ferry[p].rules; some id; meta := r[id]]"
)


class PolicyError(RuntimeError):
    """The Rego engine failed or returned something the rules cannot produce."""


@dataclass(frozen=True, order=True)
class Rule:
    id: str
    severity: str
    title: str
    controls: tuple[str, ...]
    package: str


@dataclass(frozen=True, order=True)
class Violation:
    rule_id: str
    severity: str
    address: str
    message: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.address)


def rego_files(rego_dir: Path = REGO_DIR) -> list[Path]:
    return sorted(p for p in rego_dir.glob("*.rego") if not p.name.endswith("_test.rego"))


def _package_of(source: str) -> str:
    match = re.search(r"^package\s+(\S+)", source, re.M)
    if not match:
        raise PolicyError("a Rego file without a package declaration")
    return match.group(1)


class Engine:
    """Compiled rules; :meth:`evaluate` a plan document many times."""

    def __init__(self, rego_dir: Path = REGO_DIR, settings: dict | None = None) -> None:
        self._rego = regopy.Interpreter()
        if settings:
            # data.ferry_settings (conftest/opa: -d settings.json), e.g. min_log_retention_days
            self._rego.add_data_json(json.dumps({"ferry_settings": settings}))
        self._packages: dict[str, str] = {}
        self._sources: dict[str, str] = {}
        for path in rego_files(rego_dir):
            source = path.read_text()
            self._rego.add_module(path.name, source)
            self._packages[path.name] = _package_of(source)
            self._sources[path.name] = source
        self._bundle = self._rego.build(QUERY)
        if not self._bundle.ok():
            raise PolicyError(f"the Rego rules do not compile:\n{self._bundle.node}")

    def _query(self, document: dict | str) -> dict:
        text = document if isinstance(document, str) else json.dumps(document)
        self._rego.set_input_term(text)
        out = self._rego.query_bundle(self._bundle)
        if not out.ok():
            raise PolicyError(f"Rego evaluation failed:\n{out}")
        if len(out) != 1:
            raise PolicyError(f"Rego returned {len(out)} results, expected exactly one")
        return dict(out[0].bindings)

    @cached_property
    def rules(self) -> dict[str, Rule]:
        """Every rule's metadata, by id (from each package's ``rules`` object)."""
        found: dict[str, Rule] = {}
        packages = {}
        for name, package in self._packages.items():
            for rid in re.findall(rf'"({RULE_ID})":\s*\{{', self._sources[name]):
                packages[rid] = package
        for rid, meta in self._query({"resource_changes": []})["rules"]:
            if rid in found:
                raise PolicyError(f"rule id {rid} is declared twice")
            if meta.get("severity") not in SEVERITIES:
                raise PolicyError(
                    f"{rid}: severity {meta.get('severity')!r} is not one of {SEVERITIES}"
                )
            found[rid] = Rule(
                id=rid,
                severity=meta["severity"],
                title=meta["title"],
                controls=tuple(meta.get("controls", [])),
                package=packages.get(rid, ""),
            )
        return dict(sorted(found.items()))

    def evaluate(self, plan: dict | str) -> list[Violation]:
        """Violations of a `terraform show -json` document, sorted, de-duplicated."""
        raw = self._query(plan)["violations"]
        rules = self.rules
        out: set[Violation] = set()
        for text in raw:
            match = MESSAGE.match(text)
            if not match:
                raise PolicyError(
                    f"a deny message without the 'FERRY-X-000 (severity): ' prefix: {text!r}"
                )
            rid, severity = match["id"], match["severity"]
            if rid not in rules:
                raise PolicyError(f"{rid} fired but has no metadata in its package's rules object")
            if severity != rules[rid].severity:
                raise PolicyError(
                    f"{rid} fired as {severity} but is declared {rules[rid].severity}"
                )
            address, sep, _ = match["rest"].partition(": ")
            if not sep:
                raise PolicyError(f"a deny message without a resource address: {text!r}")
            out.add(Violation(rule_id=rid, severity=severity, address=address, message=text))
        return sorted(
            out, key=lambda v: (SEVERITIES.index(v.severity), v.rule_id, v.address, v.message)
        )


# Built-ins the rules use, each with an input and the answer OPA gives.
SELF_TEST: list[tuple[str, object]] = [
    ('regex.match(`^AKIA[0-9A-Z]{16}$`, "AKIAABCDEFGHIJKLMNOP")', True),
    ('regex.match(`(dlq|dead-?letter)`, "ferry-intake")', False),
    ('regex.replace(`module.a["x"].module.b[0]`, `\\[[^\\]]*\\]`, "")', "module.a.module.b"),
    ('regex.find_all_string_submatch_n(`\\[(.*)\\]$`, `data["raw"]`, 1)', [['["raw"]', '"raw"']]),
    ('json.unmarshal(`{"a": [1, "b"]}`)', {"a": [1, "b"]}),
    ('json.is_valid("not json")', False),
    ('json.is_valid(`{"Statement": []}`)', True),
    ('object.get({"a": {"b": 1}}, ["a", "b"], 0)', 1),
    ('object.get({"a": 1}, "b", "default")', "default"),
    ('[p | walk({"a": {"b": 1}}, [p, v]); is_number(v)]', [["a", "b"]]),
    ('strings.any_prefix_match("getobject", ["get", "list"])', True),
    ('strings.any_prefix_match("putobject", ["get", "list"])', False),
    ("format_int(14, 10)", "14"),
    ('to_number("08")', 8),
    ('trim_space(" 0.0.0.0/1 ")', "0.0.0.0/1"),
    ('regex.match(`^[0-9.]+/[0-9]+$`, "128.0.0.0/1")', True),
    ('sprintf("%v", [false])', "false"),
    ('sprintf("[%d]", [3])', "[3]"),
    ('concat("", ["a", "-", "b"])', "a-b"),
    ('split("aws_s3_bucket.data.id", ".")', ["aws_s3_bucket", "data", "id"]),
    ('array.slice(["a", "b", "c"], 0, 2)', ["a", "b"]),
    ('array.concat(["a"], ["b"])', ["a", "b"]),
    ('upper("db_password")', "DB_PASSWORD"),
    ('lower("Prod")', "prod"),
    ('sort(["b", "a"])', ["a", "b"]),
    ('endswith("ferry-dev-failed", "-failed")', True),
    ('startswith("arn:aws:kms", "arn:")', True),
    ('trim_prefix("module.storage", "module.")', "storage"),
    ('contains("private-a", "public")', False),
    ('count({"a", "b"} | {"b", "c"})', 3),
    ('[k | some k; {"x": 1, "y": 2}[k]]', ["x", "y"]),
    ('"b" in ["a", "b"]', True),
    ("every x in [1, 2] { x > 0 }", True),
]


def self_test() -> list[str]:
    """Problems found in the engine's built-ins (empty when it behaves like OPA)."""
    rego = regopy.Interpreter()
    problems = []
    for expr, expected in SELF_TEST:
        out = rego.query(f"x := {expr}" if not expr.startswith("every") else f"x := true; {expr}")
        got = (
            out[0].bindings.get("x", "<undefined or error>")
            if out.ok() and len(out) == 1
            else "<undefined or error>"
        )
        if isinstance(expected, list) and isinstance(got, list) and expr.startswith("[k |"):
            got = sorted(got)
        if got != expected:
            problems.append(f"{expr} returned {got!r}, expected {expected!r}")
    return problems
