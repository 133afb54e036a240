"""Test containers, encodings, delimiters, generic readers and row accounting.

The small files in ``tests/data/ingest`` were written for these tests, one per quirk.
"""

import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest import load_files, read_paths
from pipeline.ingest.base import ReadContext
from pipeline.ingest.containers import decode, unpack
from pipeline.ingest.mapping import mapping_candidates
from pipeline.ingest.raw import sniff_delimiter
from pipeline.model import InputError

DATA = Path(__file__).resolve().parent / "data" / "ingest"
LIFETIMES_CDNOW = (
    Path(pd.__file__).resolve().parent.parent
    / "lifetimes"
    / "datasets"
    / "CDNOW_sample.txt"
)


def load(*names: str, **kwargs):
    return load_files(read_paths([str(DATA / n) for n in names]), **kwargs)


@pytest.mark.parametrize(
    "name",
    [
        "events_basic.csv",
        "events_basic.csv.gz",
        "events_bom.csv",
        "events_utf16.txt",
        "events_pipe.csv",
    ],
)
def test_one_events_file_in_every_container_and_encoding(name):
    """Test the same 4 events read alike from gz, BOM, UTF-16 tab text and pipes."""
    data = load(name)
    report = data.reports[0]
    assert report.kind == "events_csv"
    assert (report.rows_read, report.rows_loaded) == (4, 4)
    assert sorted(data.events["event"]) == sorted(
        ["email_open", "product_view", "add_to_cart", "order"]
    )
    order = data.orders.iloc[0]
    assert (order["order_id"], order["net_value"]) == ("A-1", 120.5)
    # +01:00 offset and a naive time (UTC) both land on the right instant
    view = data.events[data.events["event"] == "product_view"].iloc[0]
    assert view["ts"] == pd.Timestamp("2024-03-02 10:00Z")


def test_zip_members_become_files_and_one_order_id_is_one_order():
    """Test a zip's members are named archive.zip/inner and order A-1 counts once."""
    data = load("two_files.zip")
    names = [r.file for r in data.reports]
    assert names == ["two_files.zip/events_a.csv", "two_files.zip/more/events_b.tsv"]
    assert len(data.orders) == 1
    second = data.reports[1]
    # the same four events again: every row is a duplicate of the first file's
    assert (second.rows_loaded, second.rows_duplicate) == (0, 4)
    assert (data.events["event"] == "order").sum() == 1


def test_cp1252_semicolons_and_decimal_commas():
    """Test a cp1252 file with ';' and 1.234,50 amounts."""
    raw = (DATA / "orders_cp1252_semicolon.csv").read_bytes()
    text, encoding = decode("x.csv", raw)
    assert "Crème brûlée" in text and encoding.lower().replace("_", "") in {
        "cp1252",
        "windows1252",
        "latin1",
        "iso88591",
    }
    assert sniff_delimiter(text) == ";"
    data = load("orders_cp1252_semicolon.csv")
    assert sorted(data.orders["net_value"]) == [12.0, 1234.5]
    assert "Crème brûlée" in set(data.events["product"])


def test_currency_strings_in_a_transaction_log():
    """Test $1,234.50, €12.00, (5.00) and USD 7.25 as amounts; (5.00) reads as -5,
    a return, which is rejected on its row (a purchase is worth 0 or more)."""
    data = load("transactions_currency.csv")
    report = data.reports[0]
    assert report.kind == "transactions"
    assert sorted(data.orders["net_value"]) == [7.25, 12.0, 1234.5]
    assert [(p.row, p.column) for p in report.problems] == [(4, "amount")]
    assert "negative" in report.problems[0].message


def test_dayfirst_inference_and_ambiguity():
    """Test 13/01/2024 makes the column day-first; 01/02/2024 alone is month-first."""
    data = load("transactions_dayfirst.csv")
    assert sorted(data.orders["ts"].dt.strftime("%Y-%m-%d")) == [
        "2024-01-13",
        "2024-03-02",
        "2024-04-05",
    ]
    ambiguous = load("transactions_ambiguous_dates.csv")
    assert ambiguous.orders["ts"].min() == pd.Timestamp("2024-01-02 10:00Z")
    told = load("transactions_ambiguous_dates.csv", dayfirst=True)
    assert told.orders["ts"].min() == pd.Timestamp("2024-02-01 10:00Z")


