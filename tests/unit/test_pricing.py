"""Prices: tiers, allowances, time of day and versions, against an exact Decimal reference."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oss_bss.errors import ValidationError
from oss_bss.pricing import BYTES_PER_GB, PriceSchedule, PriceVersion, Tariffs, UsageTier
from oss_bss.usage import UsageLedger, mediate
from oss_bss.ports import UsageBatch

GB = BYTES_PER_GB


def reference(version: PriceVersion, before: int, volume: int, hour: int) -> int:
    """Micros for one record, by walking the bands in Decimal: the rule, written out plainly."""
    included = int(version.included_gb * GB)
    total = Decimal(0)
    tiers = version.tiers
    for i, tier in enumerate(tiers):
        lo = int(tier.from_gb * GB)
        hi = int(tiers[i + 1].from_gb * GB) if i + 1 < len(tiers) else 10**30
        lo = max(lo, included)
        overlap = max(0, min(before + volume, hi) - max(before, lo))
        total += Decimal(overlap) * tier.price_per_gb * 10**6 / GB
    total = total * version.hour_percent[hour] / 100
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


prices = st.decimals(min_value=0, max_value=20, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def versions(draw):
    starts = sorted(set(draw(st.lists(st.integers(1, 500), max_size=3))))
    tiers = [UsageTier(Decimal(0), draw(prices))] + [UsageTier(Decimal(s), draw(prices)) for s in starts]
    included = Decimal(draw(st.sampled_from([0, 0, 5, 50, 600])))
    percent = tuple(draw(st.sampled_from([100, 100, 50, 0, 150])) for _ in range(24))
    return PriceVersion(0.0, Decimal("10.00"), tiers=tuple(tiers), included_gb=included, hour_percent=percent)


@settings(max_examples=150, deadline=None)
@given(versions(), st.lists(st.tuples(st.integers(0, 23), st.integers(1, 300 * GB)), min_size=1, max_size=40))
def test_a_record_costs_the_bands_it_crosses_at_its_hour_rounded_once(version, records):
    tariffs = Tariffs([PriceSchedule((version,))])
    before, expected = 0, []
    for hour, volume in records:
        expected.append(reference(version, before, volume, hour))
        before += volume
    vol = np.array([v for _, v in records], np.int64)
    start = np.array([h * 3600.0 for h, _ in records])
    cumulative = np.concatenate([[0], np.cumsum(vol)[:-1]])
    got = tariffs.rate(np.zeros(len(vol), np.int64), start, vol, cumulative)
    assert got.tolist() == expected


def test_the_allowance_is_free_and_the_tiers_count_the_cycle_volume():
    version = PriceVersion(0.0, Decimal("20.00"), included_gb=Decimal(10),
                           tiers=(UsageTier(Decimal(0), Decimal("1.00")), UsageTier(Decimal(100), Decimal("0.50"))))  # fmt: skip
    ledger = UsageLedger(4, Tariffs([PriceSchedule((version,))]))
    keys = np.array([0])

    def hour(h, gb):
        b = UsageBatch(np.array([1]), np.array([h * 3600.0]), np.array([(h + 1) * 3600.0]), np.array([gb * GB]))
        return int(ledger.rate(mediate(b, keys, np.ones(4, bool))).charge_micros[0])

    assert hour(0, 8) == 0  # inside the 10 GB allowance
    assert hour(1, 12) == 10_000_000  # 2 GB free, 10 GB at 1.00
    assert hour(2, 90) == 80_000_000 + 5_000_000  # 80 GB at 1.00 up to 100 GB, 10 GB at 0.50
    ledger.close(0, 3 * 3600.0)  # a new cycle: the allowance again
    assert hour(3, 10) == 0


def test_a_price_version_applies_to_records_from_its_instant():
    old = PriceVersion(0.0, Decimal("10.00"), tiers=(UsageTier(Decimal(0), Decimal("1.00")),))
    new = PriceVersion(7200.0, Decimal("12.00"), tiers=(UsageTier(Decimal(0), Decimal("2.00")),))
    schedule = PriceSchedule((old, new))
    tariffs = Tariffs([schedule])
    start = np.array([0.0, 3600.0, 7200.0, 10800.0])
    got = tariffs.rate(np.zeros(4, np.int64), start, np.full(4, GB), np.zeros(4, np.int64))
    assert got.tolist() == [1_000_000, 1_000_000, 2_000_000, 2_000_000]
    assert schedule.at(7199.0) is old and schedule.at(7200.0) is new
    assert schedule.changes_within(0.0, 86_400.0) == [7200.0]


def test_repeated_services_in_one_batch_climb_the_tiers_in_time_order():
    version = PriceVersion(0.0, Decimal(0), included_gb=Decimal(1), tiers=(UsageTier(Decimal(0), Decimal("1.00")),))
    ledger = UsageLedger(2, Tariffs([PriceSchedule((version,))]))
    # Two intervals of service 0, the later one listed first: the earlier one uses the allowance.
    b = UsageBatch(np.array([1, 1]), np.array([3600.0, 0.0]), np.array([7200.0, 3600.0]), np.array([GB, GB]))
    rated = ledger.rate(mediate(b, np.array([0, 0]), np.ones(2, bool)))
    assert dict(zip(rated.start.tolist(), rated.charge_micros.tolist())) == {0.0: 0, 3600.0: 1_000_000}


def test_a_flat_price_may_be_large_its_rating_splits_the_product():
    version = PriceVersion(0.0, Decimal(1), tiers=(UsageTier(Decimal(0), Decimal("500")),))
    got = Tariffs([PriceSchedule((version,))]).rate(None, np.zeros(1), np.array([10**13]), None)
    assert got.tolist() == [500 * 10**4 * 10**6]  # 10 TB at 500 per GB, exact


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"tiers": (UsageTier(Decimal(1), Decimal(1)),)}, "tiers"),
        ({"tiers": (UsageTier(Decimal(0), Decimal(1)), UsageTier(Decimal(0), Decimal(2)))}, "tiers"),
        ({"hour_percent": (100,) * 23}, "hour_percent"),
        ({"tiers": (UsageTier(Decimal(0), Decimal("95")),), "included_gb": Decimal(1)}, "tiers"),
        ({"tiers": (UsageTier(Decimal(0), Decimal("10")),), "hour_percent": (1000,) * 24}, "tiers"),
        ({"one_time": Decimal("-1")}, "one_time"),
        ({"tiers": (UsageTier(Decimal(0), Decimal("0.0000001")),)}, "tiers[0].price_per_gb"),
    ],
)
def test_impossible_prices_are_refused_with_the_field(kwargs, field):
    with pytest.raises(ValidationError) as err:
        PriceVersion(0.0, Decimal(1), **kwargs)
    assert field in err.value.errors
