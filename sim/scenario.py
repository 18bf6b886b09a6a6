"""Scenario schema v1 and its loader.

A scenario is YAML. The schema is strict: an unknown key, a missing key or a
bad value is a :class:`~oss_bss.errors.ScenarioError` naming the file, the key
path (``population.segments.business.share``) and the reason, never a
traceback. :func:`load_scenario` is the only way in.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from faker.config import AVAILABLE_LOCALES
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from oss_bss.errors import ScenarioError
from sim.expectations import Expectation
from sim.timespec import Duration, DurationInput, Instant, PositiveDuration, parse_instant


Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TopologyBuilder(Strict):
    """A generated topology; node names are Mininet's switch names s1, s2, ..."""

    kind: Literal["linear", "ring", "star", "tree", "random-geometric"]
    nodes: Annotated[int, Field(ge=1, le=100_000)]
    branching: Annotated[int, Field(ge=1, le=64)] = 2  # tree only
    radius: Annotated[float, Field(gt=0, le=2)] = 0.35  # random-geometric only, unit square
    extent_km: Positive = 1000.0  # random-geometric only: side of the square, for latency

    @model_validator(mode="after")
    def _sizes(self):
        if self.kind == "ring" and self.nodes < 3:
            raise ValueError("a ring needs at least 3 nodes")
        return self


class TopologyConfig(Strict):
    file: str | None = None  # GraphML (.graphml) or GML (.gml), relative to the scenario file
    builder: TopologyBuilder | None = None
    gateways: list[str] | None = None  # default: the most central node of each component
    capacity_mbps: Positive = 10_000.0  # links whose file gives no speed
    latency_ms: NonNegative = 1.0  # links without coordinates at both ends
    packet_bytes: Annotated[int, Field(ge=64, le=65_536)] = 1_500  # for the M/M/1/K link model
    buffer_packets: Annotated[int, Field(ge=1, le=10_000_000)] = 1_000  # K - 1 waiting places
    utilisation_alarm: Annotated[float, Field(gt=0, le=10)] = 0.8  # a link over this raises a QoS alarm
    utilisation_clear: Annotated[float, Field(ge=0, le=10)] = 0.7  # ... which clears under this

    @model_validator(mode="after")
    def _hysteresis(self):
        if self.utilisation_clear > self.utilisation_alarm:
            raise ValueError("utilisation_clear must not be above utilisation_alarm")
        return self

    @model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.builder is None):
            raise ValueError("give exactly one of 'file' and 'builder'")
        return self


class Sla(Strict):
    """Commitments of an offering: availability over each billing period, time to restore."""

    name: Name
    availability_percent: Annotated[Decimal, Field(gt=0, le=100)]
    time_to_restore: PositiveDuration | None = None
    credit_percent: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(10)  # of the monthly price, per breach
    max_latency_ms: Positive | None = None  # mean over the period


GB = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=3)]


class Tier(Strict):
    """Usage from ``from_gb`` of the bill cycle's volume on, at ``price_per_gb``."""

    from_gb: GB
    price_per_gb: Money


class OffPeak(Strict):
    """Time of day: usage starting in these local hours costs ``percent`` of the price."""

    hours: Annotated[list[Annotated[int, Field(ge=0, le=23)]], Field(min_length=1, max_length=24)]
    percent: Annotated[int, Field(ge=0, le=1000)] = 50


class Prices(Strict):
    """Prices that can change: each field left out of a change keeps its value."""

    monthly_price: Money | None = None
    one_time_price: Money | None = None  # billed once, on the first bill after activation
    usage_price_per_gb: Money | None = None  # one price for all usage (or give usage_tiers)
    usage_tiers: Annotated[list[Tier], Field(min_length=1)] | None = None  # over the cycle's volume, first at 0 GB
    included_gb: GB | None = None  # free usage per bill cycle
    off_peak: OffPeak | None = None

    @model_validator(mode="after")
    def _one_usage_price(self):
        if self.usage_price_per_gb is not None and self.usage_tiers is not None:
            raise ValueError("give usage_price_per_gb or usage_tiers, not both")
        if self.usage_tiers is not None:
            if self.usage_tiers[0].from_gb != 0:
                raise ValueError("the first usage tier must start at from_gb: 0")
            starts = [t.from_gb for t in self.usage_tiers]
            if starts != sorted(set(starts)):
                raise ValueError("usage tiers must start at increasing volumes")
        return self


