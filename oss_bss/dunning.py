"""Payments and dunning: from an issued bill to cash, or to the network.

A bill is due ``payment_terms`` after it is issued. Each day the dunning run
walks overdue bills up a ladder: a reminder, then suspension of the
customer's services in the network (through the port), then termination
(the customer churns). A payment that settles every overdue bill resumes
the suspended services.
"""

from __future__ import annotations

from dataclasses import dataclass

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.errors import ValidationError
from oss_bss.money import ZERO
from oss_bss.records import get

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    payment_terms: float = 14 * DAY
    reminder_after: float = 3 * DAY  # after the due date
    suspend_after: float = 10 * DAY
    terminate_after: float = 30 * DAY

    def __post_init__(self) -> None:
        if not self.reminder_after <= self.suspend_after <= self.terminate_after:
            raise ValidationError({"dunning": "need reminder_after <= suspend_after <= terminate_after"})


class Collections:
    """Accounts receivable and dunning, wired on the operator's bus."""

    def __init__(self, operator, policy: DunningPolicy):
        self.op, self.policy = operator, policy
        # Over the run, for non-payment: accounts suspended, and services suspended, resumed and terminated.
        self.accounts_suspended = 0
        self.suspended = self.resumed = self.terminated = 0
        self.payments = ZERO
        bus = operator.bus
        bus.register(c.RecordPayment, self.record_payment)
        bus.register(c.RunDunning, self.run_dunning)

    def record_payment(self, cmd: c.RecordPayment) -> None:
        r = self.op.records
        bill = get(r.bills, "CustomerBill", cmd.bill_id)
        if cmd.amount <= 0:
            raise ValidationError({"amount": "a payment must be positive"})
        bill.paid += cmd.amount
        self.payments += cmd.amount
        self.op.bus.emit(e.PaymentReceived(cmd.at, bill.id, bill.customer_id, cmd.amount))
        if bill.open_amount <= 0 and bill.state != "settled":
            bill.state, bill.settled_at = "settled", cmd.at
            self.op.bus.emit(e.CustomerBillSettled(cmd.at, bill.id, bill.customer_id))
        elif bill.open_amount > 0:
            bill.state = "partiallyPaid"
        account = r.accounts[bill.billing_account_id]
        if account.dunning_state == "suspended" and not self._overdue(account.id, cmd.at, self.policy.suspend_after):
            self._resume(account, cmd.at)

    def _overdue(self, account_id: str, at: float, beyond: float) -> list:
        return [
            b for b in self.op.records.bills.values()
            if b.billing_account_id == account_id and b.state != "settled" and b.open_amount > 0
            and b.due_at is not None and at - b.due_at >= beyond
        ]  # fmt: skip

    def run_dunning(self, cmd: c.RunDunning) -> None:
        r, p = self.op.records, self.policy
        for bill in list(r.bills.values()):
            if bill.state == "settled" or bill.open_amount <= 0 or bill.due_at is None or cmd.at < bill.due_at:
                continue
            late = cmd.at - bill.due_at
            account = r.accounts[bill.billing_account_id]
            if account.dunning_state == "terminated":
                continue
            if late >= p.terminate_after:
                self._terminate(account, cmd.at)
            elif late >= p.suspend_after and account.dunning_state != "suspended":
                self._suspend(account, cmd.at)
            elif late >= p.reminder_after and bill.reminded_at is None:
                bill.reminded_at = cmd.at
                self.op.bus.emit(e.DunningReminderSent(cmd.at, bill.id, bill.customer_id, late / DAY))

    def _services(self, account, state: str):
        r = self.op.records
        return [s for s in map(r.services.get, r.services_by_account.get(account.id, ())) if s.state == state]

    def _suspend(self, account, at: float) -> None:
        account.dunning_state = "suspended"
        self.accounts_suspended += 1
        for service in self._services(account, "active"):
            self.op.fulfilment.suspend(service, at, "non-payment")
            self.suspended += 1

    def _resume(self, account, at: float) -> None:
        account.dunning_state = "current"
        for service in self._services(account, "suspended"):
            if service.suspension_reason == "non-payment":
                self.op.fulfilment.resume(service, at)
                self.resumed += 1

    def _terminate(self, account, at: float) -> None:
        account.dunning_state = "terminated"
        r = self.op.records
        for service in self._services(account, "active") + self._services(account, "suspended"):
            self.op.fulfilment.terminate(service, at, "non-payment")
            self.terminated += 1
        customer = r.customers[account.customer_id]
        if customer.state == "churned":  # gone already (cancelled everything); its unpaid final bill churns it no more
            return
        if not any(s.state != "terminated" for s in map(r.services.get, r.services_by_customer[customer.id])):
            customer.state = "churned"  # an enterprise with other accounts in good standing stays
            self.op.bus.emit(e.CustomerChurned(at, customer.id, "terminated for non-payment"))
