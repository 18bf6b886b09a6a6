"""Parties and accounts (TMF629 customer, TMF632 party, TMF666 billing account in shape).

A customer is an individual or an organisation. An organisation with several
sites has an account hierarchy: its own (parent) account and one child
account per site, each billed on its own; reports roll children up to the
parent. A prepaid account pays by balance (online charging), not by bills.
"""

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
    party_type: str = "individual"  # TMF632: individual or organisation


@dataclass(slots=True)
class BillingAccount:
    id: str
    customer_id: str
    bill_cycle_day: int  # day of month the bill run closes this account's period
    currency: str
    opened_at: float
    last_billed_at: float | None = None  # end of the last billed period
    dunning_state: str = "current"  # current, suspended, terminated
    parent_id: str | None = None  # the parent account in an enterprise hierarchy
    payment_type: str = "postpaid"  # postpaid (billed) or prepaid (online charging)