def test_transaction_dates_written_both_ways():
    """Test a log whose dates contradict each other: read day first as two need,
    the month-first-only row rejected with its row and column, and a note."""
    log = (
        b"customer_id,date,value\n7,02/08/2024,11\n7,25/03/2024,5\n8,13/01/2024,5\n"
        b"8,03/25/2024,5\n"
    )
    data = load_files([("log.csv", log)])
    report = data.reports[0]
    assert (report.kind, report.rows_loaded, report.rows_rejected) == (
        "transactions",
        3,
        1,
    )
    assert [(p.row, p.column) for p in report.problems] == [(5, "date")]
    assert sorted(data.orders["ts"].dt.strftime("%Y-%m-%d")) == [
        "2024-01-13",
        "2024-03-25",
        "2024-08-02",
    ]
    assert any("written both day first" in note for note in report.notes)


def test_events_values_with_currency_and_percent_signs():
    """Test an events file's order values: '€99' and 'EUR 10' load as 99 and 10 in
    EUR, '12.5%' is rejected with its row and column (it loaded as 12.5)."""
    events = (
        "person,timestamp,event,value\n"
        "a@x.com,2024-01-01T10:00:00Z,order,€99\n"
        "b@x.com,2024-01-02T10:00:00Z,order,12.5%\n"
        "c@x.com,2024-01-03T10:00:00Z,order,EUR 10\n"
    ).encode()
    data = load_files([("ev.csv", events)])
    report = data.reports[0]
    assert (report.rows_loaded, report.rows_rejected) == (2, 1)
    assert [(p.row, p.column) for p in report.problems] == [(3, "value")]
    assert "not an amount" in report.problems[0].message
    assert data.orders["net_value"].tolist() == [99.0, 10.0]
    assert data.orders["currency"].tolist() == ["EUR", "EUR"]


def test_a_told_day_order_reads_only_columns_the_values_cannot_order():
    """Test --dayfirst yes on two logs: the ambiguous one is read day first, the one
    whose 03/25/2024 shows month first keeps month first (04/02/2024 is 2 April; it
    became 4 February and 03/25 was rejected)."""
    ambiguous = b"customer_id,date,value\n1,01/02/2024,5\n2,03/04/2024,6\n"
    month_first = (
        b"customer_id,date,value\nm1,03/25/2024,10\nm2,04/02/2024,20\n"
        b"m3,12/31/2024,30\n"
    )
    data = load_files([("a.csv", ambiguous), ("m.csv", month_first)], dayfirst=True)
    assert [r.rows_rejected for r in data.reports] == [0, 0]
    days = data.orders.groupby("source_file", observed=True)["ts"].apply(
        lambda ts: sorted(ts.dt.strftime("%Y-%m-%d"))
    )
    assert days["a.csv"] == ["2024-02-01", "2024-04-03"]
    assert days["m.csv"] == ["2024-03-25", "2024-04-02", "2024-12-31"]
    assert not any(n for r in data.reports for n in r.notes if "first" in n)


def test_an_order_id_repeated_with_another_person_or_value_is_flagged():
    """Test an events file whose order E1 appears three times: the same person and
    value again is a plain duplicate; another person and value is a duplicate too,
    but listed with the row it repeats (it vanished without a word)."""
    events = (
        b"person,timestamp,event,order_id,value\n"
        b"A@X.com ,2024-03-01T10:00:00Z,order,E1,10\n"
        b"b@x.com,2024-03-02T10:00:00Z,order,E2,5\n"
        b"a@x.com,2024-03-01T10:00:00Z,order,E1,10\n"
        b"i@x.com,2024-03-06T10:00:00Z,order,E1,20\n"
    )
    report = load_files([("ev.csv", events)]).reports[0]
    assert (report.rows_loaded, report.rows_duplicate) == (2, 2)
    assert [(p.row, p.column) for p in report.problems] == [(5, "order_id")]
    assert report.problems[0].message.startswith(
        "order id 'E1' is already row 2's, with another person or value"
    )


