"""AppTest of the Leads page's lead-score table on the demo brand."""

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.formatting import fmt_p_value

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def test_coefficient_table_reads_as_words_and_never_prints_a_zero_p_value():
    """Test the lead score's coefficients: readable headings instead of std_err,
    ci_low, p_value, and the intercept's tiny p-value as "< 0.001", not 0."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page("pages/leads.py")
    at.run()
    assert not at.exception, at.exception
    table = next(d for d in at.dataframe if "Std. error" in d.value.columns)
    frame = table.value
    assert list(frame.columns) == [
        "Feature",
        "Coefficient (log-odds)",
        "Std. error",
        "95 % low",
        "95 % high",
        "Odds ratio",
        "p-value",
    ]
    model = next(
        v for k, v in at.session_state["_lens_leads_cache"].items() if k[0] == "model"
    )
    raw = model.coefficients_.set_index("term")
    const = frame.set_index("Feature").loc["const"]
    # the demo brand's base rate is ~3 %: the intercept is far from 0 (p ~ 1e-50)
    assert raw.loc["const", "p_value"] < 0.001
    assert const["p-value"] == "< 0.001"
    assert list(frame["p-value"]) == [fmt_p_value(p) for p in raw["p_value"]]
    assert const["Std. error"] == pytest.approx(raw.loc["const", "std_err"], abs=1e-4)
    assert not json.loads(table.proto.columns).get("p_value")
