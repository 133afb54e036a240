"""Test the cell parsers: numbers, percents, timestamps, emails, phones, person keys."""

import numpy as np
import pandas as pd
import pytest

from pipeline.ingest.identity import apply_links, link_map, person_key
from pipeline.ingest.values import (
    AMBIGUOUS_NOTE,
    ambiguous_dayfirst,
    infer_dayfirst,
    mixed_dayfirst,
    normalise_email,
    normalise_phone,
    order_notes,
    parse_amounts,
    parse_numbers,
    parse_percent,
    parse_timestamps,
    written_currency,
)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text.rstrip("Z"), tz="UTC")


def test_numbers_with_currency_separators_and_signs():
    """Test currency strings, accounting negatives and placeholders (hand values)."""
    values, bad = parse_numbers(
        pd.Series(["$1,234.50", "(12.00)", "USD 7.25", "12.5%", "-", "N/A", "", "x1"])
    )
    np.testing.assert_allclose(values[:4], [1234.5, -12.0, 7.25, 12.5])
    assert values[4:7].isna().all()
    assert bad.tolist() == [False] * 7 + [True]


@pytest.mark.parametrize(
    "cells, expected",
    [
        (["1.234,50", "12,5", "0,99"], [1234.5, 12.5, 0.99]),
        (["1 234,50", "2 000,00"], [1234.5, 2000.0]),
        (["€ 3,50", "10,00 EUR"], [3.5, 10.0]),
        (["1,234", "2,000"], [1234.0, 2000.0]),
    ],
)
def test_decimal_comma_is_inferred_from_the_column(cells, expected):
    """Test the decimal mark is chosen from the whole column's values."""
    values, bad = parse_numbers(pd.Series(cells))
    np.testing.assert_allclose(values, expected)
    assert not bad.any()


def test_percent_to_fractions():
    """Test 12.5% is 0.125; plain fractions stay; plain numbers above 1 are percents."""
    np.testing.assert_allclose(
        parse_percent(pd.Series(["12.5%", "50 %"]))[0], [0.125, 0.5]
    )
    np.testing.assert_allclose(
        parse_percent(pd.Series(["0.2", "0.05"]))[0], [0.2, 0.05]
    )
    np.testing.assert_allclose(parse_percent(pd.Series(["20", "5"]))[0], [0.2, 0.05])


def test_mixed_offsets_in_one_column():
    """Test Shopify's -0700 and -0800 in one column give the right UTC instants."""
    values, bad = parse_timestamps(
        pd.Series(["2023-04-09 20:05:13 -0700", "2023-01-09 20:05:13 -0800"])
    )
    assert values.dtype == "datetime64[us, UTC]"
    assert values[0] == _ts("2023-04-10 03:05:13Z")
    assert values[1] == _ts("2023-01-10 04:05:13Z")
    assert not bad.any()


def test_timestamp_formats():
    """Test m/d/yyyy h:mm, YYYYMMDD, epoch microseconds and naive local times."""
    values, bad = parse_timestamps(
        pd.Series(
            ["1/13/2017 0:11", "19970101", "1700000000000000", "2024-03-05T14:30"]
        )
    )
    assert values[0] == _ts("2017-01-13 00:11Z")
    assert values[1] == _ts("1997-01-01Z")
    assert values[2] == _ts("2023-11-14 22:13:20Z")
    assert values[3] == _ts("2024-03-05 14:30Z")
    ny, _ = parse_timestamps(
        pd.Series(["2024-07-01 12:00"]), assume_tz="America/New_York"
    )
    assert ny[0] == _ts("2024-07-01 16:00Z")
    assert not bad.any()


def test_garbage_is_bad_and_blank_is_missing():
    """Test non-dates are flagged bad while blanks are only missing."""
    values, bad = parse_timestamps(pd.Series(["soon", "", None, "2024-13-45"]))
    assert values.isna().all()
    assert bad.tolist() == [True, False, False, True]


