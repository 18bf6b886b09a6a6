"""An operator with a little history (customers, orders, services, usage, bills, an alarm, a ticket) for the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import networkx as nx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from oss_bss import commands as c
from oss_bss.api.access import AccessKeys
from oss_bss.api.app import create_app
from oss_bss.bus import MessageBus
from oss_bss.catalog import Bundle, Catalog, ProductOffering
from oss_bss.operator import Operator
from oss_bss.sla import SlaTemplate
from sim.network import SimulatedNetwork
from sim.topology import Topology

DAY = 86_400.0
OPERATOR_KEY, READ_KEY = "operator-test-key", "read-only-test-key"


@pytest.fixture(scope="module")
def operator():
    return build_operator()


def build_operator() -> Operator:
    """Three customers on a two-link network, activated, used, a link cut and repaired, and billed."""
    g = nx.MultiGraph()
    for a, b in (("a", "gw"), ("b", "gw")):
        g.add_edge(a, b, key=f"{a}--{b}", id=f"{a}--{b}", capacity_bps=10**9, latency_s=0.001)
    bus = MessageBus(lambda event: None)
    net = SimulatedNetwork(Topology("two", g, ("gw",)), publish=bus.handle)
    gold = SlaTemplate("gold", Decimal("99.9"), 4 * 3600.0, Decimal(10), None)
    catalog = Catalog([ProductOffering("fibre", "Fibre", 10**7, Decimal("30.00"), Decimal("1.00")),
                       ProductOffering("biz", "Business", 10**7, Decimal("99.00"), Decimal("2.00"), sla=gold)],
                      bundles=[Bundle("duo", "Duo", ("fibre", "biz"), Decimal(10))])  # fmt: skip
    op = Operator(bus, catalog, net, epoch=datetime(2026, 4, 1), currency="EUR")
    for name, site, offering in (("Ada", "a", "fibre"), ("Bob", "b", "biz"), ("Cy", "a", "fibre")):
        cid = bus.handle(c.RegisterCustomer(0.0, name, "residential", f"{name.lower()}@example.org", "Road", site))
        bus.handle(c.SubmitProductOrder(0.0, cid, offering))
        bus.handle(c.CompleteWorkOrder(3600.0, list(op.records.work_orders)[-1]))
    refs = np.array([s.network_ref for s in op.records.services])
    net.carry(refs, np.full(len(refs), 2e9), 3600.0, 7200.0)
    bus.handle(c.CollectUsage(7200.0))
    net.fail_link("b--gw", DAY)  # an alarm, and a ticket for the SLA customer
    net.repair_link("b--gw", DAY + 3600)
    bus.handle(c.RunBillCycle(30 * DAY))
    return op


@pytest.fixture(scope="module")
def client(operator):
    keys = AccessKeys(OPERATOR_KEY, READ_KEY, customers=lambda cid: cid in operator.records.customers)
    return TestClient(create_app(operator, keys))


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
