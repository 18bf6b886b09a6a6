"""The operator's flows with a fake network: order to activate, usage to bill."""

from datetime import datetime
from decimal import Decimal

import pytest

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.errors import InvalidTransition, NotFound, ValidationError
from oss_bss.operator import Operator
from tests.fakes import FakeNetwork

DAY = 86_400.0
EPOCH = datetime(2026, 4, 1)


@pytest.fixture
def world():
    log = []
    bus = MessageBus(log.append)
    network = FakeNetwork(refuse_sites={"far"})
    catalog = Catalog(
        [
            ProductOffering("fibre", "Fibre", 10**8, Decimal("30.00"), Decimal("0.50")),
            ProductOffering("biz", "Business", 10**9, Decimal("149.00"), Decimal("0")),
        ]
    )
    op = Operator(bus, catalog, network, epoch=EPOCH, currency="EUR", bill_cycle_day=1)
    return op, bus, network, log


def order(bus, at, site="a", offering="fibre"):
    cid = bus.handle(c.RegisterCustomer(at, "Ada", "residential", "ada@example.org", "1 Road", site))
    oid = bus.handle(c.SubmitProductOrder(at, cid, offering))
    return cid, oid


def types(log):
    return [type(x).__name__ for x in log]


def test_order_to_activate_goes_through_installation_then_the_network(world):
    op, bus, network, log = world
    cid, oid = order(bus, 100.0)
    po = op.records.product_orders[oid]
    assert po.state == "inProgress" and network.calls == []
    wo = next(iter(op.records.work_orders.values()))
    bus.handle(c.CompleteWorkOrder(5000.0, wo.id))
    assert po.state == "completed" and po.completed_at == 5000.0
    svc = op.records.services.get(op.records.service_orders[po.service_order_id].service_id)
    assert (svc.state, svc.operational_state, svc.activated_at) == ("active", "up", 5000.0)
    assert svc.path == ("a", "gw") and svc.network_ref == network.active[svc.id]
    assert types(log) == [
        "CustomerRegistered", "ProductOrderSubmitted", "ServiceOrderCreated", "WorkOrderIssued",
        "WorkOrderCompleted", "ServiceActivated", "ProductOrderCompleted",
    ]  # fmt: skip
    # Every event of the journey names the customer.
    assert all(getattr(ev, "customer_id", cid) == cid for ev in log)


def test_refused_activation_fails_the_order_with_the_networks_reason(world):
    op, bus, network, log = world
    _, oid = order(bus, 0.0, site="far")
    wo = next(iter(op.records.work_orders.values()))
    bus.handle(c.CompleteWorkOrder(10.0, wo.id))
    po = op.records.product_orders[oid]
    assert po.state == "failed" and po.failure_code == "no_capacity"
    assert "far" in po.failure_reason
    assert isinstance(log[-1], e.ProductOrderFailed) and log[-1].reason == po.failure_reason
    assert op.records.services.by_key[0].state == "terminated"


def test_wrong_ids_and_illegal_moves_are_errors_of_the_tree(world):
    op, bus, network, log = world
    with pytest.raises(NotFound):
        bus.handle(c.SubmitProductOrder(0.0, "CUS-404", "fibre"))
    cid, _ = order(bus, 0.0)
    with pytest.raises(NotFound):
        bus.handle(c.SubmitProductOrder(0.0, cid, "no-such-offering"))
    wo = next(iter(op.records.work_orders.values()))
    bus.handle(c.CompleteWorkOrder(1.0, wo.id))
    with pytest.raises(InvalidTransition):
        bus.handle(c.CompleteWorkOrder(2.0, wo.id))
    with pytest.raises(ValidationError):
        ProductOffering("x", "X", 0, Decimal("-1"), Decimal("0.0000001"))


