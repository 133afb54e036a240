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


REAL = Path(__file__).resolve().parents[2] / "shared" / "real" / "shopify"
APPAREL = (
    "apparel_orders_2020_2023.csv",
    "apparel_orders_2023_2024.csv",
    "apparel_abandoned_checkouts_2023_2026.csv",
)


def leads_page(files, **params) -> AppTest:
    """The Leads page run on ``files`` with the URL's query ``params``."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["_lens_files"] = tuple(files)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/leads.py")
    at.run()
    assert not at.exception, at.exception
    return at


def apparel(*extra: str) -> list[tuple[str, bytes]]:
    return [(name, (REAL / name).read_bytes()) for name in (*APPAREL, *extra)]


def test_amounts_carry_no_currency_when_no_file_states_one():
    """Test the new-user defect: with a Klaviyo profile export and an events CSV, no
    file states a currency, yet the page wrote "Predicted CLV (USD)" and "$0.00".
    Now the headings say "no stated currency" and amounts have no symbol."""
    profiles = (
        b"Phone Number,First Name,Last Name,Created,Accepts SMS Marketing,Source,"
        b"Klaviyo ID\n+14155550101,Ann,A,2024-03-01 10:00:00,TRUE,Popup,01HABC1\n"
        b"+1 (415) 555-0102,Bob,B,2024-03-02 10:00:00,FALSE,Checkout,01HABC2\n"
    )
    events = (
        b"person,timestamp,event,channel,campaign,product,order_id,value\n"
        b"+14155550101,2024-03-10T10:00:00Z,sms_click,SMS,spring,p1,,\n"
        b"+1 415 555 0101,2024-03-11T10:00:00Z,order,SMS,spring,p1,X1,40\n"
        b"(415) 555-0102,2024-03-11T10:00:00Z,order,,,,X2,30\n"
    )
    at = leads_page([("kl_phone_only.csv", profiles), ("ev_phone.csv", events)])
    table = next(d for d in at.dataframe if "predicted_clv" in d.value.columns)
    labels = {k: v.get("label") for k, v in json.loads(table.proto.columns).items()}
    assert labels["predicted_clv"] == "Predicted CLV (no stated currency)"
    assert labels["expected_value"] == "Expected value (no stated currency)"
    captions = " ".join(c.value for c in at.caption)
    assert "worth 0.00 (no stated currency) in expectation" in captions
    assert "USD" not in captions and "$" not in captions


def test_no_intent_says_the_rules_are_off_when_they_are():
    """Test the new-user defect: with checkouts uploaded and every intent rule
    switched off, the page asked for abandoned checkouts to be uploaded."""
    off = {f"rule_intent_{n}_enabled": "false" for n in ("cart", "same_product")}
    at = leads_page(apparel(), rule_intent_sizing_enabled="false", **off)
    assert at.info[0].value == (
        "No lead is in purchase intent on 2026-03-29: every purchase-intent rule is "
        "switched off. Switch one on under Stage rules in the sidebar."
    )


def test_no_intent_says_it_lapsed_after_the_last_cart():
    """Test an 'as of' day past every cart (2030): intent has lapsed, and the page
    names the last cart's day (the checkouts file's last, 2026-03-29)."""
    at = leads_page(apparel(), as_of="2030-01-01")
    assert at.info[0].value == (
        "No lead is in purchase intent on 2030-01-01: intent lapses after its rule's "
        "window (30 days at most), and the last cart, checkout or product view was on "
        "2026-03-29. Move 'As of' in the sidebar back to within that window, or widen "
        "the windows of the purchase-intent rules."
    )


def test_an_as_of_day_before_the_data_says_to_move_it_later():
    """Test the new-user defect: 'as of' 2019-06-01, before the first order
    (2020), said "No leads with an email or phone yet. Upload Shopify orders"."""
    at = leads_page(apparel(), as_of="2019-06-01")
    (info,) = at.info  # (the first order of apparel_orders_2020_2023.csv)
    assert info.value == (
        "The 'as of' day, 2019-06-01, is before the first data (2020-03-14), so "
        "nobody had been seen yet. Move 'As of' in the sidebar to 2020-03-14 or later."
    )
