"""Order handling: product orders (TMF622), service orders (TMF641), work orders.

A product order is decomposed into one service order per product; a service
order for a new site needs a field installation (a work order) before the
network is asked to activate it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ProductOrder:
    id: str
    customer_id: str
    offering_id: str
    submitted_at: float
    state: str = "acknowledged"
    service_order_id: str | None = None
    completed_at: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    billing_account_id: str | None = None


@dataclass(slots=True)
class ServiceOrder:
    id: str
    product_order_id: str
    customer_id: str
    service_id: str
    created_at: float
    state: str = "acknowledged"
    completed_at: float | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    attempts: int = 0  # activations tried


@dataclass(frozen=True, slots=True)
class FalloutPolicy:
    """Order fallout: retry a refused activation ``max_retries`` times, ``retry_after`` apart, then cancel."""

    retry_after: float = 86_400.0
    max_retries: int = 0


@dataclass(slots=True)
class WorkOrder:
    """Field work for the operator's workforce: an installation visit, or a repair of the plant."""

    id: str
    service_order_id: str | None
    customer_id: str | None
    site: str  # where: the customer's site, or the failed resource (link, node, shared-risk group)
    kind: str  # "installation" or "repair"
    issued_at: float
    state: str = "issued"
    completed_at: float | None = None
    incident_id: str | None = None
    started_at: float | None = None
