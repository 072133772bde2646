"""Processor names -> classes, imported lazily by import path.

A route's ``processor`` names an entry of :data:`REGISTRY`. The module is
imported the first time a matching object arrives, so the PostgreSQL loader
(and psycopg) is never imported by a function that only sees JSON files.
One instance per processor lives for the life of the execution environment.
"""

from __future__ import annotations

import importlib
from typing import Any

from ferry.config import PROCESSOR_KEYS
from ferry.model import Processor

REGISTRY: dict[str, str] = {
    "json_records": "ferry.processors.json_records:JsonRecordsProcessor",
    "json_transform": "ferry.processors.json_transform:JsonTransformProcessor",
    "file_metadata": "ferry.processors.file_metadata:FileMetadataProcessor",
    "csv_postgres": "ferry.processors.csv_postgres:CsvPostgresProcessor",
}
assert set(REGISTRY) == set(PROCESSOR_KEYS), "config and registry must name the same processors"

_instances: dict[str, Processor] = {}


def import_path(path: str) -> Any:
    """``"package.module:Attribute"`` -> the attribute."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"import path {path!r} must look like 'package.module:Attribute'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ImportError(f"{module_name} has no attribute {attribute!r}") from None


def get(name: str) -> Processor:
    """The (cached) processor instance for a registered name."""
    processor = _instances.get(name)
    if processor is None:
        try:
            path = REGISTRY[name]
        except KeyError:
            raise KeyError(f"unknown processor {name!r} (known: {sorted(REGISTRY)})") from None
        processor = import_path(path)()
        _instances[name] = processor
    return processor
