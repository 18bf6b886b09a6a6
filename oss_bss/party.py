"""Parties and accounts (TMF629 customer, TMF666 billing account in shape)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Customer:
    id: str
    name: str
    segment: str  # residential, business, enterprise
    email: str
    address: str
    site: str  # network node where the premises attach
    billing_account_id: str
    registered_at: float
    state: str = "active"


@dataclass(slots=True)
class BillingAccount:
    id: str
    customer_id: str
    bill_cycle_day: int  # day of month the bill run closes this account's period
    currency: str
    opened_at: float
    last_billed_at: float | None = None  # end of the last billed period
    dunning_state: str = "current"  # current, suspended, terminated
