"""Tests of the funnel and velocity tables on hand-built sets of leads.

Every expected figure below is computed by hand from the table in :func:`ten_leads`
or :func:`four_leads` (their comments give each lead's story), as of 10 February
2024; the customer-value glue is checked on model parameters whose prediction is
known in closed form.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipeline import clv_pricing, data_coverage, funnel_weekly, survival
from pipeline.clv import PurchaseSummary
from pipeline.clv_fit import ClvModels
from pipeline.clv_optim import Fit
from pipeline.data_coverage import coverage_warnings
from pipeline.funnel import (
    customer_kinds,
    days_to_convert,
    funnel_table,
    reached_stages,
    stage_split,
    stage_win_rates,
    stalled_leads,
    velocity_table,
)
from pipeline.funnel_weekly import weekly_conversion
from pipeline.model import (
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    PEOPLE_COLUMNS,
    Dataset,
    conform,
)
from pipeline.rules import StageRules
from pipeline.stages import StageEngine, stage_counts
from pipeline.velocity import replay_days, velocity_figures

AS_OF = dt.date(2024, 2, 10)


def ts(text):
    return pd.Timestamp(f"{text}T10:00Z") if text else pd.NaT


@pytest.fixture
def ten_leads() -> pd.DataFrame:
    """Ten leads: two anonymous, three captured, one engaged, one intent, three
    customers (one repeat)."""
    rows = [
        # person, stage, kind, identified, captured, engaged, intent, customer,
        # repeat, orders, first order value
        ("a1", "awareness", None, False, "", "", "", "", "", 0, np.nan),
        ("a2", "awareness", None, False, "", "", "", "", "", 0, np.nan),
        ("c1", "captured", None, True, "2024-01-01", "2024-01-05", "", "", "", 0,
         np.nan),  # engaged once, lapsed
        ("c2", "captured", None, True, "2024-01-02", "", "", "", "", 0, np.nan),
        ("c3", "captured", None, True, "", "", "", "", "", 0, np.nan),  # undated
        ("e1", "engaged", None, True, "2024-01-01", "2024-01-10", "", "", "", 0,
         np.nan),
        ("i1", "purchase_intent", None, True, "2024-01-03", "2024-01-04",
         "2024-01-20", "", "", 0, np.nan),
        ("k1", "customer", "first", True, "2024-01-01", "2024-01-05", "",
         "2024-01-11", "", 1, 100.0),
        ("k2", "customer", "repeat", True, "2024-01-08", "", "2024-01-09",
         "2024-01-12", "2024-02-01", 2, 50.0),
        ("k3", "customer", "first", True, "2024-01-15", "", "", "2024-01-15", "", 1,
         60.0),
    ]
    frame = pd.DataFrame(rows, columns=[
        "person_id", "stage", "customer_kind", "identified", "entered_captured",
        "entered_engaged", "entered_purchase_intent", "entered_customer",
        "entered_repeat", "orders", "first_order_value",
    ])
    for col in frame.columns:
        if col.startswith("entered_"):
            frame[col] = frame[col].map(ts).astype("datetime64[us, UTC]")
    frame["rule"] = frame["stage"]
    return frame


def test_reached_stages_nest(ten_leads):
    """Test that each stage's reached set contains the next one."""
    reached = reached_stages(ten_leads)
    assert reached.sum().to_dict() == {
        "awareness": 10, "captured": 8, "engaged": 6, "purchase_intent": 4,
        "customer": 3,
    }
    for low, high in zip(reached.columns[:-1], reached.columns[1:], strict=True):
        assert (reached[low] | ~reached[high]).all()


def test_funnel_table_counts_and_conversion(ten_leads):
    """Test counts and conversions: 8/10, 6/8 (c1 was engaged once), 4/6, 3/4."""
    table = funnel_table(ten_leads).set_index("stage")
    assert table["leads"].tolist() == [2, 3, 1, 1, 3]
    assert table["reached"].tolist() == [10, 8, 6, 4, 3]
    np.testing.assert_allclose(
        table["conversion"].to_numpy()[:4], [0.8, 0.75, 4 / 6, 0.75]
    )
    assert np.isnan(table.loc["customer", "conversion"])
    assert table["share"].sum() == pytest.approx(1.0)


