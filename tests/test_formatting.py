"""Tests for the one number, money, share and day format used across the app."""

import math

import pandas as pd
import pytest

from pipeline.formatting import (
    MISSING,
    fmt_days,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_p_value,
    fmt_pct,
    is_days,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12345, "12,345"),
        (0, "0"),
        (-7.6, "-8"),
        (None, MISSING),
        (math.nan, MISSING),
        (pd.NA, MISSING),
        ("12", MISSING),
        (True, MISSING),
    ],
)
def test_fmt_int(value, expected):
    """Test counts: thousands separators, rounding, missing values as a dash."""
    assert fmt_int(value) == expected


def test_fmt_money():
    """Test amounts: symbol in front for known codes, code after for others."""
    assert fmt_money(1234.5) == "$1,234.50"
    assert fmt_money(-1234.5) == "-$1,234.50"
    assert fmt_money(-0.001) == "$0.00"  # no "-$0.00"
    assert fmt_money(99.999, "EUR") == "€100.00"
    assert fmt_money(1500, "SEK", digits=0) == "1,500 SEK"
    assert fmt_money(12, None) == "12.00"
    assert fmt_money(float("inf")) == MISSING


def test_fmt_pct_days_number_interval():
    """Test shares given as fractions, durations in days and intervals."""
    assert fmt_pct(0.125) == "12.5 %"
    assert fmt_pct(1) == "100.0 %"
    assert fmt_days(1) == "1 day"
    assert fmt_days(3.25) == "3.2 days"
    assert fmt_days(15.0) == "15 days"
    assert fmt_number(1234.567, 2) == "1,234.57"
    assert fmt_interval(0.1, 0.14) == "10.0 % – 14.0 %"
    assert fmt_interval(None, 0.14) == MISSING


def test_is_days():
    """Test which datetimes read as days: all midnights (in their own zone, missing
    values passed over), not a time of day, a number or a column of nothing."""
    days = pd.to_datetime(["2024-03-05", None, "2024-12-31"])
    local = days.tz_localize("America/New_York")
    assert is_days(pd.Series(days))
    assert is_days(days)
    assert is_days(pd.Series(local))
    assert not is_days(pd.Series(local.tz_convert("UTC")))  # 05:00 UTC
    moments = pd.to_datetime(["2024-03-05 10:30", "2024-03-06 00:00"])
    assert not is_days(pd.Series(moments))
    assert not is_days(pd.Series([20240305, 20240306]))
    assert not is_days(pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us]"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.0, "< 0.001"),
        (3e-52, "< 0.001"),
        (0.00099, "< 0.001"),
        (0.001, "0.001"),
        (0.0123, "0.012"),
        (0.5, "0.500"),
        (None, MISSING),
        (math.nan, MISSING),
    ],
)
def test_fmt_p_value(value, expected):
    """Test p-values: three decimals, a smaller one as "< 0.001", never "0"."""
    assert fmt_p_value(value) == expected
