"""Tests of the GA4 readers: UI reports, Explorations and the BigQuery export.

Expected figures come from the real files' README (../shared/real/README.md), from
the files themselves read independently with :mod:`csv` in the test, and from hand
computation for the small files in tests/data/vendors (written from GA4's documented
layouts; see each file).
"""

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest import ga4_bigquery, ga4_reports, load_files
from pipeline.ingest.base import ReadContext
from pipeline.ingest.containers import unpack

VENDORS = Path(__file__).resolve().parent / "data" / "vendors"
REAL_GA4 = Path(__file__).resolve().parent.parent.parent / "shared" / "real" / "ga4"
CTX = ReadContext()


def source_of(path: Path):
    """The file as an upload would reach a reader: unpacked and decoded."""
    return unpack(path.name, path.read_bytes())[0]


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def csv_table(path: Path, header_line: int) -> list[dict]:
    """Rows of a single-table GA4 file read with csv, header at 1-based line."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()[header_line - 1:]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


# ------------------------------------------------------------------- real reports


@pytest.fixture(scope="module")
def traffic(real_dir):
    path = real_dir / "ga4" / "apparel_traffic_acquisition_by_week_2024.csv"
    return path, ga4_reports.read_report(source_of(path), CTX)


def test_traffic_by_week_reads_every_row(traffic):
    """Test that all 630 rows load, with the header block kept in the report."""
    path, result = traffic
    report = result.report
    assert ga4_reports.score_report(source_of(path)) > 0.9
    assert ga4_reports.score_exploration(source_of(path)) == 0
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (630, 630, 0)
    report.check()
    assert report.meta["start_date"] == "2024-01-01"
    assert report.meta["end_date"] == "2024-12-31"
    assert report.meta["account"] == "MONFRERE"
    assert report.meta["report"].startswith("Traffic acquisition")


def test_traffic_by_week_has_17_channel_groups(traffic):
    """Test the README fact: 17 channel groups."""
    _, result = traffic
    assert result.aggregates["channel"].nunique() == 17


def test_weeks_resolved_to_2024_dates(traffic):
    """Test that GA4 week numbers (Sunday weeks, 1 January in week 01) become 2024
    dates: week 1 is Mon 1-Sat 6 January, week 37 is 8-14 September, week 53 is
    29-31 December (hand computed from the 2024 calendar)."""
    _, result = traffic
    agg = result.aggregates
    sessions = agg[agg["metric"] == "Sessions"]
    email_37 = sessions[(sessions["channel"] == "Email") & (sessions["value"] == 84663)]
    assert email_37["period_start"].tolist() == [day("2024-09-08")]
    assert email_37["period_end"].tolist() == [day("2024-09-14")]
    assert agg["period_start"].min() == day("2024-01-01")
    assert agg["period_end"].max() == day("2024-12-31")
    starts = set(agg["period_start"])
    assert day("2024-12-29") in starts
    week_one = agg[agg["period_start"] == day("2024-01-01")]
    assert set(week_one["period_end"]) == {day("2024-01-06")}
    assert (agg["period_start"].dt.year == 2024).all()


def test_traffic_sums_match_the_file(traffic):
    """Test that Sessions and revenue per channel equal the file's own sums."""
    path, result = traffic
    rows = csv_table(path, 10)
    agg = result.aggregates
    for metric in ("Sessions", "Total revenue", "Key events"):
        expected = {}
        for row in rows:
            name = row["Session primary channel group (Default Channel Group)"]
            expected[name] = expected.get(name, 0.0) + float(row[metric])
        got = agg[agg["metric"] == metric].groupby("channel")["value"].sum()
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12)


def test_rates_are_fractions(traffic):
    """Test that rates stay fractions in [0, 1] (GA4 writes them so since 2024)."""
    _, result = traffic
    agg = result.aggregates
    rates = agg[agg["metric"].str.contains("rate")]
    assert len(rates) == 630 * 2
    assert rates["value"].between(0, 1).all()