def test_velocity_table_by_hand(ten_leads):
    """Test win rate 3/8, median 4 days (10, 4, 0), average 70, velocity 32.8125."""
    assert sorted(days_to_convert(ten_leads).tolist()) == [0.0, 4.0, 10.0]
    table = velocity_table(ten_leads).set_index("metric")["value"]
    assert table["identified leads"] == 8
    assert table["customers"] == 3
    assert table["win rate"] == pytest.approx(0.375)
    assert table["open leads"] == 5
    assert table["median days to convert"] == pytest.approx(4.0)
    assert table["average first order"] == pytest.approx(70.0)
    # 5 open leads x 0.375 x 70 / 4 days
    assert table["pipeline velocity"] == pytest.approx(32.8125)
    # captured 3 x 3/8 x 70 + engaged 1 x 1/4 x 70 + intent 1 x 1/2 x 70
    assert table["pipeline value"] == pytest.approx(78.75 + 17.5 + 35.0)


def test_stage_win_rates_by_hand(ten_leads):
    """Test each open stage's entered, won and win rate."""
    table = stage_win_rates(ten_leads).set_index("stage")
    assert table["entered"].tolist() == [8, 4, 2]
    assert table["won"].tolist() == [3, 1, 1]
    np.testing.assert_allclose(table["win_rate"], [0.375, 0.25, 0.5])


def test_money_not_added_across_currencies(ten_leads):
    """Test that two currencies leave money metrics uncomputed, with the reason."""
    table = velocity_table(ten_leads, currencies=["USD", "EUR"]).set_index("metric")
    assert np.isnan(table.loc["pipeline value", "value"])
    assert "several currencies" in table.loc["pipeline value", "how"]
    assert table.loc["win rate", "value"] == pytest.approx(0.375)


def test_weekly_conversion_by_hand(ten_leads):
    """Test entries and advances per Monday week and stage."""
    table = weekly_conversion(ten_leads)
    got = {
        (str(row.week), row.stage): (row.entered, row.advanced)
        for row in table.itertuples()
    }
    assert got == {
        ("2024-01-01", "captured"): (5, 4),
        ("2024-01-01", "engaged"): (3, 2),
        ("2024-01-08", "captured"): (1, 1),
        ("2024-01-08", "engaged"): (1, 0),
        ("2024-01-08", "purchase_intent"): (1, 1),
        ("2024-01-08", "customer"): (2, 1),
        ("2024-01-15", "captured"): (1, 1),
        ("2024-01-15", "customer"): (1, 0),
        ("2024-01-15", "purchase_intent"): (1, 0),
    }
    assert (table["share_advanced"] == table["advanced"] / table["entered"]).all()


def test_stalled_leads_threshold(ten_leads):
    """Test days in stage as of 10 Feb: c1 40, c2 39, e1 31, i1 21; c3 undated."""
    assert stalled_leads(ten_leads, AS_OF, 30)["person_id"].tolist() == [
        "c1", "c2", "e1"
    ]
    stalled = stalled_leads(ten_leads, AS_OF, 20)
    assert stalled.set_index("person_id")["days_in_stage"].to_dict() == {
        "c1": 40, "c2": 39, "e1": 31, "i1": 21
    }
    assert stalled_leads(ten_leads, AS_OF, 39)["person_id"].tolist() == ["c1"]


def test_stalled_days_count_in_the_store_time_zone(ten_leads):
    """Test that 10 Jan 03:00 UTC is 9 Jan in New York: 32 days to 10 Feb."""
    leads = ten_leads.copy()
    leads.loc[leads["person_id"] == "e1", "entered_engaged"] = pd.Timestamp(
        "2024-01-10T03:00Z"
    )
    local = stalled_leads(leads, AS_OF, 0, "America/New_York").set_index("person_id")
    assert local.loc["e1", "days_in_stage"] == 32
    assert stalled_leads(leads, AS_OF, 0).set_index("person_id").loc[
        "e1", "days_in_stage"
    ] == 31


def test_funnel_agrees_with_engine_counts():
    """Test that the funnel table's current counts equal stage_counts."""
    events = pd.DataFrame({
        "person_id": ["a@x.com", "a@x.com", "b@x.com", "ga4:1", "c@x.com"],
        "ts": pd.to_datetime(["2024-01-01T10:00Z", "2024-01-05T10:00Z",
                              "2024-01-03T10:00Z", "2024-01-03T10:00Z",
                              "2024-01-04T10:00Z"]),
        "event": ["signup", "order", "sizing_view", "session", "email_open"],
        "value": [np.nan, 30.0, np.nan, np.nan, np.nan],
    })
    engine = StageEngine(Dataset(events=conform(events, EVENT_COLUMNS)))
    leads = engine.leads(StageRules(), dt.date(2024, 1, 6))
    counts = stage_counts(leads)
    table = funnel_table(leads).set_index("stage")
    assert {s: int(table.loc[s, "leads"]) for s in table.index} == {
        s: counts[s] for s in table.index
    }
    assert counts == {"awareness": 1, "captured": 1, "engaged": 0,
                      "purchase_intent": 1, "customer": 1, "customer_first": 1,
                      "customer_repeat": 0}
    velocity = velocity_table(leads).set_index("metric")["value"]
    # a@x.com: captured at signup 1 Jan 10:00, first order 5 Jan 10:00.
    assert velocity["median days to convert"] == pytest.approx(4.0)