class PriceChange(Prices):
    """New prices of an offering from an instant on (mid-cycle too)."""

    from_: Annotated[Instant, Field(alias="from")]


class Offering(Prices):
    id: Name
    name: str
    bandwidth_mbps: Positive  # reserved along the path at activation
    monthly_price: Money
    protected: bool = False  # rerouted around a failure when capacity allows
    sla: Sla | None = None
    lifecycle_status: Literal["inStudy", "inDesign", "inTest", "Launched", "Retired", "Obsolete"] = "Launched"
    prepaid: bool = False  # charged online against a prepaid balance (no monthly price, no bills)
    price_changes: list[PriceChange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _prepaid(self):
        if self.prepaid and (self.monthly_price or self.one_time_price):
            raise ValueError("a prepaid offering is pay as you go: monthly_price and one_time_price must be 0")
        return self


class Promotion(Strict):
    """A share off the monthly price for a while after activation, for orders placed in a window."""

    id: Name
    name: str
    offerings: Annotated[list[str], Field(min_length=1)]
    percent_off: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]
    for_: Annotated[PositiveDuration, Field(alias="for")]
    ordered_from: Instant | None = None  # None: from the start
    ordered_until: Instant | None = None  # None: for ever


class Bundle(Strict):
    """Offerings sold together: ordering the bundle orders each; their monthly prices get ``percent_off``."""

    id: Name
    name: str
    offerings: Annotated[list[str], Field(min_length=2)]
    percent_off: Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)] = Decimal(0)


class Lognormal(Strict):
    """Session volume: lognormal with this median and sigma of its logarithm."""

    distribution: Literal["lognormal"] = "lognormal"
    median_mb: Positive
    sigma: Annotated[float, Field(ge=0, le=5)] = 1.0


class Exponential(Strict):
    distribution: Literal["exponential"]
    mean_mb: Positive


class Pareto(Strict):
    """Heavy-tailed volume: Pareto with shape ``alpha`` (> 1 for a finite mean) and minimum."""

    distribution: Literal["pareto"]
    alpha: Annotated[float, Field(gt=1, le=20)]
    min_mb: Positive


Volume = Annotated[
    Union[
        Annotated[Lognormal, Tag("lognormal")],
        Annotated[Exponential, Tag("exponential")],
        Annotated[Pareto, Tag("pareto")],
    ],
    Discriminator(lambda v: v.get("distribution", "lognormal") if isinstance(v, dict) else getattr(v, "distribution", None)),
]


class Holding(Strict):
    """A holding time: its mean, and its distribution (exponential unless said)."""

    mean: PositiveDuration
    distribution: Literal["exponential", "lognormal", "pareto"] = "exponential"
    sigma: Annotated[float, Field(gt=0, le=5)] = 1.0  # lognormal: sigma of the logarithm
    alpha: Annotated[float, Field(gt=1, le=20)] = 2.5  # pareto: shape (> 1: finite mean)

    def draw(self, rng, n: int):
        """``n`` holding times in seconds, each distribution scaled to the same mean."""
        import numpy as np

        if self.distribution == "lognormal":
            return rng.lognormal(np.log(self.mean) - self.sigma**2 / 2, self.sigma, n)
        if self.distribution == "pareto":
            return (rng.pareto(self.alpha, n) + 1.0) * self.mean * (self.alpha - 1) / self.alpha
        return rng.exponential(self.mean, n)


def _holding(value):
    """A plain duration is the mean of an exponential holding time."""
    return value if isinstance(value, (dict, Holding)) else {"mean": value}