def test_user_acquisition_uses_first_user_channel(real_dir):
    """Test that the user-acquisition file's dimension is canonicalised and its
    Total users are kept."""
    path = real_dir / "ga4" / "apparel_user_acquisition_by_week_2024.csv"
    result = ga4_reports.read_report(source_of(path), CTX)
    agg = result.aggregates
    assert result.report.rows_loaded == result.report.rows_read == 628
    assert agg["dimension"].str.startswith("First user default channel group=").all()
    email_37 = agg[(agg["metric"] == "Total users") & (agg["value"] == 78891)]
    assert email_37["channel"].tolist() == ["Email"]
    assert email_37["period_start"].tolist() == [day("2024-09-08")]


def test_acquisition_overview_splits_tables(real_dir):
    """Test that the multi-table overview splits into its 9 tables, 7,169 rows."""
    path = real_dir / "ga4" / "apparel_acquisition_overview_2024.csv"
    result = ga4_reports.read_report(source_of(path), CTX)
    tables = result.report.meta["tables"]
    assert [t["rows"] for t in tables] == [53, 53, 17, 17, 18, 120, 6338, 96, 457]
    assert result.report.rows_loaded == 7169
    result.report.check()
    first_user = result.aggregates[result.aggregates["table"].str.startswith("3:")]
    assert first_user.set_index("channel")["value"]["Email"] == 178280
    cohort = [t for t in tables if t["columns"][0] == "Cohort"][0]
    assert cohort["start_date"] == "2024-09-03"


def test_snapshot_empty_tables_and_retention(real_dir):
    """Test the README facts of the blog snapshot: header-only tables are empty
    tables, and -1 (not yet observable) retention cells are left out, not loaded."""
    path = real_dir / "ga4" / "reports_snapshot_blog_2025.csv"
    result = ga4_reports.read_report(source_of(path), CTX)
    tables = result.report.meta["tables"]
    assert len(tables) == 16
    empty = [t["table"] for t in tables if t["rows"] == 0]
    assert len(empty) == 4
    assert result.report.rows_rejected == 0
    assert result.report.meta["not_observable_cells"] == 3
    agg = result.aggregates
    retention = agg[agg["table"].str.startswith("10:")]
    assert (retention["value"] >= 0).all()
    first = retention[retention["dimension"] == "Date=Jun 14 - Jun 20"]
    # ragged row "Jun 14 - Jun 20,73,2,1": three weeks observed, the rest absent
    assert first.set_index("metric")["value"].to_dict() == {
        "Week 0": 73, "Week 1": 2, "Week 2": 1}
    assert set(retention["period_start"]) == {day("2026-06-14")}


def test_snapshot_old_names(real_dir):
    """Test that the older snapshot's names go through the synonym table: "Users"
    is GA4's Active users, "Session default channel group" the session channel."""
    path = real_dir / "ga4" / "reports_snapshot_empty_tables.csv"
    result = ga4_reports.read_report(source_of(path), CTX)
    agg = result.aggregates
    assert "Users" not in set(agg["metric"])
    assert agg[agg["table"].str.startswith("1:")]["metric"].unique().tolist() == [
        "Active users"]
    sessions = agg[agg["dimension"].str.startswith("Session default channel group=",
                                                   na=False)]
    assert sessions.set_index("channel")["value"].to_dict() == {
        "Direct": 3, "Unassigned": 2, "Organic Search": 1}
    assert sum(t["rows"] == 0 for t in result.report.meta["tables"]) == 4
    nth_day = agg[agg["table"].str.startswith("1:") & (agg["value"] == 1)]
    assert nth_day["period_start"].tolist() == [day("2023-05-21")]


