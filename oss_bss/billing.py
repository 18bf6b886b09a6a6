"""Billing (TMF678 customer bill in shape): the bill of one account for one period.

A bill has one line per charge: the monthly recurring price of each service,
prorated to the days it was live in the period, and the usage rated for it
since its last bill. Each line is rounded to the cent once (the rule in
:mod:`oss_bss.money`); the bill's amount is the exact sum of its lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from oss_bss.catalog import ProductOffering
from oss_bss.inventory import Service
from oss_bss.money import ZERO, from_micros, to_cents
from oss_bss.party import BillingAccount
from oss_bss.periods import Calendar


@dataclass(slots=True)
class BillLine:
    """One applied charge on a bill (TMF678 AppliedCustomerBillingRate)."""

    id: str
    bill_id: str
    service_id: str | None  # None for a tax line
    kind: str  # "recurring", "usage", "sla_credit" or "tax"
    description: str
    quantity: int  # days for recurring, bytes for usage
    amount: Decimal


@dataclass(slots=True)
class CustomerBill:
    id: str
    billing_account_id: str
    customer_id: str
    period_start: float
    period_end: float
    issued_at: float
    currency: str
    lines: list[BillLine] = field(default_factory=list)
    state: str = "sent"  # TMF678: sent, partiallyPaid, settled
    due_at: float | None = None
    paid: Decimal = ZERO
    settled_at: float | None = None
    reminded_at: float | None = None

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def open_amount(self) -> Decimal:
        return self.amount - self.paid


def add_tax(bill: CustomerBill, percent: Decimal, name: str = "VAT") -> None:
    """A tax line on the bill's net amount (credits included), rounded half-up to the cent once."""
    if not percent:
        return
    net = bill.amount
    bill.lines.append(BillLine(f"{bill.id}-{len(bill.lines) + 1}", bill.id, None, "tax",
                               f"{name} {percent}% of {net}", 0, to_cents(max(net, ZERO) * percent / 100)))  # fmt: skip


def recurring_charge(price: Decimal, first_day: int, end_day: int, period_days: int) -> Decimal:
    """The monthly price for days [first_day, end_day) of a period of ``period_days``.

    Rounded cumulatively: the cents of ``price x end / D`` less those of
    ``price x first / D``. Charges for adjacent parts of a period therefore
    add up to exactly the price, however the period is split.
    """
    first_day, end_day = max(0, first_day), min(end_day, period_days)
    if end_day <= first_day:
        return ZERO
    return to_cents(price * end_day / period_days) - to_cents(price * first_day / period_days)


def live_in(service: Service, start: float, end: float) -> bool:
    """Whether ``service`` was live at some time in [start, end)."""
    if service.activated_at is None or service.activated_at >= end:
        return False
    return service.terminated_at is None or service.terminated_at > start


def bill_account(
    bill_id: str,
    account: BillingAccount,
    services: Iterable[Service],
    offering: Callable[[str], ProductOffering],
    usage: Callable[[Service], tuple[int, int, int]],
    period: tuple[float, float],
    calendar: Calendar,
    full_period_days: int,
    sla: Callable[[Service], tuple] | None = None,
    cycle_start: float | None = None,
    late: Callable[[Service], tuple[int, int, int]] | None = None,
) -> CustomerBill:
    """Bill ``account`` for ``period`` (start, end) in seconds.

    ``usage(service)`` hands over (micros, bytes, records) rated for the
    service since its last bill; ``full_period_days`` is the length of the
    whole cycle the recurring price is for; ``sla(service)`` gives the
    service's SLA template and its breaches in the period, each credited
    ``credit_percent`` of the monthly price (all together at most the price).
    """
    start, end = period
    bill = CustomerBill(bill_id, account.id, account.customer_id, start, end, end, account.currency)
    for service in services:
        if not live_in(service, start, end):
            continue
        stopped = service.terminated_at if service.terminated_at is not None else end
        origin = cycle_start if cycle_start is not None else start
        live_from, live_to = max(service.activated_at, start), min(stopped, end)
        first = calendar.day_index(origin, live_from)
        last = first + calendar.whole_days(live_from, live_to)
        # A modify splits the live days: the day of a change belongs to the new offering.
        bounds, offers = [first], [service.offering_at(live_from)]
        for until, _ in service.offering_history:
            if live_from < until < live_to:
                bounds.append(min(max(calendar.day_index(origin, until), first), last))
                offers.append(service.offering_at(until))
        bounds.append(last)
        for (a, b), offering_id in zip(zip(bounds, bounds[1:]), offers):
            if b <= a:
                continue
            product = offering(offering_id)
            bill.lines.append(
                BillLine(f"{bill_id}-{len(bill.lines) + 1}", bill_id, service.id, "recurring",
                         f"{product.name}, {b - a} of {full_period_days} days", b - a,
                         recurring_charge(product.monthly_price, a, b, full_period_days))  # fmt: skip
            )
        micros, volume, records = usage(service)
        if records:
            bill.lines.append(
                BillLine(
                    f"{bill_id}-{len(bill.lines) + 1}",
                    bill_id,
                    service.id,
                    "usage",
                    f"Data usage, {volume / 1e9:.3f} GB in {records} records",
                    volume,
                    to_cents(from_micros(micros)),
                )
            )
        if late is not None:
            micros, volume, records = late(service)
            if records:
                bill.lines.append(
                    BillLine(f"{bill_id}-{len(bill.lines) + 1}", bill_id, service.id, "usage",
                             f"Late data usage of earlier periods, {volume / 1e9:.3f} GB in {records} records",
                             volume, to_cents(from_micros(micros)))  # fmt: skip
                )
        template, breaches = sla(service) if sla is not None else (None, [])
        if breaches:
            product = offering(service.offering_id)
            share = min(Decimal(100), template.credit_percent * len(breaches)) / 100
            what = "; ".join(f"{b.metric} {b.measured} against {b.target}" for b in breaches)
            bill.lines.append(
                BillLine(f"{bill_id}-{len(bill.lines) + 1}", bill_id, service.id, "sla_credit",
                         f"SLA credit ({template.name}): {what}", len(breaches),
                         -to_cents(product.monthly_price * share))  # fmt: skip
            )
    return bill
