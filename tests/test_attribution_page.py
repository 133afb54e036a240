"""AppTest: the Attribution page on the sample brand and on an uploaded path file."""

from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import pipeline.attribution.paths  # noqa: F401  registers the path-file reader
from tests.conftest import real_bytes

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def attribution_page(**query: str) -> AppTest:
    """The Attribution page on the demo brand, with ``query`` in the URL."""
    at = AppTest.from_file(APP, default_timeout=180)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/attribution.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_sample_brand_page_shows_models_intervals_and_klaviyo():
    """Test every model, the intervals button, pipeline views and Klaviyo's claim."""
    at = attribution_page()
    assert at.get("vega_lite_chart"), "the side-by-side chart is missing"
    labels = [m.label for m in at.metric]
    assert "Klaviyo claims" in labels and "Conversions" in labels
    before = len(at.dataframe)
    at.button(key="attr_bootstrap").click()
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert any("interval" in str(c) for c in table.columns)
    assert len(at.dataframe) >= before
    assert any("bootstrap interval" in c.value for c in at.caption)
    assert [s.value for s in at.subheader][:3] == [
        "Conversion paths",
        "Credit by stage transition",
        "Pipeline-weighted credit",
    ]
    # Pipeline-weighted credit is priced by KM win probabilities and the models.
    assert any("Kaplan-Meier P(customer within 90 days" in c.value for c in at.caption)
    assert not any("could not be fitted" in w.value for w in at.warning)


def test_changing_the_lookback_changes_first_click_credit():
    """Test that a 1-day lookback moves first-click credit but keeps the total."""
    at = attribution_page()
    before = at.dataframe[0].value["First click"]
    at.slider(key="attr_lookback_days").set_value(1)
    at.run()
    assert not at.exception, at.exception
    after = at.dataframe[0].value["First click"]
    assert after.sum() == pytest.approx(before.sum())
    assert not after.equals(before)


def test_uploaded_path_file_runs_path_models():
    """Test an uploaded aggregated path file: 19,785 conversions, no time decay."""
    at = AppTest.from_file(APP, default_timeout=180)
    name, data = real_bytes("paths/channelattribution_sample_paths.csv")
    # The uploads as the sidebar keeps them in the session (pages.common.FILES_KEY).
    at.session_state["_lens_files"] = ((name, data),)
    at.run()
    assert not at.session_state["_lens_view"].is_sample
    at.switch_page("pages/attribution.py")
    at.run()
    assert not at.exception, at.exception
    conversions = next(m.value for m in at.metric if m.label == "Conversions")
    assert conversions == "19,785"
    # a paths file has no touch window: its coverage is of paths with a touch
    labels = [m.label for m in at.metric]
    assert "Coverage (conversions on a path with a touch)" in labels
    assert not any("window" in label for label in labels)
    columns = list(at.dataframe[0].value.columns)
    assert "Time decay" not in columns and "Markov (removal effect)" in columns


def page_with(*relatives: str) -> AppTest:
    """The Attribution page with these real files uploaded."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["_lens_files"] = tuple(real_bytes(r) for r in relatives)
    at.run()
    at.switch_page("pages/attribution.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_one_currency_at_a_time_with_a_choice():
    """Test BDT orders beside orders without a currency: the 582 orders without one
    are analysed by default, the 49 BDT orders named in a warning; choosing BDT
    shows 49 conversions and the BDT revenue, never the sum of both."""
    at = page_with(
        "shopify/cod_store_a_orders.csv", "transactions/klaviyo_screening_orders.csv"
    )
    choice = at.selectbox(key="attribution_currency")
    assert choice.value == "none"
    assert any("49 orders in BDT left out" in w.value for w in at.warning)
    conversions = next(m.value for m in at.metric if m.label == "Conversions")
    assert conversions == "582"
    choice.set_value("BDT")
    at.run()
    assert not at.exception, at.exception
    assert next(m.value for m in at.metric if m.label == "Conversions") == "49"
    revenue = next(m for m in at.metric if m.label.startswith("Revenue"))
    assert revenue.label == "Revenue (BDT)"
    assert revenue.value.endswith(" BDT")
    assert any(
        "582 orders with no currency left out: choose 'no currency in the export' "
        "under Currency" in w.value
        for w in at.warning
    )


def test_orders_without_touches_show_an_empty_state_not_zero_tables():
    """Test that orders alone give the no-touchpoints message, keep coverage and
    show no model tables; the win-horizon comment is not rendered as text."""
    at = page_with("shopify/cod_store_a_orders.csv")
    assert any(
        "No touchpoints uploaded: add GA4 sessions or Klaviyo events" in i.value
        and "49 orders" in i.value
        for i in at.info
    )
    labels = [m.label for m in at.metric]
    assert "Coverage (orders with a touch in the window)" in labels
    assert not at.dataframe and not at.get("vega_lite_chart")
    assert not any("Win horizon" in m.value for m in at.markdown)


def test_paths_file_and_orders_offer_a_choice_of_source():
    """Test that a paths file uploaded with orders is offered, not ignored: the
    radio switches to the paths' 19,785 conversions."""
    at = page_with(
        "shopify/cod_store_a_orders.csv", "paths/channelattribution_sample_paths.csv"
    )
    source = at.radio(key="attribution_source")
    assert source.value == "events"
    assert any("the paths file is not used" in c.value for c in at.caption)
    source.set_value("paths")
    at.run()
    assert not at.exception, at.exception
    assert next(m.value for m in at.metric if m.label == "Conversions") == "19,785"


def test_conversions_are_the_orders_up_to_the_as_of_day():
    """Test QA's finding that Attribution ignored "As of": on 1 June 2026 it credits
    exactly the demo brand's purchases up to the end of that day in the store's
    zone, and before the first order it says there is none yet."""
    at = attribution_page(as_of="2026-06-01")
    dataset = at.session_state["_lens_view"].dataset
    purchases = dataset.purchases()
    local = purchases["ts"].dt.tz_convert(dataset.timezone)
    expected = int((local < pd.Timestamp("2026-06-02", tz=dataset.timezone)).sum())
    assert 0 < expected < len(purchases)
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Conversions"] == f"{expected:,}"

    early = attribution_page(as_of="2020-01-01")
    assert any("No purchase up to 01 Jan 2020" in i.value for i in early.info)


def test_uploaded_spend_is_mentioned_when_no_cost_figure_can_use_it():
    """Test Meta's 14,504 spend rows (33,512.45 USD) are named, with the reason, on
    the page for orders with no touch, and for a paths file."""
    spend = "ads/apparel_meta_ads_daily_2026q1.csv"
    without_touches = page_with("shopify/apparel_orders_2023_2024.csv", spend)
    (said,) = [i.value for i in without_touches.info if "Ad spend" in i.value]
    assert "14,504 rows" in said and "33,512.45" in said
    assert "no order has a touch to credit" in said

    paths = page_with("paths/channelattribution_sample_paths.csv", spend)
    (said,) = [i.value for i in paths.info if "Ad spend" in i.value]
    assert "14,504 rows" in said and "paths file names no people" in said
