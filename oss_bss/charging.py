"""Online charging (prepaid): reserve from a balance before traffic flows, debit what was used.

The shape is Diameter Gy's (and 3GPP's converged charging): before each
interval the network asks for a grant for every active prepaid service
(:class:`~oss_bss.commands.ReserveUsage`); the charging system reserves the
money for the volume the balance can pay for at the dearest price the tariff
can charge in that interval, grants that volume, and lets the network carry
no more. When the interval's usage has been mediated and rated, the actual
charge is debited and the rest of the reservation released, so a balance
never goes below zero on in-period usage. A service whose demand was more
than its balance could pay for is cut off (suspended in the network) once
its usage is settled; a top-up resumes it.

Balances are integer micro-units in arrays indexed by service key, like the
usage ledger: a grant for a million services is a few array operations.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.errors import InvalidTransition, ValidationError
from oss_bss.money import ZERO, from_micros, to_micros
from oss_bss.ports import RatedUsage
from oss_bss.pricing import BYTES_PER_GB
from oss_bss.records import get

BALANCE_EXHAUSTED = "prepaid balance exhausted"


class OnlineCharging:
    """Prepaid balances, reservations, cut-off and top-ups, wired on the operator's bus."""

    def __init__(self, operator, capacity: int = 1024):
        self.op = operator
        self.balance = np.zeros(capacity, np.int64)  # micros, per service key
        self.reserved = np.zeros(capacity, np.int64)  # micros held for the interval being carried
        self.prepaid = np.zeros(capacity, bool)
        self.short = np.zeros(capacity, bool)  # asked for more than the balance could pay this interval
        self.key_of: dict[str, int] = {}  # prepaid billing account -> its service key
        self.pending: dict[str, int] = {}  # micros topped up before the account had a service
        self.charged_micros = 0  # debited over the run
        self.topped_up = ZERO
        self.cutoffs = 0
        operator.bus.register(c.ReserveUsage, self.reserve)
        operator.bus.register(c.TopUp, self.top_up)

    def _ensure(self, key: int) -> None:
        size = len(self.balance)
        if key < size:
            return
        new = max(key + 1, 2 * size)
        for name in ("balance", "reserved", "prepaid", "short"):
            old = getattr(self, name)
            grown = np.zeros(new, old.dtype)
            grown[:size] = old
            setattr(self, name, grown)

    def open(self, account_id: str, key: int) -> None:
        """A prepaid account's service (one per account): its balance starts at what the account holds."""
        if account_id in self.key_of:
            raise ValidationError({"billing_account_id": f"prepaid account {account_id} already has a service"})
        self._ensure(key)
        self.key_of[account_id] = key
        self.prepaid[key] = True
        self.balance[key] += self.pending.pop(account_id, 0)

    def reserve(self, cmd: c.ReserveUsage) -> np.ndarray:
        """Grant each service's volume for the interval from ``cmd.start``: all of it, or what the balance pays."""
        volume = np.asarray(cmd.volume_bytes)
        if not self.key_of or len(volume) == 0:
            return volume
        keys = self.op.records.services.keys_for_refs(np.asarray(cmd.network_refs))
        self._ensure(int(keys.max()) if len(keys) else 0)
        rows = np.flatnonzero((keys >= 0) & self.prepaid[np.maximum(keys, 0)])
        if len(rows) == 0:
            return volume
        k = keys[rows]
        usage = self.op.records.usage
        plans = usage.plan[k]
        dearest = np.array([s.compiled[s.index_at(cmd.start)].max_micros_per_gb() for s in usage.tariffs.schedules],
                           dtype=np.int64)[plans]  # fmt: skip
        available = np.maximum(self.balance[k] - self.reserved[k], 0)
        free = dearest == 0
        price = np.maximum(dearest, 1)
        whole, rest = np.divmod(available, price)  # exact floor(available x 10^9 / price) without overflow
        affordable = np.where(free, np.inf, whole * float(BYTES_PER_GB) + rest * BYTES_PER_GB // price)
        asked = volume[rows]
        granted = np.floor(np.minimum(asked, affordable))
        self.short[k] = asked > affordable
        # The money held for the granted volume at the dearest price; released at settlement.
        hold = np.minimum(np.ceil(granted * dearest / BYTES_PER_GB), available)
        self.reserved[k] = np.where(free, 0, hold).astype(np.int64)
        out = volume.astype(np.float64, copy=True)
        out[rows] = granted
        return out

    def settle(self, rated: RatedUsage, at: float) -> None:
        """Debit the rated charges of prepaid services, release reservations, cut off the short ones."""
        if not self.key_of:
            return
        keys = rated.service_key
        if len(keys):
            self._ensure(int(keys.max()))
            mine = self.prepaid[keys]
            if mine.any():
                np.subtract.at(self.balance, keys[mine], rated.charge_micros[mine])
                self.charged_micros += int(rated.charge_micros[mine].sum())
        self.reserved[:] = 0
        for key in np.flatnonzero(self.short):
            self.short[key] = False
            service = self.op.records.services.by_key[key]
            if service.state != "active":
                continue
            self.cutoffs += 1
            self.op.fulfilment.suspend(service, at, BALANCE_EXHAUSTED)
            self.op.bus.emit(e.PrepaidBalanceExhausted(at, service.billing_account_id, service.customer_id, service.id,
                                                       from_micros(int(self.balance[key]))))  # fmt: skip

    def top_up(self, cmd: c.TopUp) -> Decimal:
        """Add to a prepaid balance; a service cut off for its balance resumes. Returns the new balance."""
        r = self.op.records
        account = get(r.accounts, "BillingAccount", cmd.billing_account_id)
        if account.payment_type != "prepaid":
            raise InvalidTransition("BillingAccount", account.id, account.payment_type, "topped up")
        if cmd.amount <= 0:
            raise ValidationError({"amount": "a top-up must be positive"})
        self.topped_up += cmd.amount
        key = self.key_of.get(account.id)
        if key is None:  # before the service exists: kept for it
            self.pending[account.id] = self.pending.get(account.id, 0) + to_micros(cmd.amount)
            balance = self.balance_of(account.id)
            self.op.bus.emit(e.PrepaidToppedUp(cmd.at, account.id, account.customer_id, cmd.amount, balance))
            return balance
        self.balance[key] += to_micros(cmd.amount)
        balance = from_micros(int(self.balance[key]))
        self.op.bus.emit(e.PrepaidToppedUp(cmd.at, account.id, account.customer_id, cmd.amount, balance))
        service = r.services.by_key[key]
        if service.state == "suspended" and service.suspension_reason == BALANCE_EXHAUSTED and self.balance[key] > 0:
            self.op.fulfilment.resume(service, cmd.at)
        return balance

    def balance_of(self, account_id: str) -> Decimal:
        key = self.key_of.get(account_id)
        return from_micros(int(self.balance[key]) if key is not None else self.pending.get(account_id, 0))
