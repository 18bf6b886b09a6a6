"""Usage to bill, the bulk part: mediation, rating and the usage ledger.

Everything here works on whole columns (NumPy arrays), never one Python
object per record: a usage batch of a million records is mediated and rated
in a handful of array operations.

* :func:`mediate` checks a batch from the network against the service
  inventory and keeps the records that can be billed; the others are counted
  by reason (unknown service, service not billable, bad interval, negative
  volume, duplicate).
* :class:`UsageLedger` rates accepted records against each service's tariff
  (:mod:`oss_bss.pricing`: versions, tiers over the cycle's volume, allowances,
  time of day) in integer micro-units, each rounded half-up once, and
  accumulates per service what was rated since its last bill, and the run's
  totals. Late records (of a period already billed) are rated where that
  period's volume ended and billed apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oss_bss.ports import RatedUsage, UsageBatch
from oss_bss.pricing import Tariffs, flat_rate

REJECT_REASONS = ("unknown_service", "not_billable", "bad_interval", "negative_volume", "duplicate")


@dataclass(frozen=True)
class Mediated:
    """The accepted records of a batch (by service key) and the rejected counts by reason."""

    service_key: np.ndarray
    start: np.ndarray
    end: np.ndarray
    volume_bytes: np.ndarray
    rejected: dict[str, int] = field(default_factory=dict)
    unique_keys: bool = False  # no service appears twice (then plain fancy indexing sums exactly)
    rejected_index: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # rows of the batch
    rejected_reason: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # index into REJECT_REASONS

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


def _duplicates(keys: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Mask of records whose (service, interval start) came earlier in the batch.

    Only services that appear more than once can have duplicates, and in a
    batch of counters polled once per interval there are none: that case costs
    one ``bincount``; otherwise only the repeated services are sorted.
    """
    dup = np.zeros(len(keys), dtype=bool)
    if len(keys) < 2:
        return dup
    counts = np.bincount(keys)
    repeated = np.flatnonzero(counts[keys] > 1)
    if len(repeated) == 0:
        return dup
    order = repeated[np.lexsort((repeated, start[repeated], keys[repeated]))]
    same = (keys[order][1:] == keys[order][:-1]) & (start[order][1:] == start[order][:-1])
    dup[order[1:][same]] = True
    return dup


def mediate(batch: UsageBatch, keys: np.ndarray, billable: np.ndarray) -> Mediated:
    """Keep the records of ``batch`` that can be billed.

    ``keys`` are the service keys of the batch's network handles (-1 when the
    inventory does not know one); ``billable[key]`` says whether that service
    may be charged. Zero-volume records are dropped silently: they carry
    nothing to bill and are not errors. Of records repeating a service and
    interval start, the first stands.
    """
    known = keys >= 0
    is_billable = known & billable[np.where(known, keys, 0)]
    bad = is_billable & (batch.end <= batch.start)
    negative = is_billable & ~bad & (batch.volume_bytes < 0)
    ok = is_billable & ~bad & ~negative & (batch.volume_bytes > 0)
    # A slice when every record passes (the usual case) avoids copying the columns.
    kept: slice | np.ndarray = slice(None) if ok.all() else np.flatnonzero(ok)
    k, st = keys[kept], batch.start[kept]
    dup = _duplicates(k, st)
    if dup.any():
        kept = np.flatnonzero(ok)[~dup]
        k, st = keys[kept], batch.start[kept]
    if isinstance(kept, slice) and not dup.any():  # every record passed: nothing to explain
        rejected, rejected_index, reasons = {}, np.empty(0, np.int64), np.empty(0, np.int8)
    else:
        dup_rows = np.zeros(len(keys), dtype=bool)
        dup_rows[np.flatnonzero(ok)[dup]] = True
        masks = (~known, known & ~is_billable, bad, negative, dup_rows)  # in REJECT_REASONS order
        rejected = {name: int(np.count_nonzero(m)) for name, m in zip(REJECT_REASONS, masks)}
        reason = np.full(len(keys), -1, dtype=np.int8)
        for code, m in enumerate(masks):
            reason[m & (reason < 0)] = code
        rejected_index = np.flatnonzero(reason >= 0)
        reasons = reason[rejected_index]
    unique = len(k) == 0 or not dup.any() and int(np.bincount(k).max()) <= 1
    return Mediated(
        service_key=k,
        start=st,
        end=batch.end[kept],
        volume_bytes=batch.volume_bytes[kept],
        rejected={r: n for r, n in rejected.items() if n},
        unique_keys=unique,
        rejected_index=rejected_index,
        rejected_reason=reasons,
    )


