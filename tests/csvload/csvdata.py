"""Builders of CSV test data for the loader tests."""

from __future__ import annotations

from ferry.csvload import Dataset, parse_dataset

ORDERS_HEADER = "order_id,customer,note,ordered_at,amount,quantity,status,is_gift,delivery_date"


def order_row(i: int, **overrides: str) -> str:
    values = {
        "order_id": str(i),
        "customer": f"customer {i}",
        "note": f'"note {i}, with a comma"',
        "ordered_at": "2026-01-02T03:04:05Z",
        "amount": "12.50",
        "quantity": "3",
        "status": "paid",
        "is_gift": "false",
        "delivery_date": "2026-01-05",
    }
    values.update(overrides)
    return ",".join(values[c] for c in ORDERS_HEADER.split(","))


def orders_csv(rows: int, *, start: int = 1, eol: str = "\r\n") -> bytes:
    lines = [ORDERS_HEADER] + [order_row(i) for i in range(start, start + rows)]
    return (eol.join(lines) + eol).encode()


def small_dataset(columns: list[dict[str, object]], **extra: object) -> Dataset:
    spec = {"table": "t.small", "columns": columns, **extra}
    return parse_dataset("small", spec)