def test_coverage_warnings_name_the_gap_and_missing_data():
    """Test the checkout-past-orders gap, missing engagement and undated captures."""
    events = pd.DataFrame({
        "person_id": ["a@x.com", "b@x.com"],
        "ts": pd.to_datetime(["2024-03-01T10:00Z", "2025-06-30T10:00Z"]),
        "event": ["order", "checkout_started"],
        "value": [50.0, np.nan],
    })
    orders = pd.DataFrame({
        "order_id": ["1"], "person_id": ["a@x.com"],
        "ts": pd.to_datetime(["2024-03-01T10:00Z"]), "currency": ["USD"],
        "status": ["purchase"], "is_purchase": [True], "total": [50.0],
        "refunded": [0.0], "net_value": [50.0],
    })
    people = pd.DataFrame({"person_id": ["z@x.com"], "email": ["z@x.com"]})
    data = Dataset(
        events=conform(events, EVENT_COLUMNS),
        orders=conform(orders, ORDER_COLUMNS),
        people=conform(people, PEOPLE_COLUMNS),
    )
    notes = coverage_warnings(data)
    assert any("2025-06-30" in n and "2024-03-01" in n for n in notes)
    assert any(n.startswith("No engagement events") for n in notes)
    assert any(n.startswith("1 captured leads have no date") for n in notes)
    assert not any(n.startswith("No orders") for n in notes)
    empty = coverage_warnings(Dataset())
    assert [n.split(" ")[1] for n in empty] == ["engagement", "carts,", "orders"]


def test_win_rate_counts_buyers_when_customers_need_two_orders(ten_leads):
    """Test that a one-order lead under a two-order customer rule still "bought"."""
    leads = ten_leads.copy()
    one_order = leads["person_id"] == "k1"
    leads.loc[one_order, "stage"] = "captured"
    leads.loc[one_order, "customer_kind"] = None
    table = velocity_table(leads).set_index("metric")["value"]
    assert table["customers"] == 3
    assert table["win rate"] == pytest.approx(3 / 8)
    assert table["open leads"] == 6


# --- Velocity with censoring and customer value -------------------------------------

def utc(text):
    return pd.Timestamp(text, tz="UTC") if text else pd.NaT


@pytest.fixture
def any_cohort_size(monkeypatch):
    """Figures for cohorts of any size: the hand-computed examples have 4 to 6
    leads, fewer than :data:`pipeline.survival.MIN_LEADS`."""
    monkeypatch.setattr(survival, "MIN_LEADS", 1)


@pytest.fixture
def four_leads() -> pd.DataFrame:
    """Four captured leads, as of 10 Feb 2024 (censored at 11 Feb 00:00 UTC).

    a bought 10 days after capture, b 20 days after; c (captured 5 days before the
    end) and d (12 days before) are still open. Kaplan-Meier over the captured
    cohort: c censored at 5; at 10 three at risk (a, b, d), one event: S = 2/3; d
    censored at 12; at 20 one at risk (b), one event: S = 0.
    """
    rows = [
        ("a", "customer", "2024-01-01", "2024-01-11", 100.0),
        ("b", "customer", "2024-01-01", "2024-01-21", 60.0),
        ("c", "captured", "2024-02-06", "", np.nan),
        ("d", "captured", "2024-01-30", "", np.nan),
    ]
    never = pd.to_datetime([None] * len(rows), utc=True)
    return pd.DataFrame(
        {
            "person_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "identified": True,
            "entered_captured": pd.to_datetime([utc(r[2]) for r in rows], utc=True),
            "entered_engaged": never,
            "entered_purchase_intent": never,
            "entered_customer": pd.to_datetime([utc(r[3]) for r in rows], utc=True),
            "entered_repeat": never,
            "first_order_value": [r[4] for r in rows],
        }
    )


