"""AppTest of the Overview page: the data check's verdict, the stage tiles when
rules are off or the traffic is a GA4 report, and tables that fit at 1280 px."""

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.rules import RULE_NAMES
from tests.conftest import real_bytes

APP = str(Path(__file__).resolve().parent.parent / "app.py")
UNKNOWN = (
    b"Email,Joined,Source,Amount\n"
    b"a@example.com,2024-01-02,web,10\nb@example.com,2024-01-03,web,20\n"
    b"c@example.com,2024-01-04,ad,30\nd@example.com,2024-01-05,ad,40\n"
)
EVERY_ROW = "Every row read was loaded, excluded by a rule or counted as a duplicate."


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def overview(files=None, **query) -> AppTest:
    """The Overview after its first run, with these uploads and URL parameters."""
    at = AppTest.from_file(APP, default_timeout=180)
    if files is not None:
        at.session_state["_lens_files"] = tuple(files)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def test_rejected_rows_are_never_called_loaded(real_dir):
    """Test the new-user defect: a 4-row CSV of no known kind beside a customers
    export. The table says Rejected 4, so the green "every row was loaded" box must
    not show; the verdict counts the 4 rows and says where the reason is."""
    at = overview(
        [("mapme.csv", UNKNOWN), real_bytes("shopify/customers_export_small_store.csv")]
    )
    files = next(d.value for d in at.dataframe if "Kind" in d.value.columns)
    assert files.set_index("File").loc["mapme.csv", "Rejected"] == 4
    assert EVERY_ROW not in [s.value for s in at.success]
    errors = [e.value for e in at.error]
    assert errors[0].startswith("mapme.csv: the kind of this file could not be")
    assert errors[1] == (
        "4 rows were rejected: all 4 rows of mapme.csv, which could not be used. "
        "Each file that could not be used is named above, with why and what to do."
    )


def test_every_row_loaded_is_said_only_when_true(real_dir):
    """Test the green box on a file with no rejected row."""
    at = overview([real_bytes("shopify/customers_export_small_store.csv")])
    assert [s.value for s in at.success] == [EVERY_ROW]


def test_stages_with_every_rule_off_read_off():
    """Test the demo brand with every rule switched off by URL: the engaged and
    purchase-intent tiles say "off" and why, not a measured 0."""
    at = overview(**{f"rule_{name}_enabled": "false" for name in RULE_NAMES})
    values = {m.label: m.value for m in at.metric}
    assert values["engaged"] == values["purchase intent"] == "off"
    assert values["customer"] == "577"  # (the demo brand's customers, rules or not)
    captions = [c.value for c in at.caption]
    assert (
        "every engaged rule is switched off in the sidebar: no lead can be in this "
        "stage, and no conversion through it is measured"
    ) in captions


def test_a_ga4_report_is_not_called_missing_traffic(real_dir):
    """Test orders beside a GA4 traffic report: the awareness tile says the report
    counts by channel, not per visitor (its traffic is drawn by channel), instead of
    "no anonymous traffic uploaded: add GA4 sessions"."""
    at = overview(
        [
            real_bytes("shopify/apparel_orders_2023_2024.csv"),
            real_bytes("ga4/apparel_traffic_acquisition_by_week_2024.csv"),
        ]
    )
    captions = [c.value for c in at.caption]
    assert not any("no anonymous traffic uploaded" in c for c in captions)
    assert (
        "GA4 report uploaded: it counts traffic by channel, not per visitor, so no "
        "visitor can be counted here (its traffic is shown under 'Awareness traffic "
        "by channel'). Add the GA4 BigQuery export to count visitors"
    ) in captions

    # the files table: short kinds, and widths that keep kinds and dates whole
    table = next(d for d in at.dataframe if "Kind" in d.value.columns)
    assert list(table.value["Kind"]) == ["Shopify orders", "GA4 report"]
    assert list(table.value["To"]) == ["2024-12-31", "2024-12-31"]
    config = json.loads(table.proto.columns)
    widths = {name: c["width"] for name, c in config.items() if "width" in c}
    assert widths["Kind"] == 130 and widths["From"] == widths["To"] == 84
    # (the widths add up to less than the 820 px the table has at 1280 px)
    assert sum(widths.values()) <= 810
