"""The operator, composed: its records, and the domains that handle its flows on the bus.

* order to activate and lifecycle changes: :class:`oss_bss.fulfilment.Fulfilment`;
* trouble to resolve: :class:`oss_bss.assurance.Assurance` (alarms, incidents,
  tickets) and :class:`oss_bss.performance.PerformanceManagement` (KPIs);
* usage to bill: :class:`oss_bss.revenue.Revenue` (mediation, rating, bill
  runs), :class:`oss_bss.charging.OnlineCharging` (prepaid balances) and
  :class:`oss_bss.dunning.Collections` (payments and dunning).

The operator knows time only as the ``at`` of each message and the calendar
it is given; it reaches the network only through its :class:`NetworkPort`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oss_bss import commands as c
from oss_bss.assurance import Assurance
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog
from oss_bss.charging import OnlineCharging
from oss_bss.dunning import Collections, DunningPolicy
from oss_bss.errors import ValidationError
from oss_bss.fulfilment import Fulfilment
from oss_bss.inventory import resources_from
from oss_bss.money import ZERO, from_micros, to_cents
from oss_bss.ordering import FalloutPolicy
from oss_bss.performance import PerformanceManagement
from oss_bss.periods import Calendar
from oss_bss.ports import MemoryUsageArchive, NetworkPort, UsageArchive
from oss_bss.records import Records, get
from oss_bss.revenue import Revenue
from oss_bss.sla import unplanned_downtime


class Operator:
    """The embedded OSS/BSS of one run."""

    def __init__(
        self,
        bus: MessageBus,
        catalog: Catalog,
        network: NetworkPort,
        *,
        epoch: datetime,
        currency: str,
        bill_cycle_day: int | list[int] = 1,
        archive: UsageArchive | None = None,
        thresholds: tuple[float, float] = (0.8, 0.7),
        tax_percent: Decimal = Decimal(0),
        dunning: DunningPolicy | None = None,
        fallout: FalloutPolicy | None = None,
    ):
        days = [bill_cycle_day] if isinstance(bill_cycle_day, int) else list(bill_cycle_day)
        if not days or not all(1 <= d <= 28 for d in days):
            raise ValidationError({"bill_cycle_day": "must be between 1 and 28"})
        self.bus = bus
        self.catalog = catalog
        self.network = network
        self.calendar = Calendar(epoch)
        self.currency = currency
        self.bill_cycle_days = days  # new accounts take them in turn
        self.archive = archive if archive is not None else MemoryUsageArchive()
        self.records = Records()
        self.records.usage.tariffs = catalog.tariffs
        topology = network.topology()
        for resource in resources_from(topology):
            self.records.resources[resource.id] = resource
        self.tax_percent = tax_percent
        self.fulfilment = Fulfilment(self, fallout)
        self.charging = OnlineCharging(self)
        self.assurance = Assurance(bus, self.records, catalog, topology, thresholds=thresholds)
        self.performance = PerformanceManagement([link.id for link in topology.links])
        self.collections = Collections(self, dunning or DunningPolicy())
        self.revenue = Revenue(self)
        bus.register(c.CollectKpis, self.collect_kpis)

    # -- performance and views ----------------------------------------------

    def collect_kpis(self, cmd: c.CollectKpis) -> None:
        """Performance management: keep the interval's KPIs, check the thresholds."""
        batch = self.network.collect_kpis(cmd.at)
        self.performance.record(batch, self.records.services.keys_for_refs(batch.service_refs))
        self.assurance.check_thresholds(batch)

    def customer_view(self, customer_id: str) -> list[dict]:
        """What an (enterprise) customer sees of its own services: state, KPIs and SLA standing now."""
        r = self.records
        customer = get(r.customers, "Customer", customer_id)
        account = r.accounts[customer.billing_account_id]
        since = account.last_billed_at if account.last_billed_at is not None else account.opened_at
        now = self.revenue.last_collection
        view = []
        for service_id in r.services_by_customer.get(customer.id, ()):
            s = r.services.get(service_id)
            offering = self.catalog.get(s.offering_id)
            k = self.performance.service(s.key)
            entry = {
                "service_id": s.id, "offering": offering.name, "state": s.state,
                "operational_state": s.operational_state, "path": list(s.path),
                "kpis": {"latency_ms": k.last_latency_ms, "loss": k.last_loss, "throughput_mbps": k.last_throughput_mbps,
                         "mean_latency_ms_this_period": k.mean_latency_ms},
                "sla": None,
            }  # fmt: skip
            if offering.sla is not None and s.activated_at is not None and now > max(since, s.activated_at):
                begin = max(since, s.activated_at)
                down, longest = unplanned_downtime(r.outages.get(s.id, []), begin, now)
                availability = 100.0 * (1 - down / (now - begin))
                entry["sla"] = {
                    "name": offering.sla.name,
                    "availability_percent": round(availability, 4),
                    "target_percent": float(offering.sla.availability_percent),
                    "on_track": availability >= float(offering.sla.availability_percent)
                    and (offering.sla.time_to_restore_s is None or longest <= offering.sla.time_to_restore_s),
                }
            view.append(entry)
        return view

    # -- figures -----------------------------------------------------------

    def invoiced(self):
        return sum((b.amount for b in self.records.bills.values()), ZERO)

    def unbilled(self):
        """Usage rated for postpaid services and not billed yet (prepaid usage is paid for online)."""
        usage = self.records.usage
        prepaid = [k for k in self.charging.key_of.values() if k < len(usage.open_micros)]
        online = int(usage.open_micros[prepaid].sum() + usage.late_micros[prepaid].sum())
        return to_cents(from_micros(usage.unbilled_micros - online))