@pytest.mark.usefixtures("any_cohort_size")
def test_velocity_figures_by_hand(four_leads):
    """Test win probability, time to customer and pipeline value on four leads.

    Horizon 10 days: P(win | captured) = 1 - S(10) = 1/3. Open leads, conditional
    on their days in the stage: c (5 days) 1 - S(15)/S(5) = 1/3; d (12 days)
    1 - S(22)/S(12) = 1. Pipeline value = (1/3 + 1) x 150 = 200.
    """
    velocity = velocity_figures(
        four_leads, AS_OF, 150.0, horizon_days=10, weeks=2
    )
    win = velocity.win.set_index("stage")
    assert win.loc["captured", "win_probability"] == pytest.approx(1 / 3)
    assert win.loc["captured", "leads"] == 4
    assert np.isnan(win.loc["engaged", "win_probability"])

    value = velocity.value
    stage = value.by_stage.set_index("stage")
    assert stage.loc["captured", "open_leads"] == 2
    assert stage.loc["captured", "expected_customers"] == pytest.approx(4 / 3)
    assert value.total == pytest.approx((1 / 3 + 1) * 150)
    assert value.customer_value == 150.0

    # KM: S falls to 2/3 at 10 days and 0 at 20 days, so the median is 20 days.
    assert velocity.time_to_customer.median_days == pytest.approx(20.0)
    by = velocity.converted_by.set_index("days")["share"]
    assert by[7] == pytest.approx(0.0)
    assert by[30] != by[30]  # beyond the longest follow-up (20 days): unknown


@pytest.mark.usefixtures("any_cohort_size")
def test_velocity_without_a_customer_value_uses_the_mean_first_order(four_leads):
    """Test the fallback price: mean first order (100 + 60) / 2 = 80 per customer."""
    velocity = velocity_figures(
        four_leads, AS_OF, float("nan"), horizon_days=10, weeks=1
    )
    assert velocity.value.customer_value == pytest.approx(80.0)
    assert velocity.value.total == pytest.approx((1 / 3 + 1) * 80)


def summary_of(first_values) -> PurchaseSummary:
    customers = pd.DataFrame({"first_value": first_values})
    return PurchaseSummary(customers, "days", AS_OF, None)


def test_new_customer_value_falls_back_with_the_reason():
    """Test that unusable models price a customer at the mean first purchase, 75."""
    why = "only 3 of 40 customers bought again"
    models = clv_pricing.CustomerModels(
        summary_of([100.0, 50.0]), ClvModels(Fit(reason=why), Fit(reason=why)), why
    )
    value = clv_pricing.expected_new_customer_value(models)
    assert value.value == pytest.approx(75.0)
    assert not value.from_models and value.future == 0.0
    assert why in value.how and "first purchase only" in value.how


def test_new_customer_value_adds_the_models_future_value():
    """Test first purchase + E[spend] x discounted E[Y(t) | x = t_x = T = 0].

    With r = 1, alpha = 100 days and the dropout probability near 0 (a = 1e-6,
    b = 1), BG/NBD's E[Y(t)] at x = t_x = T = 0 is close to r t / alpha (Poisson
    rate with mean 1 / 100 a day); over 30 days undiscounted that is 0.3 orders.
    Gamma-Gamma with p = 2, q = 3, v = 20 has mean spend p v / (q - 1) = 20, so the
    future value is about 0.3 x 20 = 6 on top of the 50 first purchase.
    """
    bg = Fit(params={"r": 1.0, "alpha": 100.0, "a": 1e-6, "b": 1.0}, converged=True)
    gg = Fit(params={"p": 2.0, "q": 3.0, "v": 20.0}, converged=True)
    models = clv_pricing.CustomerModels(summary_of([40.0, 60.0]), ClvModels(bg, gg))
    value = clv_pricing.expected_new_customer_value(
        models, horizon_days=30, annual_discount=0.0
    )
    assert value.from_models
    assert value.first_purchase == pytest.approx(50.0)
    assert value.future == pytest.approx(6.0, rel=0.01)
    assert value.value == pytest.approx(value.first_purchase + value.future)


def test_customer_models_explain_too_few_repeat_buyers():
    """Test that one order gives no fit, the reason, and the first order as value."""
    from tests.test_attribution_events import make_dataset

    dataset = make_dataset([], [("o1", "a", "2024-01-07 10:00", 80.0)])
    models = clv_pricing.customer_models(dataset, AS_OF)
    assert not models.usable
    assert "repeat buyers" in models.reason
    value = clv_pricing.expected_new_customer_value(models)
    assert value.value == pytest.approx(80.0) and not value.from_models
    assert clv_pricing.customer_values(models).empty


