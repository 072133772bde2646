"""JSON logs carry the object, EMF lines are valid, tracing is a no-op outside Lambda."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ferry import obs, tracing

REPO = Path(__file__).resolve().parents[2]
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    obs.setup_logging("DEBUG", stream=stream)
    yield stream
    obs.setup_logging("INFO", stream=sys.stdout)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_log_lines_are_json_and_carry_the_bound_object(log_stream: io.StringIO) -> None:
    log = logging.getLogger("ferry.test")
    with obs.bind(key="incoming/a.json", ledger_id="s3://b/incoming/a.json#v1"):
        log.info("loaded %d records", 3, extra={"counts": {"records_loaded": 3}})
    log.warning("outside")
    inside, outside = lines(log_stream)
    assert inside["message"] == "loaded 3 records"
    assert inside["key"] == "incoming/a.json"
    assert inside["ledger_id"] == "s3://b/incoming/a.json#v1"
    assert inside["counts"] == {"records_loaded": 3}
    assert inside["level"] == "INFO"
    assert inside["timestamp"].endswith("Z")
    assert "key" not in outside


def test_exceptions_are_logged_as_fields(log_stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("ferry.test").exception("failed")
    (entry,) = lines(log_stream)
    assert entry["exception_type"] == "ValueError"
    assert "boom" in entry["exception"]


def test_emf_document_shape() -> None:
    out = io.StringIO()
    metrics = obs.Metrics("Ferry", "ferry-dev-processor", out=out)
    metrics.object_done(
        processor="json_records", route="telemetry", status="rejected", records=0, duration_ms=12.5
    )
    doc = json.loads(out.getvalue())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Ferry"
    # By processor, by route (the dashboard's rejects by route) and for the whole
    # function (what the rejection-rate alarm reads).
    assert directive["Dimensions"] == [["Processor", "Service"], ["Route", "Service"], ["Service"]]
    assert (doc["Route"], doc["Service"]) == ("telemetry", "ferry-dev-processor")
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {"Files", "Records", "Rejects", "Duration"}
    for name in names | {"Processor", "Route", "Service"}:
        assert name in doc, f"EMF needs a value for {name}"
    assert (doc["Files"], doc["Rejects"], doc["Duration"]) == (1, 1, 12.5)
    assert isinstance(doc["_aws"]["Timestamp"], int)


def test_tracing_is_off_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    tracing.reset()
    with tracing.span("stage", key="k") as span:
        span.annotate(status="loaded")
    assert not tracing.enabled()
    assert "aws_xray_sdk.core" not in sys.modules or tracing._recorder is None
    tracing.reset()


def test_tracing_is_off_in_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local stack names the function but is not Lambda: no SDK, no error logs."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ferry-local-processor")
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    tracing.reset()
    assert not tracing.enabled()
    tracing.reset()


def test_tracing_can_be_switched_off_in_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ferry-dev-processor")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.setenv("FERRY_TRACING", "off")
    tracing.reset()
    assert not tracing.enabled()
    tracing.reset()


def test_tracing_in_lambda_without_a_daemon_never_fails() -> None:
    """The real SDK in a Lambda-like environment, no daemon listening: spans just work.

    Runs in a child process: enabling tracing patches botocore for the whole process.
    """
    code = textwrap.dedent(
        """
        import logging
        from ferry import tracing
        assert tracing.enabled()
        with tracing.span("object", key="incoming/a.json") as span:
            span.annotate(status="loaded", records=3)
            span.metadata("counts", {"records_loaded": 3})
            with tracing.span("claim"):
                assert tracing._recorder.current_subsegment().name == "claim"
        print("ok")
        """
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(REPO / "lambda_src"),
        "AWS_LAMBDA_FUNCTION_NAME": "ferry-dev-processor",
        "LAMBDA_TASK_ROOT": "/var/task",
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:9",  # nothing listens there
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_tracing_failure_to_import_falls_back_to_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ferry-dev-processor")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    broken = types.ModuleType("aws_xray_sdk.core")  # no xray_recorder: the import fails
    monkeypatch.setitem(sys.modules, "aws_xray_sdk.core", broken)
    tracing.reset()
    try:
        assert not tracing.enabled()
        with tracing.span("object") as span:
            span.annotate(a=1)
    finally:
        tracing.reset()


def test_invocation_binds_cold_start_and_trace_id_once_per_environment(
    log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(obs, "_cold_start", True)  # a fresh execution environment
    env = {
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
        "AWS_LAMBDA_FUNCTION_NAME": "ferry-dev-processor",
        "AWS_LAMBDA_FUNCTION_VERSION": "7",
    }
    log = logging.getLogger("ferry.test")
    with obs.invocation("req-1", env=env) as cold:
        log.info("first")
    with obs.invocation("req-2", env={}) as warm:
        log.info("second")
    assert (cold, warm) == (True, False)
    first, second = lines(log_stream)
    assert first["cold_start"] is True
    assert first["request_id"] == "req-1"
    assert first["xray_trace_id"] == "1-5759e988-bd862e3fe1be46a994272793"
    assert (first["function_name"], first["function_version"]) == ("ferry-dev-processor", "7")
    assert second["cold_start"] is False
    assert "xray_trace_id" not in second


def test_debug_sampling_lowers_the_level_for_one_invocation_only(log_stream: io.StringIO) -> None:
    obs.setup_logging("INFO", stream=log_stream)
    log = logging.getLogger("ferry.test")
    with obs.invocation("sampled", sample_rate=0.1, rand=lambda: 0.05, env={}):
        log.debug("visible")
    with obs.invocation("not-sampled", sample_rate=0.1, rand=lambda: 0.5, env={}):
        log.debug("hidden")
    log.debug("after")
    (entry,) = lines(log_stream)
    assert entry["message"] == "visible"
    assert entry["debug_sampled"] is True
    assert logging.getLogger("ferry").level == logging.INFO


def test_cold_start_metric_is_emitted_on_the_first_invocation_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ferry.flow import handle

    out = io.StringIO()
    recorded: list[str] = []
    rt = types.SimpleNamespace(
        settings=types.SimpleNamespace(log_sample_rate=0.0),
        metrics=obs.Metrics("T", "svc", out),
        ledger=types.SimpleNamespace(
            record_bad_message=lambda ledger_id, *_: recorded.append(ledger_id)
        ),
    )
    monkeypatch.setattr(obs, "_cold_start", True)
    for _ in range(2):
        assert handle({"Records": []}, None, rt) == {"batchItemFailures": []}  # type: ignore[arg-type]
    assert len(recorded) == 2  # the (empty) event was handled both times
    documents = [json.loads(line) for line in out.getvalue().splitlines()]
    cold = [d for d in documents if "ColdStart" in d]
    assert len(cold) == 1
    assert cold[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": "ColdStart", "Unit": "Count"}
    ]
    assert cold[0]["Service"] == "svc"


def test_log_sample_rate_setting_is_validated() -> None:
    from ferry.settings import Settings, SettingsError

    assert Settings.from_env({"FERRY_LOG_SAMPLE_RATE": "0.25"}).log_sample_rate == 0.25
    assert Settings.from_env({}).log_sample_rate == 0.0
    with pytest.raises(SettingsError, match="between 0 and 1"):
        Settings.from_env({"FERRY_LOG_SAMPLE_RATE": "5"})
    with pytest.raises(SettingsError, match="not a number"):
        Settings.from_env({"FERRY_LOG_SAMPLE_RATE": "often"})
