"""The operator's records as TMF resources (camelCase, ``id``, ``href``, ``@type``), one mapping per API.

Each entry of :data:`APIS` names the API's base path, its resource, the
TMF type, the records it lists, the customer that owns a record (None: the
operator's own, invisible to customers) and the mapping. Money is
``{unit, value}`` with the value a decimal string, never a float.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from oss_bss.money import fmt


@dataclass(frozen=True)
class Api:
    name: str  # e.g. TMF629
    base: str  # /tmf-api/customerManagement/v4
    resource: str  # customer
    kind: str  # Customer
    records: Callable  # operator -> iterable of records
    owner: Callable  # record -> customer id or None
    view: Callable  # (record, ctx) -> dict
    ident: Callable = lambda record: record.id  # noqa: E731
    lookup: Callable | None = None  # (operator, id) -> record or None; None: search the list

    def find(self, operator, ident: str):
        """The record with ``ident``, or None."""
        if self.lookup is not None:
            return self.lookup(operator, ident)
        return next((r for r in self.records(operator) if self.ident(r) == ident), None)

    def href(self, ident: str) -> str:
        return f"{self.base}/{self.resource}/{ident}"


def _t(ctx, at):
    return ctx.calendar.isoformat(at) if at is not None else None


def _money(amount, currency: str) -> dict:
    return {"unit": currency, "value": fmt(amount)}


def _party(customer_id: str) -> list[dict]:
    return [{"id": customer_id, "role": "Customer", "@referredType": "Customer",
             "href": f"/tmf-api/customerManagement/v4/customer/{customer_id}"}]  # fmt: skip


def customer(c, ctx) -> dict:
    accounts = ctx.accounts_of(c.id)
    return {
        "name": c.name, "status": c.state, "partyType": c.party_type, "segment": c.segment,
        "engagedParty": {"id": c.id, "@referredType": "Organization" if c.party_type == "organisation" else "Individual",
                         "name": c.name},
        "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": c.email}},
                          {"mediumType": "postalAddress", "characteristic": {"street1": c.address}}],
        "account": [{"id": a.id, "name": f"{a.payment_type} account", "@referredType": "BillingAccount",
                     **({"parentId": a.parent_id} if a.parent_id else {})} for a in accounts],
        "validFor": {"startDateTime": _t(ctx, c.registered_at)},
    }  # fmt: skip


def product_order(o, ctx) -> dict:
    return {
        "state": o.state, "orderDate": _t(ctx, o.submitted_at), "completionDate": _t(ctx, o.completed_at),
        "relatedParty": _party(o.customer_id),
        "billingAccount": {"id": o.billing_account_id, "@referredType": "BillingAccount"} if o.billing_account_id else None,
        "productOrderItem": [{"id": "1", "action": "add", "state": o.state, "quantity": 1,
                              "productOffering": {"id": o.offering_id,
                                                  "href": f"/tmf-api/productCatalogManagement/v4/productOffering/{o.offering_id}"}}],
        **({"errorMessage": [{"code": o.failure_code, "reason": o.failure_reason}]} if o.failure_code else {}),
    }  # fmt: skip


def service_order(o, ctx) -> dict:
    return {
        "state": o.state, "orderDate": _t(ctx, o.created_at), "completionDate": _t(ctx, o.completed_at),
        "externalId": o.product_order_id, "relatedParty": _party(o.customer_id),
        "serviceOrderItem": [{"id": "1", "action": "add", "state": o.state, "service": {"id": o.service_id}}],
        **({"errorMessage": [{"code": o.failure_code, "reason": o.failure_reason}]} if o.failure_code else {}),
    }  # fmt: skip


def service(s, ctx) -> dict:
    return {
        "name": ctx.catalog.get(s.offering_id).name, "state": s.state, "operatingStatus": s.operational_state,
        "startDate": _t(ctx, s.activated_at), "endDate": _t(ctx, s.terminated_at), "relatedParty": _party(s.customer_id),
        "serviceCharacteristic": [
            {"name": "bandwidth", "valueType": "integer", "value": s.bandwidth_bps},
            {"name": "site", "valueType": "string", "value": s.site},
            {"name": "path", "valueType": "array", "value": list(s.path)},
        ],
        "supportingResource": [{"id": link, "@referredType": "LogicalResource"} for link in s.links],
        "serviceSpecification": {"id": f"PS-{s.offering_id}"},
    }  # fmt: skip


def resource(r, ctx) -> dict:
    chars = [{"name": k, "value": getattr(r, k)} for k in ("a", "b", "capacity_bps", "latency_s", "latitude",
                                                            "longitude", "gateway") if getattr(r, k) is not None]  # fmt: skip
    return {"name": r.id, "resourceStatus": "available", "category": r.kind, "resourceCharacteristic": chars}


def alarm(a, ctx) -> dict:
    return {
        "alarmedObject": {"id": a.alarmed_object, "@referredType": a.alarmed_object_type},
        "alarmType": a.alarm_type, "perceivedSeverity": a.perceived_severity, "probableCause": a.probable_cause,
        "specificProblem": a.specific_problem, "state": a.state, "ackState": a.ack_state,
        "alarmRaisedTime": _t(ctx, a.raised_time), "alarmClearedTime": _t(ctx, a.cleared_time),
        "isRootCause": a.is_root_cause, "sourceSystemId": "telcolab",
    }  # fmt: skip


def ticket(t, ctx) -> dict:
    return {
        "name": t.description[:60], "description": t.description, "severity": t.severity, "status": t.state,
        "ticketType": "incident" if t.incident_id else "trouble", "channel": {"name": t.channel},
        "creationDate": _t(ctx, t.created_at), "resolutionDate": _t(ctx, t.resolved_at),
        "relatedParty": _party(t.customer_id),
        "relatedEntity": [{"id": s, "role": "impacted", "@referredType": "Service"} for s in t.service_ids],
    }  # fmt: skip


def bill(b, ctx) -> dict:
    tax = sum((x.amount for x in b.lines if x.kind == "tax"), 0)
    return {
        "billNo": b.id, "state": b.state, "billDate": _t(ctx, b.issued_at), "paymentDueDate": _t(ctx, b.due_at),
        "billingPeriod": {"startDateTime": _t(ctx, b.period_start), "endDateTime": _t(ctx, b.period_end)},
        "amountDue": _money(b.amount, b.currency), "remainingAmount": _money(b.open_amount, b.currency),
        "taxIncludedAmount": _money(b.amount, b.currency), "taxExcludedAmount": _money(b.amount - tax, b.currency),
        "billingAccount": {"id": b.billing_account_id, "@referredType": "BillingAccount"},
        "relatedParty": _party(b.customer_id),
        "appliedCustomerBillingRate": [{"id": x.id, "type": x.kind, "description": x.description,
                                        "product": {"id": x.service_id} if x.service_id else None,
                                        "taxExcludedAmount": _money(x.amount, b.currency)} for x in b.lines],
    }  # fmt: skip


def _service(op, ident: str):
    return op.records.services.find(ident)


def _usage_of(op, ident: str):
    s = op.records.services.find(ident[2:]) if ident.startswith("U-") else None
    return s if s is not None and s.activated_at is not None else None


def usage(s, ctx) -> dict:
    """TMF635: a service's usage rated since its last bill (the ledger's open balance)."""
    u = ctx.records.usage
    key = s.key
    open_bytes = int(u.open_bytes[key]) if key < len(u.open_bytes) else 0
    micros = int(u.open_micros[key]) if key < len(u.open_micros) else 0
    from oss_bss.money import from_micros

    return {
        "usageType": "data", "status": "rated", "relatedParty": _party(s.customer_id),
        "usageCharacteristic": [{"name": "volume", "value": open_bytes, "unitOfMeasure": "byte"}],
        "ratedProductUsage": [{"taxExcludedRatingAmount": _money(from_micros(micros), ctx.currency),
                               "productRef": {"id": s.id}}],
    }  # fmt: skip


APIS = [
    Api("TMF629", "/tmf-api/customerManagement/v4", "customer", "Customer",
        lambda op: op.records.customers.values(), lambda c: c.id, customer,
        lookup=lambda op, i: op.records.customers.get(i)),
    Api("TMF622", "/tmf-api/productOrderingManagement/v4", "productOrder", "ProductOrder",
        lambda op: op.records.product_orders.values(), lambda o: o.customer_id, product_order,
        lookup=lambda op, i: op.records.product_orders.get(i)),
    Api("TMF641", "/tmf-api/serviceOrdering/v4", "serviceOrder", "ServiceOrder",
        lambda op: op.records.service_orders.values(), lambda o: o.customer_id, service_order,
        lookup=lambda op, i: op.records.service_orders.get(i)),
    Api("TMF638", "/tmf-api/serviceInventoryManagement/v4", "service", "Service",
        lambda op: op.records.services, lambda s: s.customer_id, service, lookup=_service),
    Api("TMF639", "/tmf-api/resourceInventoryManagement/v4", "resource", "LogicalResource",
        lambda op: op.records.resources.values(), lambda r: None, resource,
        lookup=lambda op, i: op.records.resources.get(i)),
    Api("TMF642", "/tmf-api/alarmManagement/v4", "alarm", "Alarm",
        lambda op: op.assurance.alarms, lambda a: None, alarm, lookup=lambda op, i: op.assurance.alarms.all.get(i)),
    Api("TMF621", "/tmf-api/troubleTicket/v4", "troubleTicket", "TroubleTicket",
        lambda op: op.assurance.tickets.values(), lambda t: t.customer_id, ticket,
        lookup=lambda op, i: op.assurance.tickets.get(i)),
    Api("TMF635", "/tmf-api/usageManagement/v4", "usage", "Usage",
        lambda op: (s for s in op.records.services if s.activated_at is not None), lambda s: s.customer_id, usage,
        lambda s: f"U-{s.id}", lookup=_usage_of),
    Api("TMF678", "/tmf-api/customerBillManagement/v4", "customerBill", "CustomerBill",
        lambda op: op.records.bills.values(), lambda b: b.customer_id, bill, lookup=lambda op, i: op.records.bills.get(i)),
]  # fmt: skip