def test_new_names_and_fraction_rates(real_dir):
    """Test the 2024+ naming file: Key events kept, the user key event rate a
    fraction as written."""
    path = real_dir / "ga4" / "user_acquisition_tshirt_store.csv"
    agg = ga4_reports.read_report(source_of(path), CTX).aggregates
    direct = agg[agg["channel"] == "Direct"].set_index("metric")["value"]
    assert direct["Key events"] == 22
    assert direct["User key event rate"] == pytest.approx(0.006639004149377593)
    assert agg["channel"].nunique() == 8


def test_events_report(real_dir):
    """Test the events report: 26 event names, purchase revenue 0 as reported."""
    path = real_dir / "ga4" / "events_tshirt_store.csv"
    agg = ga4_reports.read_report(source_of(path), CTX).aggregates
    purchase = agg[agg["dimension"] == "Event name=purchase"].set_index("metric")
    assert purchase["value"]["Event count"] == 24
    assert purchase["value"]["Total revenue"] == 0
    assert agg["dimension"].nunique() == 26


def test_placeholders_kept_as_values(real_dir):
    """Test that (not set), (direct) and (data not available) stay dimension values."""
    path = real_dir / "ga4" / "events_by_session_source_vn_store.csv"
    agg = ga4_reports.read_report(source_of(path), CTX).aggregates
    counts = agg[agg["metric"] == "Event count"].set_index("dimension")["value"]
    assert counts["Event name=page_view_seminar; Session source=(data not available)"] \
        == 1722
    assert counts["Event name=page_view_seminar; Session source=(direct)"] == 611
    assert counts["Event name=trimos_banner_click; Session source=(not set)"] == 270
    assert len(counts) == 29


# ------------------------------------------------------------- quirk fixtures


def test_exploration_grand_total_does_not_shift_columns():
    """Test that the Exploration's Grand total row (one field more than the header)
    is excluded and the rows under it keep their columns."""
    source = source_of(VENDORS / "ga4_exploration_free_form.csv")
    assert ga4_reports.score_exploration(source) > ga4_reports.score_report(source)
    result = ga4_reports.read_exploration(source, CTX)
    report = result.report
    assert report.kind == "ga4_exploration"
    assert (report.rows_read, report.rows_loaded, report.rows_excluded) == (5, 4, 1)
    assert report.excluded_by == {"grand total row": 1}
    agg = result.aggregates
    first_day = agg["period_start"] == day("2024-01-01")
    direct = agg[(agg["channel"] == "Direct") & first_day]
    assert direct.set_index("metric")["value"].to_dict() == {
        "Sessions": 50, "Total users": 40, "Engagement rate": 0.5}
    assert agg[agg["metric"] == "Sessions"]["value"].sum() == 300


def test_excel_resaved_old_names_and_notes():
    """Test an Excel re-saved report: padded comment lines, empty rows, old names,
    percent strings, thousands separators, and notes rejected with their row."""
    source = source_of(VENDORS / "ga4_excel_resaved_old_names.csv")
    result = ga4_reports.read_report(source, CTX)
    report = result.report
    report.check()
    assert report.meta["account"] == "Demo store"
    assert report.meta["start_date"] == "2023-12-10"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (8, 6, 2)
    assert [p.row for p in report.problems] == [17, 20]
    agg = result.aggregates
    assert {"Active users", "Sessions", "Key events", "Session key event rate"} == set(
        agg["metric"])
    direct = agg[agg["channel"] == "Direct"].set_index("metric")["value"]
    assert direct["Sessions"] == 1200
    assert direct["Session key event rate"] == pytest.approx(0.01)
    # weeks across the new year: 50 and 53 of 2023, 1 of 2024 (hand computed)
    email = agg[(agg["channel"] == "Email") & (agg["metric"] == "Sessions")]
    periods = list(zip(email["period_start"], email["period_end"], strict=True))
    assert periods == [
        (day("2023-12-10"), day("2023-12-16")),
        (day("2023-12-31"), day("2023-12-31")),
        (day("2024-01-01"), day("2024-01-06")),
    ]
    # "(not set)" and "n/a" cells are missing values, not rejections
    social = agg[agg["channel"] == "Paid Social"].set_index("metric")["value"]
    assert social.to_dict() == {"Sessions": 30}


