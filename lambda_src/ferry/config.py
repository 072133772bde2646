"""The processing configuration: routes, JSON Schemas, CSV datasets and limits.

Shape (JSON)::

    {
      "routes": [
        {"name": "telemetry", "prefix": "incoming/telemetry/", "suffix": ".json",
         "processor": "json_records", "schema": "telemetry"},
        ...
      ],
      "schemas":  {"telemetry": {<JSON Schema, Draft 2020-12>}},
      "datasets": {"orders": {<CSV dataset spec, parsed by ferry.csvload>}},
      "limits":   {"max_object_bytes": 104857600, ...},
      "delete_raw": "never"
    }

Route matching (:meth:`Route.matches`): the first route whose ``prefix`` and
``suffix`` both match an object key wins; keys matching no route are rejected,
not retried.

* ``prefix`` is compared case-sensitively, character for character, like S3
  keys: ``incoming/`` does not match ``Incoming/a.json``.
* ``suffix`` is compared case-insensitively: ``.json`` matches ``a.JSON``.

The S3 notification filters and EventBridge patterns Terraform derives from
this file use route *prefixes only* (S3 would compare a suffix filter
case-sensitively), so every object under a route's prefix reaches the function
and suffix matching happens here alone. An object under a prefix whose suffix
matches no route is therefore rejected with the list of routes, never silently
left unprocessed.

Large files: a route may set ``size_threshold_bytes`` (objects larger than
that are handed, with their ledger claim, to the large-file state machine and
processed by the same processor in a container task: :mod:`ferry.task`) or
``lane`` (``"function"`` or ``"container"``) to send every object to one lane;
not both. See :meth:`Route.lane_for`.

Deploy drift: Terraform sets ``FERRY_CONFIG_SHA256`` to the SHA-256 of the exact
bytes of the configuration it was given, and the zip carries the same file as
``ferry_config.json``. :func:`load_config` with ``expected_sha256`` refuses a
file whose bytes hash differently (rebuild with ``make build CONFIG=...``).

:func:`parse_config` checks everything it can without third-party imports, so a
cold start stays cheap; :func:`check_schemas` additionally compiles every JSON
Schema (imports jsonschema) and is run by the build, so a broken schema never
reaches a zip. Every error names the exact place: ``routes[2].schema: ...``.
CSV dataset specs used by ``csv_postgres`` routes are checked by
:func:`ferry.csvload.config.parse_dataset` (standard library only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The processing configuration is invalid; the message says where and why."""


# Route keys shared by every processor.
_COMMON_KEYS = {"name", "prefix", "suffix", "processor", "description"}
_COMMON_KEYS |= {"lane", "size_threshold_bytes"}

#: Where a route's objects are processed: in the function, or as a container task
#: started by the large-file state machine (``modules/container``).
LANES = ("function", "container")

#: Processor-specific route keys: name -> (required keys, optional keys).
#: ``None`` as optional keys means "any": the processor validates its own keys.
PROCESSOR_KEYS: dict[str, tuple[frozenset[str], frozenset[str] | None]] = {
    "json_records": (
        frozenset({"schema"}),
        frozenset({"key", "table", "max_invalid_fraction", "format"}),
    ),
    "json_transform": (frozenset({"schema"}), frozenset({"output_prefix"})),
    "file_metadata": (frozenset(), frozenset({"allowed_types", "max_bytes"})),
    "csv_postgres": (frozenset({"dataset"}), None),
}

#: File types :mod:`ferry.sniff` can recognise (for ``allowed_types``).
KNOWN_FILE_TYPES = frozenset(
    {"pdf", "png", "jpeg", "gif", "webp", "tiff", "zip", "gzip", "json", "csv", "text", "xml"}
    | {"binary"}
)

