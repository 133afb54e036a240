"""Cell values as exports write them: numbers, percents, timestamps, emails, phones.

Every parser takes a column of text (a :class:`pandas.Series`) and returns the parsed
values together with a boolean *bad* mask: ``True`` where a cell held text that is
not a value of the kind asked for. Blank cells and placeholders (``N/A``, ``-``,
``(not set)``) are missing values, never bad ones. Readers turn the bad mask into
rejected rows with their row number and column.

The parsers are vectorised over the column; conventions that only the whole column
can reveal (a decimal comma, day-first dates) are inferred from all its values.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from dateutil import parser as dateparser

from pipeline.ingest.checks import plural
from pipeline.model import TS

logger = logging.getLogger(__name__)

MISSING_TEXT: frozenset[str] = frozenset(
    {
        "",
        "-",
        "--",
        "—",
        "n/a",
        "na",
        "nan",
        "none",
        "null",
        "nil",
        "#n/a",
        "(not set)",
        "(none)",
        "(data not available)",
        "not set",
        "nat",
    }
)
"""Cell texts (lower case, trimmed) that mean "no value"."""

_CURRENCY = r"[$€£¥₹₩₽₺₪₫฿₱₦₴₸¢]|\b[A-Z]{3}\b|\b(?:US|CA|AU|NZ|HK|S)\$|\bkr\b|\bzł\b"
UNIQUE_SYMBOLS = {"€": "EUR", "£": "GBP", "₹": "INR", "₩": "KRW", "₽": "RUB",
                  "₺": "TRY", "₪": "ILS", "₫": "VND", "฿": "THB", "₱": "PHP",
                  "₦": "NGN", "₴": "UAH", "₸": "KZT"}
"""Currency symbols that name one currency (``$`` and ``¥`` name several)."""
_SPACES = "\u00a0\u202f\u2009\u2007 '’"


def _as_text(s: pd.Series) -> pd.Series:
    """The column as trimmed text with missing cells as ``NA``."""
    text = s.astype("string").str.strip()
    missing = text.isna() | text.str.lower().isin(MISSING_TEXT)
    return text.mask(missing)


def _scalar_or_series(parse):
    """Let a Series parser also take a single value and return a single value."""

    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, pd.Series):
            return parse(value, *args, **kwargs)
        out = parse(pd.Series([value], dtype="object"), *args, **kwargs)
        result = out[0] if isinstance(out, tuple) else out
        item = result.iloc[0]
        return None if item is pd.NA or item is pd.NaT else item

    wrapper.__name__ = parse.__name__
    wrapper.__doc__ = parse.__doc__
    return wrapper


# --------------------------------------------------------------------------- numbers


def _arrow_cast(s: pd.Series, to: pa.DataType) -> pa.Array | pa.ChunkedArray | None:
    """The column cast by Arrow when every cell casts as written, else ``None``."""
    try:
        # an Arrow-backed text column is cast as it is stored, without a copy
        array = getattr(s.array, "_pa_array", None)
        if array is None or not (
            pa.types.is_string(array.type) or pa.types.is_large_string(array.type)
        ):
            array = pa.array(s.array, type=pa.string(), from_pandas=True)
        return pc.cast(array, to)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def decimal_comma(s: pd.Series) -> bool:
    """Whether the column writes numbers with a decimal comma (``1.234,50``).

    Parameters
    ----------
    s
        The column as text.

    Returns
    -------
    bool
        ``True`` when more values show a decimal comma (``12,5``, ``1.234,50``,
        ``1 234,50``) than a decimal point (``12.50``, ``1,234.50``). A column that
        shows neither (``1,234`` only) is read with a decimal point.
    """
    text = _as_text(s).dropna()
    if text.empty:
        return False
    text = text.str.replace(r"[^\d.,\-]", "", regex=True)
    comma_votes = (
        text.str.contains(r"\d,\d{1,2}$|\d,\d{4,}$|\.\d{3},\d+$", regex=True).sum()
        + _spaced_thousands(s).sum()
    )
    point_votes = text.str.contains(
        r"\d\.\d{1,2}$|\d\.\d{4,}$|,\d{3}\.\d+$", regex=True
    ).sum()
    return bool(comma_votes > point_votes)


def _spaced_thousands(s: pd.Series) -> pd.Series:
    """Cells like ``1 234,50``: space-grouped thousands with a decimal comma."""
    text = _as_text(s).fillna("")
    return text.str.contains(r"\d[\u00a0\u202f ]\d{3},\d+\s*$", regex=True)


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of amounts or counts written any way exports write them.

    An infinite value (``inf``, ``1e999``) is no amount: it counts as not a number.

    Parameters
    ----------
    s
        The column as text (or already numeric).

    Returns
    -------
    values : pandas.Series
        ``float64``; ``NaN`` for blank cells and placeholders (``N/A``, ``-``).
    bad : pandas.Series
        ``True`` where the cell held text that is not a number.

    Notes
    -----
    Handles currency symbols and codes (``$1,234.50``, ``EUR 12``, ``12.00 USD``),
    thousands separators (``1,234``; ``1.234,50``; ``1 234,50``; ``1'234.5``),
    accounting negatives ``(12.00)``, trailing minus (``12-``) and percent signs
    (``12.5%`` reads as ``12.5``; see :func:`parse_percent` for fractions). Whether
    the comma is the decimal mark is decided once for the whole column by
    :func:`decimal_comma`.
    """
    values, bad = _parsed_numbers(s)
    return finite(values, bad)