def rate(volume_bytes: np.ndarray, micros_per_gb) -> np.ndarray:
    """Flat rating: ``bytes x price / 10^9`` per record, rounded half-up (see :mod:`oss_bss.pricing`)."""
    return flat_rate(volume_bytes, micros_per_gb)


def _before_in_batch(keys: np.ndarray, group: np.ndarray, start: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """Volume of the same service (and ``group``) in earlier records of the batch, by start time."""
    order = np.lexsort((start, group, keys))
    v = volume[order]
    cum = np.cumsum(v) - v
    k, g = keys[order], group[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (k[1:] != k[:-1]) | (g[1:] != g[:-1])
    base = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    out = np.empty(len(order), np.int64)
    out[order] = cum - cum[base]
    return out


class UsageLedger:
    """Per-service usage since the last bill, the tariff per service, and run totals."""

    def __init__(self, capacity: int = 1024, tariffs: Tariffs | None = None):
        self.tariffs = tariffs if tariffs is not None else Tariffs()
        self.plan = np.zeros(capacity, dtype=np.int64)  # plan number (offering) per service
        self.previous_plan = np.zeros(capacity, dtype=np.int64)  # for records started before plan_since
        self.plan_since = np.full(capacity, -np.inf)
        self.plan_changes = 0
        self.cycle_bytes = np.zeros(capacity, dtype=np.int64)  # rated in the open cycle (for tiers, allowances)
        self.closed_cycle_bytes = np.zeros(capacity, dtype=np.int64)  # of the last billed cycle (late records)
        self.billable = np.zeros(capacity, dtype=bool)
        self.open_micros = np.zeros(capacity, dtype=np.int64)
        self.open_bytes = np.zeros(capacity, dtype=np.int64)
        self.open_records = np.zeros(capacity, dtype=np.int64)
        self.rated_bytes = np.zeros(capacity, dtype=np.int64)  # ever rated, per service (revenue assurance)
        # Late records: usage of a period already billed, billed apart on the next bill.
        self.billed_until = np.full(capacity, -np.inf)  # end of the last billed period, per service
        self.late_micros = np.zeros(capacity, dtype=np.int64)
        self.late_bytes = np.zeros(capacity, dtype=np.int64)
        self.late_records = np.zeros(capacity, dtype=np.int64)
        self.late = 0
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
        for name in ("plan", "previous_plan", "plan_since", "cycle_bytes", "closed_cycle_bytes", "billable", "open_micros", "open_bytes", "open_records", "rated_bytes",
                     "billed_until", "late_micros", "late_bytes", "late_records"):
            old = getattr(self, name)
            grown = np.full(new, -np.inf) if name in ("billed_until", "plan_since") else np.zeros(new, dtype=old.dtype)
            grown[:size] = old
            setattr(self, name, grown)

    def set_plan(self, key: int, plan: int, at: float = float("-inf")) -> None:
        """Rate service ``key``'s records that start at ``at`` or later by plan ``plan``.

        Records that started before (the current interval, late ones) keep the
        plan they had: one change back is remembered per service.
        """
        self.ensure(key)
        if at > float("-inf") and self.billable[key]:  # a change of a live service's plan
            self.previous_plan[key], self.plan_since[key] = self.plan[key], at
            self.plan_changes += 1
        self.plan[key] = plan

    def rate(self, mediated: Mediated) -> RatedUsage:
        """Rate accepted records and add them to each service's open balance."""
        keys, volume = mediated.service_key, mediated.volume_bytes
        late = mediated.start < self.billed_until[keys]
        any_late = bool(late.any())
        # The cycle's volume matters only to tiers, allowances and hours; flat tariffs skip it.
        by_volume = self.tariffs.needs_volume
        before = None
        if by_volume and any_late:  # late records continue the volume of the period they belong to
            before = np.where(late, self.closed_cycle_bytes[keys], self.cycle_bytes[keys])
        elif by_volume:
            before = self.cycle_bytes[keys]
        if by_volume and not mediated.unique_keys:
            before = before + _before_in_batch(keys, late.view(np.int8), mediated.start, volume)
        plans = None
        if len(self.tariffs.schedules) > 1:
            plans = self.plan[keys]
            if self.plan_changes:  # records that started before their service's last change keep the old plan
                before_change = mediated.start < self.plan_since[keys]
                if before_change.any():
                    plans = np.where(before_change, self.previous_plan[keys], plans)
        charges = rated_charges = self.tariffs.rate(plans, mediated.start, volume, before)
        if mediated.unique_keys:
            self.rated_bytes[keys] += volume
        else:
            np.add.at(self.rated_bytes, keys, volume)
        if any_late:  # for a period already billed: kept apart, billed as late usage
            np.add.at(self.closed_cycle_bytes, keys[late], volume[late])
            np.add.at(self.cycle_bytes, keys[~late], volume[~late])
            lk = keys[late]
            np.add.at(self.late_micros, lk, charges[late])
            np.add.at(self.late_bytes, lk, mediated.volume_bytes[late])
            np.add.at(self.late_records, lk, 1)
            self.late += int(late.sum())
            keys, charges, volume = keys[~late], charges[~late], mediated.volume_bytes[~late]
            np.add.at(self.open_micros, keys, charges)
            np.add.at(self.open_bytes, keys, volume)
            np.add.at(self.open_records, keys, 1)
        elif mediated.unique_keys:
            if by_volume:
                self.cycle_bytes[keys] += mediated.volume_bytes
            self.open_micros[keys] += charges
            self.open_bytes[keys] += mediated.volume_bytes
            self.open_records[keys] += 1
        else:  # several intervals of one service: np.add.at sums repeated keys exactly
            if by_volume:
                np.add.at(self.cycle_bytes, keys, mediated.volume_bytes)
            np.add.at(self.open_micros, keys, charges)
            np.add.at(self.open_bytes, keys, mediated.volume_bytes)
            np.add.at(self.open_records, keys, 1)
        self.records += len(mediated.service_key)
        self.volume_bytes += int(mediated.volume_bytes.sum())
        self.charge_micros += int(rated_charges.sum())
        for reason, n in mediated.rejected.items():
            self.rejected[reason] = self.rejected.get(reason, 0) + n
        return RatedUsage(mediated.service_key, mediated.start, mediated.end, mediated.volume_bytes, rated_charges)

    def close(self, key: int, period_end: float | None = None) -> tuple[int, int, int]:
        """Take (micros, bytes, records) rated for ``key`` since its last bill and reset them.

        With ``period_end``, records of intervals before it that arrive later are late.
        """
        if key >= len(self.open_micros):
            return 0, 0, 0
        taken = int(self.open_micros[key]), int(self.open_bytes[key]), int(self.open_records[key])
        self.open_micros[key] = self.open_bytes[key] = self.open_records[key] = 0
        if period_end is not None:
            self.billed_until[key] = period_end
            self.closed_cycle_bytes[key], self.cycle_bytes[key] = self.cycle_bytes[key], 0
        return taken

    def close_late(self, key: int) -> tuple[int, int, int]:
        """Take the late (micros, bytes, records) of ``key`` and reset them."""
        if key >= len(self.late_micros):
            return 0, 0, 0
        taken = int(self.late_micros[key]), int(self.late_bytes[key]), int(self.late_records[key])
        self.late_micros[key] = self.late_bytes[key] = self.late_records[key] = 0
        return taken

    @property
    def unbilled_micros(self) -> int:
        return int(self.open_micros.sum() + self.late_micros.sum())