def test_week_that_two_years_share_is_rejected():
    """Test that a week number the date range holds twice is rejected, not guessed."""
    result = ga4_reports.read_report(source_of(VENDORS / "ga4_week_two_years.csv"), CTX)
    report = result.report
    assert (report.rows_read, report.rows_rejected) == (2, 2)
    assert [(p.row, p.column) for p in report.problems] == [(10, "Week"), (11, "Week")]
    assert "Year dimension" in report.problems[0].message


@pytest.mark.parametrize("cut", [("# Start date", "# End date"), ("# End date",)])
def test_weeks_without_the_reports_date_range_are_rejected(real_dir, cut):
    """Test the real weekly report with its date lines removed: its 630 rows are
    rejected with the Week and what to do, and a note says why; before, they loaded
    as 53 weeks merged in one undated period (or all at 2024-01-01)."""
    path = real_dir / "ga4" / "apparel_traffic_acquisition_by_week_2024.csv"
    kept = [
        line
        for line in path.read_text(encoding="utf-8-sig").splitlines(keepends=True)
        if not line.startswith(cut)
    ]
    source = unpack("weeks.csv", "".join(kept).encode())[0]
    result = ga4_reports.read_report(source, CTX)
    report = result.report
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (
        630,
        0,
        630,
    )
    assert len(result.aggregates) == 0
    first = report.problems[0]
    assert (first.row, first.column) == (11 - len(cut), "Week")
    assert first.message.startswith("Week 37 cannot be dated")
    assert "export the report again from GA4" in first.message
    assert report.notes[0].startswith("1 table left out: broken down by Week")


def test_week_span_calendar():
    """Test GA4's week spans against hand-made calendars: 2023 starts on a Sunday
    (week 1 is seven days), 2024 on a Monday (week 1 is six days)."""
    weeks = pd.Series([1.0, 2.0, 53.0])
    start, end = ga4_reports._week_span(2023, weeks)
    assert start.tolist() == [day("2023-01-01"), day("2023-01-08"), day("2023-12-31")]
    assert end.tolist() == [day("2023-01-07"), day("2023-01-14"), day("2023-12-31")]
    start, end = ga4_reports._week_span(2024, weeks)
    assert start.tolist() == [day("2024-01-01"), day("2024-01-07"), day("2024-12-29")]


# ----------------------------------------------------------------------- BigQuery


@pytest.fixture(scope="module")
def flattened(real_dir):
    path = real_dir / "ga4" / "bigquery_flattened_events_test_property.csv"
    return ga4_bigquery.read(source_of(path), CTX)


def test_flattened_bigquery_accounting(flattened, real_dir):
    """Test the flattened export: 55 events, 26 of unused types, the purchase fired
    twice within a second counted once (two such pairs: 2 duplicates)."""
    path = real_dir / "ga4" / "bigquery_flattened_events_test_property.csv"
    assert ga4_bigquery.score(source_of(path)) > 0.8
    report = flattened.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_excluded,
            report.rows_duplicate, report.rows_rejected) == (55, 27, 26, 2, 0)
    events = flattened.events
    assert (events["event"] == "order").sum() == 2
    assert (events["event"] == "session").sum() == 4
    assert (events["event"] == "add_to_cart").sum() == 3


def test_flattened_ids_are_text_and_timestamps_exact(flattened):
    """Test that the client id keeps every digit and microseconds survive."""
    events = flattened.events
    assert set(events["person_id"]) == {"ga4:820687608.1730395654"}
    assert events["ts"].iloc[0] == pd.Timestamp("2025-02-25 14:58:19.153741", tz="UTC")
    people = flattened.people
    assert people["person_id"].tolist() == ["ga4:820687608.1730395654"]
    assert people["user_id"].tolist() == ["wxtscscj4gg"]
    assert set(events["channel"]) == {"Referral"}