def test_a_date_before_1990_is_kept_and_flagged():
    """Test a spreadsheet's blank date (1900-01-01) on an order: kept, listed with
    its row and column, and noted; a 1997 order (CDNOW's years) is not flagged."""
    log = b"customer_id,date,value\n1,1900-01-01,5\n2,1997-01-01,6\n"
    data = load_files([("log.csv", log)])
    report = data.reports[0]
    assert (report.rows_loaded, report.rows_rejected) == (2, 0)
    assert [(p.row, p.column) for p in report.problems] == [(2, "date")]
    assert report.problems[0].message.startswith("dated 1900-01-01, before 1990")
    assert "1 purchase dated before 1990: kept; check its date" in report.notes


def test_whitespace_log_without_header():
    """Test the CDNOW layout: ids keep no leading zeros, YYYYMMDD dates."""
    data = load("cdnow_like.txt")
    assert data.reports[0].kind == "transactions"
    assert sorted(data.orders["person_id"]) == ["id:1", "id:2", "id:2"]
    assert data.orders["net_value"].sum() == pytest.approx(11.77 + 12.0 + 77.0)


def test_cdnow_sample_from_lifetimes_loads():
    """Test lifetimes' CDNOW_sample.txt: 6,919 purchases of 2,357 customers."""
    data = load_files(read_paths([str(LIFETIMES_CDNOW)]))
    report = data.reports[0]
    assert (report.kind, report.rows_read, report.rows_loaded) == (
        "transactions",
        6_919,
        6_919,
    )
    # lifetimes' own loader finds 2,357 customers in this file
    assert data.orders["person_id"].nunique() == 2_357
    assert data.orders["order_id"].is_unique
    again = load_files(read_paths([str(LIFETIMES_CDNOW)]))
    assert again.orders["order_id"].tolist() == data.orders["order_id"].tolist()


def test_klaviyo_screening_orders(real_dir):
    """Test 584 rows of 302 customers; the 2 exact duplicate rows are duplicates."""
    data = load_files(
        read_paths([str(real_dir / "transactions/klaviyo_screening_orders.csv")])
    )
    report = data.reports[0]
    assert report.kind == "transactions"
    assert (report.rows_read, report.rows_duplicate, report.rows_loaded) == (
        584,
        2,
        582,
    )
    assert data.orders["person_id"].nunique() == 302
    assert (data.orders["net_value"] == 0).any()
    assert data.orders["ts"].min() == pd.Timestamp("2017-01-01 00:11Z")
    # every one of the 302 buyers is a customer, though known only by the store's id
    from pipeline.rules import StageRules
    from pipeline.stages import StageEngine, stage_counts

    counts = stage_counts(StageEngine(data).leads(StageRules()))
    assert (counts["customer"], counts["awareness"]) == (302, 0)


def test_bad_rows_are_rejected_with_row_column_and_reason():
    """Test each bad row is counted with its spreadsheet row and column."""
    report = load("events_bad_rows.csv").reports[0]
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (6, 1, 5)
    where = {(p.row, p.column) for p in report.problems}
    assert {(3, "person"), (4, "timestamp"), (5, "event"), (6, "value")} <= where
    assert any(p.row == 7 and "fields" in p.message for p in report.problems)


def test_mapping_reads_any_table():
    """Test a custom signup table loads through a mapping with a constant event."""
    with pytest.raises(InputError, match="could not be recognised"):
        load("signups_custom.csv")
    mapping = {
        "person": "Subscriber",
        "timestamp": "Joined",
        "event": "signup",
        "channel": "Where",
    }
    data = load("signups_custom.csv", mapping=mapping)
    assert data.reports[0].kind == "mapped"
    assert sorted(data.events["person_id"]) == ["ann@example.com", "tel:+49301234567"]
    assert set(data.events["channel"]) == {"quiz", "popup"}
    source = unpack("s.csv", (DATA / "signups_custom.csv").read_bytes())[0]
    assert mapping_candidates(source) == ["Subscriber", "Joined", "Where"]


