"""Invoices from a run's database: as a page a customer can read, and in the TMF678 shape.

Both are made from what the run stored (``run.db``), not from memory: an
invoice can be reproduced at any time after the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from oss_bss.adapters.sql import bill_line, connect, customer, customer_bill
from oss_bss.errors import NotFound

_pages = Environment(loader=PackageLoader("oss_bss.adapters", "templates"), autoescape=select_autoescape(["html"]))


@dataclass(frozen=True)
class StoredBill:
    bill: dict
    lines: list[dict]
    customer: dict
    epoch: datetime

    @property
    def open_amount(self) -> Decimal:
        return self.bill["amount"] - self.bill["paid"]

    def when(self, at: float | None) -> str:
        return "" if at is None else (self.epoch + timedelta(seconds=at)).strftime("%Y-%m-%d")


def load(url: str, bill_id: str, epoch: datetime) -> StoredBill:
    engine = connect(url)
    try:
        with engine.connect() as con:
            bill = con.execute(select(customer_bill).where(customer_bill.c.id == bill_id)).mappings().first()
            if bill is None:
                raise NotFound("CustomerBill", bill_id)
            lines = con.execute(select(bill_line).where(bill_line.c.bill_id == bill_id).order_by(bill_line.c.id))
            who = con.execute(select(customer).where(customer.c.id == bill["customer_id"])).mappings().first()
            return StoredBill(dict(bill), [dict(x) for x in lines.mappings()], dict(who), epoch)
    finally:
        engine.dispose()


def html(stored: StoredBill) -> str:
    b = stored.bill
    return _pages.get_template("invoice.html").render(
        bill=b, lines=stored.lines, customer=stored.customer, open_amount=stored.open_amount,
        issued=stored.when(b["issued_at"]), due=stored.when(b["due_at"]),
        period_start=stored.when(b["period_start"]), period_end=stored.when(b["period_end"] - 1),
    )  # fmt: skip


def tmf678(stored: StoredBill, base: str = "/tmf-api/customerBillManagement/v4") -> dict:
    """The bill as a TMF678 CustomerBill (money as {unit, value})."""
    b, cur = stored.bill, stored.bill["currency"]

    def money(value: Decimal) -> dict:
        return {"unit": cur, "value": float(value)}

    tax = sum((x["amount"] for x in stored.lines if x["kind"] == "tax"), Decimal(0))
    return {
        "id": b["id"],
        "href": f"{base}/customerBill/{b['id']}",
        "@type": "CustomerBill",
        "billNo": b["id"],
        "billDate": (stored.epoch + timedelta(seconds=b["issued_at"])).isoformat(),
        "paymentDueDate": (stored.epoch + timedelta(seconds=b["due_at"])).isoformat() if b["due_at"] else None,
        "billingPeriod": {"startDateTime": (stored.epoch + timedelta(seconds=b["period_start"])).isoformat(),
                          "endDateTime": (stored.epoch + timedelta(seconds=b["period_end"])).isoformat()},
        "state": b["state"],
        "amountDue": money(b["amount"]),
        "remainingAmount": money(stored.open_amount),
        "taxIncludedAmount": money(b["amount"]),
        "taxExcludedAmount": money(b["amount"] - tax),
        "billingAccount": {"id": b["billing_account_id"], "@referredType": "BillingAccount"},
        "relatedParty": [{"id": b["customer_id"], "role": "Customer", "@referredType": "Customer"}],
        "appliedCustomerBillingRate": [
            {"id": x["id"], "@type": "AppliedCustomerBillingRate", "type": x["kind"], "description": x["description"],
             "product": {"id": x["service_id"]} if x["service_id"] else None,
             "taxExcludedAmount": money(x["amount"])}
            for x in stored.lines
        ],
    }  # fmt: skip


def epoch_of(start: str) -> datetime:
    return datetime.fromisoformat(start).replace(tzinfo=UTC)
