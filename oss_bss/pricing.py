"""Prices (TMF620 ProductOfferingPrice in shape) and the bulk rating of usage against them.

An offering's prices come in *versions*, each in force from its instant: a
price change takes effect on its date, in the middle of a bill cycle too. A
version holds

* the recurring monthly price (prorated to the day by :mod:`oss_bss.billing`),
* a one-time price (billed once, on the first bill after activation),
* the usage price: tiers over the volume used in the bill cycle, an included
  allowance (a free first tier), and a time-of-day percentage per local hour
  (off-peak at half price, say).

Rating is exact integer arithmetic on whole columns. A record's charge is the
tariff's price of the bytes between the cycle's volume *before* it and
*after* it, times the percentage of its hour, rounded half-up to a whole
micro-unit, once: the rule of :mod:`oss_bss.money`. Flat tariffs (one price,
no allowance, no time of day) take the one-multiplication path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from oss_bss.errors import ValidationError
from oss_bss.money import ZERO, to_micros

BYTES_PER_GB = 1_000_000_000
HOUR = 3600
_MAX_PRICE_PERCENT = 9_000_000_000  # micros per GB x percent: keeps every product below 2^63


@dataclass(frozen=True, slots=True)
class UsageTier:
    """From ``from_gb`` of the cycle's volume on (until the next tier), ``price_per_gb``."""

    from_gb: Decimal
    price_per_gb: Decimal


@dataclass(frozen=True, slots=True)
class PriceVersion:
    """The prices of an offering from ``valid_from`` (seconds since the run's epoch) on."""

    valid_from: float
    monthly: Decimal
    one_time: Decimal = ZERO
    tiers: tuple[UsageTier, ...] = (UsageTier(Decimal(0), ZERO),)
    included_gb: Decimal = Decimal(0)  # free volume per bill cycle, before any tier
    hour_percent: tuple[int, ...] = (100,) * 24  # of the usage price, per local hour of the record's start

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        for name in ("monthly", "one_time"):
            value = getattr(self, name)
            if value < 0:
                errors[name] = "must not be negative"
            else:
                _check_micros(errors, name, value)
        if not self.tiers or self.tiers[0].from_gb != 0:
            errors["tiers"] = "the first usage tier must start at 0 GB"
        starts = [t.from_gb for t in self.tiers]
        if starts != sorted(set(starts)):
            errors["tiers"] = "usage tiers must start at increasing volumes"
        for i, t in enumerate(self.tiers):
            if t.price_per_gb < 0:
                errors[f"tiers[{i}].price_per_gb"] = "must not be negative"
            else:
                _check_micros(errors, f"tiers[{i}].price_per_gb", t.price_per_gb)
        if self.included_gb < 0:
            errors["included_gb"] = "must not be negative"
        if len(self.hour_percent) != 24 or any(not 0 <= p <= 1000 for p in self.hour_percent):
            errors["hour_percent"] = "give 24 percentages between 0 and 1000"
        if not errors and not self.flat:  # flat tariffs split large products; tiered ones need the bound
            percent = max(self.hour_percent)
            if max(to_micros(t.price_per_gb) for t in self.tiers) * percent >= _MAX_PRICE_PERCENT:
                limit = Decimal(_MAX_PRICE_PERCENT) / percent / 10**6
                errors["tiers"] = f"with tiers, an allowance or off-peak hours at up to {percent} %, " \
                                  f"a usage price must stay under {limit:.6f} per GB"  # fmt: skip
        if errors:
            raise ValidationError(errors)

    @property
    def flat(self) -> bool:
        """One usage price for every byte and hour: rated with one multiplication."""
        return len(self.tiers) == 1 and self.included_gb == 0 and set(self.hour_percent) == {100}

    @property
    def usage_price_per_gb(self) -> Decimal:
        """The first tier's price (the whole usage price of a flat tariff)."""
        return self.tiers[0].price_per_gb

    def compiled(self) -> "CompiledTariff":
        # The allowance is a free band [0, included); tiers below it are covered by it.
        included = int(self.included_gb * BYTES_PER_GB)
        bounds, prices = ([0], [0]) if included else ([], [])
        for i, tier in enumerate(self.tiers):
            start = int(tier.from_gb * BYTES_PER_GB)
            end = int(self.tiers[i + 1].from_gb * BYTES_PER_GB) if i + 1 < len(self.tiers) else None
            if end is not None and end <= included:
                continue
            bounds.append(max(start, included))
            prices.append(to_micros(tier.price_per_gb))
        return CompiledTariff(
            self.flat, np.array(bounds, np.int64), np.array(prices, np.int64), np.array(self.hour_percent, np.int64)
        )


def _check_micros(errors: dict, name: str, value: Decimal) -> None:
    try:
        to_micros(value)
    except ValueError as exc:
        errors[name] = str(exc)


