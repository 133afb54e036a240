"""Test the paths a large upload takes: text decoded only when needed, persons hashed
once, and people worked out by the reader instead of the merge.

Thresholds are lowered so that small files take the large-file paths.
"""

import dataclasses

import pandas as pd
import pyarrow as pa
import pytest

import pipeline.ingest.containers as containers
import pipeline.ingest.persons as persons
import pipeline.ingest.raw as raw
from pipeline.ingest import load_files, read_source
from pipeline.ingest.base import ReadContext
from pipeline.ingest.merge import merge

HEADER = "person,timestamp,event,channel,campaign,product,order_id,value\n"


def events_csv(rows: int, product: str = "sku") -> bytes:
    lines = [
        f"p{i % 7}@x.com,2024-03-{1 + i % 20:02d}T10:00:00Z,"
        f"{'order' if i % 5 == 0 else 'product_view'},email,c1,{product},"
        f"{'o' + str(i) if i % 5 == 0 else ''},{'10.5' if i % 5 == 0 else ''}\n"
        for i in range(rows)
    ]
    return (HEADER + "".join(lines)).encode("utf-8")


@pytest.fixture
def large(monkeypatch):
    """Every file counts as large; detection sees only its first 2,000 characters."""
    monkeypatch.setattr(containers, "LAZY_TEXT_BYTES", 0)
    monkeypatch.setattr(raw, "RELEASE_TEXT_BYTES", 0)
    monkeypatch.setattr(containers, "HEAD_CHARS", 2000)


def test_large_utf8_file_is_read_without_decoding_its_text(large):
    """Test pyarrow reads the bytes: the text is never decoded, results unchanged."""
    data = events_csv(300)
    (source,) = containers.unpack("events.csv", data)
    assert source._text is None and source.encoding == "utf-8"
    assert len(source.head) == 2000

    result = read_source(source, ReadContext())
    assert source._text is None  # detection and reading never needed the text
    assert result.report.kind == "events_csv"
    assert (result.report.rows_read, result.report.rows_loaded) == (300, 300)
    assert len(result.orders) == 60
    assert result.orders["net_value"].sum() == pytest.approx(60 * 10.5)


def test_large_file_not_utf8_past_its_head_is_decoded_as_cp1252(large):
    """Test a cp1252 byte after the head: pyarrow refuses, the text path reads it."""
    last = "p1@x.com,2024-03-05T10:00:00Z,product_view,,,Café,,\n"
    data = events_csv(200) + last.encode("cp1252")
    (source,) = containers.unpack("events.csv", data)
    assert source.encoding == "utf-8"  # all the head shows

    result = read_source(source, ReadContext())
    assert source.encoding.startswith("cp125")  # the detector's Western guess
    assert result.report.rows_loaded == 201
    assert result.events["product"].iloc[-1] == "Café"


def test_released_text_comes_back_when_asked(large):
    """Test a file's text freed after reading is decoded again from its bytes."""
    data = events_csv(50)
    (source,) = containers.unpack("events.csv", data)
    assert source.text == data.decode("utf-8")
    assert raw.release_text(source)
    assert source._text is None
    assert source.text == data.decode("utf-8")


def test_one_person_written_two_ways_is_one_person():
    """Test values with one key share it, and first_seen is their earliest event."""
    data = (
        HEADER + "Ann@X.com,2024-03-05T10:00:00Z,product_view,,,,,\n"
        " ann@x.com ,2024-03-02T10:00:00Z,email_open,,,,,\n"
        "bob@x.com,2024-03-04T10:00:00Z,email_open,,,,,\n"
    ).encode()
    dataset = load_files([("events.csv", data)])
    people = dataset.people.set_index("person_id")
    assert list(people.index) == ["ann@x.com", "bob@x.com"]
    assert people.loc["ann@x.com", "first_seen"] == pd.Timestamp("2024-03-02 10:00Z")
    assert list(dataset.events["person_id"]) == ["ann@x.com"] * 2 + ["bob@x.com"]


def test_people_from_the_reader_match_people_from_the_events(real_dir):
    """Test the merge gives the same people whether or not a reader's people cover
    its events (the shortcut against the full pass over events and orders)."""
    files = [
        ("events.csv", events_csv(400)),
        ("orders.csv", (real_dir / "shopify" / "cod_store_a_orders.csv").read_bytes()),
        (
            "customers.csv",
            (real_dir / "shopify" / "customers_export_small_store.csv").read_bytes(),
        ),
    ]
    context = ReadContext()

    def people(cover: bool) -> pd.DataFrame:
        results = []
        for name, data in files:
            for source in containers.unpack(name, data):
                result = read_source(source, context)
                if result.people_cover:
                    result = dataclasses.replace(result, people_cover=cover)
                results.append(result)
        assert any(r.people_cover for r in results) is cover
        return merge(results).people

    fast, full = people(True), people(False)
    assert len(fast) > 400 / 7
    pd.testing.assert_frame_equal(fast, full)


