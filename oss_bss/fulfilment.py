"""Order to activate, and the lifecycle changes after it (eTOM fulfilment).

Order handling decomposes a product order into a service order and an
installation work order; when the technician is done, service configuration
and activation asks the network for a path; the product order completes or
falls out with the network's reason. Afterwards a service can be modified
(re-provisioned), moved to another site, suspended and resumed at the
customer's request, or cancelled, and its operational state follows the
network's events. An activation the network refuses is *fallout*: the order
is held and retried after the policy's delay, and cancelled when the retries
run out (or fails at once with no retries).
"""

from __future__ import annotations

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.errors import InvalidTransition, ValidationError
from oss_bss.inventory import Service
from oss_bss.lifecycle import PRODUCT_ORDER, SERVICE, SERVICE_ORDER, WORK_ORDER
from oss_bss.ordering import FalloutPolicy, ProductOrder, ServiceOrder, WorkOrder
from oss_bss.party import BillingAccount, Customer
from oss_bss.ports import ServiceSpec
from oss_bss.records import get
from oss_bss.sla import Outage


class Fulfilment:
    """Customer, order, service and work-order handling, wired on the operator's bus."""

    def __init__(self, operator, fallout: FalloutPolicy | None = None):
        self.op = operator
        self.fallout = fallout or FalloutPolicy()
        self.cancelled = 0  # services the customers cancelled
        self.bus, self.records, self.catalog, self.network = operator.bus, operator.records, operator.catalog, operator.network
        bus = self.bus
        bus.register(c.RegisterCustomer, self.register_customer)
        bus.register(c.SubmitProductOrder, self.submit_product_order)
        bus.register(c.CompleteWorkOrder, self.complete_work_order)
        bus.register(c.StartWorkOrder, self.start_work_order)
        bus.register(c.ModifyService, self.modify_service)
        bus.register(c.MoveService, self.move_service)
        bus.register(c.SuspendService, self.suspend_service)
        bus.register(c.ResumeService, self.resume_service)
        bus.register(c.OpenBillingAccount, self.open_billing_account)
        bus.register(c.RetryServiceOrder, self.retry_service_order)
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
        if cmd.party_type not in ("individual", "organisation"):
            raise ValidationError({"party_type": "must be individual or organisation"})
        r.customers[customer_id] = Customer(
            customer_id, cmd.name, cmd.segment, cmd.email, cmd.address, cmd.site, account_id, cmd.at,
            party_type=cmd.party_type,
        )  # fmt: skip
        cycle_day = self.op.bill_cycle_days[(len(r.accounts)) % len(self.op.bill_cycle_days)]
        r.accounts[account_id] = BillingAccount(account_id, customer_id, cycle_day, self.op.currency, cmd.at,
                                                payment_type="prepaid" if cmd.prepaid else "postpaid")  # fmt: skip
        self.bus.emit(e.CustomerRegistered(cmd.at, customer_id, account_id, cmd.segment, cmd.site))
        return customer_id

    def open_billing_account(self, cmd: c.OpenBillingAccount) -> str:
        """Party management: a child account (an enterprise site) under the customer's own account."""
        r = self.records
        customer = get(r.customers, "Customer", cmd.customer_id)
        parent = get(r.accounts, "BillingAccount", cmd.parent_id or customer.billing_account_id)
        if parent.customer_id != customer.id:
            raise ValidationError({"parent_id": f"{parent.id} is not an account of {customer.id}"})
        account_id = r.new_id("ACC")
        r.accounts[account_id] = BillingAccount(account_id, customer.id, parent.bill_cycle_day, parent.currency,
                                                cmd.at, parent_id=parent.id)  # fmt: skip
        self.bus.emit(e.BillingAccountOpened(cmd.at, customer.id, account_id, parent.id))
        return account_id

    def submit_product_order(self, cmd: c.SubmitProductOrder) -> str:
        """Order handling: accept the order and decompose it into a service order and its installation."""
        r = self.records
        customer = get(r.customers, "Customer", cmd.customer_id)
        offering = self.catalog.get(cmd.offering_id)
        if not offering.orderable:
            raise ValidationError({"offering_id": f"{offering.id} is {offering.lifecycle_status}, not Launched"})
        account = get(r.accounts, "BillingAccount", cmd.billing_account_id or customer.billing_account_id)
        if account.customer_id != customer.id:
            raise ValidationError({"billing_account_id": f"{account.id} is not an account of {customer.id}"})
        if offering.prepaid != (account.payment_type == "prepaid"):
            raise ValidationError({"offering_id": f"{offering.id} is {'prepaid' if offering.prepaid else 'postpaid'}, "
                                                  f"account {account.id} is {account.payment_type}"})  # fmt: skip
        if offering.prepaid and account.id in self.op.charging.key_of:
            raise ValidationError({"billing_account_id": f"prepaid account {account.id} already has a service"})
        order = ProductOrder(r.new_id("PO"), customer.id, offering.id, cmd.at, billing_account_id=account.id)
        r.product_orders[order.id] = order
        self.bus.emit(e.ProductOrderSubmitted(cmd.at, order.id, customer.id, offering.id))

        key = r.services.next_key()
        site = cmd.site or customer.site
        service = Service(
            r.new_id("SVC"), key, customer.id, offering.id, order.id, site, offering.bandwidth_bps, cmd.at,
            billing_account_id=account.id,
        )  # fmt: skip
        r.services.add(service)
        r.services_by_customer[customer.id].append(service.id)
        r.services_by_account[account.id].append(service.id)
        r.usage.set_plan(key, self.catalog.plan[offering.id], cmd.at)
        if offering.prepaid:
            self.op.charging.open(account.id, key)
        service_order = ServiceOrder(r.new_id("SO"), order.id, customer.id, service.id, cmd.at)
        r.service_orders[service_order.id] = service_order
        order.service_order_id = service_order.id
        PRODUCT_ORDER.move(order, "inProgress")
        self.bus.emit(e.ServiceOrderCreated(cmd.at, service_order.id, order.id, customer.id, service.id))

        SERVICE_ORDER.move(service_order, "inProgress")
        work = WorkOrder(r.new_id("WO"), service_order.id, customer.id, site, "installation", cmd.at)
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
        self._activate(get(self.records.service_orders, "ServiceOrder", event.service_order_id), event.at)

    def retry_service_order(self, cmd: c.RetryServiceOrder) -> bool:
        """Fallout handling: a held order tries its activation again; returns whether it went through."""
        r = self.records
        so = get(r.service_orders, "ServiceOrder", cmd.service_order_id)
        if so.state != "held":
            raise InvalidTransition("ServiceOrder", so.id, so.state, "inProgress")
        order = get(r.product_orders, "ProductOrder", so.product_order_id)
        if r.accounts[order.billing_account_id].dunning_state == "terminated":  # the customer is gone meanwhile
            self._drop(so, cmd.at)
            PRODUCT_ORDER.move(order, "cancelled")
            order.completed_at = cmd.at
            self.bus.emit(e.ProductOrderCancelled(cmd.at, order.id, order.customer_id, "account terminated"))
            return False
        SERVICE_ORDER.move(so, "inProgress")
        PRODUCT_ORDER.move(order, "inProgress")
        return self._activate(so, cmd.at)

    def _activate(self, so: ServiceOrder, at: float) -> bool:
        r = self.records
        service = r.services.get(so.service_id)
        offering = self.catalog.get(service.offering_id)
        spec = ServiceSpec(service.id, service.site, service.bandwidth_bps, protected=offering.protected)
        result = self.network.activate(spec, at)
        so.attempts += 1
        if not result.ok:
            so.failure_code, so.failure_reason = result.code, result.reason
            if so.attempts <= self.fallout.max_retries:  # fallout: hold the order and retry later
                SERVICE_ORDER.move(so, "held")
                order = get(r.product_orders, "ProductOrder", so.product_order_id)
                PRODUCT_ORDER.move(order, "held")
                order.failure_code, order.failure_reason = result.code, result.reason
                self.bus.emit(e.ProductOrderHeld(at, order.id, so.id, so.customer_id, result.code, result.reason,
                                                 at + self.fallout.retry_after, so.attempts))  # fmt: skip
                return False
            self._drop(so, at)
            self.bus.emit(
                e.ServiceOrderFailed(at, so.id, so.product_order_id, so.customer_id, service.id, result.code, result.reason)
            )
            return False
        r.services.bind_network_ref(service, result.network_ref)
        service.path, service.links = result.path, result.links
        for link in service.links:
            r.services_on_link[link].add(service.id)
        SERVICE.move(service, "active")
        service.operational_state = "up"
        service.activated_at = at
        r.usage.billable[service.key] = True
        SERVICE_ORDER.move(so, "completed")
        so.completed_at = at
        self.bus.emit(
            e.ServiceActivated(
                at,
                service.id,
                so.id,
                so.product_order_id,
                so.customer_id,
                result.network_ref,
                result.path,
                service.bandwidth_bps,
            )
        )
        return True

    def _drop(self, so: ServiceOrder, at: float) -> None:
        """A service order that will not be activated: it fails, its designed service ends."""
        service = self.records.services.get(so.service_id)
        SERVICE.move(service, "terminated")
        service.terminated_at = at
        SERVICE_ORDER.move(so, "failed")
        so.completed_at = at

    def _complete_product_order(self, event: e.ServiceActivated) -> None:
        order = get(self.records.product_orders, "ProductOrder", event.order_id)
        PRODUCT_ORDER.move(order, "completed")
        order.completed_at = event.at
        self.bus.emit(e.ProductOrderCompleted(event.at, order.id, order.customer_id))

    def _fail_product_order(self, event: e.ServiceOrderFailed) -> None:
        order = get(self.records.product_orders, "ProductOrder", event.order_id)
        order.completed_at = event.at
        order.failure_code, order.failure_reason = event.code, event.reason
        if self.fallout.max_retries:  # the retries ran out: the order is given up
            PRODUCT_ORDER.move(order, "cancelled")
            self.bus.emit(e.ProductOrderCancelled(event.at, order.id, order.customer_id,
                                                  f"fallout: {event.reason}, after {self.fallout.max_retries} retries"))  # fmt: skip
            return
        PRODUCT_ORDER.move(order, "failed")
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
        r.usage.set_plan(service.key, self.catalog.plan[new.id], cmd.at)
        self.bus.emit(e.ServiceModified(cmd.at, service.id, service.customer_id, old, new.id, new.bandwidth_bps))
        return True

    def move_service(self, cmd: c.MoveService) -> bool:
        """The customer moves: the network re-provisions the service from the new site, or refuses."""
        r = self.records
        service = r.services.get(cmd.service_id)
        if service.state != "active":
            raise InvalidTransition("Service", service.id, service.state, f"moved to {cmd.site}")
        if cmd.site == service.site:
            raise ValidationError({"site": f"{service.id} is already at {cmd.site}"})
        result = self.network.move(service.id, cmd.site, cmd.at)
        if not result.ok:
            self.bus.emit(e.ServiceMoveRefused(cmd.at, service.id, service.customer_id, cmd.site, result.reason))
            return False
        old = service.site
        for link in service.links:
            r.services_on_link[link].discard(service.id)
        service.site, service.path, service.links = cmd.site, result.path, result.links
        for link in service.links:
            r.services_on_link[link].add(service.id)
        self.bus.emit(e.ServiceMoved(cmd.at, service.id, service.customer_id, service.network_ref, old, cmd.site,
                                     result.path))  # fmt: skip
        # The new path is built over working links only: a service that was down is up again.
        self._set_operational((service.id,), "up", f"moved to {cmd.site}", cmd.at)
        return True

    def suspend(self, service: Service, at: float, reason: str) -> None:
        """Stop a live service in the network, keeping its resources (non-payment, request, balance)."""
        self.network.suspend(service.id, at)
        SERVICE.move(service, "suspended")
        service.suspension_reason = reason
        self.bus.emit(e.ServiceSuspended(at, service.id, service.customer_id, service.network_ref, reason))

    def resume(self, service: Service, at: float) -> None:
        self.network.resume(service.id, at)
        SERVICE.move(service, "active")
        service.suspension_reason = None
        self.bus.emit(e.ServiceResumed(at, service.id, service.customer_id, service.network_ref))

    def suspend_service(self, cmd: c.SuspendService) -> None:
        """The customer pauses a service; it stays billed (the line shows the days as usual)."""
        service = self.records.services.get(cmd.service_id)
        if service.state != "active":
            raise InvalidTransition("Service", service.id, service.state, "suspended")
        self.suspend(service, cmd.at, "customer request")

    def resume_service(self, cmd: c.ResumeService) -> None:
        """The customer resumes a service it paused (not one suspended for debt or an empty balance)."""
        service = self.records.services.get(cmd.service_id)
        if service.state != "suspended" or service.suspension_reason != "customer request":
            raise InvalidTransition("Service", service.id, f"{service.state} ({service.suspension_reason})", "active")
        account = self.records.accounts[service.billing_account_id]
        if account.dunning_state != "current":  # paying the overdue bills comes first
            raise InvalidTransition("Service", service.id, f"suspended (account {account.dunning_state})", "active")
        self.resume(service, cmd.at)

    def cancel_service(self, cmd: c.CancelService) -> None:
        """The customer ends a service: stopped in the network, billed to the day, no usage after."""
        r = self.records
        service = r.services.get(cmd.service_id)
        if service.state not in ("active", "suspended"):
            raise InvalidTransition("Service", service.id, service.state, "terminated")
        self.terminate(service, cmd.at, "cancelled")
        self.cancelled += 1
        customer = r.customers[service.customer_id]
        if all(r.services.get(s).state == "terminated" for s in r.services_by_customer[customer.id]):
            customer.state = "churned"  # the customer's last service: the customer leaves
            self.bus.emit(e.CustomerChurned(cmd.at, customer.id, "cancelled"))

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