def test_xlsx_json_ndjson_and_parquet_alone_and_in_containers():
    """Test events as .xlsx, .json, .ndjson and .parquet, plain, .gz and .zip."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.read_csv(DATA / "events_basic.csv", dtype=str)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append([None if pd.isna(v) else v for v in row])
    xlsx = io.BytesIO()
    book.save(xlsx)
    ndjson = frame.to_json(orient="records", lines=True).encode()
    array = frame.to_json(orient="records").encode()
    parquet = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), parquet)
    plain = [
        ("e.xlsx", xlsx.getvalue()),
        ("e.ndjson", ndjson),
        ("e.json", array),
        ("e.parquet", parquet.getvalue()),
    ]
    for name, data in plain:
        zipped = io.BytesIO()
        with zipfile.ZipFile(zipped, "w") as z:
            z.writestr(name, data)
        for upload in (
            (name, data),
            (name + ".gz", gzip.compress(data)),
            ("e.zip", zipped.getvalue()),
        ):
            loaded = load_files([upload])
            report = loaded.reports[0]
            assert report.kind == "events_csv", upload[0]
            assert report.rows_loaded == 4, upload[0]
            assert loaded.orders["net_value"].tolist() == [120.5], upload[0]


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\n\n  \n", "empty"),
        ("cut.csv.gz", gzip.compress(b"a,b\n1,2\n" * 100)[:20], "cut off"),
        ("cut.zip", b"PK\x03\x04garbage", "damaged"),
        (
            "photo.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
            "neither text",
        ),
    ],
)
def test_unusable_files_get_a_clear_message(name, data, words):
    """Test empty, cut-off and binary files raise InputError naming the file."""
    with pytest.raises(InputError, match=words) as info:
        load_files([(name, data)])
    assert name in str(info.value)


@pytest.mark.parametrize(
    "data, words",
    [
        (b"a" * 2_000_000, "first 1,000,000 characters hold no line break"),
        (
            b"# Report\n" + b",".join(b"c%d" % i for i in range(30_000)) + b"\n1\n",
            "header line is 198,889 characters long",
        ),
    ],
)
def test_a_line_too_long_for_a_header_is_said_once(data, words):
    """Test a file with no line break, or a huge header, gets one clear message."""
    junk, ok = load_files(
        [("long.csv", data), ("ok.csv", (DATA / "events_basic.csv").read_bytes())]
    ).reports
    assert len(junk.problems) == 1
    assert words in junk.problems[0].message
    assert "one row per line" in junk.problems[0].message
    assert junk.rows_read == junk.rows_rejected
    assert ok.rows_loaded == 4


def test_one_bad_file_does_not_stop_the_others():
    """Test a binary file beside a good one becomes a report with its problem."""
    good = (DATA / "events_basic.csv").read_bytes()
    data = load_files([("junk.bin", b"\x00\x01\x02" * 50), ("ok.csv", good)])
    junk, ok = data.reports
    assert junk.meta.get("failed") and "neither text" in junk.problems[0].message
    assert ok.rows_loaded == 4


def test_oversize_files_are_refused(monkeypatch):
    """Test a file over the limit gets a message pointing to the command line."""
    with pytest.raises(InputError, match="command line"):
        unpack("big.csv", b"a,b\n" + b"1,2\n" * 100, max_bytes=50)


def test_zip_with_nothing_usable():
    """Test an archive of only folders and hidden files is refused by name."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("__MACOSX/._x.csv", "junk")
    with pytest.raises(InputError, match="holds no data files"):
        load_files([("only_junk.zip", buffer.getvalue())])


def test_context_is_a_plain_dataclass():
    """Test ReadContext defaults (no time zone, mapping or day order)."""
    assert ReadContext() == ReadContext(None, None, None)


def test_shopify_copy_of_an_order_wins_over_an_event_feed(real_dir):
    """Test an order also sent as an events-CSV row keeps Shopify's status and net."""
    from tests.conftest import real_bytes

    name, data = real_bytes("shopify/cod_store_orders_utm_in_notes.csv")
    shopify = load_files([(name, data)])
    order = shopify.orders.iloc[0]
    feed = (
        "person,timestamp,event,order_id,value\n"
        f"x@example.com,2026-04-05T17:06:21Z,order,{order['order_id']},999\n"
    ).encode()
    both = load_files([("feed.csv", feed), (name, data)])
    kept = both.orders.set_index("order_id").loc[order["order_id"]]
    assert kept["source_file"] == name and kept["net_value"] == order["net_value"]
    feed_report = both.reports[0]
    assert (feed_report.rows_loaded, feed_report.rows_duplicate) == (0, 1)
    assert not (both.events["source_file"] == "feed.csv").any()


