"""SLA measurement per period and the trouble-ticket rules."""

from datetime import datetime
from decimal import Decimal

import networkx as nx
import pytest

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog, ProductOffering
from oss_bss.errors import InvalidTransition
from oss_bss.operator import Operator
from oss_bss.sla import Outage, SlaTemplate, measure
from sim.network import SimulatedNetwork
from sim.topology import Topology

GOLD = SlaTemplate("gold", Decimal("99.9"), time_to_restore_s=4 * 3600, credit_percent=Decimal("10"))
DAY = 86_400.0


def test_availability_and_time_to_restore_over_a_period_without_maintenance():
    month = 30 * DAY
    outages = [Outage(DAY, DAY + 5 * 3600, planned=False), Outage(2 * DAY, 2 * DAY + 10 * 3600, planned=True)]
    breaches = measure(GOLD, outages, 0.0, 0.0, month, "s")
    assert [(b.metric, b.measured) for b in breaches] == [("availability", "99.3056%"), ("time_to_restore", "5.00 h")]
    # Planned maintenance alone breaches nothing, however long.
    assert measure(GOLD, [Outage(DAY, DAY + 20 * 3600, planned=True)], 0.0, 0.0, month, "s") == []
    # 40 minutes of outage in a month is 99.907 %: within 99.9 % and 4 hours.
    assert measure(GOLD, [Outage(DAY, DAY + 2400, planned=False)], 0.0, 0.0, month, "s") == []


def test_an_outage_still_open_at_the_period_end_counts_up_to_it():
    (breach,) = [b for b in measure(GOLD, [Outage(29 * DAY, None, False)], 0.0, 0.0, 30 * DAY, "s")
                 if b.metric == "time_to_restore"]  # fmt: skip
    assert breach.measured == "24.00 h"


def test_a_service_live_for_part_of_the_period_is_measured_on_that_part():
    # Live for the last 10 days, down 12 hours of them: 95 %.
    (availability, _) = measure(GOLD, [Outage(25 * DAY, 25 * DAY + 12 * 3600, False)], 20 * DAY, 0.0, 30 * DAY, "s")
    assert availability.measured == "95.0%"


@pytest.fixture
def operator():
    g = nx.MultiGraph()
    for a, b in [("gw", "a"), ("a", "b")]:
        g.add_edge(a, b, key=f"{a}--{b}", id=f"{a}--{b}", capacity_bps=1000, latency_s=1.0)
    log = []
    bus = MessageBus(log.append)
    net = SimulatedNetwork(Topology("line", g, ("gw",)), publish=bus.handle)
    catalog = Catalog([
        ProductOffering("home", "Home", 10, Decimal("30.00"), Decimal("0")),
        ProductOffering("gold", "Gold", 10, Decimal("1000.00"), Decimal("0"), sla=GOLD),
    ])  # fmt: skip
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR")

    def customer(offering):
        cid = bus.handle(c.RegisterCustomer(0.0, "X", "residential", "x@example.org", "Road", "b"))
        bus.handle(c.SubmitProductOrder(0.0, cid, offering))
        bus.handle(c.CompleteWorkOrder(1.0, list(op.records.work_orders)[-1]))
        return cid, op.records.services.by_key[-1].id

    return op, bus, net, log, customer


def test_sla_customers_get_a_ticket_at_once_and_their_call_joins_it(operator):
    op, bus, net, log, customer = operator
    gold, gold_svc = customer("gold")
    home, home_svc = customer("home")
    net.fail_link("a--b", 100.0)
    (ticket,) = op.assurance.tickets.values()
    assert (ticket.customer_id, ticket.channel, ticket.state) == (gold, "automatic", "acknowledged")
    assert bus.handle(c.ReportTrouble(200.0, gold, gold_svc)) == ticket.id  # joins, opens nothing
    assert ticket.calls == 1 and len(op.assurance.tickets) == 1
    home_ticket = bus.handle(c.ReportTrouble(300.0, home, home_svc))
    assert op.assurance.tickets[home_ticket].incident_id == ticket.incident_id
    assert len([i for i in op.assurance.incidents.values() if i.state == "open"]) == 1  # no new incident
    repair = next(w for w in op.records.work_orders.values() if w.kind == "repair")
    assert op.assurance.incidents[ticket.incident_id].slas == {gold_svc}
    bus.handle(c.StartWorkOrder(400.0, repair.id))
    assert {t.state for t in op.assurance.tickets.values()} == {"inProgress"}
    (alarm,) = op.assurance.alarms
    assert (alarm.ack_state, alarm.ack_time) == ("acknowledged", 400.0)
    bus.handle(c.CompleteWorkOrder(4000.0, repair.id))
    net.repair_link("a--b", 4000.0)
    assert {t.state for t in op.assurance.tickets.values()} == {"resolved"}
    assert ticket.time_to_restore == 3900.0
    bus.handle(c.CloseTroubleTicket(5000.0, ticket.id))
    assert ticket.state == "closed"
    with pytest.raises(InvalidTransition):
        bus.handle(c.CloseTroubleTicket(5001.0, ticket.id))


def test_the_bill_credits_breaches_and_bills_usage_only_for_service_time(operator):
    op, bus, net, log, customer = operator
    gold, gold_svc = customer("gold")
    net.fail_link("a--b", 2 * DAY)
    net.repair_link("a--b", 2 * DAY + 6 * 3600)  # 6 hours: both metrics missed
    (bill_id,) = bus.handle(c.RunBillCycle(30 * DAY))
    lines = {line.kind: line for line in op.records.bills[bill_id].lines}
    assert lines["sla_credit"].amount == Decimal("-200.00") and lines["sla_credit"].quantity == 2
    assert op.records.bills[bill_id].amount == Decimal("800.00")
    assert [x.metric for x in log if isinstance(x, e.SlaBreached)] == ["availability", "time_to_restore"]
    # The next period is clean: no credit carried over.
    (next_bill,) = bus.handle(c.RunBillCycle(30 * DAY + 30 * DAY + DAY))  # 1 June
    assert all(line.kind != "sla_credit" for line in op.records.bills[next_bill].lines)
