"""Rated usage records in columnar files beside the database.

One compressed NumPy archive per simulated day (``usage/day-0000.npz``), with
the columns of :class:`oss_bss.ports.RatedUsage`: service key, interval start
and end (seconds from the scenario start), bytes and charge in micro-units.
Together with the ``service`` table (key -> service id) they let anyone
recompute every usage line of every bill (:func:`load`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oss_bss.ports import RatedUsage

COLUMNS = ("service_key", "start", "end", "volume_bytes", "charge_micros")
DAY = 86_400.0


class NpzUsageArchive:
    """Buffers a day's rated batches and writes them as one file when the day is over."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
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
        columns = {name: np.concatenate([getattr(b, name) for b in self._buffer]) for name in COLUMNS}
        np.savez_compressed(self.folder / f"day-{self._day:04d}.npz", **columns)
        self._buffer = []

    def close(self) -> None:
        self.flush()


def load(folder: Path) -> dict[str, np.ndarray]:
    """All rated usage records of a run, as columns, in the order they were rated."""
    files = sorted(Path(folder).glob("day-*.npz"))
    if not files:
        return {name: np.empty(0) for name in COLUMNS}
    parts = [np.load(f) for f in files]
    return {name: np.concatenate([p[name] for p in parts]) for name in COLUMNS}
