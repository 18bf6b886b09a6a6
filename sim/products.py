"""The scenario's catalog as the operator's: offerings with their price versions, promotions, bundles."""

from __future__ import annotations

from decimal import Decimal

from oss_bss.catalog import Bundle, Catalog, ProductOffering, Promotion
from oss_bss.errors import ValidationError
from oss_bss.pricing import PriceSchedule, PriceVersion, UsageTier
from oss_bss.sla import SlaTemplate
from sim.scenario import Scenario


def _versions(o, seconds) -> PriceSchedule:
    """An offering's price versions: its prices from the start, then each change on top of the last."""
    versions, current = [], {"monthly": o.monthly_price, "one_time": Decimal(0),
                             "tiers": (UsageTier(Decimal(0), Decimal(0)),), "included_gb": Decimal(0),
                             "hour_percent": (100,) * 24}  # fmt: skip
    for at, prices in [(0.0, o)] + [(None, change) for change in o.price_changes]:
        if prices.monthly_price is not None:
            current["monthly"] = prices.monthly_price
        if prices.one_time_price is not None:
            current["one_time"] = prices.one_time_price
        if prices.usage_price_per_gb is not None:
            current["tiers"] = (UsageTier(Decimal(0), prices.usage_price_per_gb),)
        if prices.usage_tiers is not None:
            current["tiers"] = tuple(UsageTier(t.from_gb, t.price_per_gb) for t in prices.usage_tiers)
        if prices.included_gb is not None:
            current["included_gb"] = prices.included_gb
        if prices.off_peak is not None:
            current["hour_percent"] = tuple(prices.off_peak.percent if h in prices.off_peak.hours else 100
                                            for h in range(24))  # fmt: skip
        versions.append(PriceVersion(at if at is not None else seconds(prices.from_), **current))
    return PriceSchedule(tuple(versions))


def catalog_of(spec: Scenario) -> Catalog:
    def sla(o):
        if o.sla is None:
            return None
        return SlaTemplate(o.sla.name, o.sla.availability_percent, o.sla.time_to_restore, o.sla.credit_percent,
                           o.sla.max_latency_ms)  # fmt: skip

    offerings = []
    for i, o in enumerate(spec.catalog):
        try:
            schedule = _versions(o, spec.seconds)
        except ValidationError as exc:  # named by the scenario's key
            raise ValidationError({f"catalog[{i}].{k}": v for k, v in exc.errors.items()}) from None
        first = schedule.versions[0]
        offerings.append(ProductOffering(
            o.id, o.name, int(round(o.bandwidth_mbps * 1e6)), first.monthly, first.usage_price_per_gb, o.protected,
            sla(o), o.lifecycle_status, schedule, o.prepaid,
        ))  # fmt: skip
    promotions = [
        Promotion(p.id, p.name, tuple(p.offerings), p.percent_off, p.for_,
                  spec.seconds(p.ordered_from) if p.ordered_from is not None else float("-inf"),
                  spec.seconds(p.ordered_until) if p.ordered_until is not None else float("inf"))
        for p in spec.promotions
    ]  # fmt: skip
    bundles = [Bundle(b.id, b.name, tuple(b.offerings), b.percent_off) for b in spec.bundles]
    return Catalog(offerings, promotions, bundles)