@pytest.mark.parametrize("name", ["ga4_bigquery_events.ndjson",
                                  "ga4_bigquery_events.parquet"])
def test_nested_bigquery_export(name):
    """Test the nested export (fixture built from Google's documented schema by
    make_ga4_bigquery.py): event mapping, channels, dedup and the user_id link."""
    source = source_of(VENDORS / name)
    assert ga4_bigquery.score(source) > 0.9
    result = ga4_bigquery.read(source, CTX)
    report = result.report
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_excluded,
            report.rows_duplicate, report.rows_rejected) == (14, 11, 1, 1, 1)
    assert [(p.row, p.column) for p in report.problems] == [(14, "user_pseudo_id")]
    events = result.events
    a = events[events["person_id"] == "ga4:1111111111.1717243200"]
    assert a["event"].tolist() == ["session", "sizing_view", "product_view",
                                   "add_to_cart", "checkout_started", "order"]
    assert set(a["channel"]) == {"Paid Search"}
    order = a[a["event"] == "order"].iloc[0]
    assert (order["order_id"], order["value"], order["product"]) == ("T1001", 59.5,
                                                                    "SKU-1")
    b = events[events["person_id"] == "ga4:2222222222.1717243300"]
    assert b["event"].tolist() == ["session", "wishlist_add", "page_view"]
    assert set(b["channel"]) == {"Paid Social"}
    assert set(b["campaign"]) == {"summer"}
    c = events[events["person_id"] == "ga4:3333333333.1717243400"]
    assert c["event"].tolist() == ["session", "sizing_view"]
    assert set(c["channel"]) == {"Direct"}
    people = result.people
    linked = people[people["person_id"] == "ann@example.com"]
    assert linked["alias"].tolist() == ["ga4:2222222222.1717243300"]


def test_ndjson_and_parquet_agree():
    """Test that the NDJSON export (INT64 as strings) and the Parquet export give
    the same events."""
    frames = [ga4_bigquery.read(source_of(VENDORS / n), CTX).events.drop(
        columns="source_file") for n in ("ga4_bigquery_events.ndjson",
                                         "ga4_bigquery_events.parquet")]
    pd.testing.assert_frame_equal(frames[0], frames[1])


# ------------------------------------------------------------------ load_files


def test_every_real_ga4_file_loads_with_its_kind(real_dir):
    """Test that every real GA4 file is detected as its kind through load_files and
    reconciles."""
    expected = {
        "bigquery_flattened_events_test_property.csv": "ga4_bigquery",
    }
    paths = sorted((real_dir / "ga4").glob("*.csv"))
    assert len(paths) == 9
    for path in paths:
        dataset = load_files([(path.name, path.read_bytes())])
        [report] = dataset.reports
        report.check()
        assert report.kind == expected.get(path.name, "ga4_report"), path.name
        assert report.rows_rejected == 0, path.name


def test_vendor_files_load_with_their_kind():
    """Test that the quirk files are detected by content through load_files."""
    expected = {
        "ga4_exploration_free_form.csv": "ga4_exploration",
        "ga4_excel_resaved_old_names.csv": "ga4_report",
        "ga4_week_two_years.csv": "ga4_report",
        "ga4_bigquery_events.ndjson": "ga4_bigquery",
        "ga4_bigquery_events.parquet": "ga4_bigquery",
    }
    for name, kind in expected.items():
        data = (VENDORS / name).read_bytes()
        dataset = load_files([(name, data)])
        [report] = dataset.reports
        report.check()
        assert report.kind == kind, name


