"""Usage to bill: mediation and rating of the network's usage, and the bill run.

Each collection mediates and rates a whole batch at once (:mod:`oss_bss.usage`)
and archives it; each day the bill run bills the accounts whose cycle day it
is, with SLA credits measured for the period, tax, a due date, and the
customer's experience index for the period.
"""

from __future__ import annotations

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.billing import add_tax, bill_account, live_in
from oss_bss.experience import Experience, experience_index, shocked
from oss_bss.inventory import Service
from oss_bss.money import ZERO, from_micros
from oss_bss.sla import measure, unplanned_downtime
from oss_bss.usage import mediate


class Revenue:
    """Mediation, rating and billing, wired on the operator's bus."""

    def __init__(self, operator):
        self.op = operator
        self.bus, self.records, self.catalog, self.network = operator.bus, operator.records, operator.catalog, operator.network
        self.calendar, self.archive = operator.calendar, operator.archive
        self.last_collection = 0.0
        operator.bus.register(c.CollectUsage, self.collect_usage)
        operator.bus.register(c.RunBillCycle, self.run_bill_cycle)

    def collect_usage(self, cmd: c.CollectUsage) -> int:
        """Mediation and rating: collect the network's counters and rate them in bulk."""
        r = self.records
        batch = self.network.collect_usage(cmd.at)
        keys = r.services.keys_for_refs(batch.network_ref)
        r.usage.ensure(max(len(r.services) - 1, 0))
        mediated = mediate(batch, keys, r.usage.billable)
        rated = r.usage.rate(mediated)
        if len(rated):
            self.archive.append(rated)
        self.op.charging.settle(rated, cmd.at)
        if len(mediated.rejected_index):  # kept, with their reason, for audit
            self.archive.reject(batch, keys, mediated.rejected_index, mediated.rejected_reason)
        start, self.last_collection = self.last_collection, cmd.at
        self.bus.emit(
            e.UsageRated(
                cmd.at,
                start,
                cmd.at,
                len(rated),
                mediated.rejected_total,
                int(rated.volume_bytes.sum()),
                from_micros(int(rated.charge_micros.sum())),
            )
        )
        return len(rated)

    def run_bill_cycle(self, cmd: c.RunBillCycle) -> list[str]:
        """Bill run: bill each account whose cycle day is today, for the period ending now."""
        r, cal = self.records, self.calendar
        day = cal.day_of_month(cmd.at)
        issued: list[str] = []
        total = ZERO
        for account in r.accounts.values():
            if account.bill_cycle_day != day or (account.last_billed_at or -1.0) >= cmd.at:
                continue
            cycle_start = cal.previous_cycle_date(cmd.at, account.bill_cycle_day)
            start = max(cycle_start, account.last_billed_at or account.opened_at)
            services = [r.services.get(s) for s in r.services_by_account.get(account.id, ())]
            services = [s for s in services if live_in(s, start, cmd.at)]
            account.last_billed_at = cmd.at
            if account.payment_type == "prepaid":  # charged online: a new cycle for allowances, no bill
                for s in services:
                    r.usage.close(s.key, cmd.at)
                    r.usage.close_late(s.key)
                continue
            if not services:
                continue
            kpis = {s.id: self.op.performance.close(s.key) for s in services}
            bill = bill_account(
                r.new_id("BILL"),
                account,
                services,
                self.catalog,
                lambda s: r.usage.close(s.key, cmd.at),
                (start, cmd.at),
                cal,
                cal.whole_days(cycle_start, cmd.at),
                lambda s, begin=start: self._sla_breaches(s, begin, cmd.at, kpis[s.id]),
                cycle_start,
                lambda s: r.usage.close_late(s.key),
            )
            add_tax(bill, self.op.tax_percent)
            bill.due_at = cmd.at + self.op.collections.policy.payment_terms
            r.bills[bill.id] = bill
            issued.append(bill.id)
            self._experience(account, services, kpis, bill, start, cmd.at)
            total += bill.amount
            self.bus.emit(
                e.CustomerBillIssued(cmd.at, bill.id, account.customer_id, account.id, start, cmd.at, bill.amount)
            )
        self.bus.emit(e.BillRunCompleted(cmd.at, day, len(issued), total))
        return issued

    def _sla_breaches(self, service: Service, start: float, end: float, kpis):
        """SLA management: measure a service's period against its offering's SLA."""
        template = self.catalog.get(service.offering_id).sla
        if template is None or service.activated_at is None:
            return template, []
        outages = self.records.outages.get(service.id, [])
        latency = kpis.mean_latency_ms if kpis.intervals else None
        breaches = measure(template, outages, service.activated_at, start, end, service.id, latency)
        for b in breaches:
            self.records.sla_breaches.append((end, b))
            self.bus.emit(e.SlaBreached(end, service.id, service.customer_id, b.metric, b.target, b.measured))
        return template, breaches

    def _experience(self, account, services, kpis, bill, start: float, end: float) -> None:
        """Customer experience management: the customer's index for the period just billed."""
        r = self.records
        customer = r.customers[account.customer_id]
        outage = sum(unplanned_downtime(r.outages.get(s.id, []), max(start, s.activated_at), end)[0] for s in services)
        busy = [k for k in kpis.values() if k.intervals]
        weight = sum(k.intervals for k in busy)
        latency = sum(k.mean_latency_ms * k.intervals for k in busy) / weight if weight else 0.0
        loss = sum(k.mean_loss * k.intervals for k in busy) / weight if weight else 0.0
        hours = sum(
            (min(t.resolved_at if t.resolved_at is not None else end, end) - max(t.created_at, start)) / 3600
            for t in self.op.assurance.tickets.values()
            if t.customer_id == customer.id and t.created_at < end and (t.resolved_at is None or t.resolved_at > start)
        )  # fmt: skip
        previous = r.last_bill_amount.get(account.id)
        reference = previous if previous is not None else sum(
            (self.catalog.get(s.offering_id).monthly_price for s in services), ZERO)  # fmt: skip
        shock = shocked(bill.amount, reference)
        r.last_bill_amount[account.id] = bill.amount
        index = experience_index(outage / 60, latency, loss, hours, shock)
        r.experience.append(Experience(customer.id, customer.segment, end, index, outage / 60, latency, loss, hours, shock,
                                       account.id))  # fmt: skip