def test_dayfirst_inferred_from_values():
    """Test a day above 12 decides the order; ambiguous columns are flagged."""
    dayfirst = pd.Series(["13/01/2024", "02/03/2024"])
    assert infer_dayfirst(dayfirst) is True
    assert parse_timestamps(dayfirst)[0][1] == _ts("2024-03-02Z")
    monthfirst = pd.Series(["01/13/2024", "02/03/2024"])
    assert infer_dayfirst(monthfirst) is False
    assert parse_timestamps(monthfirst)[0][1] == _ts("2024-02-03Z")
    ambiguous = pd.Series(["01/02/2024", "03/04/2024"])
    assert ambiguous_dayfirst(ambiguous)
    assert not ambiguous_dayfirst(dayfirst)
    assert parse_timestamps(ambiguous)[0][0] == _ts("2024-01-02Z")
    assert parse_timestamps(ambiguous, dayfirst=True)[0][0] == _ts("2024-02-01Z")


def test_dates_written_both_ways_are_read_as_most_need_and_the_rest_rejected():
    """Test a column with two day-first-only dates and one month-first-only date:
    read day first, 03/25/2024 rejected (dateutil used to swap it silently to
    25 March), and the note says so; a told order rejects the other kind."""
    column = pd.Series(["02/08/2024", "25/03/2024", "13/01/2024", "03/25/2024"])
    assert mixed_dayfirst(column) and infer_dayfirst(column) is True
    values, bad = parse_timestamps(column)
    assert values.tolist()[:3] == [
        _ts("2024-08-02Z"),
        _ts("2024-03-25Z"),
        _ts("2024-01-13Z"),
    ]
    assert values.isna().tolist() == [False, False, False, True]
    assert bad.tolist() == [False, False, False, True]
    assert values.attrs["wrong_order"] == 1
    [note] = order_notes(values, "Date", None)
    assert "read day first, as more of them need, and the 1 date" in note
    tie, _ = parse_timestamps(pd.Series(["25/03/2024", "03/25/2024"]))
    assert "as many need one order as the other" in order_notes(tie, "Date", None)[0]
    # a told order does not override values that all point one way
    month_first = pd.Series(["03/25/2024", "04/02/2024"])
    assert parse_timestamps(month_first, dayfirst=True)[0].tolist() == [
        _ts("2024-03-25Z"),
        _ts("2024-04-02Z"),
    ]

    told, bad = parse_timestamps(column, dayfirst=False)
    assert bad.tolist() == [False, True, True, False]
    assert told[3] == _ts("2024-03-25Z")
    assert order_notes(told, "Date", False) == [
        "2 dates in column 'Date' cannot be read month first, as you said the dates "
        "are written, and were rejected; check them, or change the answer"
    ]
    assert order_notes(parse_timestamps(column[:1])[0], "Date", None) == [
        AMBIGUOUS_NOTE.format(column="Date")
    ]


def test_amounts_refuse_percentages_and_name_their_currency():
    """Test a money column: 12.5% is no amount (it read as 12.5), symbols only one
    currency uses and ISO codes name it, '$' names none (several currencies)."""
    cells = pd.Series(["12.5%", "€99", "EUR 12", "12.00 USD", "$1,234.50", None, "£5"])
    values, bad = parse_amounts(cells)
    assert values.tolist()[1:5] == [99.0, 12.0, 12.0, 1234.5]
    assert values.isna().tolist() == [True, False, False, False, False, True, False]
    assert bad.tolist() == [True, False, False, False, False, False, False]
    assert parse_numbers(cells)[0][0] == 12.5  # (a rate column still reads it)
    assert written_currency(cells).tolist() == [
        pd.NA, "EUR", "EUR", "USD", pd.NA, pd.NA, "GBP"
    ]


def test_am_pm_times():
    """Test 12:30 AM is half past midnight and 1:30 pm is 13:30."""
    values, _ = parse_timestamps(pd.Series(["1/2/2017 12:30 AM", "1/2/2017 1:30 pm"]))
    assert values[0] == _ts("2017-01-02 00:30Z")
    assert values[1] == _ts("2017-01-02 13:30Z")


