"""AppTest of the Funnel page on the demo brand: it runs, its figures are the
pipeline's, and the stall slider moves exactly the leads it should."""

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages.charts_funnel import stage_chart
from pipeline import clv_pricing
from pipeline.clv_pricing import customer_models, expected_new_customer_value
from pipeline.formatting import fmt_int, fmt_money, fmt_pct
from pipeline.funnel import stalled_leads
from pipeline.pipeline_value import pipeline_value
from pipeline.survival import win_probability_by_stage

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def funnel_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    return at


def stalled_line(at: AppTest) -> str:
    lines = [m.value for m in at.markdown if " stalled: " in m.value]
    lines += [s.value for s in at.success if "stage for more than" in s.value]
    return lines[0]


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_funnel_page_shows_the_pipeline_figures(funnel_page):
    """Test the KM win probabilities and the model-priced pipeline value against the
    pipeline's own figures on the demo brand."""
    at = funnel_page
    view = at.session_state["_lens_view"]
    tz = view.dataset.timezone
    assert [m.label for m in at.metric] == [
        "Win probability: captured",
        "Win probability: engaged",
        "Win probability: purchase intent",
        "Median days, capture to customer",
        "Pipeline value",
        "Expected new customers",
        "Change over 30 days",
    ]
    win = win_probability_by_stage(view.leads, view.as_of, 90, timezone=tz)
    win = win.set_index("stage")["win_probability"]
    assert 0 < win["captured"] < win["purchase_intent"] < 1
    assert metric(at, "Win probability: captured") == fmt_pct(win["captured"])

    # The demo brand has enough repeat buyers: the models price a new customer.
    models = customer_models(view.dataset, view.as_of)
    new_customer = expected_new_customer_value(models)
    assert new_customer.from_models
    assert new_customer.value > new_customer.first_purchase > 0
    assert any("predicted later" in s.value for s in at.success)
    value = pipeline_value(view.leads, view.as_of, new_customer.value, 90, timezone=tz)
    assert metric(at, "Pipeline value") == fmt_money(value.total, "USD", 0)

    titles = [str(c.spec) for c in at.get("vega_lite_chart")]
    # KM curve, weekly value, weekly entries and weekly shares (two charts, so
    # neither runs past the content column), and the stage bars
    assert len(titles) == 5
    assert any("Lead-to-customer time (Kaplan-Meier)" in t for t in titles)
    assert not at.error


def test_horizon_slider_moves_the_win_probabilities(funnel_page):
    """Test that a 30-day horizon shows the 30-day KM figure, lower than 90 days."""
    at = funnel_page
    view = at.session_state["_lens_view"]
    before = metric(at, "Win probability: purchase intent")
    at.slider(key="win_horizon_days").set_value(30).run()
    assert not at.exception, at.exception
    win = win_probability_by_stage(
        view.leads, view.as_of, 30, timezone=view.dataset.timezone
    ).set_index("stage")["win_probability"]
    after = metric(at, "Win probability: purchase intent")
    assert after == fmt_pct(win["purchase_intent"]) and after != before


def test_stall_slider_moves_exactly_the_expected_leads(funnel_page):
    """Test that each threshold shows the count stalled_leads gives for it."""
    at = funnel_page
    view = at.session_state["_lens_view"]
    tz = view.dataset.timezone
    counts = {}
    for days in (14, 60, 365):
        at.slider(key="stall_days").set_value(days).run()
        assert not at.exception, at.exception
        counts[days] = len(stalled_leads(view.leads, view.as_of, days, tz))
        line = stalled_line(at)
        if counts[days]:
            assert line.startswith(f"**{fmt_int(counts[days])} leads** stalled: ")
        else:
            assert line.startswith("No open lead has been in its stage")
    # The thresholds really separate leads on the demo brand.
    assert counts[14] > counts[60] > counts[365]