HoldingTime = Annotated[Holding, BeforeValidator(_holding, json_schema_input_type=Union[DurationInput, Holding])]


class OnOff(Strict):
    """A source alternating ON periods at a constant rate and silent OFF periods."""

    # Not "on"/"off": YAML 1.1 reads those keys as booleans.
    on_period: PositiveDuration  # mean ON period
    off_period: PositiveDuration  # mean OFF period
    rate_mbps: Positive
    distribution: Literal["exponential", "pareto"] = "exponential"
    alpha: Annotated[float, Field(gt=1, le=20)] = 1.5  # Pareto shape of the periods


class TopUps(Strict):
    """Prepaid customers: the balance they start with, and how they top up when it runs out."""

    initial_balance: Money
    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
    after: PositiveDuration = 86_400.0  # mean wait (exponential) after the cut-off
    share: Annotated[float, Field(ge=0, le=1)] = 1.0  # of cut-off customers who top up at all


class Changes(Strict):
    """How often a customer changes a live service (Poisson, per customer and year)."""

    modifies_per_year: NonNegative = 0.0  # to another offering of the segment, prorated
    moves_per_year: NonNegative = 0.0  # to another site
    cancels_per_year: NonNegative = 0.0  # the customer leaves (churn)


class Segment(Strict):
    share: Annotated[float, Field(gt=0, le=1)]
    offerings: dict[str, Positive]  # offering or bundle id -> relative weight
    party: Literal["individual", "organisation"] | None = None  # None: individuals for "residential"
    sites: Annotated[int, Field(ge=1, le=50)] = 1  # an organisation's sites, one child account each
    prepaid: TopUps | None = None  # the segment's offerings are prepaid
    changes: Changes = Changes()
    sessions_per_day: NonNegative
    session_volume: Volume
    session_duration: HoldingTime | None = None  # None: a session's volume falls in its start hour
    patience: PositiveDuration | None = None  # mean wait (exponential) before calling about an outage; None: never calls
    payment: "Paying | None" = None  # None: pays every bill on time
    on_off: OnOff | None = None  # an ON/OFF source per service, on top of the sessions

    @field_validator("offerings")
    @classmethod
    def _some(cls, v):
        if not v:
            raise ValueError("name at least one offering")
        return v


class Population(Strict):
    customers: Annotated[int, Field(ge=0, le=10_000_000)]
    locale: str = "en_US"
    segments: dict[Name, Segment]

    @field_validator("locale")
    @classmethod
    def _locale(cls, v):
        if v not in AVAILABLE_LOCALES:
            raise ValueError(f"unknown Faker locale {v!r}")
        return v

    @field_validator("segments")
    @classmethod
    def _shares(cls, v):
        if not v:
            raise ValueError("name at least one segment")
        total = sum(s.share for s in v.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"segment shares must add up to 1, they add up to {total:g}")
        return v


class Triangular(Strict):
    min: NonNegative
    mode: NonNegative
    max: Positive

    @model_validator(mode="after")
    def _ordered(self):
        if not self.min <= self.mode <= self.max or self.min == self.max:
            raise ValueError("need min <= mode <= max and min < max")
        return self


class Fallout(Strict):
    """What order handling does when the network refuses an activation."""

    retry_after: PositiveDuration = 86_400.0
    max_retries: Annotated[int, Field(ge=0, le=100)] = 0  # then the order is cancelled; 0: fails at once


class Ordering(Strict):
    arrivals_per_day: Positive  # Poisson arrival rate of new customers placing their order
    install_hours: Triangular  # field installation time after the order
    fallout: Fallout = Fallout()


class Billing(Strict):
    cycle_day: Annotated[int, Field(ge=1, le=28)] = 1
    cycle_days: list[Annotated[int, Field(ge=1, le=28)]] | None = None  # accounts spread over these, in turn
    tax_percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)] = Decimal(0)
    payment_terms: PositiveDuration = 14 * 86_400.0  # due this long after the bill is issued