def test_emails_and_phones():
    """Test email trimming/lower-casing and E.164 phones from Excel-quoted text."""
    emails = normalise_email(pd.Series([" Ann@Example.COM ", "Bob <b@y.org>", "nope"]))
    assert emails.tolist()[:2] == ["ann@example.com", "b@y.org"]
    assert emails.isna().tolist()[2]
    phones = normalise_phone(pd.Series(["'+49 30 1234567", "+1 (415) 555-2671", "12"]))
    assert phones.tolist()[:2] == ["+49301234567", "+14155552671"]
    assert phones.isna().tolist()[2]
    assert normalise_phone("(415) 555-2671", "US") == "+14155552671"
    assert normalise_email("X@Y.Z") == "x@y.z"


def test_person_key_rules():
    """Test email first, then tel:+E164, then the platform id."""
    keys = person_key(
        pd.Series(["Ann@X.com", None, None, None]),
        pd.Series(["+14155552671", "+14155552671", None, None]),
        pd.Series(["1", "2", "3.0", None]),
        platform="shopify",
    )
    assert keys.tolist()[:3] == ["ann@x.com", "tel:+14155552671", "shopify:3"]
    assert keys.isna().tolist()[3]


def test_links_follow_unique_emails_only():
    """Test an alias seen with one email links to it; one seen with two does not."""
    pairs = pd.DataFrame(
        {
            "person_id": ["a@x.com", "a@x.com", "b@x.com", "c@x.com"],
            "alias": ["shopify:1", "tel:+1", "tel:+1", "shopify:2"],
        }
    )
    links = link_map(pairs)
    assert links == {"shopify:1": "a@x.com", "shopify:2": "c@x.com"}
    keys = apply_links(pd.Series(["shopify:1", "tel:+1", "x@y.com"]), links)
    assert keys.tolist() == ["a@x.com", "tel:+1", "x@y.com"]


@pytest.mark.parametrize(
    "offsets, zone",
    [
        ({-420: 300, -480: 200}, "America/Los_Angeles"),
        ({60: 10, 120: 12}, "Europe/Berlin"),
        ({300: 50}, "Etc/GMT-5"),
        ({-300: 7}, "Etc/GMT+5"),
        ({330: 9}, "Asia/Kolkata"),
        ({0: 40}, "UTC"),
        ({-420: 10, 60: 10, 540: 10}, "UTC"),
        ({}, "UTC"),
    ],
)
def test_store_timezone_from_offsets(offsets, zone):
    """Test offset pairs, single offsets (Etc signs inverted), else UTC."""
    from collections import Counter

    from pipeline.ingest.merge import infer_timezone

    assert infer_timezone(Counter(offsets)) == zone


def test_infinite_amounts_are_not_numbers():
    """Test QA's ``inf`` and ``1e999`` (which floats read as infinite): blank and
    flagged as not a number, in the text parser and in the events CSV's typed path,
    so an order worth infinity is rejected with its row and column."""
    from pipeline.ingest import load_files

    values, bad = parse_numbers(pd.Series(["inf", "1e999", "-inf", "$12", None]))
    assert values.isna().tolist() == [True, True, True, False, True]
    assert bad.tolist() == [True, True, True, False, False]

    rows = "\n".join(
        f"{p}@x.com,2024-01-01T00:00:00Z,order,o{i},{v}"
        for i, (p, v) in enumerate(zip("abcd", ["inf", "1e999", "", "10"], strict=True))
    )
    data = load_files(
        [("e.csv", f"person,timestamp,event,order_id,value\n{rows}\n".encode())]
    )
    report = data.reports[0]
    assert (report.rows_loaded, report.rows_rejected) == (2, 2)
    assert [(p.row, p.column) for p in report.problems] == [(2, "value"), (3, "value")]
    assert data.orders["net_value"].sum() == 10
