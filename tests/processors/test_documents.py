"""Pure document logic: type sniffing, safe JSON decoding, schema error reporting."""

from __future__ import annotations

import gzip
import io
import zipfile
from decimal import Decimal

import pytest

from ferry.jsondoc import (
    JsonProblem,
    decode_text,
    depth,
    iter_lines,
    loads,
    looks_like_lines,
    validator,
    violations,
)
from ferry.processors.json_records import dynamodb_problem
from ferry.sniff import sniff


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        # A fixed timestamp: parameter ids must be the same in every test worker.
        z.writestr(zipfile.ZipInfo("a.txt", date_time=(2026, 1, 1, 0, 0, 0)), "hello")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"II*\x00\x08\x00", "tiff"),
        (_zip(), "zip"),
        (gzip.compress(b"x", mtime=0), "gzip"),
        (b'  {"a": 1}', "json"),
        (b"\xef\xbb\xbf[1, 2]", "json"),
        (b"<?xml version='1.0'?><a/>", "xml"),
        (b"id,name\n1,ann\n2,bob\n", "csv"),
        (b"id;name\n1;ann\n", "csv"),
        (b"just some words\nand more words\n", "text"),
        (b"one,line only", "text"),
        (b"\x00\x01\x02\x03", "binary"),
        (b"caf\xe9 latin-1", "binary"),
        (b"", "empty"),
    ],
)
def test_sniff_by_magic_bytes(head: bytes, kind: str) -> None:
    assert sniff(head, complete=True) == kind


def test_sniff_tolerates_a_multibyte_character_cut_at_the_range_end() -> None:
    head = ("a,b\n1,é\n2,x\n" * 10).encode()[:-1] + "é".encode()[:1]
    assert sniff(head, complete=False) == "csv"
    assert sniff(head, complete=True) == "binary"


def test_pdf_named_txt_is_still_pdf() -> None:
    assert sniff(b"%PDF-1.4 rest") == "pdf"


def test_decode_text_names_the_bad_byte() -> None:
    with pytest.raises(JsonProblem, match="byte 0xff at offset 3"):
        decode_text(b"abc\xffdef")
    with pytest.raises(JsonProblem, match="file is empty"):
        decode_text(b"")
    assert decode_text(b"\xef\xbb\xbf[]") == "[]"


def test_loads_keeps_decimals_and_refuses_non_json_numbers() -> None:
    assert loads('{"t": 21.5, "n": 3}', max_depth=8) == {"t": Decimal("21.5"), "n": 3}
    with pytest.raises(JsonProblem, match="Infinity is not valid JSON"):
        loads('{"t": Infinity}', max_depth=8)


def test_syntax_errors_carry_line_and_column() -> None:
    with pytest.raises(JsonProblem) as err:
        loads('{\n  "a": 1,\n  "b": }', max_depth=8)
    assert err.value.details == [{"line": 3, "column": 8, "message": "Expecting value"}]


@pytest.mark.parametrize("n", [65, 1_000, 100_000])
def test_deep_nesting_fails_cleanly(n: int) -> None:
    with pytest.raises(JsonProblem, match="nested"):
        loads("[" * n + "]" * n, max_depth=64)
    with pytest.raises(JsonProblem, match="nested"):
        loads('{"a":' * n + "1" + "}" * n, max_depth=64)


def test_depth_is_iterative_and_bounded() -> None:
    value: list = []
    for _ in range(50_000):  # deeper than any recursion limit
        value = [value]
    assert depth(value, 10) == 11  # stops counting past the limit
    assert depth({"a": [1, {"b": 2}]}, 10) == 3
    assert depth(5, 10) == 0


def test_json_lines_report_bad_lines_and_continue() -> None:
    text = '{"a": 1}\n\nnot json\n{"a": 2}\n'
    lines = list(iter_lines(text, max_depth=8))
    assert [(line.number, line.value) for line in lines if not line.problem] == [
        (1, {"a": 1}),
        (4, {"a": 2}),
    ]
    (bad,) = [line for line in lines if line.problem]
    assert bad.number == 3
    assert "line 3" in bad.problem.reason


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ('[{"a": 1}]', False),
        ('{"a": 1}\n{"a": 2}', True),
        ('{"records": [\n {"a": 1}\n]}', False),
        ('{"a": 1}', False),
        ("7\n8", True),
    ],
)
def test_format_detection(text: str, lines: bool) -> None:
    assert looks_like_lines(text) is lines


def test_schema_violations_have_json_paths_and_validators_are_cached() -> None:
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"metrics": {"type": "object", "additionalProperties": {"type": "number"}}},
    }
    compiled = validator("s", schema)
    assert validator("s", schema) is compiled
    found = violations(compiled, {"metrics": {"temp": "hot", "ok": 1}})
    assert [(v.path, v.keyword) for v in found] == [("$", "required"), ("$.metrics.temp", "type")]
    assert "'hot' is not of type 'number'" in found[1].message
    assert violations(compiled, {"id": 1}) == []


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"n": Decimal("0." + "1" * 39)}, "39 significant digits, DynamoDB keeps 38"),
        ({"n": Decimal("1E+200")}, "larger than DynamoDB's maximum"),
        ({"n": Decimal("1E-200")}, "smaller in magnitude than DynamoDB's minimum (1E-130)"),
        ({"s": "x" * (401 * 1024)}, "the limit is 409600 (400 KB)"),
    ],
)
def test_records_dynamodb_cannot_store_are_named(record: dict, message: str) -> None:
    problem = dynamodb_problem(record)
    assert problem is not None
    assert message in problem[1]


def test_dynamodb_depth_limit() -> None:
    nested: dict = {"leaf": 1}
    for _ in range(40):
        nested = {"n": nested}
    path, message = dynamodb_problem(nested)
    assert message == "nested deeper than DynamoDB's 32 levels"
    assert path == "$" + ".n" * 33
    assert dynamodb_problem({"n": Decimal("21.5"), "i": 10**37, "z": Decimal(0)}) is None


def test_json_lines_split_on_newlines_only() -> None:
    text = '{"a": "x\u2028y\u0085z"}\r\n{"a": 2}'
    assert [line.value for line in iter_lines(text, max_depth=8)] == [
        {"a": "x\u2028y\u0085z"},
        {"a": 2},
    ]