class Dunning(Strict):
    """The ladder for overdue bills, counted from the due date."""

    reminder_after: Duration = 3 * 86_400.0
    suspend_after: Duration = 10 * 86_400.0
    terminate_after: Duration = 30 * 86_400.0

    @model_validator(mode="after")
    def _ordered(self):
        if not self.reminder_after <= self.suspend_after <= self.terminate_after:
            raise ValueError("need reminder_after <= suspend_after <= terminate_after")
        return self


class Paying(Strict):
    """How a segment pays: shares that pay on time, late, or never (adding up to 1)."""

    on_time: Annotated[float, Field(ge=0, le=1)] = 1.0
    late: Annotated[float, Field(ge=0, le=1)] = 0.0
    never: Annotated[float, Field(ge=0, le=1)] = 0.0
    late_days: Triangular = Field(default_factory=lambda: Triangular(min=1, mode=7, max=20))  # after the due date

    @model_validator(mode="after")
    def _shares(self):
        if not math.isclose(self.on_time + self.late + self.never, 1.0, abs_tol=1e-6):
            raise ValueError("on_time + late + never must add up to 1")
        return self


DEFAULT_PROFILE = [
    1.6, 1.0, 0.7, 0.5, 0.5, 0.7, 1.4, 2.6, 3.4, 3.8, 4.0, 4.2,
    4.5, 4.4, 4.3, 4.4, 4.8, 5.4, 6.2, 7.2, 8.0, 8.2, 6.6, 3.6,
]  # fmt: skip


class Usage(Strict):
    daily_profile: list[NonNegative] = Field(default_factory=lambda: list(DEFAULT_PROFILE))
    weekly_profile: list[NonNegative] = Field(default_factory=lambda: [1.0] * 7)  # Monday first

    @field_validator("weekly_profile")
    @classmethod
    def _covers_week(cls, v):
        if len(v) != 7:
            raise ValueError(f"give 7 daily weights, Monday first, not {len(v)}")
        if sum(v) <= 0:
            raise ValueError("at least one daily weight must be positive")
        return v

    @field_validator("daily_profile")
    @classmethod
    def _covers_day(cls, v):
        if len(v) != 24:
            raise ValueError(f"give 24 hourly weights, not {len(v)}")
        if sum(v) <= 0:
            raise ValueError("at least one hourly weight must be positive")
        return v


class FailureModel(Strict):
    """Alternating up and down times: means MTBF and MTTR, exponential or Weibull."""

    mtbf: PositiveDuration
    mttr: PositiveDuration
    distribution: Literal["exponential", "weibull"] = "exponential"
    shape: Annotated[float, Field(gt=0, le=20)] = 1.0  # Weibull shape of both


class SharedRiskGroup(FailureModel):
    """Links that fail together (one duct, one fibre cut)."""

    name: Name
    links: Annotated[list[str], Field(min_length=1)]


class Maintenance(Strict):
    name: Name
    links: list[str] = Field(default_factory=list)
    nodes: list[str] = Field(default_factory=list)
    start: Instant
    duration: PositiveDuration
    every: PositiveDuration | None = None  # repeat period

    @model_validator(mode="after")
    def _something(self):
        if not self.links and not self.nodes:
            raise ValueError("name the links or nodes under maintenance")
        return self


class Faults(Strict):
    links: FailureModel | None = None  # every link
    nodes: FailureModel | None = None  # every node
    srlgs: list[SharedRiskGroup] = Field(default_factory=list)
    maintenance: list[Maintenance] = Field(default_factory=list)


class TrafficChange(Strict):
    """Multiply the session rate of some customers (a flash crowd, a new habit)."""

    factor: Annotated[float, Field(ge=0, le=1000)]
    for_: Annotated[PositiveDuration | None, Field(alias="for")] = None  # None: from then on
    segments: list[str] | None = None
    sites: list[str] | None = None


