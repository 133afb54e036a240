"""AppTest: every page runs, sliders change counts, URLs and presets reopen rules."""

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pipeline.rules import StageRules
from pipeline.stages import stage_counts
from tests.conftest import real_bytes

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = [
    "pages/overview.py",
    "pages/funnel.py",
    "pages/customer_value.py",
    "pages/attribution.py",
    "pages/leads.py",
]
APPAREL = [
    "shopify/apparel_orders_2020_2023.csv",
    "shopify/apparel_orders_2023_2024.csv",
    "shopify/apparel_abandoned_checkouts_2023_2026.csv",
]


@pytest.fixture(autouse=True)
def clear_cache():
    """AppTest runs share Streamlit's cache within a process: start each test clean."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def started(**query) -> AppTest:
    """The app, run once on the sample brand (with ``query`` as URL parameters)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def view(at: AppTest):
    return at.session_state["_lens_view"]


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_sample_brand(page):
    """Test that each page runs on the sample brand with no exception or error."""
    assert (ROOT / page).exists(), f"{page} is missing"
    at = started()
    at.switch_page(page)
    at.run()
    assert not at.exception, f"{page}: {at.exception}"
    assert not errors(at), f"{page}: {errors(at)}"


def test_moving_a_slider_changes_exactly_its_counts():
    """Test that a rule slider recomputes stages as the engine does with that rule."""
    at = started()
    before = stage_counts(view(at).leads)
    at.sidebar.slider(key="rule_engaged_opens_min_count").set_value(1)
    at.run()
    assert not at.exception
    rules = view(at).rules
    assert rules == StageRules().with_rule("engaged_opens", min_count=1)
    expected = stage_counts(view(at).engine.leads(rules, view(at).as_of))
    after = stage_counts(view(at).leads)
    assert after == expected
    # One open instead of three makes more leads engaged, never fewer people.
    assert after["engaged"] + after["purchase_intent"] >= (
        before["engaged"] + before["purchase_intent"]
    )
    assert sum(after[s] for s in ("awareness", "captured", "engaged",
                                  "purchase_intent", "customer")) == sum(
        before[s] for s in ("awareness", "captured", "engaged",
                            "purchase_intent", "customer"))
    assert after != before


def test_switching_a_rule_off_moves_its_leads_down():
    """Test that switching the sizing rule off leaves no lead in intent by sizing."""
    at = started()
    at.sidebar.checkbox(key="rule_intent_sizing_enabled").uncheck()
    at.run()
    leads = view(at).leads
    assert not (leads["rule"] == "intent_sizing").any()


def test_url_parameters_reopen_the_same_rules():
    """Test that rule values in the URL set the widgets on a fresh session."""
    at = started(rule_engaged_opens_min_count="5", rule_intent_cart_window_days="7")
    rules = view(at).rules
    assert rules.rules["engaged_opens"].min_count == 5
    assert rules.rules["intent_cart"].window_days == 7


def test_restore_defaults_and_presets():
    """Test the restore button and a preset file loaded through the uploader."""
    at = started()
    at.sidebar.slider(key="rule_engaged_opens_window_days").set_value(30)
    at.run()
    assert view(at).rules != StageRules()
    at.sidebar.button(key="restore_defaults").click()
    at.run()
    assert view(at).rules == StageRules()

    preset = StageRules().with_rule("engaged_product_views", min_count=2)
    at.sidebar.file_uploader(key="preset_load").set_value(
        ("preset.json", preset.to_json().encode(), "application/json")
    )
    at.run()
    assert not at.exception
    assert view(at).rules == preset


def test_a_bad_preset_names_the_file():
    """Test that a preset that is not rules JSON gets an error naming the file."""
    at = started()
    at.sidebar.file_uploader(key="preset_load").set_value(
        ("broken.json", b'{"rules": {"nope": {}}}', "application/json")
    )
    at.run()
    assert not at.exception
    assert any("broken.json" in e and "nope" in e for e in errors(at))
    assert view(at).rules == StageRules()


def test_real_apparel_upload_runs_every_page():
    """Test the three real apparel exports uploaded together, on every page."""
    at = started()
    files = [real_bytes(name) for name in APPAREL]
    at.sidebar.file_uploader(key="uploads").set_value(
        [(name, data, "text/csv") for name, data in files]
    )
    at.run()
    assert not at.exception, at.exception
    current = view(at)
    assert not current.is_sample
    assert set(current.file_names) == {name for name, _ in files}
    # README: 5,331 distinct customers with a purchase in the two order files.
    customers = stage_counts(current.leads)["customer"]
    assert 5_000 <= customers <= 5_400
    for page in PAGES:
        at.switch_page(page)
        at.run()
        assert not at.exception, f"{page}: {at.exception}"