def parse_amounts(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of money amounts: as :func:`parse_numbers`, but a percentage
    (``12.5%``) is not an amount, so its cell is ``bad``.

    Parameters
    ----------
    s
        The column as text (or already numeric).

    Returns
    -------
    values, bad : pandas.Series
        As :func:`parse_numbers`; percent cells are ``NaN`` and ``bad``.
    """
    values, bad = parse_numbers(s)
    if pd.api.types.is_numeric_dtype(s.dtype) or not bad.index.size:
        return values, bad
    percent = _as_text(s).str.endswith("%").fillna(False).astype(bool)
    if not percent.any():
        return values, bad
    return values.mask(percent), bad | percent


def written_currency(s: pd.Series) -> pd.Series:
    """The currency each amount names: an ISO code (``EUR 12``, ``12.00 USD``) or a
    symbol only one currency uses (``€``, ``£``, ``₹``); ``NA`` otherwise (``$`` is
    many currencies' symbol).
    """
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Series(pd.NA, index=s.index, dtype="string")
    text = _as_text(s.dropna())  # (events files leave most values blank)
    code = text.str.extract(r"(?:^|[\s\d])([A-Z]{3})(?:$|[\s\d])", expand=False)
    symbol = text.str.extract(f"([{''.join(UNIQUE_SYMBOLS)}])", expand=False)
    named = code.fillna(symbol.map(UNIQUE_SYMBOLS))
    return named.astype("string").reindex(s.index)


def finite(values: pd.Series, bad: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``values`` with infinities made blank, and ``bad`` marking them too."""
    infinite = np.isinf(values.to_numpy())
    if not infinite.any():
        return values, bad
    return values.mask(infinite), bad | infinite


def _parsed_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
        s.dtype
    ):
        values = s.astype("float64")
        return values, pd.Series(False, index=s.index)

    # every cell a plain number or blank: Arrow parses the column in C
    plain = _arrow_cast(s, pa.float64())
    if plain is not None:
        values = plain.to_numpy(zero_copy_only=False)
        return (
            pd.Series(values, index=s.index, dtype="float64"),
            pd.Series(False, index=s.index),
        )

    text = _as_text(s)
    present = text.notna()
    fast = pd.to_numeric(text, errors="coerce").astype("float64")
    slow = present & fast.isna()
    if not slow.any():
        # every cell a plain number: "1.234" alone reads as 1.234, not 1234
        return fast, pd.Series(False, index=s.index)

    comma = decimal_comma(text)
    todo = slow if not comma else present
    values = fast.copy()
    if todo.any():
        values[todo] = _parse_messy_numbers(text[todo], comma)
    bad = present & values.isna()
    return values, bad


def _parse_messy_numbers(text: pd.Series, comma: bool) -> pd.Series:
    """Numbers with symbols, separators and accounting signs, as floats."""
    t = text.astype("string")
    negative = t.str.contains(r"^\(.*\)$|^-|^−|-$|−$", regex=True).fillna(False)
    t = t.str.replace(_CURRENCY, "", regex=True)
    t = t.str.replace(r"[()%+\-−\s]", "", regex=True)
    t = t.str.replace(f"[{_SPACES}]", "", regex=True)
    # a separator order that contradicts the column's decimal mark is not a number
    contradicts = t.str.contains(r",\d*\." if comma else r"\.\d*,", regex=True)
    if comma:
        t = t.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        t = t.str.replace(",", "", regex=False)
    valid = t.str.fullmatch(r"\d+(\.\d*)?|\.\d+", na=False) & ~contradicts.fillna(False)
    values = pd.to_numeric(t.where(valid), errors="coerce").astype("float64")
    return values.where(~negative, -values)


def parse_percent(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of rates into fractions (``12.5%`` becomes ``0.125``).

    Parameters
    ----------
    s
        The column as text.

    Returns
    -------
    values : pandas.Series
        Fractions as ``float64``.
    bad : pandas.Series
        ``True`` where the cell held text that is not a number.

    Notes
    -----
    Cells with a ``%`` sign are divided by 100. Plain numbers are kept as they are
    when every plain number in the column lies within [0, 1] (the column already
    holds fractions, as GA4 writes them since 2024); otherwise they are percents and
    are divided by 100 too.
    """
    values, bad = parse_numbers(s)
    has_pct = _as_text(s).str.contains("%", regex=False).fillna(False).astype(bool)
    plain = values[~has_pct].dropna()
    plain_are_percents = bool((plain.abs() > 1).any())
    scale = has_pct | plain_are_percents
    return values.where(~scale, values / 100.0), bad


# ------------------------------------------------------------------------ timestamps

_OFFSET = r"(?:Z|z|UTC|GMT|[+-]\d{2}:?\d{2}|[+-]\d{2})"
_ISO_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
_HAS_OFFSET_RE = r"(?:\s*(?:Z|z)|\s*(?:UTC|GMT)|\s*[+-]\d{2}:?\d{2}|[+-]\d{2})$"
_NUMERIC_DATE_RE = (
    r"^(?P<a>\d{1,2})[/.\-](?P<b>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})"
    r"(?:[T\s,]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?P<f>[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    rf"\s*(?P<tz>{_OFFSET})?$"
)
_YMD_SLASH_RE = (
    r"^(?P<y>\d{4})[/.](?P<b>\d{1,2})[/.](?P<a>\d{1,2})"
    r"(?:[T\s]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?P<f>[.,]\d+)?)?)?"
    rf"\s*(?P<tz>{_OFFSET})?$"
)


def _numeric_date_fields(text: pd.Series) -> pd.DataFrame:
    """The day/month fields of ``a/b/yyyy`` cells (only the cells written so)."""
    numeric = text.str.match(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d", na=False)
    return text[numeric.to_numpy(dtype=bool)].str.extract(_NUMERIC_DATE_RE)


def infer_dayfirst(s: pd.Series) -> bool | None:
    """Whether ``a/b/yyyy`` dates in the column are day first, as far as values tell.

    Parameters
    ----------
    s
        The column as text.

    Returns
    -------
    bool or None
        ``True`` when some first field is above 12 (``31/01/2024``), ``False`` when
        some second field is (``1/31/2024``), ``None`` when no value can tell. When
        values contradict each other, the order more of them need (day first on a
        tie); see :func:`mixed_dayfirst`.
    """
    first, second = _dayfirst_votes(s)
    if not first and not second:
        return None
    return first >= second


def _dayfirst_votes(s: pd.Series) -> tuple[int, int]:
    """How many ``a/b/yyyy`` cells can only be day first, and only month first."""
    text = _as_text(s).dropna()
    if text.empty:
        return 0, 0
    fields = _numeric_date_fields(text).dropna(subset=["a"])
    if fields.empty:
        return 0, 0
    first = int(pd.to_numeric(fields["a"]).gt(12).sum())
    second = int(pd.to_numeric(fields["b"]).gt(12).sum())
    return first, second


def mixed_dayfirst(s: pd.Series) -> bool:
    """Whether some ``a/b/yyyy`` cells can only be day first and others month first.

    :func:`parse_timestamps` then reads the column in the order more cells need and
    rejects the cells that cannot be read so (``03/25/2024`` in a day-first column).
    """
    first, second = _dayfirst_votes(s)
    return bool(first and second)


def order_notes(ts: pd.Series, column: str, told: bool | None) -> list[str]:
    """What the user should know about how a column's ``a/b/yyyy`` dates were read.

    Parameters
    ----------
    ts
        The column as :func:`parse_timestamps` returned it (its ``attrs`` tell).
    column
        The column's name, as the file writes it.
    told
        The order the user gave (``None``: inferred from the values).

    Returns
    -------
    list of str
        A note when no value could tell the order, or when some cells cannot be
        read in the order used (they are rejected); else none.
    """
    wrong = int(ts.attrs.get("wrong_order", 0))
    order = "day" if ts.attrs.get("dayfirst") else "month"
    day_votes, month_votes = ts.attrs.get("dayfirst_votes", (0, 0))
    tie = day_votes == month_votes
    why = "as many need one order as the other" if tie else "as more of them need"
    if wrong and told is None:
        return [
            f"dates in column {column!r} are written both day first (such as "
            "25/03/2024) and month first (such as 03/25/2024): they were read "
            f"{order} first, {why}, and the {plural(wrong, 'date')} that cannot be "
            "read so rejected; check how the column was written, or say which way "
            "it is (the Overview's question, or --dayfirst)"
        ]
    if wrong:
        return [
            f"{plural(wrong, 'date')} in column {column!r} cannot be read {order} "
            "first, as you said the dates are written, and were rejected; check "
            "them, or change the answer"
        ]
    if told is None and ts.attrs.get("ambiguous_dayfirst"):
        return [AMBIGUOUS_NOTE.format(column=column)]
    return []


AMBIGUOUS_NOTE = (
    "dates in column {column!r} such as 01/02/2024 could be day or month first and no "
    "value tells: they were read month first; say which in the app (Overview) or "
    "with --dayfirst yes|no"
)


def ambiguous_dayfirst(s: pd.Series) -> bool:
    """Whether the column has ``a/b/yyyy`` dates whose order no value can tell.

    The app asks the user in that case; :func:`parse_timestamps` reads such dates
    month first unless told otherwise.
    """
    text = _as_text(s).dropna()
    fields = _numeric_date_fields(text).dropna(subset=["a"])
    if fields.empty:
        return False
    return infer_dayfirst(text) is None


def parse_timestamps(
    s: pd.Series, *, dayfirst: bool | None = None, assume_tz: str = "UTC"
) -> tuple[pd.Series, pd.Series]:
    """Parse a column of dates or times into UTC timestamps.

    Parameters
    ----------
    s
        The column as text (or numbers for epoch values).
    dayfirst
        How ``a/b/yyyy`` dates are written when the values cannot tell: a column
        whose values all point one way (``25/03/2024``) is read that way whatever
        this says. ``None`` infers it from the values (:func:`infer_dayfirst`) and
        reads month first when they cannot tell.
    assume_tz
        The time zone of times written without an offset.

    Returns
    -------
    values : pandas.Series
        ``datetime64[us, UTC]``; ``NaT`` for blank cells. ``values.attrs
        ["ambiguous_dayfirst"]`` is ``True`` when ``a/b/yyyy`` dates were read month
        first because no value could tell (see :func:`ambiguous_dayfirst`);
        ``attrs["dayfirst"]`` is the order ``a/b/yyyy`` dates were read in, and
        ``attrs["wrong_order"]`` counts the cells that cannot be read in it (a month
        above 12), which are ``bad``.
    bad : pandas.Series
        ``True`` where the cell held text that is not a date or time.

    Notes
    -----
    Understands ISO 8601 with any mix of offsets in one column (Shopify's
    ``2023-04-09 20:05:13 -0700`` beside ``-0800``), ``m/d/yyyy h:mm`` and
    ``d.m.yyyy`` with optional AM/PM, ``YYYYMMDD``, epoch seconds, milliseconds and
    microseconds (GA4 BigQuery's ``event_timestamp``), and, through
    :mod:`dateutil`, written-out dates (``Mar 5, 2024``).
    """
    index = s.index
    out = pd.Series(pd.NaT, index=index, dtype=TS)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = pd.to_datetime(s)
        if values.dt.tz is None:
            values = _localize(values, assume_tz)
        return values.dt.tz_convert("UTC").astype(TS), pd.Series(False, index=index)

    fast = _arrow_timestamps(s, assume_tz)
    if fast is not None:
        return fast, pd.Series(False, index=index)
    text = _as_text(s)
    present = text.notna()
    if not present.any():
        return out, pd.Series(False, index=index)
    todo = present.copy()

    # ISO 8601, with or without an offset
    iso = todo & text.str.match(_ISO_RE, na=False)
    if iso.any():
        out[iso] = _parse_iso(text[iso], assume_tz)
        todo &= out.isna()

    # All digits: YYYYMMDD or an epoch number
    digits = todo & text.str.fullmatch(r"\d{8}|\d{9,19}(?:\.\d+)?", na=False)
    if digits.any():
        out[digits] = _parse_digits(text[digits])
        todo &= out.isna()

    # a/b/yyyy, a.b.yyyy and yyyy/m/d with optional time
    order = dayfirst
    ambiguous = False
    wrong = 0
    votes = (0, 0)
    if todo.any():
        votes = _dayfirst_votes(text[todo])
        if order is None or (bool(votes[0]) != bool(votes[1])):
            # the values decide when they agree; a told order only what they cannot
            order = infer_dayfirst(text[todo])
            ambiguous = order is None and not _numeric_date_fields(text[todo]).empty
        numeric = _parse_numeric_dates(text[todo], bool(order), assume_tz)
        found = numeric.notna()
        out[found[found].index] = numeric[found]
        todo &= out.isna()
        wrong_order = _month_above_12(text[todo], bool(order))
        todo[wrong_order[wrong_order].index] = False
        wrong = int(wrong_order.sum())

    # Anything else, one distinct value at a time
    if todo.any():
        out[todo] = _parse_with_dateutil(text[todo], bool(order), assume_tz)

    bad = present & out.isna()
    out = out.astype(TS)
    out.attrs["ambiguous_dayfirst"] = ambiguous
    out.attrs["dayfirst"] = order
    out.attrs["dayfirst_votes"] = votes
    out.attrs["wrong_order"] = wrong
    return out, bad


def _month_above_12(text: pd.Series, dayfirst: bool) -> pd.Series:
    """``a/b/yyyy`` cells whose month field, in the column's order, is above 12.

    Such a cell is not a date in that order; it is never handed to :mod:`dateutil`,
    which would silently swap day and month.
    """
    fields = _numeric_date_fields(text)
    month = pd.to_numeric(fields["a"] if not dayfirst else fields["b"])
    return month.gt(12).reindex(text.index, fill_value=False).astype(bool)


def _arrow_timestamps(text: pd.Series, assume_tz: str) -> pd.Series | None:
    """Every cell ISO 8601 as Arrow reads it (all with offsets, or none): parsed in C.

    Returns ``None`` when any cell needs the general path.
    """
    first = text.first_valid_index()
    if first is None or not re.match(r"\d{4}-\d{2}-\d{2}", str(text[first])):
        return None
    parsed = _arrow_cast(text, pa.timestamp("us", tz="UTC"))
    if parsed is None:
        naive = _arrow_cast(text, pa.timestamp("us"))
        if naive is None:
            return None
        if assume_tz != "UTC":
            values = pd.Series(naive.to_numpy(zero_copy_only=False), index=text.index)
            return _localize(values.astype("datetime64[us]"), assume_tz).astype(TS)
        parsed = naive.cast(pa.timestamp("us", tz="UTC"))
    # Arrow converts to pandas' UTC times in C, without pandas' copies
    return pd.Series(parsed.to_pandas().array, index=text.index)


def _localize(values: pd.Series, tz: str) -> pd.Series:
    """Naive wall-clock times in ``tz``, as UTC (ambiguous hours read as standard)."""
    localized = values.dt.tz_localize(
        tz, ambiguous=np.zeros(len(values), dtype=bool), nonexistent="shift_forward"
    )
    return localized.dt.tz_convert("UTC")


def _parse_iso(text: pd.Series, assume_tz: str) -> pd.Series:
    """ISO 8601 cells; those without an offset are wall-clock times in ``assume_tz``."""
    text = text.str.replace(r"\s*(?:UTC|GMT)$", "+00:00", regex=True)
    text = text.str.replace(r"(\d),(\d)", r"\1.\2", regex=True)
    aware = text.str.contains(_HAS_OFFSET_RE, regex=True, na=False)
    # "2024-01-05-0800" has no time: the trailing "-08" is not an offset
    aware &= text.str.len() > 10
    out = pd.Series(pd.NaT, index=text.index, dtype=TS)
    if aware.any():
        parsed = pd.to_datetime(
            text[aware], format="ISO8601", utc=True, errors="coerce"
        )
        out[aware] = parsed.astype(TS)
    if (~aware).any():
        naive = pd.to_datetime(text[~aware], format="ISO8601", errors="coerce")
        if naive.dt.tz is not None:
            naive = naive.dt.tz_convert("UTC").dt.tz_localize(None)
        out[~aware] = _localize(naive.astype("datetime64[us]"), assume_tz).astype(TS)
    return out


def _parse_digits(text: pd.Series) -> pd.Series:
    """``YYYYMMDD`` dates and epoch numbers (unit chosen from the magnitude)."""
    out = pd.Series(pd.NaT, index=text.index, dtype=TS)
    ymd = text.str.len() == 8
    if ymd.any():
        out[ymd] = pd.to_datetime(
            text[ymd], format="%Y%m%d", errors="coerce", utc=True
        ).astype(TS)
    epoch = ~ymd
    if epoch.any():
        number = pd.to_numeric(text[epoch], errors="coerce")
        magnitude = number.abs()
        for unit, low, high in (
            ("s", 1e8, 1e11),
            ("ms", 1e11, 1e14),
            ("us", 1e14, 1e17),
            ("ns", 1e17, 1e20),
        ):
            part = (magnitude >= low) & (magnitude < high)
            if part.any():
                whole = number[part].round().astype("int64")
                out[part[part].index] = pd.to_datetime(
                    whole, unit=unit, utc=True
                ).astype(TS)
    return out


def _parse_numeric_dates(text: pd.Series, dayfirst: bool, assume_tz: str) -> pd.Series:
    """``a/b/yyyy [h:mm[:ss]] [AM|PM] [offset]`` cells rebuilt as ISO 8601."""
    fields = text.str.extract(_NUMERIC_DATE_RE)
    ymd = text.str.extract(_YMD_SLASH_RE)
    fields = fields.combine_first(ymd) if fields["a"].isna().any() else fields
    ok = fields["a"].notna()
    out = pd.Series(pd.NaT, index=text.index, dtype=TS)
    if not ok.any():
        return out
    f = fields[ok]

    day, month = (f["a"], f["b"]) if dayfirst else (f["b"], f["a"])
    year = f["y"].astype("string")
    short = year.str.len() == 2
    year = year.where(~short, "20" + year)
    hour = pd.to_numeric(f["h"], errors="coerce").fillna(0).astype(int)
    ampm = f["ampm"].astype("string").str.lower().str[0].fillna("")
    pm = ((ampm == "p") & (hour < 12)).astype(bool)
    midnight = ((ampm == "a") & (hour == 12)).astype(bool)
    hour = hour.where(~pm, hour + 12).where(~midnight, 0)
    minute = f["m"].fillna("00").astype("string")
    second = f["s"].fillna("00").astype("string")
    frac = f["f"].fillna("").astype("string").str.replace(",", ".", regex=False)
    tz = f["tz"].fillna("").astype("string")
    iso = (
        year
        + "-"
        + month.astype("string").str.zfill(2)
        + "-"
        + day.astype("string").str.zfill(2)
        + "T"
        + hour.astype("string").str.zfill(2)
        + ":"
        + minute
        + ":"
        + second
        + frac
        + tz
    )
    out[ok[ok].index] = _parse_iso(iso, assume_tz)
    return out


def _parse_with_dateutil(text: pd.Series, dayfirst: bool, assume_tz: str) -> pd.Series:
    """Free-form dates, parsed once per distinct value by :mod:`dateutil`."""
    utc = dt.UTC
    parsed: dict[str, pd.Timestamp] = {}
    for value in text.unique():
        try:
            stamp = dateparser.parse(str(value), dayfirst=dayfirst)
        except (ValueError, OverflowError, TypeError):
            parsed[value] = pd.NaT
            continue
        ts = pd.Timestamp(stamp)
        if ts.tzinfo is None:
            try:
                ts = ts.tz_localize(
                    assume_tz, ambiguous=False, nonexistent="shift_forward"
                )
            except (ValueError, TypeError):
                parsed[value] = pd.NaT
                continue
        parsed[value] = ts.tz_convert(utc)
    values = text.map(parsed)
    return pd.to_datetime(values, utc=True, errors="coerce").astype(TS)


# --------------------------------------------------------------------- emails, phones

_EMAIL_RE = r"[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"'.]+"


@_scalar_or_series
def normalise_email(s: pd.Series) -> pd.Series:
    """Emails trimmed and in lower case; ``NA`` where the cell is not an email.

    Parameters
    ----------
    s
        A column of emails (a single value is accepted too and returns one value).

    Returns
    -------
    pandas.Series
        ``string`` dtype. ``mailto:`` prefixes and ``Name <a@b.c>`` wrappers are
        removed.
    """
    text = _as_text(s).str.lower()
    plain = _full_matches(text, _EMAIL_RE)
    if plain.all() or not text.notna().any():
        return text.where(plain).astype("string")
    messy = text[~plain].str.replace(r"^mailto:", "", regex=True)
    found = messy.str.extract(f"({_EMAIL_RE})", expand=False)
    return text.where(plain, found).astype("string")


def _full_matches(text: pd.Series, pattern: str) -> pd.Series:
    """Which cells match the whole pattern.

    ASCII cells of Arrow-backed text are matched by Arrow's RE2, in C; the others
    by Python's ``re``, whose ``\\s`` also knows Unicode spaces.
    """
    array = getattr(text.array, "_pa_array", None)
    if array is None:
        return text.str.fullmatch(pattern, na=False)
    found = pc.match_substring_regex(array, f"^(?:{pattern})$").fill_null(False)
    out = pd.Series(found.to_numpy(zero_copy_only=False), index=text.index)
    other = ~pc.string_is_ascii(array).fill_null(True).to_numpy(zero_copy_only=False)
    if other.any():
        out[other] = text[other].str.fullmatch(pattern, na=False).to_numpy(dtype=bool)
    return out


@_scalar_or_series
def normalise_phone(s: pd.Series, region: str | None = None) -> pd.Series:
    """Phone numbers in E.164 (``+4915555555555``); ``NA`` where none can be read.

    Parameters
    ----------
    s
        A column of phone numbers as written (``'+49 555 55555555``, with the
        apostrophe Excel users type to keep the ``+``; ``(305) 555-5555``).
    region
        ISO country code for numbers written without a country code (``"US"``);
        ``None`` reads only numbers that carry one.

    Returns
    -------
    pandas.Series
        ``string`` dtype, parsed with :mod:`phonenumbers` once per distinct value.
    """
    text = _as_text(s).str.lstrip("'’=\"").str.rstrip('"')
    text = text.str.replace(r"^00(?=[1-9])", "+", regex=True)
    table: dict[str, Any] = {}
    for value in text.dropna().unique():
        table[value] = _e164(str(value), region)
    return text.map(table).astype("string")


def _e164(value: str, region: str | None) -> Any:
    """One phone number in E.164, or ``NA``."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 7 or len(set(digits)) == 1:
        return pd.NA
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return pd.NA
    if not phonenumbers.is_possible_number(number):
        return pd.NA
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_booleans(s: pd.Series) -> pd.Series:
    """Yes/no cells (``yes``, ``true``, ``1``, ``subscribed``...) as ``boolean``.

    Unknown text and blanks are ``NA``.
    """
    text = _as_text(s).str.lower()
    yes = {"yes", "y", "true", "t", "1", "subscribed", "opted_in", "confirmed"}
    no = {"no", "n", "false", "f", "0", "unsubscribed", "not_subscribed", "never"}
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(yes).fillna(False).astype(bool)] = True
    out[text.isin(no).fillna(False).astype(bool)] = False
    return out
