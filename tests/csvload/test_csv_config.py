"""Dataset specifications: the shipped one is valid, every mistake is named precisely."""

from __future__ import annotations

from typing import Any

import pytest

from ferry.csvload import Dataset, DatasetError, parse_dataset
from ferry.csvload.config import RejectThreshold


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "table": "sales.orders",
        "primary_key": ["id"],
        "columns": [
            {"name": "id", "type": "bigint"},
            {"name": "t", "type": "text", "max_length": 5},
        ],
    }
    base.update(overrides)
    return base


def test_shipped_orders_dataset(orders: Dataset) -> None:
    assert orders.qualified_table == "sales.orders"
    assert orders.primary_key == ("order_id",)
    by_name = orders.by_name
    assert by_name["order_id"].nullable is False  # key columns are never nullable
    assert by_name["delivery_date"].nullable is True
    assert by_name["amount"].sql_type == "numeric(12,2)"
    assert by_name["note"].sql_type == "varchar(500)"
    assert by_name["status"].values == ("new", "paid", "shipped", "cancelled")
    assert orders.threshold == RejectThreshold(max_rows=1000, max_fraction=0.01)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"table": "orders"}, "datasets.x.table: must be schema-qualified"),
        ({"table": "Sales.orders"}, "is not a lowercase SQL identifier"),
        ({"columns": []}, "datasets.x.columns: must be a non-empty list"),
        ({"columns": [{"name": "id", "type": "integer64"}]}, "columns[0].type: unknown type"),
        ({"columns": [{"name": "t", "type": "text"}]}, "columns[0].max_length: required"),
        (
            {"columns": [{"name": "n", "type": "numeric", "precision": 4, "scale": 5}]},
            "columns[0].scale: must be <= precision (4), got 5",
        ),
        ({"columns": [{"name": "e", "type": "enum", "values": []}]}, "values: must be a non-empty"),
        (
            {"columns": [{"name": "e", "type": "enum", "values": ["a,b"]}]},
            "must not contain quotes, line breaks, the delimiter",
        ),
        ({"columns": [{"name": "id", "type": "int", "colour": 1}]}, "unknown keys ['colour']"),
        ({"primary_key": ["nope"]}, "primary_key[0]: no column named 'nope'"),
        (
            {"primary_key": ["d"], "columns": [{"name": "d", "type": "double"}]},
            "key columns must be one of",
        ),
        ({"delimiter": '"'}, "delimiter: must be one character other than a quote"),
        ({"delimiter": ";;"}, "delimiter: must be one character"),
        ({"reject_threshold": {"max_fraction": 2}}, "max_fraction: must be between 0 and 1"),
        ({"reject_threshold": {}}, "set max_rows and/or max_fraction"),
        (
            {"columns": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]},
            "columns[1].name: duplicate column 'a'",
        ),
    ],
)
def test_mistakes_are_named(overrides: dict[str, Any], message: str) -> None:
    if "columns" in overrides and "primary_key" not in overrides:
        overrides["primary_key"] = []
    with pytest.raises(DatasetError) as err:
        parse_dataset("x", spec(**overrides))
    assert message in str(err.value)


def test_threshold_semantics() -> None:
    both = RejectThreshold(max_rows=10, max_fraction=0.01)
    assert not both.exceeded(10, 10_000)
    assert both.exceeded(11, 10_000)  # over the count
    assert both.exceeded(2, 100)  # over the fraction
    assert not RejectThreshold(max_rows=None, max_fraction=0.5).exceeded(50, 100)
    assert RejectThreshold().exceeded(1, 1_000_000)  # default: no bad rows allowed


def test_type_aliases() -> None:
    ds = parse_dataset(
        "x",
        spec(
            primary_key=[],
            columns=[{"name": "a", "type": "integer"}, {"name": "b", "type": "double precision"}],
        ),
    )
    assert [c.type for c in ds.columns] == ["int", "double"]
