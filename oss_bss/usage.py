"""Usage to bill, the bulk part: mediation, rating and the usage ledger.

Everything here works on whole columns (NumPy arrays), never one Python
object per record: a usage batch of a million records is mediated and rated
in a handful of array operations.

* :func:`mediate` checks a batch from the network against the service
  inventory and keeps the records that can be billed; the others are counted
  by reason (unknown service, service not billable, bad interval, negative
  volume, duplicate).
* :func:`rate` prices accepted records in integer micro-units, each rounded
  half-up to a whole micro-unit (the rule in :mod:`oss_bss.money`).
* :class:`UsageLedger` accumulates, per service, what was rated since its last
  bill, and the run's totals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oss_bss.catalog import BYTES_PER_GB
from oss_bss.ports import RatedUsage, UsageBatch

REJECT_REASONS = ("unknown_service", "not_billable", "bad_interval", "negative_volume", "duplicate")


@dataclass(frozen=True)
class Mediated:
    """The accepted records of a batch (by service key) and the rejected counts by reason."""

    service_key: np.ndarray
    start: np.ndarray
    end: np.ndarray
    volume_bytes: np.ndarray
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def mediate(batch: UsageBatch, keys: np.ndarray, billable: np.ndarray) -> Mediated:
    """Keep the records of ``batch`` that can be billed.

    ``keys`` are the service keys of the batch's network handles (-1 when the
    inventory does not know one); ``billable[key]`` says whether that service
    may be charged. Zero-volume records are dropped silently: they carry
    nothing to bill and are not errors.
    """
    reasons: dict[str, np.ndarray] = {}
    known = keys >= 0
    reasons["unknown_service"] = ~known
    is_billable = np.zeros(len(keys), dtype=bool)
    is_billable[known] = billable[keys[known]]
    reasons["not_billable"] = known & ~is_billable
    bad = (batch.end <= batch.start) & known & is_billable
    reasons["bad_interval"] = bad
    negative = (batch.volume_bytes < 0) & known & is_billable & ~bad
    reasons["negative_volume"] = negative
    ok = known & is_billable & ~bad & ~negative & (batch.volume_bytes > 0)
    # Duplicates: the same service and interval start twice; the first one stands.
    idx = np.flatnonzero(ok)
    dup = np.zeros(len(keys), dtype=bool)
    if len(idx) > 1:
        pair = np.stack([keys[idx], batch.start[idx].view(np.int64)], axis=1)
        _, first = np.unique(pair, axis=0, return_index=True)
        if len(first) < len(idx):
            keep = np.zeros(len(idx), dtype=bool)
            keep[first] = True
            dup[idx[~keep]] = True
            ok &= ~dup
    reasons["duplicate"] = dup
    return Mediated(
        service_key=keys[ok],
        start=batch.start[ok],
        end=batch.end[ok],
        volume_bytes=batch.volume_bytes[ok],
        rejected={r: int(np.count_nonzero(m)) for r, m in reasons.items() if m.any()},
    )


def rate(volume_bytes: np.ndarray, micros_per_gb: np.ndarray) -> np.ndarray:
    """Charge of each record in micro-units: ``bytes x price / 10^9``, rounded half-up.

    Exact integer arithmetic: the volume is split into whole gigabytes and a
    remainder so no product overflows int64 for prices under 9,000 currency
    units per gigabyte.
    """
    whole, rest = np.divmod(volume_bytes.astype(np.int64), BYTES_PER_GB)
    price = micros_per_gb.astype(np.int64)
    return whole * price + (rest * price + BYTES_PER_GB // 2) // BYTES_PER_GB


class UsageLedger:
    """Per-service usage since the last bill, the tariff per service, and run totals."""

    def __init__(self, capacity: int = 1024):
        self.micros_per_gb = np.zeros(capacity, dtype=np.int64)
        self.billable = np.zeros(capacity, dtype=bool)
        self.open_micros = np.zeros(capacity, dtype=np.int64)
        self.open_bytes = np.zeros(capacity, dtype=np.int64)
        self.open_records = np.zeros(capacity, dtype=np.int64)
        self.records = 0
        self.volume_bytes = 0
        self.charge_micros = 0
        self.rejected: dict[str, int] = {}

    def ensure(self, key: int) -> None:
        """Make room for service ``key``."""
        size = len(self.billable)
        if key < size:
            return
        new = max(key + 1, 2 * size)
        for name in ("micros_per_gb", "billable", "open_micros", "open_bytes", "open_records"):
            old = getattr(self, name)
            grown = np.zeros(new, dtype=old.dtype)
            grown[:size] = old
            setattr(self, name, grown)

    def set_tariff(self, key: int, micros_per_gb: int) -> None:
        self.ensure(key)
        self.micros_per_gb[key] = micros_per_gb

    def rate(self, mediated: Mediated) -> RatedUsage:
        """Rate accepted records and add them to each service's open balance."""
        keys = mediated.service_key
        charges = rate(mediated.volume_bytes, self.micros_per_gb[keys])
        # A batch may hold several intervals of one service: np.add.at sums
        # repeated keys exactly (fancy-index += would keep only the last).
        np.add.at(self.open_micros, keys, charges)
        np.add.at(self.open_bytes, keys, mediated.volume_bytes)
        np.add.at(self.open_records, keys, 1)
        self.records += len(keys)
        self.volume_bytes += int(mediated.volume_bytes.sum())
        self.charge_micros += int(charges.sum())
        for reason, n in mediated.rejected.items():
            self.rejected[reason] = self.rejected.get(reason, 0) + n
        return RatedUsage(keys, mediated.start, mediated.end, mediated.volume_bytes, charges)

    def close(self, key: int) -> tuple[int, int, int]:
        """Take (micros, bytes, records) rated for ``key`` since its last bill and reset them."""
        if key >= len(self.open_micros):
            return 0, 0, 0
        taken = int(self.open_micros[key]), int(self.open_bytes[key]), int(self.open_records[key])
        self.open_micros[key] = self.open_bytes[key] = self.open_records[key] = 0
        return taken

    @property
    def unbilled_micros(self) -> int:
        return int(self.open_micros.sum())