def test_line_breaks_inside_quotes_are_read_in_pyarrows_careful_mode(monkeypatch):
    """Test quoted values holding line breaks, across pyarrow's blocks: the fast
    split-anywhere read is checked against the line count and redone carefully; a
    file without them is read once, fast."""
    modes = []
    careful = raw._arrow_csv

    def spy(data, names, header, delimiter, quoted_newlines, types=None):
        modes.append(quoted_newlines)
        return careful(data, names, header, delimiter, quoted_newlines, types)

    monkeypatch.setattr(raw, "_arrow_csv", spy)
    monkeypatch.setattr(raw, "BLOCK_BYTES", 512)

    def rows(product: str) -> bytes:
        lines = [
            f"p{i % 9}@x.com,2024-03-{1 + i % 20:02d}T10:00:00Z,product_view,,,"
            f"{product.format(i=i)},,\n"
            for i in range(300)
        ]
        return (HEADER + "".join(lines)).encode()

    dataset = load_files([("events.csv", rows('"Shirt\n size {i}\n"'))])
    assert modes[-2:] == [False, True]  # (detection reads the file's head first)
    assert dataset.reports[0].rows_loaded == 300
    assert list(dataset.events["product"][:2]) == ["Shirt\n size 0", "Shirt\n size 1"]

    modes.clear()
    dataset = load_files([("events.csv", rows('"Shirt, size {i}"'))])
    assert True not in modes
    assert dataset.events["product"].iloc[299] == "Shirt, size 299"


def test_person_ids_rejections_and_first_times_per_row():
    """Test rows keyed by their value's key, blank and placeholder persons rejected
    as "no person", and first_seen taken from kept rows only."""
    data = (
        HEADER + "b@x.com,2024-03-05T10:00:00Z,email_open,,,,,\n"
        ",2024-03-01T10:00:00Z,email_open,,,,,\n"
        "A@x.com,2024-03-04T10:00:00Z,email_open,,,,,\n"
        "a@x.com,2024-03-01T10:00:00Z,unknown_thing,,,,,\n"
        "(not set),2024-03-01T10:00:00Z,email_open,,,,,\n"
        "b@x.com,2024-03-06T10:00:00Z,order,,,,o1,20\n"
        "b@x.com,2024-03-02T10:00:00Z,order,,,,o1,20\n"
        " c@x.com,2024-03-07T10:00:00Z,product_view,,,,,\n"
    ).encode()
    dataset = load_files([("events.csv", data)])
    report = dataset.reports[0]
    assert (report.rows_loaded, report.rows_rejected, report.rows_duplicate) == (
        4,
        3,
        1,
    )
    assert [(p.row, p.column) for p in report.problems] == [
        (3, "person"),
        (5, "event"),
        (6, "person"),
    ]
    assert list(dataset.events["person_id"]) == [
        "b@x.com",
        "a@x.com",
        "b@x.com",
        "c@x.com",
    ]
    first = dataset.people.set_index("person_id")["first_seen"]
    # a@x.com's earlier row is rejected and b@x.com's is a repeated order
    assert first["a@x.com"] == pd.Timestamp("2024-03-04 10:00Z")
    assert first["b@x.com"] == pd.Timestamp("2024-03-05 10:00Z")
    assert sorted(first.index) == ["a@x.com", "b@x.com", "c@x.com"]


def test_person_keys_in_two_threads_equal_one_pass(monkeypatch):
    """Test the split at half the distinct values: the same keys, in order, as one
    pass, for emails, phones, ids and names of nobody on both sides of the split."""
    values = pa.array(
        [" Ann@X.com", "+44 20 7946 0958", "(not set)", None, "cust-7", "bob@y.org",
         "+1 (415) 555-0100", "", "ann@x.com", "id-9"],
        pa.large_string(),
    )
    whole = persons.person_keys(values)
    monkeypatch.setattr(persons, "SPLIT_VALUES", 2)
    split = persons.person_keys(values)
    pd.testing.assert_series_equal(split, whole)
    assert split.iloc[0] == split.iloc[8] == "ann@x.com"
    assert split.iloc[1].startswith("tel:+44") and pd.isna(split.iloc[2])