DELETE_RAW_CHOICES = ("never", "on_loaded", "always")


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep one bad file from exhausting the function."""

    max_object_bytes: int = 100 * 1024 * 1024  # objects read whole (json_transform)
    max_stream_bytes: int = 1024**3  # objects streamed (json_records): bench/README.md
    max_json_depth: int = 64
    max_records: int = 10_000_000
    max_reported_errors: int = 100
    sniff_bytes: int = 512
    batch_write_max_attempts: int = 8
    batch_write_base_delay_ms: int = 50
    batch_write_max_delay_ms: int = 5_000
    batch_write_workers: int = 4  # BatchWriteItem calls in flight at once (json_records)


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    prefix: str
    suffix: str
    processor: str
    options: Mapping[str, Any] = field(default_factory=dict)  # the whole route object

    def matches(self, key: str) -> bool:
        """Prefix case-sensitive (S3 keys are), suffix case-insensitive (see the module docs)."""
        return key.startswith(self.prefix) and key.lower().endswith(self.suffix.lower())

    def get(self, option: str, default: Any = None) -> Any:
        return self.options.get(option, default)

    def lane_for(self, size: int | None) -> str:
        """``function`` or ``container`` for an object of ``size`` bytes.

        ``lane`` forces one; otherwise an object larger than
        ``size_threshold_bytes`` goes to the container, and so does an object of
        unknown size on a route with a threshold (the container can run anything
        the function can, not the other way round).
        """
        lane = self.options.get("lane")
        if lane in LANES:
            return str(lane)
        threshold = self.options.get("size_threshold_bytes")
        if threshold is None:
            return "function"
        return "container" if size is None or size > int(threshold) else "function"


@dataclass(frozen=True, slots=True)
class Config:
    routes: tuple[Route, ...]
    schemas: Mapping[str, Any]
    datasets: Mapping[str, Any]
    limits: Limits
    delete_raw: str = "never"

    def route_for(self, key: str) -> Route | None:
        """The first route matching ``key``, or ``None``."""
        for route in self.routes:
            if route.matches(key):
                return route
        return None


def load_config(path: str | Path, *, expected_sha256: str | None = None) -> Config:
    """Read and validate the configuration file at ``path``.

    With ``expected_sha256`` (``FERRY_CONFIG_SHA256``), the file's bytes must
    have that SHA-256, else :class:`ConfigError` names both hashes.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"cannot read the processing configuration {path}: {err}") from None
    if expected_sha256 is not None:
        check_digest(raw, expected_sha256, path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: not UTF-8: {err}") from None
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{path}: not valid JSON: line {err.lineno} column {err.colno}: {err.msg}"
        ) from None
    try:
        return parse_config(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None


def check_digest(raw: bytes, expected_sha256: str, path: str | Path) -> None:
    """Raise :class:`ConfigError` unless ``raw`` hashes to ``expected_sha256`` (hex)."""
    actual = hashlib.sha256(raw).hexdigest()
    expected = expected_sha256.strip().lower()
    if actual != expected:
        raise ConfigError(
            f"{path}: the processing configuration in the zip (sha256 {actual}) is not the one "
            f"Terraform was given (FERRY_CONFIG_SHA256={expected}): the zip and the Terraform "
            "configuration disagree. Rebuild the zip from the file Terraform reads with "
            "`make build CONFIG=<that file>` and apply again."
        )


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _str(value: Any, where: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, got {type(value).__name__}")
    if not empty_ok and not value:
        raise _fail(where, "must not be empty")
    return value


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(where, f"must be a positive integer, got {value!r}")
    return value


def parse_config(data: Any) -> Config:
    """Validate a decoded configuration document; raise :class:`ConfigError` on the first fault."""
    if not isinstance(data, dict):
        raise _fail("(root)", "must be a JSON object")
    unknown = set(data) - {"routes", "schemas", "datasets", "limits", "delete_raw", "description"}
    if unknown:
        raise _fail("(root)", f"unknown keys {sorted(unknown)}")

    schemas = data.get("schemas", {})
    if not isinstance(schemas, dict):
        raise _fail("schemas", "must be an object of name -> JSON Schema")
    for name, schema in schemas.items():
        if not isinstance(schema, dict | bool):
            raise _fail(f"schemas.{name}", "must be a JSON Schema (an object or a boolean)")

    datasets = data.get("datasets", {})
    if not isinstance(datasets, dict):
        raise _fail("datasets", "must be an object of name -> dataset spec")
    for name, spec in datasets.items():
        if not isinstance(spec, dict):
            raise _fail(f"datasets.{name}", "must be an object")

    limits = _parse_limits(data.get("limits", {}))

    delete_raw = data.get("delete_raw", "never")
    if delete_raw not in DELETE_RAW_CHOICES:
        raise _fail("delete_raw", f"must be one of {list(DELETE_RAW_CHOICES)}, got {delete_raw!r}")

    raw_routes = data.get("routes")
    if not isinstance(raw_routes, list) or not raw_routes:
        raise _fail("routes", "must be a non-empty list")
    routes: list[Route] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_routes):
        route = _parse_route(raw, f"routes[{index}]", schemas, datasets)
        if route.name in names:
            raise _fail(f"routes[{index}].name", f"duplicate route name {route.name!r}")
        names.add(route.name)
        routes.append(route)
    _check_datasets(routes, datasets)
    return Config(
        routes=tuple(routes),
        schemas=schemas,
        datasets=datasets,
        limits=limits,
        delete_raw=delete_raw,
    )


def _check_datasets(routes: list[Route], datasets: Mapping[str, Any]) -> None:
    """Datasets used by csv_postgres routes must be valid specs (owned by ferry.csvload)."""
    used = sorted({r.options["dataset"] for r in routes if r.processor == "csv_postgres"})
    if not used:
        return
    from ferry.csvload.config import DatasetError, parse_dataset

    for name in used:
        try:
            parse_dataset(name, datasets[name])
        except DatasetError as err:
            raise ConfigError(str(err)) from None


def _parse_limits(raw: Any) -> Limits:
    if not isinstance(raw, dict):
        raise _fail("limits", "must be an object")
    known = {f.name for f in fields(Limits)}
    unknown = set(raw) - known
    if unknown:
        raise _fail("limits", f"unknown keys {sorted(unknown)} (known: {sorted(known)})")
    values = {name: _positive_int(value, f"limits.{name}") for name, value in raw.items()}
    return Limits(**values)


def _parse_route(
    raw: Any, where: str, schemas: Mapping[str, Any], datasets: Mapping[str, Any]
) -> Route:
    if not isinstance(raw, dict):
        raise _fail(where, "must be an object")
    name = _str(raw.get("name"), f"{where}.name")
    processor = _str(raw.get("processor"), f"{where}.processor")
    if processor not in PROCESSOR_KEYS:
        known = sorted(PROCESSOR_KEYS)
        raise _fail(f"{where}.processor", f"unknown processor {processor!r} (known: {known})")
    prefix = _str(raw.get("prefix", ""), f"{where}.prefix", empty_ok=True)
    suffix = _str(raw.get("suffix", ""), f"{where}.suffix", empty_ok=True)
    if prefix.startswith("/"):
        raise _fail(f"{where}.prefix", "S3 keys do not start with '/'")

    required, optional = PROCESSOR_KEYS[processor]
    missing = required - set(raw)
    if missing:
        raise _fail(where, f"processor {processor!r} needs {sorted(missing)}")
    if optional is not None:
        unknown = set(raw) - _COMMON_KEYS - required - optional
        if unknown:
            raise _fail(
                where,
                f"unknown keys {sorted(unknown)} for processor {processor!r} "
                f"(allowed: {sorted(_COMMON_KEYS | required | optional)})",
            )

    if "schema" in raw:
        schema = _str(raw["schema"], f"{where}.schema")
        if schema not in schemas:
            raise _fail(f"{where}.schema", f"no schema named {schema!r} in schemas")
    if "dataset" in raw:
        dataset = _str(raw["dataset"], f"{where}.dataset")
        if dataset not in datasets:
            raise _fail(f"{where}.dataset", f"no dataset named {dataset!r} in datasets")
    if "key" in raw:
        key = raw["key"]
        if (
            not isinstance(key, list)
            or not 1 <= len(key) <= 2
            or not all(isinstance(k, str) and k for k in key)
        ):
            raise _fail(f"{where}.key", "must be a list of one or two field names")
    if "table" in raw:
        _str(raw["table"], f"{where}.table")
    if "format" in raw and raw["format"] not in ("auto", "array", "lines"):
        raise _fail(f"{where}.format", "must be 'auto', 'array' or 'lines'")
    if "max_invalid_fraction" in raw:
        fraction = raw["max_invalid_fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise _fail(f"{where}.max_invalid_fraction", "must be a number between 0 and 1")
        if not 0 <= fraction <= 1:
            raise _fail(f"{where}.max_invalid_fraction", "must be between 0 and 1")
    if "output_prefix" in raw:
        _str(raw["output_prefix"], f"{where}.output_prefix", empty_ok=True)
    if "allowed_types" in raw:
        types = raw["allowed_types"]
        if not isinstance(types, list) or not types:
            raise _fail(f"{where}.allowed_types", "must be a non-empty list of file types")
        bad = [t for t in types if t not in KNOWN_FILE_TYPES]
        if bad:
            raise _fail(
                f"{where}.allowed_types",
                f"unknown file types {bad} (known: {sorted(KNOWN_FILE_TYPES)})",
            )
    if "max_bytes" in raw:
        _positive_int(raw["max_bytes"], f"{where}.max_bytes")
    _check_lane(raw, where)
    return Route(name=name, prefix=prefix, suffix=suffix, processor=processor, options=dict(raw))


def _check_lane(raw: Mapping[str, Any], where: str) -> None:
    """``lane`` and ``size_threshold_bytes``: one of the two, each well-formed."""
    if "lane" in raw and raw["lane"] not in LANES:
        raise _fail(f"{where}.lane", f"must be one of {list(LANES)}, got {raw['lane']!r}")
    if "size_threshold_bytes" not in raw:
        return
    _positive_int(raw["size_threshold_bytes"], f"{where}.size_threshold_bytes")
    if "lane" in raw:
        raise _fail(
            where,
            f"lane {raw['lane']!r} sends every object to one lane, so size_threshold_bytes "
            "would never apply: set one of the two",
        )


def check_schemas(config: Config) -> None:
    """Compile every JSON Schema with Draft 2020-12 (imports jsonschema)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    for name, schema in config.schemas.items():
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            path = "/".join(str(p) for p in err.absolute_path) or "(root)"
            message = f"not a valid JSON Schema at {path}: {err.message}"
            raise _fail(f"schemas.{name}", message) from None
