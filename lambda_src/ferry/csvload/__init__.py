"""CSV -> PostgreSQL loading: streaming, validated, exactly once, at close to COPY speed.

* :mod:`ferry.csvload.config`   dataset specifications (parsed and checked)
* :mod:`ferry.csvload.fields`   per-type rules, always within what PostgreSQL accepts
* :mod:`ferry.csvload.reader`   record-aligned chunks from a byte stream
* :mod:`ferry.csvload.validate` bulk validation of chunks, exact diagnosis of bad rows
* :mod:`ferry.csvload.loader`   the exactly-once load (advisory lock + ``ferry.loads``)
* :mod:`ferry.csvload.migrate`  creating the tables (``python -m ferry.csvload.migrate``)

Connections come from :mod:`ferry.db` (the one connection seam). Importing this
package is cheap: psycopg is imported on first database use.
"""

from ferry.csvload.config import Column, Dataset, DatasetError, parse_dataset, parse_datasets
from ferry.csvload.loader import Loader, LoadError, LoadResult, Source

__all__ = [
    "Column",
    "Dataset",
    "DatasetError",
    "LoadError",
    "LoadResult",
    "Loader",
    "Source",
    "parse_dataset",
    "parse_datasets",
]