def test_rule_change_replays_stages_without_refitting_customer_value(monkeypatch):
    """Test that other stage rules change the pipeline but do not refit the
    customer-value models (cached on the data and the 'as of' day).

    AppTest reruns only the page after a ``st.navigation`` app's first run, so the
    moved rule is set before a second app's first run, as a shared URL would; the
    two apps share this process's cache, as two reruns of one session do.
    """
    calls = []
    original = clv_pricing.customer_models

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(clv_pricing, "customer_models", counted)
    values = []
    for state in ({}, {"rule_engaged_opens_min_count": 1}):
        at = AppTest.from_file(APP, default_timeout=120)
        for key, value in state.items():
            at.session_state[key] = value
        at.run()
        at.switch_page("pages/funnel.py")
        at.run()
        assert not at.exception, at.exception
        values.append(metric(at, "Pipeline value"))
    assert len(calls) == 1
    assert values[0] != values[1]


def test_funnel_on_order_only_exports_says_what_cannot_be_measured(real_dir):
    """Test the apparel trio (orders and checkouts, no engagement data, orders ending
    2024-12-31 while checkouts run to 2026): no "0 %" for a step with no data, and
    no weekly figures past the order data (QA defect 5)."""
    from tests.conftest import real_bytes

    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["_lens_files"] = (
        real_bytes("shopify/apparel_orders_2020_2023.csv"),
        real_bytes("shopify/apparel_orders_2023_2024.csv"),
        real_bytes("shopify/apparel_abandoned_checkouts_2023_2026.csv"),
    )
    at.run()
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe]
    steps = next(t for t in tables if "Went on to the next stage" in t.columns)
    steps = steps.set_index("Stage")
    # counts are numbers that add up: every lead reached the first stage or later
    assert steps["Leads now"].dtype == "Int64"
    assert steps["Reached this stage or later"].iloc[0] == steps["Leads now"].sum()
    assert steps.loc["Captured", "Went on to the next stage"] == (
        "no engagement events uploaded"
    )
    assert steps.loc["Engaged", "Went on to the next stage"] == (
        "no engagement events uploaded"
    )
    wilson = next(t for t in tables if "Step" in t.columns).set_index("Step")
    assert wilson.loc["Captured → engaged", "Conversion"] == (
        "no engagement events uploaded"
    )
    assert wilson.loc["Purchase intent → customer", "This week"] == (
        "no orders after 2024-12-31"
    )
    assert not any("_" in c for t in tables for c in t.columns)
    text = "\n".join(m.value for m in at.markdown) + "\n".join(
        c.value for c in at.caption
    )
    assert "moved on this week" not in text
    assert "the order data ends on 2024-12-31" in text
    # every week of the value history is after the orders: no value chart drawn
    charts = [str(c.spec) for c in at.get("vega_lite_chart")]
    assert not any("Pipeline value at the end of each week" in c for c in charts)


def test_stage_chart_puts_first_time_before_repeat():
    """Test the stage bars with more repeat than first-time customers, listed repeat
    first: legend and stacking still put first-time before repeat."""
    bars = pd.DataFrame(
        {
            "stage": ["captured", "customer", "customer"],
            "part": ["all", "repeat", "first"],
            "leads": [5, 30, 10],
            "share": [5 / 45, 30 / 45, 10 / 45],
        }
    )
    chart = stage_chart(bars)
    spec = chart.to_dict()
    assert spec["encoding"]["color"]["legend"]["values"] == ["first-time", "repeat"]
    assert spec["encoding"]["order"]["field"] == "part_order"
    rank = dict(zip(chart.data["part"], chart.data["part_order"], strict=True))
    assert rank["all"] < rank["first-time"] < rank["repeat"]


