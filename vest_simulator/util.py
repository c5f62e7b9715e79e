"""Small helpers for Vest's wire formats (docs/vest-protocol.md §1.5: decimals are strings, ints numbers, ms time)."""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Callable, Optional

USDC_DECIMALS = 6
USDC_STEP = Decimal(1).scaleb(-USDC_DECIMALS)
RATE_DECIMALS = 10  # oneHrFundingRate / cumFunding rendering precision (a guess, §2.2)
ZERO = Decimal(0)


_STEPS = {decimals: Decimal(1).scaleb(-decimals) for decimals in range(0, 19)}


def step(decimals: int) -> Decimal:
    """The quantum 10**-decimals (price tick, size step)."""
    quantum = _STEPS.get(decimals)
    return quantum if quantum is not None else Decimal(1).scaleb(-decimals)


def fmt(value: Decimal, decimals: int) -> str:
    """Render with exactly `decimals` fractional digits (banker's rounding)."""
    return f"{value.quantize(step(decimals), rounding=ROUND_HALF_EVEN):f}"


def units_formatter(decimals: int) -> Callable[[int], str]:
    """A renderer of non-negative integer counts of 10**-decimals like `fmt` (650065 at 1 -> "65006.5"), without
    Decimal: the hot path of the depth ladder."""
    if decimals == 0:
        return str
    pattern, scale = f"%d.%0{decimals}d", 10 ** decimals
    return lambda units: pattern % divmod(units, scale)


def fmt_units(units: int, decimals: int) -> str:
    """`units_formatter(decimals)(units)`, negative counts included."""
    return "-" + fmt_units(-units, decimals) if units < 0 else units_formatter(decimals)(units)


def fmt_usdc(value: Decimal) -> str:
    return fmt(value, USDC_DECIMALS)


def fmt_opt(value: Optional[Decimal], decimals: int) -> Optional[str]:
    return None if value is None else fmt(value, decimals)


def usdc(value: Decimal) -> Decimal:
    """Quantize a money amount to the 6 collateral decimals."""
    return value.quantize(USDC_STEP, rounding=ROUND_HALF_EVEN)


def round_to(value: Decimal, decimals: int, up: bool) -> Decimal:
    """Round to a tick towards +inf (up) or -inf."""
    return value.quantize(step(decimals), rounding=ROUND_CEILING if up else ROUND_FLOOR)


def parse_decimal(text: str, max_decimals: int) -> Optional[Decimal]:
    """Parse a positive decimal string with at most `max_decimals` fractional digits; None if invalid."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not value.is_finite() or value <= 0 or "e" in text.lower():
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > max_decimals:
        return None
    return value
