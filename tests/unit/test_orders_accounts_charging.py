"""Order fallout, moves, customer suspensions, account hierarchies, idempotent bill runs and prepaid charging,
on the real simulated network (a small graph) with the operator's own bus."""

from datetime import datetime
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.errors import InvalidTransition, NotFound, ValidationError
from oss_bss.ordering import FalloutPolicy
from oss_bss.operator import Operator
from sim.network import SimulatedNetwork
from sim.topology import Topology

DAY = 86_400.0
GB = 10**9


@pytest.fixture
def world():
    g = nx.MultiGraph()
    g.add_edge("gw", "a", key="gw--a", id="gw--a", capacity_bps=1000, latency_s=0.001)
    g.add_edge("gw", "b", key="gw--b", id="gw--b", capacity_bps=300, latency_s=0.001)
    log = []
    bus = MessageBus(log.append)
    net = SimulatedNetwork(Topology("two", g, ("gw",)), publish=bus.handle)
    catalog = Catalog([
        ProductOffering("s", "Small", 200, Decimal("30.00"), Decimal("1")),
        ProductOffering("big", "Big", 900, Decimal("90.00"), Decimal("0")),
        ProductOffering("pp", "Prepaid", 100, Decimal("0"), Decimal("2.00"), prepaid=True),
        ProductOffering("old", "Old", 100, Decimal("10"), Decimal("0"), lifecycle_status="Retired"),
    ])  # fmt: skip
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR",
                  fallout=FalloutPolicy(retry_after=DAY, max_retries=2))  # fmt: skip
    return op, bus, net, log


def customer(bus, site="a", **kw):
    return bus.handle(c.RegisterCustomer(0.0, "X", "residential", "x@example.org", "Road", site, **kw))


def install(op, bus, at=0.0):
    bus.handle(c.CompleteWorkOrder(at, list(op.records.work_orders)[-1]))
    return op.records.services.by_key[-1]


def test_refused_activation_is_held_retried_and_cancelled_after_the_policy(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "big"))
    blocker = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, blocker, "s"))
    install(op, bus)  # the small one takes 200 of the 1000
    so_big = next(so for so in op.records.service_orders.values() if so.customer_id == cid)
    bus.handle(c.CompleteWorkOrder(0.0, next(w.id for w in op.records.work_orders.values()
                                          if w.service_order_id == so_big.id)))  # fmt: skip
    held = [x for x in log if isinstance(x, e.ProductOrderHeld)]
    assert len(held) == 1 and held[0].retry_at == DAY and held[0].code == "no_capacity"
    order = op.records.product_orders[so_big.product_order_id]
    assert order.state == "held" and so_big.state == "held"
    assert not bus.handle(c.RetryServiceOrder(DAY, so_big.id))  # still no room: held again
    assert order.state == "held" and so_big.attempts == 2
    with pytest.raises(InvalidTransition):  # only a held order can be retried
        bus.handle(c.RetryServiceOrder(DAY, next(so.id for so in op.records.service_orders.values()
                                                 if so.customer_id == blocker)))  # fmt: skip
    assert not bus.handle(c.RetryServiceOrder(2 * DAY, so_big.id))  # the last try
    assert order.state == "cancelled" and so_big.state == "failed"
    assert [type(x).__name__ for x in log if isinstance(x, e.ProductOrderCancelled)] == ["ProductOrderCancelled"]


def test_a_retry_goes_through_once_capacity_is_free(world):
    op, bus, net, log = world
    small = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, small, "s"))
    svc = install(op, bus)
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "big"))
    install(op, bus)
    so = next(so for so in op.records.service_orders.values() if so.customer_id == cid)
    bus.handle(c.CancelService(DAY / 2, svc.id))  # frees the capacity
    assert bus.handle(c.RetryServiceOrder(DAY, so.id))
    assert op.records.product_orders[so.product_order_id].state == "completed"


