"""Rated usage records in a columnar file beside the database.

One Parquet file per run (``usage/rated.parquet``), a row group per simulated
day, with the columns of :class:`oss_bss.ports.RatedUsage`: service key,
interval start and end (seconds from the scenario start), bytes and charge in
micro-units. Together with the ``service`` table (key -> service id) they let
anyone recompute every usage line of every bill (:func:`load`), with this
module or any Parquet reader (pandas, DuckDB, Spark).

Snappy compression: about 0.1 s per million records to write, where zlib
(NumPy's ``savez_compressed``) took 1.5 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from oss_bss.ports import RatedUsage

COLUMNS = ("service_key", "start", "end", "volume_bytes", "charge_micros")
SCHEMA = pa.schema(
    [("service_key", pa.int64()), ("start", pa.float64()), ("end", pa.float64()),
     ("volume_bytes", pa.int64()), ("charge_micros", pa.int64())]
)  # fmt: skip
FILE = "rated.parquet"
REJECTED = "rejected.parquet"
REJECTED_SCHEMA = pa.schema(
    [("network_ref", pa.int64()), ("service_key", pa.int64()), ("start", pa.float64()), ("end", pa.float64()),
     ("volume_bytes", pa.int64()), ("reason", pa.string())]
)  # fmt: skip
DAY = 86_400.0


class ParquetUsageArchive:
    """Buffers a day's rated batches and writes them as one row group when the day is over."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(self.folder / FILE, SCHEMA, compression="snappy")
        self._rejected: list[pa.Table] = []
        self._day: int | None = None
        self._buffer: list[RatedUsage] = []

    def append(self, records: RatedUsage) -> None:
        day = int(records.start[0] // DAY) if len(records) else self._day
        if self._day is not None and day != self._day:
            self.flush()
        self._day = day
        self._buffer.append(records)

    def flush(self) -> None:
        if not self._buffer:
            return
        columns = [pa.array(np.concatenate([getattr(b, name) for b in self._buffer])) for name in COLUMNS]
        self._writer.write_table(pa.Table.from_arrays(columns, schema=SCHEMA))
        self._buffer = []

    def reject(self, batch, keys: np.ndarray, rows: np.ndarray, reasons: np.ndarray) -> None:
        from oss_bss.usage import REJECT_REASONS

        names = np.array(REJECT_REASONS, dtype=object)[reasons]
        self._rejected.append(pa.Table.from_arrays(
            [pa.array(batch.network_ref[rows]), pa.array(keys[rows]), pa.array(batch.start[rows]),
             pa.array(batch.end[rows]), pa.array(batch.volume_bytes[rows]), pa.array(names.tolist(), pa.string())],
            schema=REJECTED_SCHEMA,
        ))  # fmt: skip

    def close(self) -> None:
        self.flush()
        self._writer.close()
        if self._rejected:
            pq.write_table(pa.concat_tables(self._rejected), self.folder / REJECTED, compression="snappy")


def load(folder: Path) -> dict[str, np.ndarray]:
    """All rated usage records of a run, as columns, in the order they were rated."""
    table = pq.read_table(Path(folder) / FILE)
    return {name: table.column(name).to_numpy() for name in COLUMNS}
