"""The operator, composed: its records, its handlers and their wiring on the bus.

The handlers follow the integration flows of DESIGN.md:

* order to activate: :meth:`Operator.register_customer`,
  :meth:`Operator.submit_product_order` (decomposition into a service order
  and an installation work order), :meth:`Operator.complete_work_order`, then
  activation through the network port on ``WorkOrderCompleted`` and the
  product order's completion or failure on the service order's outcome;
* usage to bill: :meth:`Operator.collect_usage` (mediation and rating in bulk)
  and :meth:`Operator.run_bill_cycle`;
* network events: ``LinkDown`` / ``LinkUp`` change the operational state of
  the services that cross the link.

The operator knows time only as the ``at`` of each message and the calendar
it is given; it reaches the network only through its :class:`NetworkPort`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.assurance import Assurance
from oss_bss.billing import add_tax, bill_account, live_in
from oss_bss.dunning import Collections, DunningPolicy
from oss_bss.bus import MessageBus
from oss_bss.catalog import Catalog
from oss_bss.errors import InvalidTransition, ValidationError
from oss_bss.inventory import Service, resources_from
from oss_bss.lifecycle import PRODUCT_ORDER, SERVICE, SERVICE_ORDER, WORK_ORDER
from oss_bss.money import ZERO, from_micros, to_cents
from oss_bss.ordering import ProductOrder, ServiceOrder, WorkOrder
from oss_bss.party import BillingAccount, Customer
from oss_bss.performance import PerformanceManagement
from oss_bss.periods import Calendar
from oss_bss.ports import MemoryUsageArchive, NetworkPort, ServiceSpec, UsageArchive
from oss_bss.records import Records, get
from oss_bss.experience import Experience, experience_index, shocked
from oss_bss.sla import Outage, measure, unplanned_downtime
from oss_bss.usage import mediate


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
        self._last_collection = 0.0
        topology = network.topology()
        for resource in resources_from(topology):
            self.records.resources[resource.id] = resource
        self._wire()
        self.assurance = Assurance(bus, self.records, catalog, topology, thresholds=thresholds)
        self.performance = PerformanceManagement([link.id for link in topology.links])
        self.tax_percent = tax_percent
        self.collections = Collections(self, dunning or DunningPolicy())

    def _wire(self) -> None:
        bus = self.bus
        bus.register(c.RegisterCustomer, self.register_customer)
        bus.register(c.SubmitProductOrder, self.submit_product_order)
        bus.register(c.CompleteWorkOrder, self.complete_work_order)
        bus.register(c.StartWorkOrder, self.start_work_order)
        bus.register(c.ModifyService, self.modify_service)
        bus.register(c.CancelService, self.cancel_service)
        bus.register(c.CollectUsage, self.collect_usage)
        bus.register(c.RunBillCycle, self.run_bill_cycle)
        bus.register(c.CollectKpis, self.collect_kpis)
        bus.subscribe(e.WorkOrderCompleted, self._activate_service)
        bus.subscribe(e.ServiceActivated, self._complete_product_order)
        bus.subscribe(e.ServiceOrderFailed, self._fail_product_order)
        bus.subscribe(e.LinkDown, self._link_down)
        bus.subscribe(e.LinkUp, self._link_up)
        bus.subscribe(
            e.NodeDown, lambda ev: self._set_operational(ev.service_ids, "down", f"node {ev.node} down", ev.at, ev.planned)
        )
        bus.subscribe(e.NodeUp, lambda ev: self._set_operational(ev.service_ids, "up", f"node {ev.node} up", ev.at))
        bus.subscribe(e.ServiceRerouted, self._rerouted)

    # -- order to activate -------------------------------------------------

    def register_customer(self, cmd: c.RegisterCustomer) -> str:
        """Party management: create the customer and its billing account."""
        r = self.records
        customer_id, account_id = r.new_id("CUS"), r.new_id("ACC")
        r.customers[customer_id] = Customer(
            customer_id, cmd.name, cmd.segment, cmd.email, cmd.address, cmd.site, account_id, cmd.at
        )
        cycle_day = self.bill_cycle_days[(len(r.accounts)) % len(self.bill_cycle_days)]
        r.accounts[account_id] = BillingAccount(account_id, customer_id, cycle_day, self.currency, cmd.at)
        self.bus.emit(e.CustomerRegistered(cmd.at, customer_id, account_id, cmd.segment, cmd.site))
        return customer_id

    def submit_product_order(self, cmd: c.SubmitProductOrder) -> str:
        """Order handling: accept the order and decompose it into a service order and its installation."""
        r = self.records
        customer = get(r.customers, "Customer", cmd.customer_id)
        offering = self.catalog.get(cmd.offering_id)
        order = ProductOrder(r.new_id("PO"), customer.id, offering.id, cmd.at)
        r.product_orders[order.id] = order
        self.bus.emit(e.ProductOrderSubmitted(cmd.at, order.id, customer.id, offering.id))

        key = r.services.next_key()
        service = Service(
            r.new_id("SVC"), key, customer.id, offering.id, order.id, customer.site, offering.bandwidth_bps, cmd.at
        )
        r.services.add(service)
        r.services_by_customer[customer.id].append(service.id)
        r.usage.set_tariff(key, offering.usage_micros_per_gb)
        service_order = ServiceOrder(r.new_id("SO"), order.id, customer.id, service.id, cmd.at)
        r.service_orders[service_order.id] = service_order
        order.service_order_id = service_order.id
        PRODUCT_ORDER.move(order, "inProgress")
        self.bus.emit(e.ServiceOrderCreated(cmd.at, service_order.id, order.id, customer.id, service.id))

        SERVICE_ORDER.move(service_order, "inProgress")
        work = WorkOrder(r.new_id("WO"), service_order.id, customer.id, customer.site, "installation", cmd.at)
        r.work_orders[work.id] = work
        self.bus.emit(e.WorkOrderIssued(cmd.at, work.id, service_order.id, customer.id, work.site, work.kind))
        return order.id

    def start_work_order(self, cmd: c.StartWorkOrder) -> None:
        """Workforce management: a technician is assigned and on the way."""
        work = get(self.records.work_orders, "WorkOrder", cmd.work_order_id)
        WORK_ORDER.move(work, "inProgress")
        work.started_at = cmd.at
        self.bus.emit(e.WorkOrderStarted(cmd.at, work.id, work.incident_id))

    def complete_work_order(self, cmd: c.CompleteWorkOrder) -> None:
        """Workforce management: a technician reports the work done."""
        work = get(self.records.work_orders, "WorkOrder", cmd.work_order_id)
        WORK_ORDER.move(work, "completed")
        work.completed_at = cmd.at
        self.bus.emit(e.WorkOrderCompleted(cmd.at, work.id, work.service_order_id, work.customer_id, work.kind))

    def _activate_service(self, event: e.WorkOrderCompleted) -> None:
        """Service configuration and activation: ask the network for a path with the bandwidth."""
        if event.kind != "installation":
            return
        r = self.records
        so = get(r.service_orders, "ServiceOrder", event.service_order_id)
        service = r.services.get(so.service_id)
        offering = self.catalog.get(service.offering_id)
        spec = ServiceSpec(service.id, service.site, service.bandwidth_bps, protected=offering.protected)
        result = self.network.activate(spec, event.at)
        if not result.ok:
            SERVICE.move(service, "terminated")
            service.terminated_at = event.at
            SERVICE_ORDER.move(so, "failed")
            so.failure_code, so.failure_reason = result.code, result.reason
            so.completed_at = event.at
            self.bus.emit(
                e.ServiceOrderFailed(
                    event.at, so.id, so.product_order_id, so.customer_id, service.id, result.code, result.reason
                )
            )
            return
        r.services.bind_network_ref(service, result.network_ref)
        service.path, service.links = result.path, result.links
        for link in service.links:
            r.services_on_link[link].add(service.id)
        SERVICE.move(service, "active")
        service.operational_state = "up"
        service.activated_at = event.at
        r.usage.billable[service.key] = True
        SERVICE_ORDER.move(so, "completed")
        so.completed_at = event.at
        self.bus.emit(
            e.ServiceActivated(
                event.at,
                service.id,
                so.id,
                so.product_order_id,
                so.customer_id,
                result.network_ref,
                result.path,
                service.bandwidth_bps,
            )
        )

    def _complete_product_order(self, event: e.ServiceActivated) -> None:
        order = get(self.records.product_orders, "ProductOrder", event.order_id)
        PRODUCT_ORDER.move(order, "completed")
        order.completed_at = event.at
        self.bus.emit(e.ProductOrderCompleted(event.at, order.id, order.customer_id))

    def _fail_product_order(self, event: e.ServiceOrderFailed) -> None:
        order = get(self.records.product_orders, "ProductOrder", event.order_id)
        PRODUCT_ORDER.move(order, "failed")
        order.completed_at = event.at
        order.failure_code, order.failure_reason = event.code, event.reason
        self.bus.emit(e.ProductOrderFailed(event.at, order.id, order.customer_id, event.code, event.reason))

    # -- lifecycle changes ---------------------------------------------------

    def modify_service(self, cmd: c.ModifyService) -> bool:
        """Change a live service's offering; the network re-provisions its bandwidth, or refuses."""
        r = self.records
        service = r.services.get(cmd.service_id)
        new = self.catalog.get(cmd.offering_id)
        if service.state != "active":
            raise InvalidTransition("Service", service.id, service.state, f"modified to {new.id}")
        result = self.network.modify(service.id, new.bandwidth_bps, cmd.at)
        if not result.ok:
            self.bus.emit(e.ServiceModificationRefused(cmd.at, service.id, service.customer_id, new.id, result.reason))
            return False
        old = service.offering_id
        service.offering_history.append((cmd.at, old))
        service.offering_id, service.bandwidth_bps = new.id, new.bandwidth_bps
        r.usage.set_tariff(service.key, new.usage_micros_per_gb)
        self.bus.emit(e.ServiceModified(cmd.at, service.id, service.customer_id, old, new.id, new.bandwidth_bps))
        return True

    def cancel_service(self, cmd: c.CancelService) -> None:
        """The customer ends a service: stopped in the network, billed to the day, no usage after."""
        r = self.records
        service = r.services.get(cmd.service_id)
        if service.state not in ("active", "suspended"):
            raise InvalidTransition("Service", service.id, service.state, "terminated")
        self.network.deactivate(service.id, cmd.at)
        SERVICE.move(service, "terminated")
        service.terminated_at = cmd.at
        r.usage.billable[service.key] = False
        for link in service.links:
            r.services_on_link[link].discard(service.id)
        self.bus.emit(e.ServiceTerminated(cmd.at, service.id, service.customer_id, service.network_ref, "cancelled"))

    # -- network events ----------------------------------------------------

    def _set_operational(
        self, service_ids: tuple[str, ...], state: str, cause: str, at: float, planned: bool = False
    ) -> None:
        """Service problem management: follow each service's state, and keep its outages for SLAs."""
        outages = self.records.outages
        for service_id in service_ids:
            service = self.records.services.get(service_id)
            if service.state == "active" and service.operational_state != state:
                service.operational_state = state
                if state == "down":
                    outages[service.id].append(Outage(at, None, planned))
                elif outages.get(service.id) and outages[service.id][-1].end is None:
                    outages[service.id][-1].end = at
                self.bus.emit(e.ServiceStateChanged(at, service.id, service.customer_id, state, cause))

    def _link_down(self, event: e.LinkDown) -> None:
        self._set_operational(event.service_ids, "down", f"link {event.link_id} down", event.at, event.planned)

    def _link_up(self, event: e.LinkUp) -> None:
        self._set_operational(event.service_ids, "up", f"link {event.link_id} up", event.at, event.planned)

    def _rerouted(self, event: e.ServiceRerouted) -> None:
        """Resource inventory follows a protected service onto its new path."""
        service = self.records.services.get(event.service_id)
        on_link = self.records.services_on_link
        for link in service.links:
            on_link[link].discard(service.id)
        service.path, service.links = event.path, event.links
        for link in service.links:
            on_link[link].add(service.id)

    # -- usage to bill -----------------------------------------------------

    def collect_usage(self, cmd: c.CollectUsage) -> int:
        """Mediation and rating: collect the network's counters and rate them in bulk."""
        r = self.records
        batch = self.network.collect_usage(cmd.at)
        keys = r.services.keys_for_refs(batch.network_ref)
        r.usage.ensure(max(len(r.services) - 1, 0))
        mediated = mediate(batch, keys, r.usage.billable)
        rated = r.usage.rate(mediated)
        if len(rated):
            self.archive.append(rated)
        if len(mediated.rejected_index):  # kept, with their reason, for audit
            self.archive.reject(batch, keys, mediated.rejected_index, mediated.rejected_reason)
        start, self._last_collection = self._last_collection, cmd.at
        self.bus.emit(
            e.UsageRated(
                cmd.at,
                start,
                cmd.at,
                len(rated),
                mediated.rejected_total,
                int(rated.volume_bytes.sum()),
                from_micros(int(rated.charge_micros.sum())),
            )
        )
        return len(rated)

    def collect_kpis(self, cmd: c.CollectKpis) -> None:
        """Performance management: keep the interval's KPIs, check the thresholds."""
        batch = self.network.collect_kpis(cmd.at)
        self.performance.record(batch, self.records.services.keys_for_refs(batch.service_refs))
        self.assurance.check_thresholds(batch)

    def run_bill_cycle(self, cmd: c.RunBillCycle) -> list[str]:
        """Bill run: bill each account whose cycle day is today, for the period ending now."""
        r, cal = self.records, self.calendar
        day = cal.day_of_month(cmd.at)
        issued: list[str] = []
        total = ZERO
        for account in r.accounts.values():
            if account.bill_cycle_day != day or (account.last_billed_at or -1.0) >= cmd.at:
                continue
            cycle_start = cal.previous_cycle_date(cmd.at, account.bill_cycle_day)
            start = max(cycle_start, account.last_billed_at or account.opened_at)
            services = [r.services.get(s) for s in r.services_by_customer.get(account.customer_id, ())]
            services = [s for s in services if live_in(s, start, cmd.at)]
            account.last_billed_at = cmd.at
            if not services:
                continue
            kpis = {s.id: self.performance.close(s.key) for s in services}
            bill = bill_account(
                r.new_id("BILL"),
                account,
                services,
                self.catalog.get,
                lambda s: r.usage.close(s.key, cmd.at),
                (start, cmd.at),
                cal,
                cal.whole_days(cycle_start, cmd.at),
                lambda s, begin=start: self._sla_breaches(s, begin, cmd.at, kpis[s.id]),
                cycle_start,
                lambda s: r.usage.close_late(s.key),
            )
            add_tax(bill, self.tax_percent)
            bill.due_at = cmd.at + self.collections.policy.payment_terms
            r.bills[bill.id] = bill
            issued.append(bill.id)
            self._experience(account, services, kpis, bill, start, cmd.at)
            total += bill.amount
            self.bus.emit(
                e.CustomerBillIssued(cmd.at, bill.id, account.customer_id, account.id, start, cmd.at, bill.amount)
            )
        self.bus.emit(e.BillRunCompleted(cmd.at, day, len(issued), total))
        return issued

    def _sla_breaches(self, service: Service, start: float, end: float, kpis):
        """SLA management: measure a service's period against its offering's SLA."""
        template = self.catalog.get(service.offering_id).sla
        if template is None or service.activated_at is None:
            return template, []
        outages = self.records.outages.get(service.id, [])
        latency = kpis.mean_latency_ms if kpis.intervals else None
        breaches = measure(template, outages, service.activated_at, start, end, service.id, latency)
        for b in breaches:
            self.records.sla_breaches.append((end, b))
            self.bus.emit(e.SlaBreached(end, service.id, service.customer_id, b.metric, b.target, b.measured))
        return template, breaches

    def _experience(self, account, services, kpis, bill, start: float, end: float) -> None:
        """Customer experience management: the customer's index for the period just billed."""
        r = self.records
        customer = r.customers[account.customer_id]
        outage = sum(unplanned_downtime(r.outages.get(s.id, []), max(start, s.activated_at), end)[0] for s in services)
        busy = [k for k in kpis.values() if k.intervals]
        weight = sum(k.intervals for k in busy)
        latency = sum(k.mean_latency_ms * k.intervals for k in busy) / weight if weight else 0.0
        loss = sum(k.mean_loss * k.intervals for k in busy) / weight if weight else 0.0
        hours = sum(
            (min(t.resolved_at if t.resolved_at is not None else end, end) - max(t.created_at, start)) / 3600
            for t in self.assurance.tickets.values()
            if t.customer_id == customer.id and t.created_at < end and (t.resolved_at is None or t.resolved_at > start)
        )  # fmt: skip
        previous = r.last_bill_amount.get(account.id)
        reference = previous if previous is not None else sum(
            (self.catalog.get(s.offering_id).monthly_price for s in services), ZERO)  # fmt: skip
        shock = shocked(bill.amount, reference)
        r.last_bill_amount[account.id] = bill.amount
        index = experience_index(outage / 60, latency, loss, hours, shock)
        r.experience.append(Experience(customer.id, customer.segment, end, index, outage / 60, latency, loss, hours, shock))

    def customer_view(self, customer_id: str) -> list[dict]:
        """What an (enterprise) customer sees of its own services: state, KPIs and SLA standing now."""
        r = self.records
        customer = get(r.customers, "Customer", customer_id)
        account = r.accounts[customer.billing_account_id]
        since = account.last_billed_at if account.last_billed_at is not None else account.opened_at
        now = self._last_collection
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
        return to_cents(from_micros(self.records.usage.unbilled_micros))
