"""AppTest: the Attribution page on the sample brand and on an uploaded path file."""

from pathlib import Path

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


def attribution_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
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
    columns = list(at.dataframe[0].value.columns)
    assert "Time decay" not in columns and "Markov (removal effect)" in columns