def test_weekly_change_sentences_say_what_the_test_found():
    """Test the plain sentences for a clear change, no change and no test."""
    conversion = pd.DataFrame(
        {
            "from_stage": ["captured", "engaged", "purchase_intent"],
            "to_stage": ["engaged", "purchase_intent", "customer"],
            "week_at_risk": [100, 50, 0],
            "week_converted": [30, 5, 0],
            "week_rate": [0.30, 0.10, np.nan],
            "trailing_rate": [0.10, 0.11, np.nan],
            "p_value": [0.0001, 0.8, np.nan],
            "differs": [True, False, False],
        }
    )
    lines = funnel_weekly.weekly_change_sentences(conversion)
    assert lines[0].startswith("Captured → engaged: 30 of 100 moved on this week")
    assert "this week is higher, beyond chance" in lines[0]
    assert "no clear change" in lines[1]
    assert "nobody was open" in lines[2] and "no test possible" in lines[2]


def _coverage_gap_dataset() -> Dataset:
    """Orders to 2024-03-01 and a checkout in 2025, no engagement events at all."""
    events = pd.DataFrame({
        "person_id": ["a@x.com", "b@x.com"],
        "ts": pd.to_datetime(["2024-03-01T10:00Z", "2025-06-30T10:00Z"]),
        "event": ["order", "checkout_started"],
        "value": [50.0, np.nan],
    })
    return Dataset(events=conform(events, EVENT_COLUMNS), timezone="Etc/GMT+8")


def test_steps_without_a_data_source_are_named_not_zero():
    """Test that a step into or out of a stage with no data says why (QA defect 5).

    The data has orders and checkouts but no engagement and no traffic events, so
    captured → engaged and engaged → intent cannot be measured; intent → customer can.
    """
    missing = data_coverage.stages_without_data(_coverage_gap_dataset())
    assert missing == {
        "awareness": "no anonymous traffic uploaded",
        "engaged": "no engagement events uploaded",
    }
    step = data_coverage.step_without_data
    assert step("captured", "engaged", missing) == "no engagement events uploaded"
    assert step("engaged", "purchase_intent", missing) == (
        "no engagement events uploaded"
    )
    assert step("purchase_intent", "customer", missing) is None
    assert set(data_coverage.stages_without_data(Dataset())) == {
        "awareness", "engaged", "purchase_intent", "customer", "repeat"
    }


def test_order_data_end_is_the_last_order_day_in_the_store_zone():
    """Test the order coverage end: 2024-03-01 10:00 UTC is 02:00 that day at −08:00;
    an order after today (a typo year) does not extend it."""
    data = _coverage_gap_dataset()
    assert data_coverage.order_data_end(data) == dt.date(2024, 3, 1)
    future = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=900)
    data.events = conform(pd.concat([data.events, pd.DataFrame({
        "person_id": ["c@x.com"], "ts": [future], "event": ["order"],
        "value": [5.0]})]), EVENT_COLUMNS)
    assert data_coverage.order_data_end(data) == dt.date(2024, 3, 1)
    assert data_coverage.order_data_end(Dataset()) is None


def test_weekly_sentences_stop_at_the_order_data_and_missing_stages():
    """Test no "0 of N moved on this week" for weeks after the orders end, nor for a
    step whose stage has no data (QA: "0 of 3,578 moved on this week" in 2026-03)."""
    conversion = pd.DataFrame(
        {
            "from_stage": ["captured", "customer"],
            "to_stage": ["engaged", "repeat"],
            "week_at_risk": [5894, 3578],
            "week_converted": [0, 0],
            "week_rate": [0.0, 0.0],
            "trailing_rate": [0.0, 0.0],
            "p_value": [np.nan, np.nan],
            "differs": [False, False],
        }
    )
    lines = funnel_weekly.weekly_change_sentences(
        conversion,
        missing={"engaged": "no engagement events uploaded"},
        orders_end=dt.date(2024, 12, 31),
        as_of=dt.date(2026, 3, 29),
    )
    assert lines[0] == (
        "Captured → engaged: not measured (no engagement events uploaded)."
    )
    assert "moved on this week" not in lines[1]
    assert "order data ends on 2024-12-31" in lines[1]
    # inside the order data the sentence is the usual one
    inside = funnel_weekly.weekly_change_sentences(
        conversion, orders_end=dt.date(2024, 12, 31), as_of=dt.date(2024, 12, 31)
    )
    assert inside[1].startswith("Customer → repeat buyer: 0 of 3,578 moved on")


