"""PostgreSQL connections for processors: what ``ctx.db()`` calls.

The connection logic lives with the loader that needs it,
:func:`ferry.csvload.db.connect` (Secrets Manager or IAM authentication,
``sslmode=verify-full`` against the bundled RDS CA, settings from
``FERRY_DB_*``). This module is the seam the handler hands to every processor:
it imports psycopg and the loader only on the first call, so functions that
never see a CSV file never pay for either. Connection failures are
:class:`~ferry.model.Transient` (retried, never a rejected file).
"""

from __future__ import annotations

from typing import Any


def connect() -> Any:
    """A new autocommit ``psycopg.Connection`` to the pipeline's database (caller closes it)."""
    from ferry.csvload.db import connect as connect_postgres

    return connect_postgres()