def test_source_medium_dimension_gets_channel_groups():
    """Test that a table by session source / medium gets GA4's channel groups
    computed from the documented rules."""
    text = (
        "# ----------------------------------------\n# Traffic acquisition\n"
        "# ----------------------------------------\n# Start date: 20240101\n"
        "# End date: 20240131\n"
        "Session source / medium,Sessions\n"
        "google / cpc,10\nl.facebook.com / referral,5\n(direct) / (none),7\n"
        "klaviyo / email,3\n"
    )
    source = unpack("t.csv", text.encode())[0]
    agg = ga4_reports.read_report(source, CTX).aggregates
    assert agg["channel"].tolist() == ["Paid Search", "Organic Social", "Direct",
                                       "Email"]


def test_file_of_header_only_tables_is_empty_not_an_error():
    """Test that a report whose tables all have a header and no rows reads as empty
    tables: nothing read, nothing rejected."""
    text = (
        "# ----------------------------------------\n# Reports snapshot\n"
        "# ----------------------------------------\n# Start date: 20240101\n"
        "# End date: 20240131\nEvent name,Key events\n\n\n"
        "# Start date: 20240101\n# End date: 20240131\nItem name,Items purchased\n"
    )
    result = ga4_reports.read_report(unpack("s.csv", text.encode())[0], CTX)
    assert result.report.rows_read == 0
    assert [t["rows"] for t in result.report.meta["tables"]] == [0, 0]
    assert result.aggregates.empty
    assert list(result.aggregates.columns)[:3] == ["report", "table", "period_start"]


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_truncated_or_edited_reports_never_crash(data):
    """Test that a real report cut anywhere, or with a cell replaced by junk, is
    read without an unhandled exception and still reconciles."""
    text = (REAL_GA4 / "reports_snapshot_empty_tables.csv").read_text(encoding="utf-8")
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.sampled_from(["", "x", ",,,", "\"", "#", "-1", "12,5%", "\r"]))
    at = data.draw(st.integers(0, cut))
    edited = text[:at] + junk + text[at:cut]
    source = unpack("edited.csv", edited.encode("utf-8"))[0] if edited.strip() else None
    if source is None:
        return
    if ga4_reports.score_report(source) or ga4_reports.score_exploration(source):
        result = ga4_reports.read_report(source, CTX)
        result.report.check()
        assert len(result.report.problems) == result.report.rows_rejected


def test_excel_resaved_as_xlsx_reads_the_same():
    """Test that the Excel re-saved report saved as .xlsx (week numbers become
    numbers) gives the same accounting and sums as its CSV form."""
    import openpyxl

    path = VENDORS / "ga4_excel_resaved_old_names.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append([int(c) if c.isdigit() else c for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    from_xlsx = load_files([("report.xlsx", buffer.getvalue())])
    from_csv = load_files([(path.name, path.read_bytes())])
    [xlsx_report], [csv_report] = from_xlsx.reports, from_csv.reports
    assert xlsx_report.kind == "ga4_report"
    assert (xlsx_report.rows_read, xlsx_report.rows_loaded,
            xlsx_report.rows_rejected) == (8, 6, 2)
    assert [p.row for p in xlsx_report.problems] == [p.row for p in csv_report.problems]
    sums = [d.aggregates.groupby("metric")["value"].sum()
            for d in (from_xlsx, from_csv)]
    pd.testing.assert_series_equal(sums[0], sums[1])


def test_pretty_json_array_reads_like_ndjson():
    """Test BigQuery console's "Save results as JSON" (one indented JSON array):
    detected and read like the NDJSON export of the same events."""
    import json

    path = VENDORS / "ga4_bigquery_events.ndjson"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    text = json.dumps(records, indent=2)
    source = unpack("results.json", text.encode())[0]
    assert ga4_bigquery.score(source) > 0.9
    from_array = ga4_bigquery.read(source, CTX).events.drop(columns="source_file")
    from_ndjson = ga4_bigquery.read(source_of(path), CTX).events.drop(
        columns="source_file")
    pd.testing.assert_frame_equal(from_array, from_ndjson)
