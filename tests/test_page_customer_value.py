"""Smoke tests of the Customer value page on the brand's real order files."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest


def page_on_apparel_orders() -> None:
    """Set up a view of the two real order files, then run the page."""
    import runpy
    from pathlib import Path

    import streamlit as st

    from pages import common
    from pipeline.ingest import load_files
    from pipeline.rules import StageRules
    from pipeline.stages import StageEngine

    @st.cache_data
    def dataset():
        real = Path(common.__file__).resolve().parents[2] / "shared" / "real"
        names = ("apparel_orders_2020_2023.csv", "apparel_orders_2023_2024.csv")
        return load_files([(n, (real / "shopify" / n).read_bytes()) for n in names])

    data = dataset()
    engine = StageEngine(data)
    as_of = engine.default_as_of
    rules = StageRules()
    st.session_state[common.VIEW_KEY] = common.View(
        data, engine, rules, as_of, engine.leads(rules, as_of), False,
        ("apparel orders",), "apparel",
    )
    runpy.run_path(str(Path(common.__file__).with_name("customer_value.py")))


@pytest.fixture(scope="module")
def page():
    """The page after its first run and after a calibration date and slider move."""
    at = AppTest.from_function(page_on_apparel_orders, default_timeout=300)
    at.run()
    return at


@pytest.mark.slow
def test_page_shows_fits_holdout_and_customers(page):
    """Test that the page fits both models on the real orders, shows the holdout
    check with its error, five charts and the customer table, and no exception."""
    assert not page.exception, page.exception
    assert len(page.success) == 2 and not page.warning
    labels = [m.label for m in page.metric]
    assert "Predicted repeat purchase-days" in labels and "Error" in labels
    assert len(page.get("vega_lite_chart")) == 5
    customers = page.dataframe[-1].value  # the customer table comes last
    assert len(customers) >= 5331  # distinct buyers with an email (real README)
    assert customers["clv"].notna().all()


@pytest.mark.slow
def test_page_follows_its_widgets(page):
    """Test that a later calibration end and a zero discount change the figures."""
    before = {m.label: m.value for m in page.metric}
    page.slider(key="clv_discount_pct").set_value(0)
    page.date_input(key="clv_calibration_end").set_value("2024-09-30")
    page.run()
    assert not page.exception, page.exception
    after = {m.label: m.value for m in page.metric}
    assert after["Actual"] != before["Actual"]
    assert "2024-09-30" in " ".join(s.value for s in page.subheader)
