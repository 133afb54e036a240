"""Test the readers on the QA tester's bad inputs, rebuilt here byte for byte in small:
a future-dated row, a negative order, an unknown event type, a zip with one good
member and one binary member, and a set of uploads none of which can be used.

Expected counts are by hand from the rows written below.
"""

import io
import zipfile

import pandas as pd
import pytest

from pipeline.ingest import load_files
from pipeline.model import InputError
from pipeline.stages import StageEngine

FUTURE = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=4 * 365)).strftime(
    "%Y-%m-%dT10:00:00Z"
)
EVENTS_BAD = (
    "person,timestamp,event,channel,campaign,product,order_id,value\n"
    "alice@example.com,2026-01-05T10:00:00Z,email_open,email,Welcome,,,\n"
    f"alice@example.com,{FUTURE},product_view,web,,SKU1,,\n"
    "alice@example.com,2026-01-06T10:00:00Z,teleport,web,,,,\n"
    "bob@example.com,2026-01-07T10:00:00Z,order,web,,,O-1,-50.00\n"
    "bob@example.com,not-a-date,product_view,web,,SKU2,,\n"
    "carol@example.com,2026-01-08T10:00:00Z,order,web,,,O-2,120.00\n"
).encode()


@pytest.fixture(scope="module")
def events_bad():
    return load_files([("events_bad.csv", EVENTS_BAD)])


def test_future_event_is_flagged_kept_and_ignored_by_as_of(events_bad):
    """Test the 4-years-ahead product view: kept, flagged on its row, noted, and the
    default "as of" stays on 2026-01-08 (the last real day), not years ahead."""
    report = events_bad.reports[0]
    future = [p for p in report.problems if p.message.startswith("dated in the future")]
    assert [(p.row, p.column) for p in future] == [(3, "timestamp")]
    assert (events_bad.events["event"] == "product_view").sum() == 1
    assert any(
        n.startswith("events_bad.csv: 1 event dated after") for n in events_bad.notes
    )
    assert str(StageEngine(events_bad).default_as_of) == "2026-01-08"


def test_negative_order_is_rejected_and_unknown_type_quoted(events_bad):
    """Test rows 4 (teleport), 5 (order of -50) and 6 (no date) are rejected, each
    with its column; carol's 120.00 order is the only purchase; problems by row."""
    report = events_bad.reports[0]
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (6, 3, 3)
    rows = [(p.row, p.column) for p in report.problems]
    assert rows == sorted(rows)
    by_row = {p.row: p for p in report.problems if p.row != 3}
    assert by_row[4].column == "event"
    assert by_row[4].message.startswith("'teleport' is not an event type")
    assert by_row[5].column == "value" and "negative" in by_row[5].message
    assert by_row[6].column == "timestamp"
    assert list(events_bad.purchases()["net_value"]) == [120.0]


def test_zip_with_a_junk_member_loads_the_good_one():
    """Test a zip of one events CSV and one binary member: the CSV loads (6 rows
    read), the junk member is a failed report naming it (QA defect 3)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("events_bad.csv", EVENTS_BAD)
        archive.writestr("junk.bin", bytes(range(256)) * 10)
    data = load_files([("ok_plus_junk.zip", buffer.getvalue())])
    files = {r.file: r for r in data.reports}
    assert set(files) == {
        "ok_plus_junk.zip/events_bad.csv", "ok_plus_junk.zip/junk.bin"
    }
    assert files["ok_plus_junk.zip/events_bad.csv"].rows_read == 6
    junk = files["ok_plus_junk.zip/junk.bin"]
    assert junk.meta.get("failed") and junk.kind == "unreadable"
    assert "neither text" in junk.problems[0].message


def test_nothing_usable_is_one_short_sentence_naming_each_file():
    """Test the error when no upload can be used: each file with its reason, what to
    do, no list of every kind (that lives in ``inspect --help``), reports attached."""
    with pytest.raises(InputError) as caught:
        load_files([("empty.csv", b""), ("madeup.csv", b"alpha,beta\n1,2\n")])
    message = str(caught.value)
    assert message.startswith("none of the 2 files could be used (empty.csv: ")
    assert "madeup.csv: the kind of this file could not be recognised" in message
    assert "map its columns" in message
    assert len(message) < 400
    assert [r.file for r in caught.value.reports] == ["empty.csv", "madeup.csv"]


def test_header_only_events_file_is_noted():
    """Test a header with no rows: 0 rows read and a note saying so."""
    data = load_files([
        ("head.csv", b"person,timestamp,event\n"),
        ("events.csv", b"person,timestamp,event\na@x.com,2024-01-01T00:00Z,signup\n"),
    ])
    assert any(n.startswith("head.csv: the file has a header and no rows")
               for n in data.notes)


def test_negative_amount_in_a_transaction_log_is_rejected():
    """Test a -5.00 transaction (a return) is rejected on its row and column; the
    purchases are the other two, 10.00 and 7.50."""
    data = load_files([(
        "txn.csv",
        b"customer_id,date,amount\n1,2024-01-02,10.00\n2,2024-01-03,-5.00\n"
        b"3,2024-01-04,7.50\n",
    )])
    report = data.reports[0]
    assert (report.kind, report.rows_loaded, report.rows_rejected) == (
        "transactions", 2, 1
    )
    assert [(p.row, p.column) for p in report.problems] == [(3, "amount")]
    assert sorted(data.purchases()["net_value"]) == [7.5, 10.0]
