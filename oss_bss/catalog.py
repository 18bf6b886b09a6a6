"""Product catalog (TMF620 in shape): the offerings customers can order.

An offering is one product (its specification: the bandwidth the network
reserves for it, protection, an SLA) sold at prices that change over time
(:class:`oss_bss.pricing.PriceSchedule`). The catalog also holds promotions
(a discount for orders placed in a window, for a while after activation) and
bundles (a discount when an account holds every offering of the bundle).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from oss_bss.errors import NotFound, ValidationError
from oss_bss.money import to_micros
from oss_bss.pricing import BYTES_PER_GB, PriceSchedule, PriceVersion, Tariffs, UsageTier
from oss_bss.sla import SlaTemplate

__all__ = ["BYTES_PER_GB", "Bundle", "Catalog", "ProductOffering", "Promotion"]


@dataclass(frozen=True, slots=True)
class ProductOffering:
    id: str
    name: str
    bandwidth_bps: int
    monthly_price: Decimal
    usage_price_per_gb: Decimal
    protected: bool = False  # the network reroutes it around failures when it can
    sla: "SlaTemplate | None" = None  # commitments to customers of this offering
    lifecycle_status: str = "Launched"  # TMF620: inStudy, inDesign, inTest, Launched, Retired, Obsolete
    prices: PriceSchedule | None = None  # None: the monthly and usage prices above, for ever
    prepaid: bool = False  # charged online against a balance, never billed

    def __post_init__(self) -> None:
        errors = {}
        if self.bandwidth_bps <= 0:
            errors["bandwidth_bps"] = "must be positive"
        for name in ("monthly_price", "usage_price_per_gb"):
            value = getattr(self, name)
            if value < 0:
                errors[name] = "must not be negative"
            else:
                try:
                    to_micros(value)
                except ValueError as exc:
                    errors[name] = str(exc)
        if self.lifecycle_status not in LIFECYCLE:
            errors["lifecycle_status"] = f"must be one of {', '.join(LIFECYCLE)}"
        if errors:
            raise ValidationError({f"offering {self.id}.{k}": v for k, v in errors.items()})
        if self.prices is None:
            version = PriceVersion(0.0, self.monthly_price, tiers=(UsageTier(Decimal(0), self.usage_price_per_gb),))
            object.__setattr__(self, "prices", PriceSchedule((version,)))

    def price_at(self, at: float) -> PriceVersion:
        """The prices in force at ``at``."""
        return self.prices.at(at)

    @property
    def orderable(self) -> bool:
        return self.lifecycle_status == "Launched"

    @property
    def sla_name(self) -> str | None:
        return self.sla.name if self.sla is not None else None

    @property
    def usage_micros_per_gb(self) -> int:
        return to_micros(self.usage_price_per_gb)


LIFECYCLE = ("inStudy", "inDesign", "inTest", "Launched", "Retired", "Obsolete")


@dataclass(frozen=True, slots=True)
class Promotion:
    """``percent_off`` the recurring price of the offerings, for ``duration`` seconds after
    activation, for orders placed in [order_from, order_until)."""

    id: str
    name: str
    offering_ids: tuple[str, ...]
    percent_off: Decimal
    duration: float
    order_from: float = float("-inf")
    order_until: float = float("inf")

    def __post_init__(self) -> None:
        if not 0 < self.percent_off <= 100:
            raise ValidationError({f"promotion {self.id}.percent_off": "must be above 0 and at most 100"})

    def applies(self, offering_id: str, ordered_at: float) -> bool:
        return offering_id in self.offering_ids and self.order_from <= ordered_at < self.order_until


@dataclass(frozen=True, slots=True)
class Bundle:
    """A bundled offering (TMF620 isBundle): ordering it orders each of ``offering_ids``;
    an account holding all of them gets ``percent_off`` their recurring prices."""

    id: str
    name: str
    offering_ids: tuple[str, ...]
    percent_off: Decimal

    def __post_init__(self) -> None:
        if len(set(self.offering_ids)) < 2:
            raise ValidationError({f"bundle {self.id}.offerings": "a bundle needs two different offerings or more"})
        if not 0 <= self.percent_off <= 100:
            raise ValidationError({f"bundle {self.id}.percent_off": "must be between 0 and 100"})


class Catalog:
    """The offerings, promotions and bundles by id, and the tariffs to rate usage with."""

    def __init__(
        self,
        offerings: Iterable[ProductOffering],
        promotions: Iterable[Promotion] = (),
        bundles: Iterable[Bundle] = (),
    ):
        self._by_id: dict[str, ProductOffering] = {}
        self.plan: dict[str, int] = {}  # offering id -> plan number in the tariffs
        self.tariffs = Tariffs()
        for o in offerings:
            if o.id in self._by_id:
                raise ValidationError({"id": f"duplicate product offering {o.id!r}"})
            self._by_id[o.id] = o
            self.plan[o.id] = self.tariffs.add(o.prices)
        self.promotions = list(promotions)
        self.bundles: dict[str, Bundle] = {}
        for b in bundles:
            if b.id in self._by_id or b.id in self.bundles:
                raise ValidationError({"id": f"duplicate offering or bundle id {b.id!r}"})
            for oid in b.offering_ids:
                self.get(oid)
            self.bundles[b.id] = b
        for p in self.promotions:
            for oid in p.offering_ids:
                self.get(oid)

    def promotions_for(self, offering_id: str, ordered_at: float) -> list[Promotion]:
        return [p for p in self.promotions if p.applies(offering_id, ordered_at)]

    def get(self, offering_id: str) -> ProductOffering:
        try:
            return self._by_id[offering_id]
        except KeyError:
            raise NotFound("ProductOffering", offering_id) from None

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)
