"""Product catalog (TMF620 in shape): the offerings customers can order.

An offering here is one product with the bandwidth the network reserves for
it, a monthly recurring price and a price per gigabyte (10^9 bytes) of usage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from oss_bss.errors import NotFound, ValidationError
from oss_bss.money import to_micros
from oss_bss.sla import SlaTemplate

BYTES_PER_GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ProductOffering:
    id: str
    name: str
    bandwidth_bps: int
    monthly_price: Decimal
    usage_price_per_gb: Decimal
    protected: bool = False  # the network reroutes it around failures when it can
    sla: "SlaTemplate | None" = None  # commitments to customers of this offering
    lifecycle_status: str = "Launched"

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
        if errors:
            raise ValidationError({f"offering {self.id}.{k}": v for k, v in errors.items()})

    @property
    def sla_name(self) -> str | None:
        return self.sla.name if self.sla is not None else None

    @property
    def usage_micros_per_gb(self) -> int:
        return to_micros(self.usage_price_per_gb)


class Catalog:
    """The offerings by id."""

    def __init__(self, offerings: Iterable[ProductOffering]):
        self._by_id: dict[str, ProductOffering] = {}
        for o in offerings:
            if o.id in self._by_id:
                raise ValidationError({"id": f"duplicate product offering {o.id!r}"})
            self._by_id[o.id] = o

    def get(self, offering_id: str) -> ProductOffering:
        try:
            return self._by_id[offering_id]
        except KeyError:
            raise NotFound("ProductOffering", offering_id) from None

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)