def test_platform_id_seen_with_an_email_links_across_files():
    """Test shopify:123 in an events file joins the customer with that id's email."""
    customers = (
        b"Customer ID,First Name,Email,Accepts Email Marketing,Phone,Total Spent,"
        b"Total Orders\n123,Ann,Ann@Example.com,yes,,0.00,0\n"
        b"456,Bob,,no,'+1 415 555 2671,0.00,0\n"
    )
    events = (
        b"person,timestamp,event\n"
        b"shopify:123,2024-03-01T10:00:00Z,email_open\n"
        b"+14155552671,2024-03-02T10:00:00Z,product_view\n"
    )
    data = load_files([("customers.csv", customers), ("events.csv", events)])
    assert data.reports[0].kind == "shopify_customers"
    assert sorted(data.events["person_id"]) == ["ann@example.com", "tel:+14155552671"]
    assert sorted(data.people["person_id"]) == ["ann@example.com", "tel:+14155552671"]
    ann = data.people.set_index("person_id").loc["ann@example.com"]
    assert ann["first_seen"] == pd.Timestamp("2024-03-01 10:00Z")
    assert bool(ann["consent_email"]) is True


def test_same_file_uploaded_twice_counts_once():
    """Test a repeated upload: its orders and rows are all duplicates of the first."""
    data = (DATA / "events_basic.csv").read_bytes()
    both = load_files([("e.csv", data), ("e.csv", data)])
    assert [r.file for r in both.reports] == ["e.csv", "e (2).csv"]
    assert len(both.orders) == 1
    assert (both.events["event"] == "order").sum() == 1
    assert len(both.events) == 4
    assert (both.reports[1].rows_loaded, both.reports[1].rows_duplicate) == (0, 4)
    assert both.reports[1].notes == [
        "every row repeats a row of another file (the same export uploaded twice?): "
        "counted once, in the other file"
    ]
    assert both.reports[0].notes == []


def test_events_file_with_ambiguous_dates_says_so():
    """Test an events CSV of 01/02-style dates notes that it read them month first."""
    events = (
        b"person,timestamp,event\n"
        b"ann@example.com,01/02/2024 10:00,email_open\n"
        b"bob@example.com,03/04/2024 11:00,email_open\n"
    )
    data = load_files([("ev.csv", events)])
    assert data.reports[0].meta["ambiguous_dates"] == "timestamp"
    assert any("month first" in note for note in data.notes)
    told = load_files([("ev.csv", events)], dayfirst=True)
    assert "ambiguous_dates" not in told.reports[0].meta
    assert told.events["ts"].min() == pd.Timestamp("2024-02-01 10:00Z")


@pytest.mark.parametrize(
    "name, header, kind",
    [
        ("profiles.csv", b"Email,Created\n", "klaviyo_profiles"),
        (
            "orders.csv",
            b"Name,Email,Financial Status,Paid at,Currency,Subtotal,"
            b"Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,Id\n",
            "shopify_orders",
        ),
        ("events.csv", b"person,timestamp,event\n", "events_csv"),
    ],
)
def test_a_header_without_rows_is_said_whatever_its_kind(name, header, kind):
    """Test QA's header-only profiles file, which loaded as an empty list without a
    word: every reader's empty file gets the same note, once."""
    data = load_files(
        [(name, header), *[("e.csv", (DATA / "events_basic.csv").read_bytes())]]
    )
    report = next(r for r in data.reports if r.file == name)
    assert (report.kind, report.rows_read) == (kind, 0)
    notes = [n for n in data.notes if n.startswith(f"{name}: ")]
    assert notes == [
        f"{name}: the file has a header and no rows: export it again "
        "for a date range that holds data"
    ]
