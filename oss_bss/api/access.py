"""API keys and roles: who may read and write what.

* the **operator** key sees and changes everything;
* a **read-only** key sees everything and changes nothing;
* a **customer** key sees that customer's own records only: another
  customer's id answers 404 (as if it did not exist) and lists are filtered;
  it may read the catalog and place orders and tickets for itself.

The operator key comes from ``TELCOLAB_OPERATOR_KEY`` when set, otherwise it
is generated (and printed by whoever starts the server). A customer's key is
derived from the operator key and the customer id (HMAC-SHA256), so the
operator can hand it out without a key store: ``GET /keys/customer/{id}``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    role: str  # operator, read-only, customer
    customer_id: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role in ("operator", "customer")

    def sees(self, customer_id: str | None) -> bool:
        return self.role != "customer" or (customer_id is not None and customer_id == self.customer_id)


class AccessKeys:
    def __init__(self, operator_key: str | None = None, read_only_key: str | None = None, customers=None):
        self.operator_key = operator_key or os.environ.get("TELCOLAB_OPERATOR_KEY") or secrets.token_urlsafe(24)
        self.read_only_key = read_only_key or os.environ.get("TELCOLAB_READONLY_KEY") or secrets.token_urlsafe(24)
        self._customers = customers  # callable: customer id -> bool (exists)
        self._by_key: dict[str, str] = {}

    def customer_key(self, customer_id: str) -> str:
        digest = hmac.new(self.operator_key.encode(), customer_id.encode(), hashlib.sha256).hexdigest()[:32]
        key = f"c-{customer_id}-{digest}"
        self._by_key[key] = customer_id
        return key

    def caller(self, authorization: str | None) -> Caller | None:
        """The caller of an ``Authorization: Bearer <key>`` header, or None (401)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        key = authorization[len("Bearer "):].strip()
        if hmac.compare_digest(key, self.operator_key):
            return Caller("operator")
        if hmac.compare_digest(key, self.read_only_key):
            return Caller("read-only")
        if key.startswith("c-"):
            customer_id = key[2:].rsplit("-", 1)[0]
            if hmac.compare_digest(key, self.customer_key(customer_id)):
                if self._customers is None or self._customers(customer_id):
                    return Caller("customer", customer_id)
        return None
