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
        bus.subscribe(e.WorkOrderIssued, self._on_work_order)
        bus.subscribe(e.ServiceActivated, self._on_activated)

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
            now = self.env.now
            customer_id = self.bus.handle(
                c.RegisterCustomer(now, person.name, person.segment, person.email, person.address, person.site)
            )
            self._customer[customer_id] = (person.segment_index, self._site_index[person.site])
            paying = self.scenario.population.segments[person.segment].payment
            if paying is not None:
                kinds, shares = ("on_time", "late", "never"), [paying.on_time, paying.late, paying.never]
                self._payer[customer_id] = kinds[int(self._paying.choice(3, p=shares))]
            self.bus.handle(c.SubmitProductOrder(now, customer_id, person.offering_id))

    def _on_activated(self, event: e.ServiceActivated) -> None:
        segment, site = self._customer[event.customer_id]
        self.traffic.add(event.network_ref, segment, site)

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
            self.network.carry(refs, volume, t0, now)
            self.bus.handle(c.CollectKpis(now))
            self.bus.handle(c.CollectUsage(now))
            if now % DAY == 0:
                self.bus.handle(c.RunBillCycle(now))
                self.bus.handle(c.RunDunning(now))
            self.on_tick(now)
