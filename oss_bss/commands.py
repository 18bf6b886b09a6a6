"""Commands the operator accepts, one handler each (see :mod:`oss_bss.operator`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from oss_bss.bus import Command


@dataclass(frozen=True, slots=True)
class RegisterCustomer(Command):
    """A new party becomes a customer with a billing account; returns the customer id."""

    name: str
    segment: str
    email: str
    address: str
    site: str  # the network node the customer's premises attach to
    party_type: str = "individual"  # TMF632: individual or organisation
    prepaid: bool = False  # the account pays by prepaid balance (online charging)


@dataclass(frozen=True, slots=True)
class OpenBillingAccount(Command):
    """A further billing account for a customer (an enterprise site), under ``parent_id``; returns its id."""

    customer_id: str
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class SubmitProductOrder(Command):
    """A customer orders a product offering for its site; returns the order id."""

    customer_id: str
    offering_id: str
    site: str | None = None  # None: the customer's site
    billing_account_id: str | None = None  # None: the customer's own account


@dataclass(frozen=True, slots=True)
class RetryServiceOrder(Command):
    """Fallout handling: try a held service order's activation again."""

    service_order_id: str


@dataclass(frozen=True, slots=True)
class CompleteWorkOrder(Command):
    """The field workforce reports a work order (e.g. an installation) done."""

    work_order_id: str


@dataclass(frozen=True, slots=True)
class CollectUsage(Command):
    """Mediation collects the network's usage since the last collection and rates it."""


@dataclass(frozen=True, slots=True)
class RunBillCycle(Command):
    """Bill every account whose bill cycle day is the calendar day of ``at``."""


@dataclass(frozen=True, slots=True)
class StartWorkOrder(Command):
    """A technician is on the way: the work order is in progress."""

    work_order_id: str


@dataclass(frozen=True, slots=True)
class ReportTrouble(Command):
    """A customer calls about a service; returns the trouble ticket id."""

    customer_id: str
    service_id: str


@dataclass(frozen=True, slots=True)
class CloseTroubleTicket(Command):
    """The customer confirms the fix."""

    ticket_id: str


@dataclass(frozen=True, slots=True)
class CollectKpis(Command):
    """Performance management collects the network's KPIs for the interval ending now."""


@dataclass(frozen=True, slots=True)
class RecordPayment(Command):
    """A payment against a bill."""

    bill_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RunDunning(Command):
    """Walk the overdue bills up the dunning ladder (daily)."""


@dataclass(frozen=True, slots=True)
class ModifyService(Command):
    """Move a live service to another offering (an upgrade or downgrade of its speed)."""

    service_id: str
    offering_id: str


@dataclass(frozen=True, slots=True)
class MoveService(Command):
    """The customer moves: the service is re-provisioned from another site."""

    service_id: str
    site: str


@dataclass(frozen=True, slots=True)
class SuspendService(Command):
    """The customer asks to pause a service (it stops in the network, and stays billed)."""

    service_id: str


@dataclass(frozen=True, slots=True)
class ResumeService(Command):
    """The customer asks to resume a service it paused."""

    service_id: str


@dataclass(frozen=True, slots=True)
class ReserveUsage(Command):
    """Online charging: the network asks to let services carry ``volume_bytes`` in [at - 1 interval, at).

    Returns the volumes granted: postpaid services get all they ask;
    prepaid ones what their balance can pay for.
    """

    start: float
    network_refs: object  # numpy int64 array
    volume_bytes: object  # numpy float64 or int64 array


@dataclass(frozen=True, slots=True)
class TopUp(Command):
    """A prepaid customer adds money to the balance of a billing account."""

    billing_account_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class CancelService(Command):
    """The customer ends a service: it stops in the network and is billed to the day."""

    service_id: str
