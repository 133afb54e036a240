"""One way to write numbers, money, shares and days, used by every page and the report.

Pages call these instead of writing their own f-strings, so that "1,234", "$1,234.50",
"12.5 %" and "3.2 days" look the same everywhere. Missing values (``None``, NaN,
``pd.NA``) are written as an en dash, never as "nan". Tables keep their numbers and
dates as values; :func:`is_days` tells which datetime columns hold days.
"""

from __future__ import annotations

import math
from numbers import Real

import pandas as pd

MISSING = "–"
"""What a missing value is shown as."""

CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "CAD": "CA$",
    "AUD": "A$",
    "NZD": "NZ$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "INR": "₹",
}
"""Symbols written before the amount; other ISO codes are written after it."""


def _number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` when it is missing or not a number."""
    if value is None or isinstance(value, (str, bytes, bool)):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_int(value: object) -> str:
    """A count with thousands separators: ``fmt_int(12345) == "12,345"``."""
    number = _number(value)
    return MISSING if number is None else f"{round(number):,}"


def fmt_number(value: object, digits: int = 1) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    number = _number(value)
    return MISSING if number is None else f"{number:,.{digits}f}"


def fmt_money(value: object, currency: str | None = "USD", digits: int = 2) -> str:
    """An amount of money: ``fmt_money(-1234.5) == "-$1,234.50"``.

    Parameters
    ----------
    value
        The amount.
    currency
        An ISO 4217 code. Known codes get their symbol in front; others are written
        after the amount (``"1,234.50 SEK"``); ``None`` writes the bare number.
    digits
        Decimals; 0 for large totals in headlines.
    """
    number = _number(value)
    if number is None:
        return MISSING
    body = f"{abs(number):,.{digits}f}"
    sign = "-" if number < 0 and body.strip("0.,") else ""
    code = (currency or "").upper()
    if not code:
        return f"{sign}{body}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {code}"


def fmt_pct(value: object, digits: int = 1) -> str:
    """A share given as a fraction: ``fmt_pct(0.125) == "12.5 %"``."""
    number = _number(value)
    return MISSING if number is None else f"{100 * number:,.{digits}f} %"


def fmt_p_value(value: object, digits: int = 3) -> str:
    """A p-value: ``fmt_p_value(0.0123) == "0.012"``, below 0.001 ``"< 0.001"``.

    A p-value is never exactly 0, so one too small for ``digits`` decimals says
    how small it is instead of printing 0.
    """
    number = _number(value)
    if number is None:
        return MISSING
    floor = 10.0**-digits
    return f"< {floor:.{digits}f}" if number < floor else f"{number:.{digits}f}"


def fmt_days(value: object, digits: int = 1) -> str:
    """A duration: ``fmt_days(1) == "1 day"``, ``fmt_days(3.25) == "3.2 days"``."""
    number = _number(value)
    if number is None:
        return MISSING
    text = f"{number:,.{digits}f}"
    if digits:
        text = text.rstrip("0").rstrip(".")
    return f"{text} day" if text == "1" else f"{text} days"


def fmt_interval(low: object, high: object, formatter=fmt_pct, **kwargs: object) -> str:
    """An interval written with one formatter: ``"10.0 % – 14.0 %"``."""
    if _number(low) is None or _number(high) is None:
        return MISSING
    return f"{formatter(low, **kwargs)} – {formatter(high, **kwargs)}"


def altair_money_format(currency: str | None = "USD") -> str:
    """A d3 format string for chart axes and tooltips of amounts.

    d3 knows only its locale's symbol (``$``), so other currencies get a plain number
    and belong in the axis title (``"Revenue (EUR)"``).
    """
    return "$,.2f" if (currency or "").upper() == "USD" else ",.2f"


def is_number(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool, not NaN)."""
    return (
        isinstance(value, Real)
        and not isinstance(value, bool)
        and (_number(value) is not None)
    )


def is_days(values: pd.Series | pd.Index) -> bool:
    """Whether ``values`` are datetimes that are all midnights, so name days.

    Such a column (a report's period, a purchase day) reads as a date, not as a time
    of ``00:00:00``. A time-zone aware value counts when it is midnight in its own
    zone. Missing values are passed over; a column with no value is not of days.
    """
    if not pd.api.types.is_datetime64_any_dtype(values):
        return False
    stamps = pd.Series(values).dropna()
    return bool(len(stamps)) and bool((stamps == stamps.dt.normalize()).all())
