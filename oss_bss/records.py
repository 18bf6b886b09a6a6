"""What the operator holds: every entity of a run, in memory, by id.

The domains keep plain objects here during a run; the persistence adapters
(:mod:`oss_bss.adapters.sql`) write them out. Ids are readable and
deterministic (``CUS-000001``), so the same seed gives the same ids.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypeVar

from oss_bss.billing import CustomerBill
from oss_bss.errors import NotFound
from oss_bss.inventory import Resource, ServiceInventory
from oss_bss.ordering import ProductOrder, ServiceOrder, WorkOrder
from oss_bss.party import BillingAccount, Customer
from oss_bss.usage import UsageLedger

T = TypeVar("T")


@dataclass
class Records:
    customers: dict[str, Customer] = field(default_factory=dict)
    accounts: dict[str, BillingAccount] = field(default_factory=dict)
    product_orders: dict[str, ProductOrder] = field(default_factory=dict)
    service_orders: dict[str, ServiceOrder] = field(default_factory=dict)
    work_orders: dict[str, WorkOrder] = field(default_factory=dict)
    services: ServiceInventory = field(default_factory=ServiceInventory)
    services_by_customer: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    services_by_account: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    services_on_link: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # live paths
    outages: dict[str, list] = field(default_factory=lambda: defaultdict(list))  # service -> [sla.Outage]
    sla_breaches: list = field(default_factory=list)  # (period end, sla.Breach)
    experience: list = field(default_factory=list)  # experience.Experience per customer and period
    last_bill_amount: dict = field(default_factory=dict)  # account -> Decimal
    resources: dict[str, Resource] = field(default_factory=dict)
    bills: dict[str, CustomerBill] = field(default_factory=dict)
    usage: UsageLedger = field(default_factory=UsageLedger)
    _counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def new_id(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}-{self._counters[prefix]:06d}"


def get(table: dict[str, T], kind: str, ident: str) -> T:
    """``table[ident]``, or :class:`NotFound` naming the kind."""
    try:
        return table[ident]
    except KeyError:
        raise NotFound(kind, ident) from None
