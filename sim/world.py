"""The world's behaviour as SimPy processes around the operator.

* customers arrive (Poisson), register and place their order;
* the field workforce installs what the operator's work orders ask for;
* every hour, customers' traffic is offered to the network, mediation
  collects the counters, and at midnight the operator's bill run is due.

The world talks to the operator only through commands on the bus and learns
what happened from the operator's events, as a real customer base and a real
workforce would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import simpy

from oss_bss import commands as c
from oss_bss import events as e
from oss_bss.bus import MessageBus
from oss_bss.periods import DAY, HOUR
from sim.network import SimulatedNetwork
from sim.population import Person
from sim.rng import RandomStreams
from sim.scenario import Scenario
from sim.traffic import SegmentTraffic, TrafficModel


class World:
    def __init__(
        self,
        env: simpy.Environment,
        bus: MessageBus,
        scenario: Scenario,
        network: SimulatedNetwork,
        people: Iterable[Person],
        streams: RandomStreams,
        on_tick: Callable[[float], None] | None = None,
        faults=None,
    ):
        self.env, self.bus, self.scenario, self.network = env, bus, scenario, network
        self.people = people
        self.streams = streams
        self.on_tick = on_tick or (lambda now: None)
        self.faults = faults
        self._down: set[str] = set()  # services without service now, as customers see it
        self._patience = [s.patience for s in scenario.population.segments.values()]
        self._calls = streams.get("customers.calls")
        self._confirm = streams.get("customers.confirmation")
        self._field = streams.get("workforce.repair")
        self._technicians = (
            simpy.Resource(env, capacity=scenario.workforce.technicians) if scenario.workforce is not None else None
        )
        bus.subscribe(e.ServiceStateChanged, self._on_service_state)
        bus.subscribe(e.TroubleTicketStateChanged, self._on_ticket)
        bus.subscribe(e.CustomerBillIssued, self._on_bill)
        bus.subscribe(e.ServiceTerminated, lambda ev: self.traffic.remove(ev.network_ref))
        self._payer: dict[str, str] = {}  # customer -> on_time, late, never
        self._accounts: dict[str, str] = {}  # customer -> its own billing account
        bus.subscribe(e.CustomerRegistered, lambda ev: self._accounts.__setitem__(ev.customer_id, ev.billing_account_id))
        self._has_changes = [s.changes.modifies_per_year + s.changes.moves_per_year + s.changes.cancels_per_year > 0
                             for s in scenario.population.segments.values()]  # fmt: skip
        # What customers know of their services, from the operator's events: id -> [state, offering, site].
        self._mine: dict[str, list] = {}
        self._ordered: dict[str, str] = {}  # product order -> offering
        bus.subscribe(e.ProductOrderSubmitted, lambda ev: self._ordered.__setitem__(ev.order_id, ev.offering_id))
        bus.subscribe(e.ServiceModified, lambda ev: self._note(ev.service_id, 1, ev.to_offering_id))
        bus.subscribe(e.ServiceMoved, lambda ev: self._note(ev.service_id, 2, ev.to_site))
        bus.subscribe(e.ServiceSuspended, lambda ev: self._note(ev.service_id, 0, "suspended"))
        bus.subscribe(e.ServiceResumed, lambda ev: self._note(ev.service_id, 0, "active"))
        bus.subscribe(e.ServiceTerminated, lambda ev: self._mine.pop(ev.service_id, None))
        self._paying = streams.get("customers.payment")
        self._pay_delay = streams.get("customers.payment.delay")
        segments = [SegmentTraffic.from_config(s) for s in scenario.population.segments.values()]
        self.traffic = TrafficModel(
            segments, scenario.usage.daily_profile, streams.get("traffic"),
            scenario.usage.weekly_profile, scenario.start.weekday(),
        )  # fmt: skip
        self._segment_names = list(scenario.population.segments)
        self._site_index = {node: i for i, node in enumerate(network.topology_model.graph.nodes)}
        self._customer: dict[str, tuple[int, int]] = {}  # customer id -> (segment, site index)
        self._install = streams.get("workforce.installation")
        self._sites = list(network.topology_model.graph.nodes)
        self._extra_sites = streams.get("population.sites")
        self._changes = streams.get("customers.changes")
        self._top_ups = streams.get("customers.top_ups")
        self._bundles = {b.id: b for b in scenario.bundles}
        bus.subscribe(e.WorkOrderIssued, self._on_work_order)
        bus.subscribe(e.ServiceActivated, self._on_activated)
        bus.subscribe(e.ProductOrderHeld, self._on_fallout)
        bus.subscribe(e.ServiceMoved, lambda ev: self.traffic.move(ev.network_ref, self._site_index[ev.to_site]))
        bus.subscribe(e.PrepaidBalanceExhausted, self._on_cut_off)

    def start(self) -> None:
        self.env.process(self._arrivals())
        self.env.process(self._clock())
        for event in self.scenario.timeline:
            if event.traffic is not None:
                self.env.process(self._traffic_change(event))

    # -- customers -------------------------------------------------------

    def _arrivals(self):
        rng = self.streams.get("ordering.arrivals")
        mean_gap = DAY / self.scenario.ordering.arrivals_per_day
        for person in self.people:
            yield self.env.timeout(float(rng.exponential(mean_gap)))
            self._register(person, self.env.now)

    def _register(self, person: Person, now: float) -> None:
        """A party becomes a customer and orders: every offering of a bundle, at every site of an organisation."""
        segment = self.scenario.population.segments[person.segment]
        customer_id = self.bus.handle(
            c.RegisterCustomer(now, person.name, person.segment, person.email, person.address, person.site,
                               person.party_type, prepaid=segment.prepaid is not None)
        )  # fmt: skip
        self._customer[customer_id] = (person.segment_index, self._site_index[person.site])
        paying = segment.payment
        if paying is not None:
            kinds, shares = ("on_time", "late", "never"), [paying.on_time, paying.late, paying.never]
            self._payer[customer_id] = kinds[int(self._paying.choice(3, p=shares))]
        if segment.prepaid is not None and segment.prepaid.initial_balance > 0:
            self.bus.handle(c.TopUp(now, self._accounts[customer_id], segment.prepaid.initial_balance))
        offerings = self._bundles[person.offering_id].offerings if person.offering_id in self._bundles \
            else [person.offering_id]  # fmt: skip
        sites = [person.site]
        if segment.sites > 1:  # an enterprise: more sites, each with its own child account
            others = [s for s in self._sites if s != person.site]
            pick = self._extra_sites.choice(len(others), size=min(segment.sites - 1, len(others)), replace=False)
            sites += [others[i] for i in sorted(pick)]
        for site in sites:
            account = self.bus.handle(c.OpenBillingAccount(now, customer_id)) if segment.sites > 1 else None
            for offering_id in offerings:
                self.bus.handle(c.SubmitProductOrder(now, customer_id, offering_id, site, account))

    def _on_fallout(self, event: e.ProductOrderHeld) -> None:
        """Order fallout: the operator asks to try again at the policy's time."""
        self.env.process(self._at(event.retry_at, c.RetryServiceOrder(event.retry_at, event.service_order_id)))

    def _at(self, when: float, command):
        yield self.env.timeout(max(0.0, when - self.env.now))
        self.bus.handle(command)

    def _on_cut_off(self, event: e.PrepaidBalanceExhausted) -> None:
        """A prepaid customer cut off tops up after a while, or (the others) never does."""
        segment = self.scenario.population.segments[self._segment_names[self._customer[event.customer_id][0]]]
        plan = segment.prepaid
        if self._top_ups.random() >= plan.share:
            return
        wait = float(self._top_ups.exponential(plan.after))
        self.env.process(self._later(wait, lambda: c.TopUp(self.env.now, event.billing_account_id, plan.amount)))

    def _later(self, delay: float, make):
        yield self.env.timeout(delay)
        self.bus.handle(make())

    def _lifecycle(self, event: e.ServiceActivated):
        """The customer's changes to a live service: modifies, moves and a cancellation, as Poisson events."""
        segment = self.scenario.population.segments[self._segment_names[self._customer[event.customer_id][0]]]
        rates = segment.changes
        year = 365.0 * DAY
        kinds = [(k, r) for k, r in (("modify", rates.modifies_per_year), ("move", rates.moves_per_year),
                                     ("cancel", rates.cancels_per_year)) if r > 0]  # fmt: skip
        total = sum(r for _, r in kinds)
        service_id = event.service_id
        while True:
            yield self.env.timeout(float(self._changes.exponential(year / total)))
            kind = kinds[int(self._changes.choice(len(kinds), p=[r / total for _, r in kinds]))][0]
            if service_id not in self._mine:  # gone
                return
            if not self._service_live(service_id):  # suspended now: no change this time
                continue
            now = self.env.now
            if kind == "cancel":
                self.bus.handle(c.CancelService(now, service_id))
                return
            if kind == "modify":  # to another offering the segment orders on its own (not a bundle's part)
                current = self._offering_of(service_id)
                direct = [o for o in segment.offerings if o not in self._bundles]
                choices = [o for o in direct if o != current]
                if current in direct and choices:
                    self.bus.handle(c.ModifyService(now, service_id, choices[int(self._changes.integers(len(choices)))]))
            else:
                site = self._sites[int(self._changes.integers(len(self._sites)))]
                if site != self._site_of(service_id):
                    self.bus.handle(c.MoveService(now, service_id, site))

    def _note(self, service_id: str, field: int, value) -> None:
        if service_id in self._mine:
            self._mine[service_id][field] = value

    def _service_live(self, service_id: str) -> bool:
        return self._mine.get(service_id, ("gone",))[0] == "active"

    def _offering_of(self, service_id: str) -> str:
        return self._mine[service_id][1]

    def _site_of(self, service_id: str) -> str:
        return self._mine[service_id][2]

    def _on_activated(self, event: e.ServiceActivated) -> None:
        self._mine[event.service_id] = ["active", self._ordered.pop(event.order_id, None), event.path[0]]
        segment, _ = self._customer[event.customer_id]
        self.traffic.add(event.network_ref, segment, self._site_index[event.path[0]])
        if self._has_changes[segment]:
            self.env.process(self._lifecycle(event))

    def _traffic_change(self, event):
        """A timed change of behaviour: a flash crowd (with 'for') or a lasting shift."""
        change = event.traffic
        yield self.env.timeout(self.scenario.seconds(event.at))
        segments = {self._segment_names.index(s) for s in change.segments} if change.segments else None
        sites = {self._site_index[s] for s in change.sites} if change.sites else None
        refs = self.traffic.scale(change.factor, segments, sites)
        if change.for_ is not None:
            yield self.env.timeout(change.for_)
            self.traffic.unscale(change.factor, refs)

    # -- workforce -------------------------------------------------------

    def _on_work_order(self, event: e.WorkOrderIssued) -> None:
        if event.kind == "repair":
            if self._technicians is not None and self.faults is not None and self.faults.awaiting(event.site):
                self.env.process(self._repair(event.work_order_id, event.site))
            return
        spec = self.scenario.ordering.install_hours
        hours = float(self._install.triangular(spec.min, spec.mode, spec.max))
        self.env.process(self._complete_later(event.work_order_id, hours * HOUR))

    def _complete_later(self, work_order_id: str, delay: float):
        yield self.env.timeout(delay)
        self.bus.handle(c.CompleteWorkOrder(self.env.now, work_order_id))

    def _repair(self, work_order_id: str, obj: str):
        """A technician: wait for the shift and a free hand, travel, repair, report."""
        w = self.scenario.workforce
        with self._technicians.request() as hand:
            yield hand
            yield self.env.timeout(self._until_shift(self.env.now, w.shift))
            self.bus.handle(c.StartWorkOrder(self.env.now, work_order_id))
            travel = float(self._field.triangular(w.travel_hours.min, w.travel_hours.mode, w.travel_hours.max))
            fix = float(self._field.triangular(w.repair_hours.min, w.repair_hours.mode, w.repair_hours.max))
            yield self.env.timeout((travel + fix) * HOUR)
            self.bus.handle(c.CompleteWorkOrder(self.env.now, work_order_id))
            self.faults.repair(obj)

    def _until_shift(self, now: float, shift) -> float:
        """Seconds until the technicians' shift is on (0 when it is, or with no shift)."""
        if shift is None:
            return 0.0
        first = self.scenario.start.weekday()
        t = now
        for _ in range(24 * 8):
            day, hour = int(t // DAY), (t % DAY) / HOUR
            if (first + day) % 7 in shift.days and shift.start_hour <= hour < shift.end_hour:
                return t - now
            t = (t // HOUR + 1) * HOUR  # try the next hour
        return t - now

    # -- customers who pay ----------------------------------------------

    def _on_bill(self, event: e.CustomerBillIssued) -> None:
        """On time: within the terms; late: days after the due date; never: not at all."""
        kind = self._payer.get(event.customer_id, "on_time")
        if kind == "never" or event.amount <= 0:
            return
        terms = self.scenario.billing.payment_terms
        if kind == "on_time":
            delay = float(self._pay_delay.uniform(0.1, 1.0)) * terms
        else:
            segment = self.scenario.population.segments[self._segment_names[self._customer[event.customer_id][0]]]
            days = segment.payment.late_days
            delay = terms + float(self._pay_delay.triangular(days.min, days.mode, days.max)) * DAY
        self.env.process(self._pay_later(event.bill_id, event.amount, delay))

    def _pay_later(self, bill_id: str, amount, delay: float):
        yield self.env.timeout(delay)
        self.bus.handle(c.RecordPayment(self.env.now, bill_id, amount))

    # -- customers who call ---------------------------------------------

    def _on_service_state(self, event: e.ServiceStateChanged) -> None:
        if event.operational_state == "up":
            self._down.discard(event.service_id)
            return
        self._down.add(event.service_id)
        segment, _ = self._customer[event.customer_id]
        patience = self._patience[segment]
        if patience is not None:
            wait = float(self._calls.exponential(patience))
            self.env.process(self._maybe_call(event.customer_id, event.service_id, wait))

    def _maybe_call(self, customer_id: str, service_id: str, wait: float):
        """The longer the outage, the likelier the call: P(call) = 1 - exp(-outage / patience)."""
        yield self.env.timeout(wait)
        if service_id in self._down:
            self.bus.handle(c.ReportTrouble(self.env.now, customer_id, service_id))

    def _on_ticket(self, event: e.TroubleTicketStateChanged) -> None:
        if event.state == "resolved":
            wait = float(self._confirm.exponential(2 * HOUR))  # the customer confirms the fix
            self.env.process(self._close_later(event.ticket_id, wait))

    def _close_later(self, ticket_id: str, wait: float):
        yield self.env.timeout(wait)
        self.bus.handle(c.CloseTroubleTicket(self.env.now, ticket_id))

    # -- the hourly clock ------------------------------------------------

    def _clock(self):
        while True:
            t0 = self.env.now
            yield self.env.timeout(HOUR)
            now = self.env.now
            refs, volume = self.traffic.demand(t0, now)
            volume = self.bus.handle(c.ReserveUsage(now, t0, refs, volume))  # online charging grants
            self.network.carry(refs, volume, t0, now)
            self.bus.handle(c.CollectKpis(now))
            self.bus.handle(c.CollectUsage(now))
            if now % DAY == 0:
                self.bus.handle(c.RunBillCycle(now))
                self.bus.handle(c.RunDunning(now))
            self.on_tick(now)