def test_a_move_reprovisions_from_the_new_site_or_is_refused_and_stays(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    svc = install(op, bus)
    ref = svc.network_ref
    assert bus.handle(c.MoveService(DAY, svc.id, "b"))
    assert svc.site == "b" and svc.path == ("b", "gw") and svc.network_ref == ref  # usage continues on one handle
    assert op.records.services_on_link["gw--b"] == {svc.id} and not op.records.services_on_link["gw--a"]
    assert net.reserved.tolist() == [0, 200]
    bus.handle(c.ModifyService(DAY, svc.id, "s"))
    other = customer(bus)
    bus.handle(c.SubmitProductOrder(DAY, other, "s"))
    moved = install(op, bus, DAY)
    assert not bus.handle(c.MoveService(2 * DAY, moved.id, "b"))  # b's 300 cannot take another 200
    assert moved.site == "a" and [x for x in log if isinstance(x, e.ServiceMoveRefused)]
    with pytest.raises(ValidationError):
        bus.handle(c.MoveService(2 * DAY, svc.id, "b"))


def test_a_customer_pause_stops_traffic_and_only_the_customer_resumes_it(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    svc = install(op, bus)
    bus.handle(c.SuspendService(DAY, svc.id))
    assert svc.state == "suspended" and svc.suspension_reason == "customer request"
    net.carry(np.array([svc.network_ref]), np.array([1e9]), DAY, DAY + 3600)
    assert net.collect_usage(DAY + 3600).volume_bytes.sum() == 0  # nothing flows
    with pytest.raises(InvalidTransition):
        bus.handle(c.SuspendService(DAY, svc.id))
    bus.handle(c.ResumeService(2 * DAY, svc.id))
    assert svc.state == "active" and svc.suspension_reason is None
    with pytest.raises(InvalidTransition):
        bus.handle(c.ResumeService(2 * DAY, svc.id))


def test_an_organisation_gets_a_child_account_per_site_billed_apart(world):
    op, bus, net, log = world
    org = customer(bus, party_type="organisation")
    parent = op.records.customers[org].billing_account_id
    children = [bus.handle(c.OpenBillingAccount(0.0, org)) for _ in range(2)]
    for site, account in zip(("a", "b"), children):
        bus.handle(c.SubmitProductOrder(0.0, org, "s", site, account))
        install(op, bus)
    assert {op.records.accounts[a].parent_id for a in children} == {parent}
    bills = bus.handle(c.RunBillCycle(30 * DAY))
    assert sorted(op.records.bills[b].billing_account_id for b in bills) == sorted(children)
    with pytest.raises(NotFound):
        bus.handle(c.OpenBillingAccount(0.0, org, "ACC-999999"))
    other = customer(bus)
    with pytest.raises(ValidationError):  # another customer's account
        bus.handle(c.SubmitProductOrder(0.0, other, "s", None, children[0]))
    with pytest.raises(ValidationError):
        bus.handle(c.RegisterCustomer(0.0, "Y", "x", "y@example.org", "Road", "a", party_type="robot"))


def test_a_bill_run_repeated_for_the_same_day_changes_nothing(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    svc = install(op, bus)
    net.carry(np.array([svc.network_ref]), np.array([3e9]), 0.0, 3600.0)
    bus.handle(c.CollectUsage(3600.0))
    first = bus.handle(c.RunBillCycle(30 * DAY))
    snapshot = {b.id: (b.amount, len(b.lines)) for b in op.records.bills.values()}
    assert first and bus.handle(c.RunBillCycle(30 * DAY)) == []
    assert {b.id: (b.amount, len(b.lines)) for b in op.records.bills.values()} == snapshot


def test_retired_offerings_cannot_be_ordered_and_prepaid_needs_a_prepaid_account(world):
    op, bus, net, log = world
    cid = customer(bus)
    with pytest.raises(ValidationError, match="Retired"):
        bus.handle(c.SubmitProductOrder(0.0, cid, "old"))
    with pytest.raises(ValidationError, match="prepaid"):
        bus.handle(c.SubmitProductOrder(0.0, cid, "pp"))
    with pytest.raises(InvalidTransition):  # a postpaid account has no balance to top up
        bus.handle(c.TopUp(0.0, op.records.customers[cid].billing_account_id, Decimal("5")))


def test_prepaid_grants_what_the_balance_pays_cuts_off_and_resumes_on_top_up(world):
    op, bus, net, log = world
    cid = customer(bus, prepaid=True)
    account = op.records.customers[cid].billing_account_id
    bus.handle(c.TopUp(0.0, account, Decimal("1.00")))  # before the service exists: kept for it
    bus.handle(c.SubmitProductOrder(0.0, cid, "pp"))
    svc = install(op, bus)
    refs = np.array([svc.network_ref])
    granted = bus.handle(c.ReserveUsage(3600.0, 0.0, refs, np.array([0.2e9])))
    assert granted.tolist() == [0.2e9]  # 0.40 of 1.00: all of it
    net.carry(refs, granted, 0.0, 3600.0)
    bus.handle(c.CollectUsage(3600.0))
    assert op.charging.balance_of(account) == Decimal("0.6")
    granted = bus.handle(c.ReserveUsage(7200.0, 3600.0, refs, np.array([1e9])))
    assert granted.tolist() == [0.3e9]  # 0.60 pays for 0.3 GB at 2.00
    net.carry(refs, granted, 3600.0, 7200.0)
    bus.handle(c.CollectUsage(7200.0))
    assert op.charging.balance_of(account) == 0 and svc.state == "suspended"
    assert [x.reason for x in log if isinstance(x, e.ServiceSuspended)] == ["prepaid balance exhausted"]
    with pytest.raises(InvalidTransition):  # not the customer's own pause: a top-up resumes it
        bus.handle(c.ResumeService(7300.0, svc.id))
    assert bus.handle(c.TopUp(8000.0, account, Decimal("5.00"))) == Decimal("5")
    assert svc.state == "active"
    with pytest.raises(ValidationError):
        bus.handle(c.TopUp(8000.0, account, Decimal("-1")))
    assert op.charging.charged_micros == 1_000_000 and op.charging.topped_up == Decimal("6.00")
    assert bus.handle(c.RunBillCycle(30 * DAY)) == []  # prepaid: no bill


# -- found in review -------------------------------------------------------


def test_a_service_moved_away_from_a_cut_link_is_up_and_its_outage_closed(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    svc = install(op, bus)
    net.fail_link("gw--a", 100.0)
    assert svc.operational_state == "down"
    assert bus.handle(c.MoveService(200.0, svc.id, "b"))
    assert svc.operational_state == "up" and op.records.outages[svc.id][-1].end == 200.0


def test_a_paused_service_cannot_be_resumed_by_the_customer_while_the_account_is_suspended_for_debt(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))
    svc = install(op, bus)
    bus.handle(c.RunBillCycle(30 * DAY))
    bus.handle(c.SuspendService(31 * DAY, svc.id))
    bus.handle(c.RunDunning(55 * DAY))
    assert op.records.accounts[svc.billing_account_id].dunning_state == "suspended"
    with pytest.raises(InvalidTransition):
        bus.handle(c.ResumeService(56 * DAY, svc.id))
    assert svc.state == "suspended"


def test_a_second_prepaid_order_is_refused_before_anything_is_created(world):
    op, bus, net, log = world
    cid = customer(bus, prepaid=True)
    bus.handle(c.SubmitProductOrder(0.0, cid, "pp"))
    orders, services = len(op.records.product_orders), len(op.records.services)
    with pytest.raises(ValidationError, match="already has a service"):
        bus.handle(c.SubmitProductOrder(0.0, cid, "pp"))
    assert (len(op.records.product_orders), len(op.records.services)) == (orders, services)


def test_usage_started_before_a_modify_is_rated_at_the_old_offering(world):
    op, bus, net, log = world
    cid = customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, cid, "s"))  # 1.00 per GB
    svc = install(op, bus)
    net.carry(np.array([svc.network_ref]), np.array([5e9]), 30 * DAY - 3600, 30 * DAY)
    bus.handle(c.ModifyService(30 * DAY - 60, svc.id, "big"))  # 0 per GB, before the hour's usage is collected
    bus.handle(c.CollectUsage(30 * DAY))
    assert op.records.usage.open_micros[svc.key] == 5_000_000


def test_discounts_never_take_a_charge_below_zero():
    from oss_bss.billing import bill_account
    from oss_bss.catalog import Bundle, Promotion
    from oss_bss.inventory import Service
    from oss_bss.party import BillingAccount
    from oss_bss.periods import Calendar

    catalog = Catalog([ProductOffering("f", "F", 1, Decimal("30.00"), Decimal(0)),
                       ProductOffering("m", "M", 1, Decimal("10.00"), Decimal(0))],
                      [Promotion("p", "Free", ("f",), Decimal(100), 90 * DAY)],
                      [Bundle("b", "Duo", ("f", "m"), Decimal(100))])  # fmt: skip
    services = [Service(f"S{i}", i, "C", o, "PO", "a", 1, 0.0, state="active", activated_at=0.0)
                for i, o in enumerate(("f", "m"))]  # fmt: skip
    bill = bill_account("B", BillingAccount("A", "C", 1, "EUR", 0.0), services, catalog,
                        lambda s: (0, 0, 0), (0.0, 30 * DAY), Calendar(datetime(2026, 4, 1)), 30)  # fmt: skip
    per_service = {s.id: sum(x.amount for x in bill.lines if x.service_id == s.id) for s in services}
    assert per_service == {"S0": Decimal("0.00"), "S1": Decimal("0.00")} and bill.amount == 0


def test_operator_errors_survive_being_rebuilt_from_their_args():
    from oss_bss.errors import ScenarioError

    for error in (NotFound("Service", "S1"), InvalidTransition("Service", "S1", "active", "designed"),
                  ValidationError({"x": "bad"}), ScenarioError("f.yaml", "why", "a.b")):  # fmt: skip
        again = type(error)(*error.args)  # as SimPy re-raises a process's exception
        assert str(again) == str(error)


def test_a_customer_who_cancelled_churns_once_and_dunning_counts_only_its_own_actions(world):
    op, bus, net, log = world
    leaver, debtor = customer(bus), customer(bus)
    bus.handle(c.SubmitProductOrder(0.0, leaver, "s"))
    gone = install(op, bus)
    bus.handle(c.SubmitProductOrder(0.0, debtor, "s"))
    owes = install(op, bus)
    bus.handle(c.SuspendService(DAY, owes.id))  # a pause at the customer's request: not dunning's
    bus.handle(c.ResumeService(2 * DAY, owes.id))
    bus.handle(c.RunBillCycle(30 * DAY))
    bus.handle(c.CancelService(31 * DAY, gone.id))  # the leaver churns, its final bill unpaid
    bus.handle(c.RunBillCycle(61 * DAY))
    for day in (55, 65, 120):
        bus.handle(c.RunDunning(day * DAY))  # both suspended for debt, then terminated
    churned = [x.customer_id for x in log if isinstance(x, e.CustomerChurned)]
    assert sorted(churned) == sorted([leaver, debtor])  # once each
    collections = op.collections
    assert (collections.suspended, collections.resumed, collections.terminated) == (1, 0, 1)  # the debtor's service
    assert collections.accounts_suspended == 2
    assert sum(isinstance(x, e.ServiceTerminated) for x in log) == 2 and sum(isinstance(x, e.ServiceResumed) for x in log) == 1
