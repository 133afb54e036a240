"""Test the events CSV's fast path (Arrow types columns as it reads) against the
general path (every column read as text, then parsed): same tables, same accounting.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import pipeline.ingest.containers as containers
import pipeline.ingest.events_csv as events_csv
import pipeline.ingest.events_typed as events_typed
import pipeline.ingest.raw as raw
from pipeline.ingest import load_files, read_source
from pipeline.ingest.base import ReadContext
from pipeline.ingest.events_typed import EDGE_SPACE, stripped
from pipeline.ingest.merge import _merged_people, merge
from pipeline.model import PEOPLE_COLUMNS, conform

HEADER = (
    "person,timestamp,event,channel,source,campaign,product,order_id,value,currency\n"
)

UNTIDY = (
    HEADER
    + "ann@x.com,2024-03-01T10:00:00Z,page_view, email ,google,Spring ,sku1,,,\n"
    + "ANN@x.com ,2024-03-01T09:00:00+02:00,Add to cart,email,,Spring,sku1 ,,,\n"
    + "bob@x.com,2024-03-02T10:00:00Z, Email_Open ,sms\u00a0,,,,,,\n"
    + ",2024-03-02T11:00:00Z,page_view,,,,,,,\n"
    + "(not set),2024-03-02T12:00:00Z,page_view,,,,,,,\n"
    + "cy@x.com,2024-03-03T10:00:00Z,waved,,,,,,,\n"
    + "cy@x.com,,page_view,,,,,,,\n"
    + "cy@x.com,2024-03-04T10:00:00Z,order,email,,,,o1 ,12.5, usd\n"
    + "cy@x.com,2024-03-05T10:00:00Z,order,email,,,,o1,12.5,USD\n"
    + "dee@x.com,2024-03-05T10:00:00Z,order,,,,,o2,-3,eur\n"
    + "dee@x.com,2024-03-06T10:00:00Z,order,,,,,,7,\n"
    + '"eve@x.com",2024-03-07T10:00:00Z,"product_view","email","","Big, sale","",,,\n'
)


def read_both(data: str, monkeypatch, name: str = "events.csv"):
    """The reader's result through the fast path, then through the general path."""

    def read():
        (source,) = containers.unpack(name, data.encode("utf-8"))
        return read_source(source, ReadContext())

    typed_calls = []
    real = events_typed.typed_read

    def spy(*args):
        out = real(*args)
        typed_calls.append(out is not None)
        return out

    monkeypatch.setattr(events_csv, "typed_read", spy)
    fast = read()
    monkeypatch.setattr(events_csv, "typed_read", lambda *args: None)
    general = read()
    return fast, general, typed_calls


def assert_same(fast, general):
    for name in ("events", "orders", "people"):
        a, b = getattr(fast, name), getattr(general, name)
        if b is None:
            assert a is None
            continue
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True
        )
    for field in (
        "kind",
        "rows_read",
        "rows_loaded",
        "rows_excluded",
        "rows_duplicate",
        "rows_rejected",
        "problems",
        "notes",
        "date_min",
        "date_max",
    ):
        assert getattr(fast.report, field) == getattr(general.report, field), field


def test_untidy_file_reads_the_same_on_both_paths(monkeypatch):
    """Test trimming, event names, blank and placeholder persons, a missing time,
    unknown and repeated orders, a negative order and currencies: the fast path gives
    the general path's tables and accounting, value for value."""
    fast, general, typed = read_both(UNTIDY, monkeypatch)
    assert typed == [True]
    assert_same(fast, general)

    report = fast.report
    assert (report.rows_read, report.rows_loaded) == (12, 6)
    assert (report.rows_rejected, report.rows_duplicate) == (5, 1)
    events = fast.events
    assert events["channel"].head(3).tolist() == ["email", "email", "sms"]
    assert events["event"].tolist()[:3] == ["page_view", "add_to_cart", "email_open"]
    assert events["campaign"].dropna().tolist() == ["Spring", "Spring", "Big, sale"]
    assert fast.orders["order_id"].tolist() == ["o1", "events.csv:row12"]
    assert fast.orders["currency"].tolist() == ["USD", pd.NA]
    # Ann written two ways is one person, first seen at 07:00 UTC (09:00 +02:00)
    ann = fast.people.set_index("person_id").loc["ann@x.com", "first_seen"]
    assert ann == pd.Timestamp("2024-03-01T07:00:00Z")
    rows = [(p.row, p.column) for p in report.problems]
    assert rows == [
        (5, "person"),
        (6, "person"),
        (7, "event"),
        (8, "timestamp"),
        (11, "value"),
    ]


def test_times_without_offsets_and_later_odd_rows_take_the_slower_branches(
    monkeypatch,
):
    """Test plain times (read as UTC); a day-first date after the first rows makes
    Arrow's typed read fail, so times are read as text and parsed, still in the fast
    path; a ragged row sends the file to the general path. Each matches it."""
    plain = HEADER + "".join(
        f"p{i}@x.com,2024-03-{1 + i:02d} 10:00:00,page_view,,,,,,,\n"
        for i in range(5)
    )
    fast, general, typed = read_both(plain, monkeypatch)
    assert typed == [True]
    assert_same(fast, general)
    assert fast.events["ts"].iloc[0] == pd.Timestamp("2024-03-01T10:00:00Z")

    odd = plain + "q@x.com,25/03/2024 10:00,page_view,,,,,,,\n"
    fast, general, typed = read_both(odd, monkeypatch)
    assert typed == [True]
    assert_same(fast, general)
    assert fast.events["ts"].iloc[-1] == pd.Timestamp("2024-03-25T10:00:00Z")

    ragged = plain + "q@x.com,2024-03-09T10:00:00Z,page_view\n"
    fast, general, typed = read_both(ragged, monkeypatch)
    assert typed == [False]
    assert_same(fast, general)


