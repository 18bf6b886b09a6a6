"""Where each event of a customer's journey sits in eTOM: the process table.

The eTOM (TM Forum GB921, Business Process Framework) names the operator's work in level-2
Operations processes, grouped at level 1 twice: vertically (Fulfillment, Assurance, Billing &
Revenue Management) and horizontally (Customer Relationship, Service, Resource Management &
Operations). :data:`ETOM` gives each event type of :mod:`oss_bss.events` that can be a customer's
step its process and vertical, the fields that tie it to a customer (``keys``) and, where the
choice is not obvious, why; :func:`stage_of` looks one up. :data:`NETWORK_WIDE` lists the event
types that concern the whole network and are never one customer's step.

**The process names** are the level-2 processes of the eTOM Operations area as published in the
TM Forum Frameworx 16.0 model (GB921, "Frameworx Process" pages, e.g. Problem Handling 1.3.7,
original identifier 1.1.1.6; Service Configuration & Activation 1.4.5 / 1.1.2.2; Resource
Provisioning 1.5.6 / 1.1.3.2; Service Guiding & Mediation 1.4.8 / 1.1.2.5; Charging 1.3.13 /
1.1.1.13). The field workforce is the operator's own (:class:`oss_bss.ordering.WorkOrder`), so
installations are Resource Provisioning and repairs Resource Trouble Management; no
Supplier/Partner process is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

from oss_bss.charging import BALANCE_EXHAUSTED

# Level 1, vertical (end-to-end groupings of the Operations area) ...
FULFILLMENT, ASSURANCE, BILLING = "Fulfillment", "Assurance", "Billing & Revenue Management"
SUPPORT = "Operations Support & Readiness"
VERTICALS = (FULFILLMENT, ASSURANCE, BILLING, SUPPORT)
# ... and horizontal (functional groupings).
CRM, SMO = "Customer Relationship Management", "Service Management & Operations"
RMO = "Resource Management & Operations"
SPRM = "Supplier/Partner Relationship Management"
LAYERS = (CRM, SMO, RMO, SPRM)

# Every eTOM level-2 Operations process a journey can name, with its horizontal grouping.
PROCESSES: dict[str, str] = {
    "Customer Management": CRM,
    "Order Handling": CRM,
    "Problem Handling": CRM,
    "Customer QoS/SLA Management": CRM,
    "Retention & Loyalty": CRM,
    "Bill Invoice Management": CRM,
    "Bill Payments & Receivables Management": CRM,
    "Charging": CRM,
    "Service Configuration & Activation": SMO,
    "Service Problem Management": SMO,
    "Service Guiding & Mediation": SMO,
    "Resource Provisioning": RMO,
    "Resource Trouble Management": RMO,
}
# The fields whose ids are searched for in events.jsonl; every Stage's keys are among them.
MARKED_FIELDS = ("customer_id", "service_id", "service_ids", "work_order_id", "incident_id", "alarm_id")


@dataclass(frozen=True)
class Stage:
    """Where an event type sits in eTOM: its level-2 process and vertical, the fields that tie it to a customer."""

    process: str
    vertical: str
    keys: tuple[str, ...]
    reason: str = ""  # why this process, where it is not obvious

    @property
    def layer(self) -> str:
        return PROCESSES[self.process]


def _s(process: str, vertical: str, keys: str, reason: str = "") -> Stage:
    return Stage(process, vertical, tuple(keys.split()), reason)


# Each event type of oss_bss.events that can be in a customer's journey -> its process. A key
# "Type/variant" overrides "Type" for one kind of event (a repair work order, a suspension for debt).
ETOM: dict[str, Stage] = {
    # order to activate
    "CustomerRegistered": _s("Customer Management", FULFILLMENT, "customer_id",
                             "establish the customer relationship: one identity, the party and its first billing "
                             "account"),
    "BillingAccountOpened": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                               "its Manage Customer Billing (account) process: a child account per site"),
    "ProductOrderSubmitted": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderHeld": _s("Order Handling", FULFILLMENT, "customer_id",
                           "fallout: the customer order waits in jeopardy for a retry"),
    "ProductOrderCompleted": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderFailed": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ProductOrderCancelled": _s("Order Handling", FULFILLMENT, "customer_id"),
    "ServiceOrderCreated": _s("Service Configuration & Activation", FULFILLMENT, "customer_id",
                              "Issue Service Orders: the product order decomposed into a service order"),
    "ServiceOrderFailed": _s("Service Configuration & Activation", FULFILLMENT, "customer_id"),
    "ServiceActivated": _s("Service Configuration & Activation", FULFILLMENT, "customer_id",
                           "the service goes live in the inventory, with the path and bandwidth the network "
                           "reserved for it"),
    "WorkOrderIssued": _s("Resource Provisioning", FULFILLMENT, "work_order_id",
                          "an installation: the operator's technicians install and commission the access at the "
                          "customer's site"),
    "WorkOrderStarted": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderCompleted": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderCancelled": _s("Resource Provisioning", FULFILLMENT, "work_order_id"),
    "WorkOrderIssued/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id",
                                 "a repair: technicians dispatched to the failed resource (Track & Manage Resource "
                                 "Trouble)"),
    "WorkOrderStarted/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id"),
    "WorkOrderCompleted/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id"),
    "WorkOrderCancelled/repair": _s("Resource Trouble Management", ASSURANCE, "work_order_id",
                                    "no longer needed: the fault cleared first, or the incident merged into "
                                    "another with its own repair"),
    # lifecycle changes
    "ServiceModified": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                          "a change: the service re-configured with the new offering's bandwidth"),
    "ServiceModificationRefused": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceMoved": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                       "a move: the service re-designed and activated from the new site"),
    "ServiceMoveRefused": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceSuspended": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                           "the customer asked for a pause"),
    "ServiceResumed": _s("Service Configuration & Activation", FULFILLMENT, "service_id"),
    "ServiceTerminated": _s("Service Configuration & Activation", FULFILLMENT, "service_id",
                            "the customer cancelled: the service is deactivated and its resources released"),
    "ServiceSuspended/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                       "debt collection (dunning) has the service suspended in the network"),
    "ServiceResumed/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                     "the overdue bills are paid: collections has the service resumed"),
    "ServiceTerminated/non-payment": _s("Bill Payments & Receivables Management", BILLING, "service_id",
                                        "the end of the dunning ladder"),
    f"ServiceSuspended/{BALANCE_EXHAUSTED}": _s("Charging", BILLING, "service_id",
                                                "online charging: the balance cannot pay, the service is cut off"),
    f"ServiceResumed/{BALANCE_EXHAUSTED}": _s("Charging", BILLING, "service_id",
                                              "a top-up made the balance positive again"),
    "CustomerChurned": _s("Retention & Loyalty", FULFILLMENT, "customer_id",
                          "the customer's last service ended: the relationship ends (churn)"),
    "CustomerChurned/terminated for non-payment": _s("Retention & Loyalty", BILLING, "customer_id",
                                                     "churn at the end of the dunning ladder"),
    # trouble to resolve
    "LinkDown": _s("Resource Trouble Management", ASSURANCE, "service_ids",
                   "the network reports a failed resource and the services it cut"),
    "LinkUp": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "NodeDown": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "NodeUp": _s("Resource Trouble Management", ASSURANCE, "service_ids"),
    "AlarmRaised": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmCleared": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmAcknowledged": _s("Resource Trouble Management", ASSURANCE, "alarm_id"),
    "AlarmCorrelated": _s("Resource Trouble Management", ASSURANCE, "alarm_id",
                          "root-cause analysis of resource alarms (a node, a shared-risk group)"),
    "IncidentOpened": _s("Service Problem Management", ASSURANCE, "incident_id",
                         "one root cause, its impacted services and customers found in the service inventory"),
    "IncidentImpactAssessed": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "IncidentMerged": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "IncidentResolved": _s("Service Problem Management", ASSURANCE, "incident_id"),
    "ServiceStateChanged": _s("Service Problem Management", ASSURANCE, "service_id",
                              "the service's operational state follows the network"),
    "ServiceRerouted": _s("Service Problem Management", ASSURANCE, "service_id",
                          "restoration: a protected service moved onto a path around the failure"),
    "TroubleTicketCreated": _s("Problem Handling", ASSURANCE, "customer_id"),
    "TroubleTicketLinked": _s("Problem Handling", ASSURANCE, "customer_id"),
    "TroubleTicketStateChanged": _s("Problem Handling", ASSURANCE, "customer_id"),
    "SlaBreached": _s("Customer QoS/SLA Management", ASSURANCE, "customer_id",
                      "the period's measurements against the customer's SLA; the credit follows on the bill"),
    # usage to bill to cash
    "CustomerBillIssued": _s("Bill Invoice Management", BILLING, "customer_id"),
    "PaymentReceived": _s("Bill Payments & Receivables Management", BILLING, "customer_id"),
    "CustomerBillSettled": _s("Bill Payments & Receivables Management", BILLING, "customer_id"),
    "DunningReminderSent": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                              "debt collection: the first step of the dunning ladder"),
    "PrepaidBalanceExhausted": _s("Charging", BILLING, "customer_id",
                                  "online charging could not grant the hour's traffic from the balance"),
    "PrepaidToppedUp": _s("Bill Payments & Receivables Management", BILLING, "customer_id",
                          "a payment into the prepaid balance"),
}  # fmt: skip
# Events about the whole network, never one customer's step (usage is summarised per bill period instead).
NETWORK_WIDE = frozenset({"UsageRated", "BillRunCompleted"})


def stage_of(kind: str, variant: str | None = None) -> Stage:
    """The eTOM stage of an event type, or of one of its variants when the table names it."""
    return ETOM.get(f"{kind}/{variant}") or ETOM[kind]
