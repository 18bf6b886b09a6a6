"""Money: ``Decimal`` everywhere, integer micro-units in bulk arrays.

The rounding rule, stated once and used everywhere:

* a price has at most six decimal places (``to_micros`` refuses more);
* bulk rating works in integer *micro-units* (10^-6 of the currency unit) and
  rounds each rated record half-up to a whole micro-unit
  (:func:`oss_bss.usage.rate`);
* an amount shown on an invoice line is rounded half-up to the cent, once,
  when the line is made (:func:`to_cents`); an invoice total is the exact sum
  of its lines, so it never needs rounding.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MICROS_PER_UNIT = 1_000_000
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal) -> Decimal:
    """Round an amount half-up to the cent (the invoice-line rule)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_micros(amount: Decimal) -> int:
    """An exact integer count of micro-units; more than 6 decimals is an error."""
    scaled = amount * MICROS_PER_UNIT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 6 decimal places")
    return int(scaled)


def from_micros(micros: int) -> Decimal:
    """A micro-unit count back as an exact Decimal."""
    return Decimal(int(micros)).scaleb(-6)


def fmt(amount: Decimal) -> str:
    """The canonical text of an amount for JSON: plain notation, never an exponent."""
    return format(amount, "f")
