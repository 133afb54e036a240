"""AppTest: the Overview page on uploaded real exports and on unusable uploads."""

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.ingest import load_files, match_rates
from tests.conftest import real_bytes

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def uploaded(*files: tuple[str, bytes]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    # the uploads as the sidebar keeps them in the session (pages.common.FILES_KEY)
    at.session_state["_lens_files"] = tuple(files)
    at.run()
    return at


def page_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    return "\n".join(str(p) for p in parts)


def test_overview_on_orders_and_checkouts(real_dir):
    """Test the data check, coverage gap and missing-stage words on real exports."""
    at = uploaded(
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
        real_bytes("shopify/apparel_abandoned_checkouts_2023_2026.csv"),
    )
    assert not at.exception, at.exception
    text = page_text(at)
    assert "no order after it" in text
    assert "no engagement events uploaded" in text
    assert "Orders without a person" in text
    tables = [d.value for d in at.dataframe]
    files = next(t for t in tables if "Kind" in t.columns)
    # short kinds, so that the table fits (the full ones are in the heading's help)
    assert list(files["Kind"]) == ["Shopify orders", "Shopify checkouts"]
    # counts stay numbers (they sort as numbers), written with thousands separators
    assert list(files["Rows read"]) == [11_336, 368]
    table = next(d for d in at.dataframe if "Kind" in d.value.columns)
    config = json.loads(table.proto.columns)
    for column in ("Rows read", "Loaded", "Excluded", "Duplicate", "Rejected"):
        assert config[column]["type_config"]["format"] == "localized", column
    assert not any("_" in c for t in tables for c in t.columns)
    assert not any((t.astype(str) == "None").any().any() for t in tables)
    # the orders end 2024-12-31 in the store's zone (README: offsets -08:00), which
    # is 2025-01-01 in UTC; the page shows the store's day, and a readable zone
    assert files["To"].iloc[0] == "2024-12-31"
    assert "Store time zone: America/Los_Angeles (now UTC−0" in text
    excluded = next(t for t in tables if "Reason" in t.columns)
    assert set(excluded["Reason"]) == {"cancelled", "refunded", "voided"}
    assert "Rows of the file" in excluded.columns
    # people matched: one square table, each source once as a row and a column,
    # named short so that every column shows at 1280 px
    matches = next(t for t in tables if "People" in t.columns)
    kinds = ["Shopify checkouts", "Shopify orders"]
    assert list(matches.index) == kinds and list(matches.columns) == ["People", *kinds]
    pairs = {
        (m["from"], m["to"]): m["matched"] / m["people"]
        for m in match_rates(load_files(list(at.session_state["_lens_files"])))
    }
    assert matches.loc[kinds[0], kinds[1]] == pytest.approx(
        pairs[("shopify_checkouts", "shopify_orders")]
    )
    assert matches["People"].iloc[0] >= 209  # (README: 209 distinct emails)


def test_overview_shows_a_bad_file_as_an_error(real_dir):
    """Test an unreadable upload beside a good one is an st.error, not a crash."""
    at = uploaded(
        ("broken.csv", b"\x00\x01\x02\x03" * 64),
        real_bytes("shopify/cod_store_orders_utm_in_notes.csv"),
    )
    assert not at.exception, at.exception
    assert any("broken.csv" in e.value for e in at.error)


def test_header_only_orders_file_is_named_with_its_reason():
    """Test QA's header-only orders export: the page names the file and why.

    Before, the tile said "no orders uploaded" though an orders export was uploaded;
    then a dashboard of 0 and "—" tiles was drawn, while the CLI exits 2 with "no
    row of any file could be used". Now, as no row loaded, the page says nothing
    could be used, with the file's reason.
    """
    header = (
        "Name,Email,Financial Status,Paid at,Total,Refunded Amount,Created at,"
        "Lineitem quantity,Lineitem name,Id\n"
    )
    at = uploaded(("header_only_orders.csv", header.encode()))
    assert not at.exception, at.exception
    (error,) = at.error
    assert error.value.startswith(
        "The uploaded file could not be used, so there is nothing to show yet."
    )
    assert (
        "- **header_only_orders.csv**: the file has a header and no rows: export it "
        "again for a date range that holds data." in error.value
    )
    assert "no orders uploaded" not in page_text(at)


def test_customers_read_first_time_before_repeat_whatever_the_counts():
    """Test the customer split on 1 first-time and 3 repeat buyers: first-time
    comes first though there are fewer of them (it came second, by count)."""
    rows = ["person,timestamp,event,order_id,value"]
    for i, orders in enumerate([1, 2, 2, 2]):
        rows += [
            f"p{i}@example.com,2024-0{k + 1}-1{i}T10:00:00Z,order,o{i}{k},20"
            for k in range(orders)
        ]
    at = uploaded(("repeat_buyers.csv", "\n".join(rows).encode()))
    assert not at.exception, at.exception
    assert "Customers: 1 first-time, 3 repeat" in [c.value for c in at.caption]


def test_fixed_offset_zones_read_as_utc_offsets():
    """Test that ``Etc/GMT+8`` (POSIX sign: eight hours behind UTC) reads as −08:00."""
    from pipeline.timezones import zone_label

    assert zone_label("Etc/GMT+8") == "UTC−08:00 (fixed offset)"
    assert zone_label("Etc/GMT-5") == "UTC+05:00 (fixed offset)"
    assert zone_label("UTC") == "UTC"


@pytest.mark.parametrize(
    "files, mappable",
    [
        ((("empty.csv", b""),), []),
        ((("cut.zip", b"PK\x03\x04garbage"),), []),
        ((("madeup.csv", b"alpha,beta\n1,2\n"),), ["madeup.csv"]),
        ((("empty.csv", b""), ("madeup.csv", b"alpha,beta\n1,2\n")), ["madeup.csv"]),
    ],
    ids=["empty", "damaged zip", "unknown table", "both"],
)
def test_only_a_table_of_no_known_kind_is_offered_a_column_mapping(files, mappable):
    """Test QA's finding: an empty or damaged upload alone got a "Map columns" form
    that could do nothing. Now it gets its own reason and what to do; only a table
    of no known kind is offered the mapping."""
    at = uploaded(*files)
    assert not at.exception, at.exception
    (error,) = at.error
    if len(files) == 1 and not mappable:
        assert "export it again" in error.value or "download it again" in error.value
        assert "map its columns" not in error.value.lower()
    offered = [s for s in at.selectbox if s.key == "map_file"]
    assert [s.options for s in offered] == ([mappable] if mappable else [])


def test_overview_shows_awareness_traffic_from_a_ga4_report(real_dir):
    """Test the weekly GA4 report beside orders: the Overview draws sessions by
    channel and week, lists each channel's total (Email 204,652 sessions, the
    largest) and says they are not added to the awareness stage."""
    at = uploaded(
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
        real_bytes("ga4/apparel_traffic_acquisition_by_week_2024.csv"),
    )
    assert not at.exception, at.exception
    assert "Awareness traffic by channel" in [h.value for h in at.subheader]
    totals = next(d.value for d in at.dataframe if "Sessions" in d.value.columns)
    assert (totals.iloc[0]["Channel"], totals.iloc[0]["Sessions"]) == ("Email", 204652)
    assert len(totals) == 17
    assert "not added to the awareness stage" in page_text(at)
    assert any("Sessions by channel" in str(c.spec) for c in at.get("vega_lite_chart"))