class TimelineEvent(Strict):
    at: Instant
    fail_link: str | None = None
    fail_node: str | None = None
    fail_srlg: str | None = None
    for_: Annotated[PositiveDuration | None, Field(alias="for")] = None
    traffic: TrafficChange | None = None

    @model_validator(mode="after")
    def _one_thing(self):
        kinds = [k for k in ("fail_link", "fail_node", "fail_srlg", "traffic") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("give exactly one of fail_link, fail_node, fail_srlg, traffic")
        return self


class ServiceClass(Strict):
    """Sessions with a guaranteed bandwidth between two nodes (Poisson, exponential holding)."""

    name: Name
    from_: Annotated[str, Field(alias="from")]
    to: str
    arrivals_per_hour: Positive
    holding: HoldingTime  # "3m" (exponential) or {mean: 3m, distribution: lognormal, sigma: 1}
    bandwidth_mbps: Positive = 1.0


class Shift(Strict):
    start_hour: Annotated[int, Field(ge=0, le=23)] = 8
    end_hour: Annotated[int, Field(ge=1, le=24)] = 18
    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=lambda: [0, 1, 2, 3, 4])  # Monday = 0

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_hour <= self.start_hour:
            raise ValueError("end_hour must be after start_hour")
        if not self.days:
            raise ValueError("name at least one working day")
        return self


class Workforce(Strict):
    """Field technicians: with a workforce, failures wait for a technician to be repaired."""

    technicians: Annotated[int, Field(ge=1, le=10_000)]
    shift: Shift | None = None  # None: around the clock
    travel_hours: Triangular
    repair_hours: Triangular


class Emulation(Strict):
    """How the scenario runs on the emulated network (``--backend mininet``); ignored on ``sim``."""

    seconds_per_hour: Annotated[float, Field(ge=0.2, le=3600)] = 2.0  # real seconds per simulated hour
    volume_scale: Annotated[float, Field(gt=0, le=1)] = 1e-3  # share of the model's bytes actually sent
    max_switches: Annotated[int, Field(ge=1, le=256)] = 12  # a larger topology is reduced around the gateways


class Capacity(Strict):
    classes: list[ServiceClass] = Field(default_factory=list)


