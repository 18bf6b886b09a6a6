"""The money invariants, for any input (hypothesis)."""

from datetime import datetime
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from oss_bss import commands as c
from oss_bss.billing import CustomerBill, add_tax, recurring_charge
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.money import from_micros, to_cents
from oss_bss.operator import Operator
from oss_bss.ports import UsageBatch
from oss_bss.usage import UsageLedger, mediate
from tests.fakes import FakeNetwork

prices = st.decimals(min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False)


@given(prices, st.integers(28, 31), st.data())
def test_proration_over_any_split_of_a_period_adds_up_to_the_full_price(price, days, data):
    cuts = sorted(data.draw(st.lists(st.integers(1, days - 1), max_size=6, unique=True)))
    bounds = [0, *cuts, days]
    parts = [recurring_charge(price, a, b, days) for a, b in zip(bounds, bounds[1:])]
    assert sum(parts) == price
    assert all(p >= 0 for p in parts)


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(-10, 10**11)), max_size=200),
       st.decimals(min_value=0, max_value=50, places=6, allow_nan=False, allow_infinity=False))  # fmt: skip
def test_every_accepted_record_is_rated_exactly_once_and_none_is_lost(records, price):
    keys = np.array([k for k, _ in records], dtype=np.int64)
    volume = np.array([v for _, v in records], dtype=np.int64)
    start = np.zeros(len(records))
    batch = UsageBatch(keys + 1, start, start + 3600, volume)
    ledger = UsageLedger(8)
    plan = ledger.tariffs.add_flat(price)
    for k in range(51):
        ledger.set_plan(k, plan)
    billable = np.ones(64, dtype=bool)
    m = mediate(batch, keys, billable)
    rated = ledger.rate(m)
    # Nothing is lost: every record is rated, rejected with a reason, or carried nothing.
    assert len(rated) + m.rejected_total + int((volume == 0).sum()) == len(records)
    assert m.rejected.get("negative_volume", 0) == int((volume < 0).sum())
    # Each (service, interval) is rated at most once: duplicates never reach rating.
    assert len(set(rated.service_key.tolist())) == len(rated)
    # The ledger holds exactly what was rated, service by service.
    for key in set(rated.service_key.tolist()):
        micros, volume_b, n = ledger.close(key)
        mine = rated.service_key == key
        assert micros == int(rated.charge_micros[mine].sum()) and volume_b == int(rated.volume_bytes[mine].sum())
        assert n == int(mine.sum())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(1, 5 * 10**10)), min_size=1, max_size=60),
       st.decimals(min_value=0, max_value=30, places=2, allow_nan=False, allow_infinity=False))  # fmt: skip
def test_the_usage_lines_billed_equal_the_charges_rated(records, tax):
    bus = MessageBus()
    net = FakeNetwork()
    catalog = Catalog([ProductOffering("x", "X", 10, Decimal("10.00"), Decimal("0.123456"))])
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR", tax_percent=tax)
    for i in range(5):
        cid = bus.handle(c.RegisterCustomer(0.0, f"C{i}", "residential", "c@example.org", "x", "a"))
        bus.handle(c.SubmitProductOrder(0.0, cid, "x"))
        bus.handle(c.CompleteWorkOrder(1.0, list(op.records.work_orders)[-1]))
    refs = {s.key: s.network_ref for s in op.records.services}
    for hour, (k, volume) in enumerate(records):
        net.report([refs[k]], [hour * 3600.0], [(hour + 1) * 3600.0], [volume])
        bus.handle(c.CollectUsage((hour + 1) * 3600.0))
    rated = op.records.usage.charge_micros
    bills = [op.records.bills[b] for b in bus.handle(c.RunBillCycle(30 * 86_400.0))]
    usage_lines = [line for b in bills for line in b.lines if line.kind == "usage"]
    # Each usage line is its service's rated micros rounded once; together within a cent a line of the exact sum.
    assert abs(sum(line.amount for line in usage_lines) - from_micros(rated)) <= Decimal("0.005") * len(usage_lines)
    assert sum(line.quantity for line in usage_lines) == sum(v for _, v in records)
    for bill in bills:  # an invoice total is the sum of its lines, tax included
        assert bill.amount == sum(line.amount for line in bill.lines)
        (tax_line,) = [line for line in bill.lines if line.kind == "tax"] or [None]
        if tax:
            net_amount = bill.amount - tax_line.amount
            assert tax_line.amount == to_cents(net_amount * tax / 100)


def test_a_tax_of_zero_adds_no_line():
    bill = CustomerBill("B", "A", "C", 0.0, 1.0, 1.0, "EUR")
    add_tax(bill, Decimal(0))
    assert bill.lines == []