def test_stages_with_every_rule_off_are_not_measured():
    """Test the new-user defect: every rule switched off by URL showed "Captured →
    engaged 0.0 %" (interval 0.0 %–0.1 %) and "Went on to the next stage 100.0 %".
    A stage no lead can enter is "off", its steps "not measured (rules switched
    off)"; the customer → repeat step is still measured."""
    from pipeline.rules import RULE_NAMES

    at = AppTest.from_file(APP, default_timeout=180)
    for name in RULE_NAMES:
        at.query_params[f"rule_{name}_enabled"] = "false"
    at.run()
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    off = "not measured (rules switched off)"
    tables = [d.value for d in at.dataframe]
    steps = next(t for t in tables if "Went on to the next stage" in t.columns)
    went_on = steps.set_index("Stage")["Went on to the next stage"]
    assert went_on["Captured"] == went_on["Engaged"] == off
    assert went_on["Purchase intent"] == off
    assert went_on["Awareness"] == "85.7 %"  # (3,000 of the 3,500 people captured)
    wilson = next(t for t in tables if "Step" in t.columns).set_index("Step")
    assert wilson.loc["Captured → engaged", "Conversion"] == off
    assert wilson.loc["Captured → engaged", "95 % interval"] == off
    assert wilson.loc["Customer → repeat buyer", "Conversion"].endswith(" %")
    assert metric(at, "Win probability: engaged") == "off"
    assert metric(at, "Win probability: purchase intent") == "off"
    lines = [m.value for m in at.markdown]
    assert "- Captured → engaged: not measured (rules switched off)." in lines


def test_an_as_of_before_any_purchase_says_why_a_customer_has_no_value():
    """Test the demo brand on its first days (first purchase 2025-12-17): no
    "A new customer is valued at –.", but why the value is not available yet, and
    pipeline value in expected customers, not $0."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["as_of"] = "2025-12-02"
    at.run()
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    warnings = [w.value for w in at.warning]
    assert not any("valued at" in w for w in warnings)
    assert (
        "A new customer's value is not available yet: it is priced on the purchases "
        "up to the 'as of' day, and the first purchase (2025-12-17) is after the "
        "'as of' day. Until a first purchase is in the data, pipeline value is "
        "counted in expected new customers, not money."
    ) in warnings
    assert metric(at, "Pipeline value") == "–"
    stage_value = next(
        d.value for d in at.dataframe if "Expected customers" in d.value.columns
    )
    assert "Value" not in stage_value.columns


def test_km_chart_of_one_conversion_draws_with_whole_day_labels():
    """Test one conversion among three leads: the chart's data start at day 0 (a
    step line of one point drew nothing) and the days axis is formatted ",~f"
    (a flat domain printed "10.000000")."""
    from pages.charts_funnel import time_to_customer_chart, value_chart
    from pipeline.survival import time_to_customer
    from tests.test_survival import AS_OF, three_captured

    chart = time_to_customer_chart(time_to_customer(three_captured(), AS_OF))
    spec = chart.to_dict()
    assert [row["days"] for row in spec["datasets"][spec["data"]["name"]]] == [0, 10]
    assert spec["layer"][0]["encoding"]["x"]["axis"]["format"] == ",~f"
    flat = pd.DataFrame(
        {"week_end": pd.to_datetime(["2024-01-01", "2024-01-08"]),
         "open_leads": [0, 0], "expected_customers": [0.0, 0.0], "value": [0.0, 0.0]}
    )
    y = value_chart(flat, money=False, currency=None).to_dict()["encoding"]["y"]
    assert y["axis"]["format"] == ",~f"


def test_three_captured_leads_read_too_few_leads_on_the_page():
    """Test 3 captured leads, 1 buying after 10 days (the new-user files): the win
    tile and table say 'too few leads', not '–' or 100 %, and the median sentence
    says why there is none ('Fewer than half ... have bought' was not the reason)."""
    new_user = Path(__file__).resolve().parent / "data" / "new_user"
    files = tuple(
        (name, (new_user / name).read_bytes())
        for name in ("kl_phone_only.csv", "ev_phone.csv")
    )
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_lens_files"] = files
    at.run()
    at.switch_page("pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    tile = next(m for m in at.metric if m.label == "Win probability: captured")
    assert tile.value == "too few leads"
    table = next(d.value for d in at.dataframe if "95 % interval" in d.value.columns)
    column = next(c for c in table.columns if c.startswith("Win probability"))
    assert table[column].iloc[0].startswith("too few leads: 3 entered")
    text = "\n".join(m.value for m in at.markdown)
    assert "No median time or shares by day: too few leads: 3 entered" in text
    assert "Fewer than half of captured leads" not in text