def test_a_row_blank_in_every_read_column_goes_to_the_general_path(monkeypatch):
    """Test a row with a value only in a column the fast path does not read: whether
    it is blank is the general path's call (it is not: it is rejected, no person)."""
    data = (
        "person,timestamp,event,note\n"
        "a@x.com,2024-03-01T10:00:00Z,page_view,\n"
        ",,,hi\n"
    )
    fast, general, typed = read_both(data, monkeypatch)
    assert typed == [False]
    assert_same(fast, general)
    assert fast.report.rows_rejected == 1


def test_edge_space_finds_every_character_strip_removes():
    """Test the regular expression against Python's and Arrow's own white space."""
    spaces = [
        chr(c)
        for c in range(0x110000)
        if not 0xD800 <= c <= 0xDFFF and chr(c).isspace()
    ]
    edged = [s + "a" for s in spaces] + ["a" + s for s in spaces]
    assert all(pc.match_substring_regex(pa.array(edged), EDGE_SPACE).to_pylist())
    inner = pa.array(["a b", "ab", "\u200bab", "é"])
    assert not any(pc.match_substring_regex(inner, EDGE_SPACE).to_pylist())
    clean = pd.Series(["a", None, "b"], dtype="string")
    assert stripped(clean) is clean
    assert stripped(pd.Series([" a", None], dtype="string")).tolist() == ["a", pd.NA]


def test_edge_bytes_agree_with_the_regular_expression():
    """Test the byte-level check against RE2 on values whose first or last byte is a
    space, part of a longer character, or neither, in sliced blocks with blanks."""
    spaces = [" ", "\t", "\x1c", "\u00a0", "\u3000", "\u2028"]
    plain = ["a", "é", "skué", "​", "日本", ""]
    values = [s + p for s in spaces for p in plain] + [
        p + s for s in spaces for p in plain
    ]
    values += [p + q for p in plain for q in plain] + [None]
    for value in values:
        for block in (
            pa.array([value, "x"], pa.large_string()),
            pa.array(["x", value, "y"], pa.large_string()).slice(1, 1),
            pa.array(["x", value, "y"], pa.string()).slice(1, 2),
        ):
            expected = bool(
                pc.any(pc.match_substring_regex(block, EDGE_SPACE)).as_py()
            )
            assert events_typed._edge_space(block) is expected, repr(value)
    clean = pa.array(["café", "日本", None, ""], pa.large_string())
    assert not events_typed._edge_space(clean)


def test_line_breaks_counted_in_slices_equal_bytes_count(monkeypatch):
    """Test the threaded numpy count against ``bytes.count`` across slice edges."""
    monkeypatch.setattr(raw, "BLOCK_BYTES", 7)
    data = b"a\nbb\n\nccc\ndddd\n" * 13 + b"tail"
    assert raw.line_breaks(data) == data.count(b"\n") == 65


def test_one_covered_file_shortcut_gives_the_general_merge(monkeypatch):
    """Test the merge's shortcut for one file whose people cover its events: people,
    and person sources, equal those of the general merge."""
    lines = [
        f"p{i % 9}@x.com,2024-03-{1 + i % 20:02d}T10:00:00Z,"
        + ("order,,,,,o{i},5,\n" if i % 4 == 0 else "page_view,,,,,,,\n").format(i=i)
        for i in range(60)
    ]
    data = (HEADER + "".join(lines)).encode()
    (source,) = containers.unpack("events.csv", data)
    result = read_source(source, ReadContext())
    dataset = merge([result])
    general = _merged_people(
        conform(result.people, PEOPLE_COLUMNS).assign(alias=pd.NA),
        dataset.events,
        dataset.orders,
        distinct=False,
    )
    pd.testing.assert_frame_equal(dataset.people, general)
    assert len(dataset.people) == 9
    assert dataset.person_sources["person_id"].is_unique


def test_source_file_is_a_category_across_files():
    """Test two events files stacked: each row keeps its file, categories unite."""
    first = (HEADER + "a@x.com,2024-03-01T10:00:00Z,page_view,,,,,,,\n").encode()
    second = (HEADER + "b@x.com,2024-03-02T10:00:00Z,page_view,,,,,,,\n").encode()
    dataset = load_files([("one.csv", first), ("two.csv", second)])
    files = dataset.events["source_file"]
    assert isinstance(files.dtype, pd.CategoricalDtype)
    assert files.tolist() == ["one.csv", "two.csv"]
    assert (files == "two.csv").to_numpy().tolist() == [False, True]
    assert np.array_equal(
        dataset.events["ts"].to_numpy(),
        pd.to_datetime(["2024-03-01T10:00:00Z", "2024-03-02T10:00:00Z"]).to_numpy(),
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_quoted_line_breaks_and_crlf_on_the_fast_path(monkeypatch, newline):
    """Test quoted line breaks across Arrow's blocks, and Windows line ends."""
    monkeypatch.setattr(raw, "BLOCK_BYTES", 256)
    lines = [
        f'p{i % 5}@x.com,2024-03-{1 + i % 20:02d}T10:00:00Z,product_view,,,,'
        f'"Shirt\nsize {i}",,,{newline}'
        for i in range(80)
    ]
    data = HEADER.replace("\n", newline) + "".join(lines)
    fast, general, typed = read_both(data, monkeypatch)
    assert typed == [True]
    assert_same(fast, general)
    assert fast.events["product"].iloc[79] == "Shirt\nsize 79"
