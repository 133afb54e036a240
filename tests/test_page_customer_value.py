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
        data,
        engine,
        rules,
        as_of,
        engine.leads(rules, as_of),
        False,
        ("apparel orders",),
        "apparel",
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
    assert len(page.success) == 2
    # The holdout overshoots by far more than 20 %: one warning, by the headline.
    holdout = next(m.value for m in page.metric if m.label == "Error")
    error = float(holdout.replace("%", "").replace(",", "").strip())
    assert error > 20
    assert len(page.warning) == 1
    warning = page.warning[0].value
    assert "probably overstate future purchases and value" in warning
    assert f"({error:+.0f} %)" in warning and "purchase rates changed" in warning
    # One currency (USD) in these files: no currency choice, money in dollars.
    assert not any(s.key == "clv_currency" for s in page.selectbox)
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


def page_on_files(*relatives: str) -> None:
    """Set up a view of these real files, then run the page."""
    import runpy
    from pathlib import Path

    import streamlit as st

    from pages import common
    from pipeline.ingest import load_files
    from pipeline.rules import StageRules
    from pipeline.stages import StageEngine

    real = Path(common.__file__).resolve().parents[2] / "shared" / "real"
    data = load_files([(Path(r).name, (real / r).read_bytes()) for r in relatives])
    engine = StageEngine(data)
    as_of = engine.default_as_of
    rules = StageRules()
    st.session_state[common.VIEW_KEY] = common.View(
        data,
        engine,
        rules,
        as_of,
        engine.leads(rules, as_of),
        False,
        tuple(relatives),
        "+".join(relatives),
    )
    runpy.run_path(str(Path(common.__file__).with_name("customer_value.py")))


@pytest.mark.slow
def test_page_fits_one_currency_and_names_the_others():
    """Test USD orders beside 49 BDT orders: the USD orders are fitted (the same
    3,288 customers to 2024-12-31 as the USD file alone), the BDT ones are named
    in a warning, money is in dollars; BDT orders name no customer, and choosing
    BDT says so."""
    at = AppTest.from_function(
        page_on_files,
        args=("shopify/apparel_orders_2023_2024.csv", "shopify/cod_store_a_orders.csv"),
        default_timeout=300,
    )
    at.run()
    assert not at.exception, at.exception
    choice = at.selectbox(key="clv_currency")
    assert choice.value == "USD"
    assert any(
        "49 orders in BDT left out: choose BDT under Currency" in w.value
        for w in at.warning
    )
    value = next(m.value for m in at.metric if m.label.startswith("Customer value"))
    assert value.startswith("$")
    caption = " ".join(c.value for c in at.caption)
    # 3,288 as ``python -m pipeline clv`` gives for the USD file alone.
    assert "3,288 customers with purchases to 2024-12-31" in caption
    choice.set_value("BDT")
    at.run()
    assert not at.exception, at.exception
    assert any(
        "5,635 orders in USD left out: choose USD" in w.value for w in at.warning
    )
    # The cash-on-delivery orders name no customer: nothing to fit, and it says so.
    assert any("in this currency: choose another one" in i.value for i in at.info)


@pytest.mark.slow
def test_customer_table_writes_recency_and_age_in_whole_days(page):
    """Test that with days as the unit, recency and age are whole days and read as
    such ("412", not "412.00"); expected purchases keep their decimals."""
    import json

    table = page.dataframe[-1]
    config = json.loads(table.proto.columns)
    assert config["recency"]["label"] == "Recency (days)"
    assert config["recency"]["type_config"]["format"] == "%d"
    assert config["T"]["type_config"]["format"] == "%d"
    assert config["expected_purchases"]["type_config"]["format"] == "%.2f"
    customers = table.value
    assert (customers["recency"] % 1 == 0).all() and (customers["T"] % 1 == 0).all()