def test_bill_prorates_recurring_to_the_day_and_bills_rated_usage(world):
    op, bus, network, log = world
    order(bus, 0.0)
    wo = next(iter(op.records.work_orders.values()))
    bus.handle(c.CompleteWorkOrder(10 * DAY + 3600, wo.id))  # live from 11 April, 20 of 30 days
    ref = next(iter(network.active.values()))
    network.report([ref, ref], [11 * DAY, 12 * DAY], [11 * DAY + 3600, 12 * DAY + 3600], [3 * 10**9, 10**9 + 1])
    bus.handle(c.CollectUsage(12 * DAY + 3600))
    assert op.bus.handle(c.RunBillCycle(15 * DAY)) == []  # not the cycle day
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))  # 1 May
    bill = op.records.bills[bill_id]
    recurring, usage = bill.lines
    assert (recurring.kind, recurring.quantity, recurring.amount) == ("recurring", 20, Decimal("20.00"))
    # 4,000,000,001 bytes at 0.50 per GB = 2.0000000005 -> 2.00
    assert (usage.kind, usage.quantity, usage.amount) == ("usage", 4 * 10**9 + 1, Decimal("2.00"))
    assert bill.amount == Decimal("22.00") == recurring.amount + usage.amount
    assert op.invoiced() == Decimal("22.00")
    # The same cycle date billed again bills nothing twice.
    assert bus.handle(c.RunBillCycle(30 * DAY)) == []
    issued = [x for x in log if isinstance(x, e.CustomerBillIssued)]
    assert len(issued) == 1 and issued[0].amount == Decimal("22.00")


def test_customers_without_a_live_service_get_no_bill(world):
    op, bus, network, log = world
    order(bus, 0.0, site="far")
    bus.handle(c.CompleteWorkOrder(1.0, next(iter(op.records.work_orders))))
    assert bus.handle(c.RunBillCycle(30 * DAY)) == []
    assert op.records.bills == {}


def test_usage_for_unknown_handles_is_rejected_not_billed(world):
    op, bus, network, log = world
    network.report([77], [0.0], [3600.0], [10**9])
    assert bus.handle(c.CollectUsage(3600.0)) == 0
    assert op.records.usage.rejected == {"unknown_service": 1}
    assert isinstance(log[-1], e.UsageRated) and log[-1].rejected == 1


def test_link_events_change_the_operational_state_of_the_services_on_it(world):
    op, bus, network, log = world
    order(bus, 0.0)
    bus.handle(c.CompleteWorkOrder(1.0, next(iter(op.records.work_orders))))
    svc = op.records.services.by_key[0]
    bus.handle(e.LinkDown(50.0, "a--gw", (svc.id,)))
    assert svc.operational_state == "down"
    bus.handle(e.LinkUp(90.0, "a--gw", (svc.id,)))
    assert svc.operational_state == "up"
    changes = [x for x in log if isinstance(x, e.ServiceStateChanged)]
    assert [(x.operational_state, x.at) for x in changes] == [("down", 50.0), ("up", 90.0)]


def test_accounts_spread_over_several_bill_cycle_days_are_billed_on_theirs():
    bus = MessageBus()
    net = FakeNetwork()
    catalog = Catalog([ProductOffering("fibre", "Fibre", 10**8, Decimal("30.00"), Decimal("0"))])
    op = Operator(bus, catalog, net, epoch=EPOCH, currency="EUR", bill_cycle_day=[1, 15])
    for i in range(4):
        order(bus, 0.0)
        bus.handle(c.CompleteWorkOrder(DAY, list(op.records.work_orders)[-1]))
    assert [a.bill_cycle_day for a in op.records.accounts.values()] == [1, 15, 1, 15]
    mid_april = bus.handle(c.RunBillCycle(14 * DAY))  # 15 April: the day-15 accounts, 14 of 30 days
    assert [op.records.bills[b].billing_account_id for b in mid_april] == ["ACC-000002", "ACC-000004"]
    assert {op.records.bills[b].lines[0].amount for b in mid_april} == {Decimal("12.58")}  # 13 of 31 days (15 March - 15 April)
    may = bus.handle(c.RunBillCycle(30 * DAY))  # 1 May: the day-1 accounts
    assert [op.records.bills[b].billing_account_id for b in may] == ["ACC-000001", "ACC-000003"]
    assert {op.records.bills[b].lines[0].amount for b in may} == {Decimal("29.00")}  # 2 to 30 April


