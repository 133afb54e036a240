"""AppTest of the Funnel page on the demo brand: it runs, its figures are the
pipeline's, and the stall slider moves exactly the leads it should."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.formatting import fmt_int, fmt_pct
from pipeline.funnel import stalled_leads, velocity_table

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


def test_funnel_page_shows_the_pipeline_figures(funnel_page):
    """Test the velocity metrics and charts against the pipeline's own figures."""
    at = funnel_page
    view = at.session_state["_lens_view"]
    assert [m.label for m in at.metric] == [
        "Win rate", "Median days to convert", "Pipeline velocity per day",
        "Pipeline value",
    ]
    win_rate = velocity_table(view.leads).set_index("metric").loc["win rate", "value"]
    assert 0 < win_rate < 1
    assert at.metric[0].value == fmt_pct(win_rate)
    assert len(at.get("vega_lite_chart")) == 2
    assert not at.error


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
