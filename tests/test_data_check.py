"""Tests for the Overview's data check in words (:mod:`pipeline.data_check`)."""

from pipeline.data_check import (
    data_check_verdict,
    short_kind,
    unusable_reasons,
)
from pipeline.ingest import load_files
from pipeline.model import FileReport, Problem

UNKNOWN = (
    b"Email,Joined,Source,Amount\n"
    b"a@example.com,2024-01-02,web,10\nb@example.com,2024-01-03,web,20\n"
    b"c@example.com,2024-01-04,ad,30\nd@example.com,2024-01-05,ad,40\n"
)
EVENTS = b"person,timestamp,event,value\ncy@example.com,2024-05-03T09:00:00Z,order,40\n"


def test_every_row_used_is_the_only_success():
    """Test that the green sentence needs no rejected row, no failed file and no
    flagged row."""
    used = FileReport("orders.csv", "shopify_orders", 10, 8, 1, 1)
    assert data_check_verdict([used]) == (
        "success",
        "Every row read was loaded, excluded by a rule or counted as a duplicate.",
    )
    assert data_check_verdict([used], flagged=2)[0] == "warning"


def test_a_file_whose_rows_are_all_rejected_is_no_success():
    """Test the new-user case: a CSV of 4 rows and no mapping beside a good file.

    load_files rejects all 4 rows of the unknown table (rows_rejected 4) and loads
    the other; before, the page said every row was loaded."""
    data = load_files([("mapme.csv", UNKNOWN), ("events.csv", EVENTS)])
    level, text = data_check_verdict(data.reports)
    assert level == "error"
    assert text.startswith("4 rows were rejected: all 4 rows of mapme.csv, which")
    assert "named above, with why and what to do" in text
    assert "Every row read was loaded" not in text


def test_rejected_rows_of_a_used_file_are_counted_and_pointed_to():
    """Test 3 of 100 rows rejected in a used file: counted, and said to be below."""
    orders = FileReport("o.csv", "shopify_orders", 100, 97, 0, 0, 3)
    level, text = data_check_verdict([orders], flagged=3)
    assert level == "error"
    assert text.startswith("3 rows were rejected: 3 of the 100 rows of o.csv.")
    assert "The 3 flagged rows of the files used are listed below" in text


def test_short_kinds_fit_a_table_heading():
    """Test the short names the match table and the files table use."""
    assert short_kind("shopify_orders") == "Shopify orders"
    assert short_kind("klaviyo_profiles") == "Klaviyo profiles"
    assert short_kind("ga4_report") == "GA4 report"
    assert short_kind("some_new_kind") == "some new kind"


def test_unusable_reasons_keep_what_to_do():
    """Test that each reason is whole, what to do included, ending with a stop."""
    empty = FileReport("zero.csv", "unreadable", meta={"failed": True})
    empty.problems.append(
        Problem(
            None, None, "the file is empty: export it again and upload the new file"
        )
    )
    assert unusable_reasons([empty]) == [
        ("zero.csv", "the file is empty: export it again and upload the new file.")
    ]


def test_one_row_is_said_in_the_singular():
    """Test 'the only row' and 'the flagged row ... is' for one row (the new-user
    test saw 'all 1 rows' and 'The 1 flagged row ... are')."""
    failed = FileReport("one.csv", "unknown", 1, 0, 0, 0, 1, meta={"failed": True})
    level, text = data_check_verdict([failed], flagged=1)
    assert text.startswith("1 row was rejected: the only row of one.csv, which")
    assert "The flagged row of the files used is listed below" in text
    used = FileReport("o.csv", "shopify_orders", 1, 0, 0, 0, 1)
    assert data_check_verdict([used])[1].startswith(
        "1 row was rejected: the only row of o.csv."
    )
