"""Order to activate, and the lifecycle changes after it (eTOM fulfilment).

Order handling decomposes a product order into a service order and an
installation work order; when the technician is done, service configuration
and activation asks the network for a path; the product order completes or
falls out with the network's reason. Afterwards a service can be modified
(re-provisioned) or cancelled, and its operational state follows the
network's events.
"""

from __future__ import annotations

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.errors import InvalidTransition
from oss_bss.inventory import Service
from oss_bss.lifecycle import PRODUCT_ORDER, SERVICE, SERVICE_ORDER, WORK_ORDER
from oss_bss.ordering import ProductOrder, ServiceOrder, WorkOrder
from oss_bss.party import BillingAccount, Customer
from oss_bss.ports import ServiceSpec
from oss_bss.records import get
from oss_bss.sla import Outage


class Fulfilment:
    """Customer, order, service and work-order handling, wired on the operator's bus."""

    def __init__(self, operator):
        self.op = operator
        self.bus, self.records, self.catalog, self.network = operator.bus, operator.records, operator.catalog, operator.network
        bus = self.bus
        bus.register(c.RegisterCustomer, self.register_customer)
        bus.register(c.SubmitProductOrder, self.submit_product_order)
        bus.register(c.CompleteWorkOrder, self.complete_work_order)
        bus.register(c.StartWorkOrder, self.start_work_order)
        bus.register(c.ModifyService, self.modify_service)
        bus.register(c.CancelService, self.cancel_service)
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
        cycle_day = self.op.bill_cycle_days[(len(r.accounts)) % len(self.op.bill_cycle_days)]
        r.accounts[account_id] = BillingAccount(account_id, customer_id, cycle_day, self.op.currency, cmd.at)
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
        r.usage.set_plan(key, self.catalog.plan[offering.id])
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
        r.usage.set_plan(service.key, self.catalog.plan[new.id])
        self.bus.emit(e.ServiceModified(cmd.at, service.id, service.customer_id, old, new.id, new.bandwidth_bps))
        return True

    def cancel_service(self, cmd: c.CancelService) -> None:
        """The customer ends a service: stopped in the network, billed to the day, no usage after."""
        r = self.records
        service = r.services.get(cmd.service_id)
        if service.state not in ("active", "suspended"):
            raise InvalidTransition("Service", service.id, service.state, "terminated")
        self.terminate(service, cmd.at, "cancelled")

    def terminate(self, service: Service, at: float, reason: str) -> None:
        """End a service: released in the network, billed up to ``at``, no usage rated after."""
        r = self.records
        self.network.deactivate(service.id, at)
        SERVICE.move(service, "terminated")
        service.terminated_at = at
        r.usage.billable[service.key] = False
        for link in service.links:
            r.services_on_link[link].discard(service.id)
        self.bus.emit(e.ServiceTerminated(at, service.id, service.customer_id, service.network_ref, reason))

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
