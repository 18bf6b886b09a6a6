"""Bulk rating against an exact Decimal reference, and the money rules."""

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oss_bss.money import from_micros, to_cents, to_micros
from oss_bss.usage import UsageLedger, mediate, rate
from oss_bss.ports import UsageBatch


def reference_micros(volume: int, price: Decimal) -> int:
    exact = Decimal(volume) * price / Decimal(10**9) * 10**6
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(
    st.lists(st.integers(0, 5 * 10**12), min_size=1, max_size=50),
    st.decimals(min_value=0, max_value=8999, places=6, allow_nan=False, allow_infinity=False),
)
def test_bulk_rating_equals_decimal_arithmetic_record_by_record(volumes, price):
    charges = rate(np.array(volumes, np.int64), np.full(len(volumes), to_micros(price), np.int64))
    assert [int(c) for c in charges] == [reference_micros(v, price) for v in volumes]


def test_half_a_micro_rounds_up():
    # 1 byte at 0.5 micro-units per byte -> 0.5 micro -> 1
    assert rate(np.array([1]), np.array([500_000_000]))[0] == 1
    assert rate(np.array([1]), np.array([499_999_999]))[0] == 0


def test_prices_with_more_than_six_decimals_are_refused():
    with pytest.raises(ValueError):
        to_micros(Decimal("0.0000001"))
    assert from_micros(to_micros(Decimal("12.345678"))) == Decimal("12.345678")
    assert to_cents(Decimal("0.005")) == Decimal("0.01")
    assert to_cents(Decimal("0.0049")) == Decimal("0.00")


def batch(refs, starts, volumes):
    starts = np.asarray(starts, float)
    return UsageBatch(np.asarray(refs, np.int64), starts, starts + 3600, np.asarray(volumes, np.int64))


def test_mediation_rejects_unknown_unbillable_negative_and_duplicate_records():
    keys = np.array([0, 1, -1, 2, 0, 1])  # service keys of the records' handles
    billable = np.array([True, True, False])
    b = batch([10, 11, 99, 12, 10, 11], [0, 0, 0, 0, 0, 3600], [5, -3, 7, 9, 6, 4])
    m = mediate(b, keys, billable)
    assert m.service_key.tolist() == [0, 1]
    assert m.volume_bytes.tolist() == [5, 4]
    assert m.rejected == {"unknown_service": 1, "not_billable": 1, "negative_volume": 1, "duplicate": 1}


def test_ledger_sums_repeated_services_exactly_and_closes_per_service():
    ledger = UsageLedger(capacity=2)
    ledger.set_plan(0, ledger.tariffs.add_flat(Decimal("1.00")))
    ledger.set_plan(3, ledger.tariffs.add_flat(Decimal("2.00")))  # grows the arrays
    keys = np.array([0, 3, 0])
    m = mediate(batch([1, 2, 1], [0, 0, 3600], [10**9, 10**9, 5 * 10**8]), keys, np.ones(4, bool))
    rated = ledger.rate(m)
    assert rated.charge_micros.tolist() == [1_000_000, 2_000_000, 500_000]
    assert ledger.close(0) == (1_500_000, 1_500_000_000, 2)
    assert ledger.close(0) == (0, 0, 0)
    assert ledger.records == 3 and ledger.charge_micros == 3_500_000