def test_weekly_segments_break_lines_at_gaps():
    """Test that weeks 1, 2 then 5 of one stage form two segments (a 3-week gap)."""
    weeks = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-02-05", "2024-01-01"])
    table = pd.DataFrame({
        "week": weeks, "stage": ["captured"] * 3 + ["customer"],
        "entered": [1, 2, 3, 4], "advanced": [0, 1, 1, 2],
        "share_advanced": [0.0, 0.5, 1 / 3, 0.5],
    })
    out = funnel_weekly.weekly_segments(table)
    keys = zip(out["stage"], out["week"], strict=True)
    by = dict(zip(keys, out["segment"], strict=True))
    assert by[("captured", weeks[0])] == by[("captured", weeks[1])] == "captured:0"
    assert by[("captured", weeks[2])] == "captured:1"
    assert by[("customer", weeks[3])] == "customer:0"
    assert len(out) == 4


def test_stage_split_counts_customers_by_kind(ten_leads):
    """Test the stage bars: 2, 3, 1, 1 below customer; customers 2 first, 1 repeat."""
    bars = stage_split(ten_leads)
    got = {(r.stage, r.part): r.leads for r in bars.itertuples()}
    assert got == {
        ("awareness", "all"): 2, ("captured", "all"): 3, ("engaged", "all"): 1,
        ("purchase_intent", "all"): 1, ("customer", "first"): 2,
        ("customer", "repeat"): 1,
    }
    assert bars["share"].sum() == pytest.approx(1.0)
    assert bars["share"].iloc[-1] == pytest.approx(0.1)


def test_customer_kinds_put_first_time_before_repeat():
    """Test 1 first-time and 3 repeat customers: first-time first though fewer,
    and a kind without customers counted as 0 in its place."""
    leads = pd.DataFrame(
        {
            "stage": ["customer"] * 4 + ["captured"],
            "customer_kind": pd.Categorical(
                ["repeat", "repeat", "first", "repeat", None], ["first", "repeat"]
            ),
        }
    )
    assert list(customer_kinds(leads).items()) == [("first", 1), ("repeat", 3)]
    repeat_only = leads[leads["customer_kind"] != "first"]
    assert list(customer_kinds(repeat_only).items()) == [("first", 0), ("repeat", 3)]


def test_weeks_with_orders_drop_weeks_after_the_last_order(ten_leads):
    """Test that orders ending Wed 10 Jan 2024 keep the weeks of 1 and 8 January."""
    weekly = weekly_conversion(ten_leads)
    kept, cut = funnel_weekly.weeks_with_orders(weekly, dt.date(2024, 1, 10))
    assert cut
    assert sorted(set(kept["week"].dt.date.astype(str))) == ["2024-01-01", "2024-01-08"]
    everything, cut = funnel_weekly.weeks_with_orders(weekly, None)
    assert not cut and len(everything) == len(weekly)


def test_last_weeks_keeps_the_latest_weeks(ten_leads):
    """Test that the last 2 weeks of 1, 8 and 15 January are 8 and 15 January."""
    weekly, _ = funnel_weekly.weeks_with_orders(weekly_conversion(ten_leads), None)
    recent = funnel_weekly.last_weeks(weekly, 2)
    assert sorted(set(recent["week"].dt.date.astype(str))) == [
        "2024-01-08", "2024-01-15",
    ]


def test_value_weeks_stop_at_the_order_data():
    """Test that weeks ending after the last order day are counted and left out."""
    by_week = pd.DataFrame({
        "week_end": [dt.date(2024, 1, 7), dt.date(2024, 1, 14), dt.date(2024, 1, 21)],
        "open_leads": [3, 4, 5], "expected_customers": [1.0, 1.5, 2.0],
        "value": [10.0, 15.0, 20.0],
    })
    kept, cut = funnel_weekly.value_weeks_with_orders(by_week, dt.date(2024, 1, 14))
    assert cut == 1
    assert kept["value"].tolist() == [10.0, 15.0]
    kept, cut = funnel_weekly.value_weeks_with_orders(by_week, None)
    assert cut == 0 and len(kept) == 3


def test_replay_days_are_each_week_back_and_30_days_back():
    """Test the days the weekly value history replays, for 2 weeks from 10 Feb."""
    assert replay_days(AS_OF, 2) == [
        dt.date(2024, 2, 3), dt.date(2024, 1, 27), dt.date(2024, 1, 11),
    ]
