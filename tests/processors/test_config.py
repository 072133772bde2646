"""Configuration validation, routing, and the lazy processor registry."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ferry import processors
from ferry.config import Config, ConfigError, check_schemas, load_config, parse_config
from ferry.settings import SOURCE_CONFIG, Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]


def default_document() -> dict[str, Any]:
    return json.loads(SOURCE_CONFIG.read_text())


def test_default_configuration_is_valid_and_its_schemas_compile(default_config: Config) -> None:
    check_schemas(default_config)
    assert [r.processor for r in default_config.routes] == [
        "json_records",
        "json_records",
        "json_transform",
        "file_metadata",
        "csv_postgres",
    ]


@pytest.mark.parametrize(
    ("key", "route"),
    [
        ("incoming/telemetry/2026/11/batch.json", "telemetry"),
        ("incoming/telemetry/batch.JSON", "telemetry"),
        ("incoming/telemetry/batch.jsonl", "telemetry-lines"),
        ("incoming/reports/r.json", "reports"),
        ("incoming/documents/contract.pdf", "documents"),
        ("incoming/documents/no-extension", "documents"),
        ("incoming/orders/2026-11.csv", "orders"),
        ("incoming/orders/2026-11.json", None),
        ("Incoming/reports/r.json", None),
        ("elsewhere/r.json", None),
    ],
)
def test_first_matching_route_wins(default_config: Config, key: str, route: str | None) -> None:
    found = default_config.route_for(key)
    assert (found.name if found else None) == route


def route_document(prefix: str, suffix: str) -> dict[str, Any]:
    return {
        "routes": [{"name": "r", "prefix": prefix, "suffix": suffix, "processor": "file_metadata"}]
    }


@pytest.mark.parametrize(
    ("prefix", "suffix", "key", "matches"),
    [
        # Prefix: case-sensitive, like S3 keys and the S3 / EventBridge prefix filters.
        ("incoming/Orders/", ".csv", "incoming/Orders/a.csv", True),
        ("incoming/Orders/", ".csv", "incoming/orders/a.csv", False),
        ("incoming/Orders/", ".csv", "INCOMING/Orders/a.csv", False),
        # Suffix: case-insensitive, on both sides (ferry alone matches suffixes).
        ("incoming/", ".csv", "incoming/a.CSV", True),
        ("incoming/", ".CSV", "incoming/a.csv", True),
        ("incoming/", ".Csv", "incoming/a.cSV", True),
        ("incoming/", ".csv", "incoming/a.csv.gz", False),
        ("incoming/", "", "incoming/anything", True),
    ],
)
def test_prefix_is_case_sensitive_and_suffix_is_not(
    prefix: str, suffix: str, key: str, matches: bool
) -> None:
    config = parse_config(route_document(prefix, suffix))
    assert config.routes[0].matches(key) is matches
    assert (config.route_for(key) is not None) is matches


def test_config_hash_must_match_when_terraform_sets_it(tmp_path: Path) -> None:
    import hashlib

    packed = tmp_path / "ferry_config.json"
    packed.write_bytes(SOURCE_CONFIG.read_bytes())
    digest = hashlib.sha256(packed.read_bytes()).hexdigest()
    assert load_config(packed, expected_sha256=digest).routes  # same bytes: loads
    assert load_config(packed, expected_sha256=digest.upper()).routes  # hex case is irrelevant
    assert load_config(packed).routes  # no hash given: no check

    # One byte more (a trailing newline) is a different configuration.
    packed.write_bytes(SOURCE_CONFIG.read_bytes() + b"\n")
    actual = hashlib.sha256(packed.read_bytes()).hexdigest()
    with pytest.raises(ConfigError) as err:
        load_config(packed, expected_sha256=digest)
    message = str(err.value)
    assert actual in message
    assert digest in message
    assert "the zip and the Terraform configuration disagree" in message
    assert "make build CONFIG=" in message


def test_runtime_refuses_a_zip_built_from_another_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """FERRY_CONFIG_SHA256 is checked against the packed file when the runtime starts."""
    import hashlib

    from ferry import settings as settings_module
    from ferry.runtime import Runtime

    packed = tmp_path / "ferry_config.json"
    packed.write_bytes(SOURCE_CONFIG.read_bytes())
    monkeypatch.setattr(settings_module, "PACKAGED_CONFIG", packed)
    digest = hashlib.sha256(packed.read_bytes()).hexdigest()
    env = {"FERRY_LEDGER_TABLE": "ledger"}

    assert Runtime.from_env(Settings.from_env({**env, "FERRY_CONFIG_SHA256": digest})).config
    assert Runtime.from_env(Settings.from_env(env)).config  # unset: no check
    with pytest.raises(ConfigError, match=f"FERRY_CONFIG_SHA256={'0' * 64}"):
        Runtime.from_env(Settings.from_env({**env, "FERRY_CONFIG_SHA256": "0" * 64}))
    # An explicit FERRY_CONFIG_PATH is held to the same hash.
    other = tmp_path / "other.json"
    other.write_text(SOURCE_CONFIG.read_text().replace("incoming/", "landing/"))
    override = Settings.from_env(
        {**env, "FERRY_CONFIG_SHA256": digest, "FERRY_CONFIG_PATH": str(other)}
    )
    with pytest.raises(ConfigError, match=f"FERRY_CONFIG_SHA256={digest}"):
        Runtime.from_env(override)
    matching = Settings.from_env(
        {**env, "FERRY_CONFIG_SHA256": digest, "FERRY_CONFIG_PATH": str(packed)}
    )
    assert Runtime.from_env(matching).config


def mutate(path: str, value: Any) -> dict[str, Any]:
    """The default document with ``path`` (dotted, list indexes as numbers) set to ``value``."""
    doc = copy.deepcopy(default_document())
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is KeyError:
        del node[int(last) if isinstance(node, list) else last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("routes", [], "routes: must be a non-empty list"),
        ("routes.0.processor", "xml_magic", "routes[0].processor: unknown processor 'xml_magic'"),
        ("routes.0.schema", "nope", "routes[0].schema: no schema named 'nope'"),
        ("routes.0.schema", KeyError, "routes[0]: processor 'json_records' needs ['schema']"),
        ("routes.0.colour", "blue", "routes[0]: unknown keys ['colour']"),
        ("routes.0.max_invalid_fraction", 2, "must be between 0 and 1"),
        ("routes.0.key", ["a", "b", "c"], "routes[0].key: must be a list of one or two"),
        ("routes.0.format", "xml", "routes[0].format"),
        ("routes.0.prefix", "/incoming/", "S3 keys do not start with '/'"),
        ("routes.1.name", "telemetry", "routes[1].name: duplicate route name 'telemetry'"),
        ("routes.3.allowed_types", ["pdf", "exe"], "unknown file types ['exe']"),
        ("routes.3.max_bytes", 0, "routes[3].max_bytes: must be a positive integer"),
        ("routes.4.dataset", "invoices", "routes[4].dataset: no dataset named 'invoices'"),
        ("limits.max_json_depth", -1, "limits.max_json_depth: must be a positive integer"),
        ("limits.max_speed", 5, "limits: unknown keys ['max_speed']"),
        ("delete_raw", "sometimes", "delete_raw: must be one of"),
        ("schemas.report", "string", "schemas.report: must be a JSON Schema"),
        ("surprise", 1, "(root): unknown keys ['surprise']"),
    ],
)
def test_invalid_configuration_is_refused_with_the_place(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(mutate(path, value))
    assert message in str(err.value)


def test_broken_json_schema_is_caught_by_check_schemas() -> None:
    config = parse_config(mutate("schemas.report.type", "banana"))
    with pytest.raises(ConfigError, match=r"schemas\.report: not a valid JSON Schema at type"):
        check_schemas(config)


def test_load_config_reports_file_and_position(tmp_path: Path) -> None:
    broken = tmp_path / "ferry.json"
    broken.write_text('{"routes": [\n  {,}\n]}')
    with pytest.raises(ConfigError, match=r"ferry\.json: not valid JSON: line 2 column 4"):
        load_config(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.json")


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "FERRY_LEDGER_TABLE": "ledger",
            "FERRY_DB_PORT": "6543",
            "FERRY_LEDGER_TTL_DAYS": "7",
            "FERRY_CONFIG_PATH": "/opt/ferry.json",
        }
    )
    assert settings.ledger_table == "ledger"
    assert (settings.db.port, settings.ledger_ttl_days) == (6543, 7)
    assert settings.resolved_config_path() == Path("/opt/ferry.json")
    assert Settings.from_env({}).resolved_config_path().name in {"ferry.json", "ferry_config.json"}
    with pytest.raises(SettingsError, match="FERRY_LEDGER_TTL_DAYS='soon' is not an integer"):
        Settings.from_env({"FERRY_LEDGER_TTL_DAYS": "soon"})
    with pytest.raises(SettingsError, match="FERRY_FAILED_BUCKET is not set"):
        settings.require("failed_bucket")


def test_registry_resolves_every_processor_lazily() -> None:
    assert processors.get("json_records").name == "json_records"
    assert processors.get("json_records") is processors.get("json_records")
    with pytest.raises(KeyError, match="unknown processor 'nope'"):
        processors.get("nope")
    with pytest.raises(ValueError, match="must look like"):
        processors.import_path("no_colon")


def test_importing_the_handler_loads_no_heavy_dependency() -> None:
    """Cold start: psycopg, jsonschema, boto3 and the X-Ray SDK load only when used."""
    code = (
        "import sys, ferry.handler, ferry.processors.json_records, ferry.processors.file_metadata;"
        "heavy = [m for m in ('psycopg', 'jsonschema', 'boto3', 'botocore', 'aws_xray_sdk')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "lambda_src"), "PATH": "/usr/bin:/bin"},
    )
    assert out.stdout.strip() == ""
