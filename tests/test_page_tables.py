"""AppTest: every table of the app writes a missing value as a dash and a day as a
date, through :func:`pages.tables.show_table`."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages.charts_leads import calibration_top
from pipeline.formatting import MISSING
from tests.conftest import PAGES, real_bytes

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
DRAWS_A_TABLE = re.compile(r"\.(dataframe|table|data_editor)\(")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def test_every_table_of_the_sample_brand_shows_missing_values_as_a_dash():
    """Test that every table on every page writes an empty cell as the dash, not
    Streamlit's "None", and keeps its numbers as numbers (the leads table has
    missing phones and P(win) as floats)."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    tables = 0
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, f"{page}: {at.exception}"
        for table in at.dataframe:
            assert table.proto.placeholder == MISSING, page
            tables += 1
    assert tables >= 20
    leads = at.dataframe[0].value
    assert leads["phone"].isna().any()
    assert leads["p_win"].dtype.kind == "f"


def test_klaviyo_report_periods_show_as_days(real_dir):
    """Test that the Klaviyo report table's 2024 period reads 2024-01-01 to
    2024-12-31, as dates without a time, and its counts stay numbers."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_lens_files"] = (
        real_bytes("klaviyo/apparel_campaign_sent_report_2024.csv"),
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
    )
    at.run()
    at.switch_page("pages/attribution.py")
    at.run()
    assert not at.exception, at.exception
    table = next(t for t in at.dataframe if "Period start" in t.value.columns)
    config = json.loads(table.proto.columns)
    for column in ("Period start", "Period end"):
        assert config[column]["type_config"] == {"type": "date", "format": "YYYY-MM-DD"}
    frame = table.value
    assert str(frame.at[0, "Period start"].date()) == "2024-01-01"
    assert str(frame.at[0, "Period end"].date()) == "2024-12-31"
    assert frame.at[0, "Rows"] == 97


def test_pages_draw_tables_only_through_show_table():
    """Test that no page draws a table with Streamlit directly, so every table gets
    the dash for missing values and dates for days."""
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        calls = DRAWS_A_TABLE.findall(path.read_text(encoding="utf-8"))
        allowed = 1 if path.name == "tables.py" else 0  # show_table's own call
        assert len(calls) == allowed, f"{path.name} draws a table itself: {calls}"


def test_an_upload_without_currency_never_writes_none_and_leads_read_as_words():
    """Test QA's findings on an events CSV with no currency column: no chart axis or
    table heading says "(None)"; the leads table's headings and stages are words."""
    rows = ["person,timestamp,event,channel,campaign,product,order_id,value"]
    for i in range(40):
        person = f"p{i}@example.com"
        rows.append(f"{person},2024-01-{1 + i % 20:02d}T09:00:00Z,signup,email,,,,")
        if i % 3 == 0:
            rows.append(
                f"{person},2024-02-{1 + i % 20:02d}T09:00:00Z,order,email,,,o{i},25.5"
            )
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_lens_files"] = (("events.csv", "\n".join(rows).encode()),)
    at.run()
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, f"{page}: {at.exception}"
        specs = [str(c.spec) for c in at.get("vega_lite_chart")]
        headings = [str(t.proto.columns) for t in at.dataframe]
        assert not any("(None)" in text for text in specs + headings), page
        if page.endswith("leads.py"):
            table = at.dataframe[0]
            config = json.loads(table.proto.columns)
            assert config["email"]["label"] == "Email"
            assert config["customer_kind"]["label"] == "Customer"
            stages = set(table.value["stage"].dropna())
            assert stages and stages <= {"Captured", "Customer"}, stages
            assert set(table.value["customer_kind"].dropna()) <= {"first-time"}


def test_no_page_draws_a_stray_string():
    """Test that no page script holds a bare string outside a function (Streamlit's
    magic draws it on the page: a docstring-style note once showed up on Leads).
    Modules the pages import are not drawn, so they may document their constants."""
    import ast

    for path in [ROOT / "app.py", *(ROOT / page for page in PAGES)]:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        stray = [
            node.lineno
            for node in body[1:]  # (the module's docstring is not drawn)
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ]
        assert not stray, f"{path.name}: a bare string at line(s) {stray}"


def test_leads_table_writes_p_win_and_consent_as_other_pages_do():
    """Test P(win) on the leads table reads "15.0 %" like every other share, and
    consent reads yes or no."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/leads.py")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0]
    assert json.loads(table.proto.columns)["p_win"]["type_config"]["format"] == (
        "%.1f %%"
    )
    p_win = table.value["p_win"].dropna()
    assert p_win.between(0, 100).all() and p_win.max() > 1
    # consent in words; an unknown one is missing (the dash), not an empty box
    for column in ("consent_email", "consent_sms"):
        assert set(table.value[column].dropna()) == {"yes", "no"}, column


@pytest.mark.parametrize(
    "predicted, high, top",
    [(0.02, 0.075, 0.09), (0.3, 0.45, 0.5), (0.7, 0.95, 1.0), (0.0, 0.0, 1.0)],
)
def test_calibration_axes_end_at_a_round_rate_above_the_bins(predicted, high, top):
    """Test the calibration chart's reach: 7.5 % with a tenth more room is 8.25 %,
    rounded up at its first digit to 9 %; never past 100 %; the whole range when
    every bin is at 0."""
    table = pd.DataFrame({"predicted": [0.0, predicted], "observed_high": [0.0, high]})
    assert calibration_top(table) == pytest.approx(top)


def test_leads_calibration_chart_spans_what_its_bins_reach():
    """Test the Leads page draws the calibration chart to the scale's round top,
    not 0-100 %, when the sample's bins stay low."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/leads.py")
    at.run()
    assert not at.exception, at.exception
    charts = [
        json.loads(chart.proto.spec)
        for chart in at.get("vega_lite_chart")
        if "Calibration" in chart.proto.spec
    ]
    assert len(charts) == 1
    domains = {
        json.dumps(layer["encoding"][axis]["scale"]["domain"])
        for layer in charts[0]["layer"]
        for axis in ("x", "y")
    }
    assert len(domains) == 1
    low, top = json.loads(domains.pop())
    assert low == 0 and 0 < top < 1