class Scenario(Strict):
    name: Name
    description: str = ""
    observe: list[str] = Field(default_factory=list)  # what to watch in the run, for its reader
    tags: list[Name] = Field(default_factory=list)  # for selecting scenarios (pytest markers)
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    start: date
    duration_days: Annotated[float, Field(gt=0, le=3660, allow_inf_nan=False)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    backend: str = "sim"
    topology: TopologyConfig
    catalog: Annotated[list[Offering], Field(min_length=1)]
    promotions: list[Promotion] = Field(default_factory=list)
    bundles: list[Bundle] = Field(default_factory=list)
    population: Population
    ordering: Ordering
    billing: Billing = Billing()
    usage: Usage = Usage()
    faults: Faults = Faults()
    capacity: Capacity = Capacity()
    timeline: list[TimelineEvent] = Field(default_factory=list)
    workforce: Workforce | None = None
    dunning: Dunning = Dunning()
    emulation: Emulation = Emulation()
    expect: list[Expectation] = Field(default_factory=list)  # what must hold of the run (sim.expectations)

    @property
    def duration_seconds(self) -> float:
        return self.duration_days * 86_400.0

    def seconds(self, instant) -> float:
        """Seconds from the start for an :data:`Instant` value."""
        return instant if isinstance(instant, float) else parse_instant(instant, self.start)


class LoadedScenario(BaseModel):
    """A validated scenario with the file it came from (for relative paths and messages)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    spec: Scenario
    path: Path

    def resolve(self, relative: str) -> Path:
        return (self.path.parent / relative).resolve()


def _key_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _reason(error: dict) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = error["msg"]
    return msg.removeprefix("Value error, ")


def scenario_error(file: Path | str, exc: ValidationError) -> ScenarioError:
    """The first pydantic error as a ScenarioError (``and N more`` when there are several)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    # Validators of a whole model carry their own key path in the message.
    loc = tuple(x for x in first["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    reason, key = _reason(first), _key_path(loc)
    if len(errors) > 1:
        reason += f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})"
    return ScenarioError(str(file), reason, key)


def _check_references(spec: Scenario, path: Path) -> None:
    """Keys that name other parts of the scenario must name something that exists."""
    ids = [o.id for o in spec.catalog]
    for i, oid in enumerate(ids):
        if oid in ids[:i]:
            raise ScenarioError(str(path), f"duplicate offering id {oid!r}", f"catalog[{i}].id")
    prepaid = {o.id for o in spec.catalog if o.prepaid}
    bundles = {b.id: b for b in spec.bundles}
    for i, b in enumerate(spec.bundles):
        if b.id in ids or [x.id for x in spec.bundles].count(b.id) > 1:
            raise ScenarioError(str(path), f"{b.id!r} is already an offering or bundle id", f"bundles[{i}].id")
        for oid in b.offerings:
            if oid not in ids:
                raise ScenarioError(str(path), f"{oid!r} is not an offering of the catalog", f"bundles[{i}].offerings")
            if oid in prepaid:
                raise ScenarioError(str(path), f"{oid!r} is prepaid; bundles are postpaid", f"bundles[{i}].offerings")
        if len(set(b.offerings)) != len(b.offerings):
            raise ScenarioError(str(path), "an offering appears twice", f"bundles[{i}].offerings")
    taken = set(ids) | set(bundles)
    for i, promo in enumerate(spec.promotions):
        if promo.id in taken:
            raise ScenarioError(str(path), f"{promo.id!r} is already an offering, bundle or promotion id",
                                f"promotions[{i}].id")  # fmt: skip
        taken.add(promo.id)
        for oid in promo.offerings:
            if oid not in ids:
                raise ScenarioError(str(path), f"{oid!r} is not an offering of the catalog", f"promotions[{i}].offerings")
    for seg_name, seg in spec.population.segments.items():
        where = f"population.segments.{seg_name}"
        for oid in seg.offerings:
            if oid not in ids and oid not in bundles:
                raise ScenarioError(str(path), f"{oid!r} is not an offering or bundle of the catalog", f"{where}.offerings")
            if (oid in prepaid) != (seg.prepaid is not None):
                reason = (f"{oid!r} is prepaid: give the segment's prepaid top-ups" if oid in prepaid
                          else f"{oid!r} is postpaid, but the segment is prepaid")  # fmt: skip
                raise ScenarioError(str(path), reason, f"{where}.offerings")
        if seg.prepaid is not None and (seg.sites > 1 or seg.payment is not None):
            raise ScenarioError(str(path), "a prepaid segment has one site and pays by top-ups, not bills", where)
        if seg.sites > 1 and seg.party == "individual":
            raise ScenarioError(str(path), "only an organisation has several sites", f"{where}.sites")
    ordered = {oid for s in spec.population.segments.values() for oid in s.offerings}
    ordered |= {oid for b in spec.bundles if b.id in ordered for oid in b.offerings}
    for i, o in enumerate(spec.catalog):
        if o.lifecycle_status != "Launched" and o.id in ordered:
            raise ScenarioError(str(path), f"{o.id!r} is {o.lifecycle_status}, not Launched: it cannot be ordered",
                                f"catalog[{i}].lifecycle_status")  # fmt: skip
        froms = []
        for j, change in enumerate(o.price_changes):
            try:
                froms.append(spec.seconds(change.from_))
            except ValueError as exc:
                raise ScenarioError(str(path), str(exc), f"catalog[{i}].price_changes[{j}].from") from None
            if froms[-1] <= 0 or (len(froms) > 1 and froms[-1] <= froms[-2]):
                raise ScenarioError(str(path), "price changes must come after the start, in order",
                                    f"catalog[{i}].price_changes[{j}].from")  # fmt: skip
    srlgs = {g.name for g in spec.faults.srlgs}
    segments = set(spec.population.segments)
    instants = [(f"faults.maintenance[{i}].start", m.start) for i, m in enumerate(spec.faults.maintenance)]
    for i, promo in enumerate(spec.promotions):
        instants += [(f"promotions[{i}].{k}", v) for k, v in (("ordered_from", promo.ordered_from),
                     ("ordered_until", promo.ordered_until)) if v is not None]  # fmt: skip
    for i, ev in enumerate(spec.timeline):
        instants.append((f"timeline[{i}].at", ev.at))
        if ev.traffic is None and ev.for_ is None and spec.workforce is None:
            raise ScenarioError(str(path), "a failure needs 'for' (how long until repair), or a workforce to repair it",
                                f"timeline[{i}]")  # fmt: skip
        if ev.fail_srlg is not None and ev.fail_srlg not in srlgs:
            raise ScenarioError(str(path), f"{ev.fail_srlg!r} is not a group of faults.srlgs", f"timeline[{i}].fail_srlg")
        if ev.traffic is not None:
            for seg in ev.traffic.segments or ():
                if seg not in segments:
                    raise ScenarioError(str(path), f"{seg!r} is not a segment", f"timeline[{i}].traffic.segments")
    for key, instant in instants:
        try:
            spec.seconds(instant)
        except ValueError as exc:
            raise ScenarioError(str(path), str(exc), key) from None


def set_key(data: dict, key_path: str, value, *, file: str = "") -> None:
    """Set ``key_path`` (dotted; list items by index, e.g. ``population.segments.0.count``) in ``data``.

    Used for command-line overrides (a sweep's ``--set``); the value is then
    validated with the rest of the scenario, so a wrong value is named by its key.
    """
    parts = key_path.split(".")
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ScenarioError(file, f"no item {part!r} in a list of {len(node)}", where)
            index = int(part)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if part not in node:
                    node[part] = {}
                node = node[part]
        else:
            raise ScenarioError(file, "is a value, not a section: it has no keys to set", ".".join(parts[:depth]))


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scenario file, as ``scenarios/schema.json`` holds it.

    Editors use it to complete and check scenario files (``# yaml-language-server: $schema=...``).
    It says what the file may hold; :func:`load_scenario` checks more (references between keys,
    the topology file), and its message is the one to trust.
    """
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": "Generated by `run_scenario.py schema` from sim/scenario.py; do not edit.",
        **schema,
        "title": "telcolab scenario",
        "description": "A telcolab scenario: the network, the operator's catalog, the customers, faults, a timeline "
                       "and the expectations of the run. See scenarios/README.md.",
    }  # fmt: skip


def load_scenario(path: str | Path, *, seed: int | None = None, backend: str | None = None,
                  overrides: dict[str, object] | None = None) -> LoadedScenario:  # fmt: skip
    """Read, parse and validate a scenario file; overrides come from the command line.

    ``overrides`` maps dotted key paths to values (see :func:`set_key`); they are
    applied before validation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "file not found") from None
    except IsADirectoryError:
        raise ScenarioError(str(path), "is a directory, not a scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), f"cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(str(path), f"{where}YAML syntax error: {problem}") from None
    if not isinstance(data, dict):
        raise ScenarioError(str(path), "a scenario must be a mapping of keys to values")
    for key_path, value in (overrides or {}).items():
        set_key(data, key_path, value, file=str(path))
    if seed is not None:
        data["seed"] = seed
    if backend is not None:
        data["backend"] = backend
    try:
        spec = Scenario.model_validate(data)
    except ValidationError as exc:
        raise scenario_error(path, exc) from None
    _check_references(spec, path)
    loaded = LoadedScenario(spec=spec, path=path.resolve())
    if spec.topology.file is not None:
        topo = loaded.resolve(spec.topology.file)
        if not topo.is_file():
            raise ScenarioError(str(path), f"file not found: {topo}", "topology.file")
        if topo.suffix.lower() not in (".graphml", ".gml"):
            raise ScenarioError(str(path), "a topology file must be .graphml or .gml", "topology.file")
    return loaded


# Segment names Paying, defined after it; resolve the reference now.
for _model in (Segment, Population, Scenario):
    _model.model_rebuild()