def test_revenue_assurance_finds_usage_the_network_counted_but_nobody_rated(world):
    from oss_bss.reports import revenue_assurance

    op, bus, network, log = world
    order(bus, 0.0)
    bus.handle(c.CompleteWorkOrder(1.0, next(iter(op.records.work_orders))))
    ref = next(iter(network.active.values()))
    network.report([ref], [0.0], [3600.0], [4 * 10**9])
    bus.handle(c.CollectUsage(3600.0))
    clean = revenue_assurance(op, 3600.0)
    assert clean["leakage"] == "0.00" and clean["measured_bytes"] == clean["rated_bytes"] == 4 * 10**9
    # Counters the network kept but mediation never saw (a lost batch): leakage.
    network.counted[ref] += 2 * 10**9
    network.counted[999] = 10**9  # and usage of a handle the inventory does not know
    leak = revenue_assurance(op, 3600.0)
    assert leak["leakage"] == "1.00"  # 2 GB at 0.50 per GB; the unknown handle has no tariff
    assert leak["services_with_leakage"] == 2
    assert leak["listed"][0]["service_id"] == op.records.services.by_key[0].id
    assert leak["listed"][1]["service_id"] is None and leak["listed"][1]["network_ref"] == 999


def test_a_late_record_for_a_billed_period_is_billed_apart_on_the_next_bill(world):
    op, bus, network, log = world
    order(bus, 0.0)
    bus.handle(c.CompleteWorkOrder(1.0, next(iter(op.records.work_orders))))
    ref = next(iter(network.active.values()))
    network.report([ref], [DAY], [DAY + 3600], [2 * 10**9])
    bus.handle(c.CollectUsage(DAY + 3600))
    (april,) = bus.handle(c.RunBillCycle(30 * DAY))  # 1 May
    assert [line.description.split(",")[0] for line in op.records.bills[april].lines if line.kind == "usage"] == ["Data usage"]
    # A record of 2 April arrives on 3 May, out of order with one of 2 May.
    network.report([ref, ref], [31 * DAY, DAY], [31 * DAY + 3600, DAY + 3600], [10**9, 4 * 10**9])
    bus.handle(c.CollectUsage(32 * DAY))
    assert op.records.usage.late == 1
    (may,) = bus.handle(c.RunBillCycle(61 * DAY))  # 1 June
    usage = {line.description.split(",")[0]: line for line in op.records.bills[may].lines if line.kind == "usage"}
    assert usage["Data usage"].quantity == 10**9 and usage["Data usage"].amount == Decimal("0.50")
    assert usage["Late data usage of earlier periods"].quantity == 4 * 10**9
    assert usage["Late data usage of earlier periods"].amount == Decimal("2.00")


def test_rejected_records_are_kept_with_their_reason(tmp_path):
    import numpy as np
    import pyarrow.parquet as pq

    from oss_bss.adapters.usage_files import ParquetUsageArchive
    from oss_bss.ports import UsageBatch
    from oss_bss.usage import mediate

    batch = UsageBatch(np.array([7, 1, 2, 2]), np.array([0.0, 0, 0, 0]), np.array([3600.0, 3600, 0, 3600]),
                       np.array([5, 6, 7, 8]))  # fmt: skip
    keys = np.array([-1, 0, 1, 1])
    m = mediate(batch, keys, np.array([True, True]))
    archive = ParquetUsageArchive(tmp_path)
    archive.reject(batch, keys, m.rejected_index, m.rejected_reason)
    archive.close()
    rows = pq.read_table(tmp_path / "rejected.parquet").to_pylist()
    assert [(r["network_ref"], r["reason"]) for r in rows] == [(7, "unknown_service"), (2, "bad_interval")]
    assert m.rejected == {"unknown_service": 1, "bad_interval": 1}
