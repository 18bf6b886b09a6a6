"""Billing (TMF678 customer bill in shape): the bill of one account for one period.

A bill has one line per charge: one-time prices, the monthly recurring price
of each service prorated to the days it was live in the period (at each price
in force), promotion and bundle discounts, the usage rated for it since its
last bill, SLA credits and tax. Each line is rounded to the cent once (the rule in
:mod:`oss_bss.money`); the bill's amount is the exact sum of its lines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from oss_bss.catalog import Catalog
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
    kind: str  # "one_time", "recurring", "discount", "usage", "sla_credit" or "tax"
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


def _line(bill: CustomerBill, service_id, kind: str, description: str, quantity: int, amount: Decimal) -> BillLine:
    line = BillLine(f"{bill.id}-{len(bill.lines) + 1}", bill.id, service_id, kind, description, quantity, amount)
    bill.lines.append(line)
    return line


def bill_account(
    bill_id: str,
    account: BillingAccount,
    services: Iterable[Service],
    catalog: Catalog,
    usage: Callable[[Service], tuple[int, int, int]],
    period: tuple[float, float],
    calendar: Calendar,
    full_period_days: int,
    sla: Callable[[Service], tuple] | None = None,
    cycle_start: float | None = None,
    late: Callable[[Service], tuple[int, int, int]] | None = None,
) -> CustomerBill:
    """Bill ``account`` for ``period`` (start, end) in seconds.

    Lines, per service: the one-time price on its first bill; the recurring
    price for the days it was live, split where its offering or the
    offering's price changed (the day of a change belongs to the new price);
    promotion and bundle discounts on those recurring charges; the usage rated
    since its last bill (``usage(service)`` hands over micros, bytes and
    records), and late usage of earlier periods apart; SLA credits
    (``sla(service)`` gives the template and the period's breaches, each
    credited ``credit_percent`` of the monthly price, all together at most
    the price). ``full_period_days`` is the length of the whole cycle.
    """
    start, end = period
    services = list(services)
    bill = CustomerBill(bill_id, account.id, account.customer_id, start, end, end, account.currency)
    origin = cycle_start if cycle_start is not None else start
    held = {s.offering_id for s in services if live_in(s, start, end)}
    bundles = [b for b in catalog.bundles.values() if held.issuperset(b.offering_ids) and b.percent_off > 0]
    for service in services:
        if not live_in(service, start, end):
            continue
        if not service.one_time_billed and service.activated_at is not None:
            service.one_time_billed = True
            version = catalog.get(service.offering_at(service.activated_at)).price_at(service.activated_at)
            if version.one_time > 0:
                _line(bill, service.id, "one_time", f"{catalog.get(service.offering_at(service.activated_at)).name}, "
                      "installation and activation", 1, to_cents(version.one_time))  # fmt: skip
        stopped = service.terminated_at if service.terminated_at is not None else end
        live_from, live_to = max(service.activated_at, start), min(stopped, end)
        first = calendar.day_index(origin, live_from)
        last = first + calendar.whole_days(live_from, live_to)
        # Split the live days where the offering (a modify) or its price changes.
        instants = {until for until, _ in service.offering_history if live_from < until < live_to}
        for oid in {service.offering_at(live_from), *(o for _, o in service.offering_history), service.offering_id}:
            instants.update(catalog.get(oid).prices.changes_within(live_from, live_to))
        cuts = sorted(instants)
        bounds = [first] + [min(max(calendar.day_index(origin, t), first), last) for t in cuts] + [last]
        moments = [live_from] + cuts
        promos = catalog.promotions_for(service.offering_at(service.created_at), service.created_at)
        for (a, b), moment in zip(zip(bounds, bounds[1:]), moments):
            if b <= a:
                continue
            product = catalog.get(service.offering_at(moment))
            price = product.price_at(moment).monthly
            charge = recurring_charge(price, a, b, full_period_days)
            _line(bill, service.id, "recurring", f"{product.name} at {price} a month, {b - a} of {full_period_days} days",
                  b - a, charge)  # fmt: skip
            left = charge  # discounts take from what is left of the part, never below zero
            for promo in promos:  # the days of this part inside the promotion's window
                until = service.activated_at + promo.duration
                p_end = min(b, calendar.day_index(origin, until)) if until < live_to else b
                if p_end > a and product.id in promo.offering_ids:
                    off = min(left, to_cents(recurring_charge(price, a, p_end, full_period_days) * promo.percent_off / 100))
                    left -= off
                    if off:
                        _line(bill, service.id, "discount", f"{promo.name}: {promo.percent_off}% off, {p_end - a} days",
                              p_end - a, -off)  # fmt: skip
            for bundle in bundles:
                if product.id in bundle.offering_ids:
                    off = min(left, to_cents(left * bundle.percent_off / 100))
                    left -= off
                    if off:
                        _line(bill, service.id, "discount", f"{bundle.name}: {bundle.percent_off}% bundle discount",
                              b - a, -off)  # fmt: skip
        micros, volume, records = usage(service)
        if records:
            _line(bill, service.id, "usage", f"Data usage, {volume / 1e9:.3f} GB in {records} records", volume,
                  to_cents(from_micros(micros)))  # fmt: skip
        if late is not None:
            micros, volume, records = late(service)
            if records:
                _line(bill, service.id, "usage",
                      f"Late data usage of earlier periods, {volume / 1e9:.3f} GB in {records} records",
                      volume, to_cents(from_micros(micros)))  # fmt: skip
        template, breaches = sla(service) if sla is not None else (None, [])
        if breaches:
            monthly = catalog.get(service.offering_id).price_at(end).monthly
            share = min(Decimal(100), template.credit_percent * len(breaches)) / 100
            what = "; ".join(f"{b.metric} {b.measured} against {b.target}" for b in breaches)
            _line(bill, service.id, "sla_credit", f"SLA credit ({template.name}): {what}", len(breaches),
                  -to_cents(monthly * share))  # fmt: skip
    return bill