@dataclass(frozen=True, slots=True)
class CompiledTariff:
    """A price version as arrays: band lower bounds (bytes), micros per GB, percent per hour."""

    flat: bool
    bounds: np.ndarray
    prices: np.ndarray
    percent: np.ndarray

    def rate(self, start: np.ndarray, volume: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Micros charged for each record, given the cycle's volume before it."""
        if self.flat:
            return flat_rate(volume, int(self.prices[0]))
        hours = (start // HOUR).astype(np.int64) % 24
        percent = self.percent[hours]
        after = before + volume
        whole = np.zeros(len(volume), np.int64)  # hundredths of micros (price x percent)
        rest = np.zeros(len(volume), np.int64)  # the same, in units of 10^-9 of it
        n = len(self.bounds)
        for t in range(n):
            if self.prices[t] == 0:
                continue
            lo = int(self.bounds[t])
            if t + 1 < n:
                hi = int(self.bounds[t + 1])
                band = np.clip(after, lo, hi) - np.clip(before, lo, hi)
            else:
                band = np.maximum(after, lo) - np.maximum(before, lo)
            price = percent * int(self.prices[t])  # < 9e9, so rem x price < 2^63
            gb, rem = np.divmod(band, BYTES_PER_GB)
            whole += gb * price
            part = rem * price
            whole += part // BYTES_PER_GB
            rest += part % BYTES_PER_GB
        whole += rest // BYTES_PER_GB
        # Exact: charge x 100 = whole + (a fraction below 1), so half-up is (whole + 50) // 100.
        return (whole + 50) // 100

    def max_micros_per_gb(self) -> int:
        """The dearest a gigabyte can be under this tariff (for prepaid reservations)."""
        return -(-int(self.prices.max()) * int(self.percent.max()) // 100)


def flat_rate(volume_bytes: np.ndarray, micros_per_gb) -> np.ndarray:
    """Charge of each record in micro-units: ``bytes x price / 10^9``, rounded half-up.

    ``micros_per_gb`` is one price or one per record. Exact integer arithmetic:
    when a product could overflow int64 the volume is split into whole
    gigabytes and a remainder.
    """
    volume = volume_bytes.astype(np.int64, copy=False)
    price = np.asarray(micros_per_gb, dtype=np.int64)
    if len(volume) == 0:
        return np.zeros(0, dtype=np.int64)
    if int(volume.max()) * int(price.max()) < 2**62:  # no product can overflow: one pass
        return (volume * price + BYTES_PER_GB // 2) // BYTES_PER_GB
    whole, rest = np.divmod(volume, BYTES_PER_GB)
    return whole * price + (rest * price + BYTES_PER_GB // 2) // BYTES_PER_GB


@dataclass(frozen=True, slots=True)
class PriceSchedule:
    """An offering's price versions, oldest first; the first is in force from the start."""

    versions: tuple[PriceVersion, ...]
    compiled: tuple[CompiledTariff, ...] = field(init=False, repr=False, compare=False)
    starts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValidationError({"prices": "an offering needs a price"})
        froms = [v.valid_from for v in self.versions]
        if froms != sorted(set(froms)):
            raise ValidationError({"prices": "price versions must take effect at increasing dates"})
        object.__setattr__(self, "compiled", tuple(v.compiled() for v in self.versions))
        starts = np.array(froms, dtype=np.float64)
        starts[0] = -np.inf
        object.__setattr__(self, "starts", starts)

    def at(self, when: float) -> PriceVersion:
        """The version in force at ``when`` (a version applies from its instant on)."""
        return self.versions[self.index_at(when)]

    def index_at(self, when: float) -> int:
        return int(np.searchsorted(self.starts, when, side="right")) - 1

    def changes_within(self, start: float, end: float) -> list[float]:
        """Instants in (start, end) at which a new version takes effect."""
        return [v.valid_from for v in self.versions[1:] if start < v.valid_from < end]


class Tariffs:
    """Every offering's price schedule by plan number, for rating whole batches.

    A service's *plan* is the number of its offering here; a record is priced
    by the version in force at its start.
    """

    def __init__(self, schedules: Sequence[PriceSchedule] = ()):
        self.schedules: list[PriceSchedule] = list(schedules)

    def add(self, schedule: PriceSchedule) -> int:
        self.schedules.append(schedule)
        return len(self.schedules) - 1

    @property
    def needs_volume(self) -> bool:
        """Whether any price depends on the cycle's volume or the hour (else rating is one multiplication)."""
        return any(not t.flat for s in self.schedules for t in s.compiled)

    def add_flat(self, price_per_gb: Decimal) -> int:
        """A plan of one usage price for ever (no recurring price): for tools and tests."""
        return self.add(PriceSchedule((PriceVersion(0.0, ZERO, tiers=(UsageTier(Decimal(0), price_per_gb),)),)))

    def rate(self, plans: np.ndarray, start: np.ndarray, volume: np.ndarray, before: np.ndarray | None) -> np.ndarray:
        """Micros for each record: its plan's version at its start, its cycle volume before it.

        ``before`` may be None when every tariff is flat (:attr:`needs_volume` is false).
        """
        if len(volume) == 0:
            return np.zeros(0, np.int64)
        if len(self.schedules) == 1 and len(self.schedules[0].versions) == 1:  # one price for all: no grouping
            tariff = self.schedules[0].compiled[0]
            return flat_rate(volume, int(tariff.prices[0])) if tariff.flat else tariff.rate(start, volume, before)
        out = np.zeros(len(volume), np.int64)
        if len(self.schedules) == 1:
            present = np.zeros(1, np.int64)
        else:
            present = np.flatnonzero(np.bincount(plans, minlength=len(self.schedules)))
        for plan in present:
            rows: slice | np.ndarray = slice(None) if len(present) == 1 else np.flatnonzero(plans == plan)
            schedule = self.schedules[plan]
            if len(schedule.versions) == 1:
                groups: Iterable = ((0, rows),)
            else:
                version = np.searchsorted(schedule.starts, start[rows], side="right") - 1
                base = np.arange(len(volume))[rows]
                groups = ((v, base[version == v]) for v in np.unique(version))
            for v, sub in groups:
                tariff = schedule.compiled[v]
                if tariff.flat:
                    out[sub] = flat_rate(volume[sub], int(tariff.prices[0]))
                else:
                    out[sub] = tariff.rate(start[sub], volume[sub], before[sub])
        return out
