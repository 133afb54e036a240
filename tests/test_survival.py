"""Tests of win probability, time to customer, stage conversion and pipeline value."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy.stats import norm

from pipeline import survival
from pipeline.pipeline_value import pipeline_value
from pipeline.survival import (
    conversion_durations,
    curve_from_origin,
    stage_conversion_intervals,
    time_to_customer,
    win_probability_by_stage,
)
from pipeline.velocity import converted_by

AS_OF = dt.date(2024, 1, 10)  # open leads are censored at 2024-01-11 00:00 UTC


def leads_table(rows: list[dict]) -> pd.DataFrame:
    """A leads table with the stage engine's columns from partial rows."""
    columns = [
        "entered_captured", "entered_engaged", "entered_purchase_intent",
        "entered_customer", "entered_repeat",
    ]
    frame = pd.DataFrame(rows)
    for column in columns:
        frame[column] = pd.to_datetime(
            frame[column] if column in frame else pd.NaT, utc=True
        )
    frame["first_order_value"] = frame.get("first_order_value", np.nan)
    return frame


@pytest.fixture
def any_cohort_size(monkeypatch):
    """Figures for cohorts of any size: the hand-computed examples have 4 to 6
    leads, fewer than :data:`pipeline.survival.MIN_LEADS`."""
    monkeypatch.setattr(survival, "MIN_LEADS", 1)


@pytest.fixture
def tiny():
    """Durations 1, 2, 3, 5 days (converted) and 2, 4 (censored), plus a lead
    captured by its first order and one never captured (both left out)."""
    return leads_table(
        [
            {"person_id": "a", "stage": "customer", "entered_captured": "2024-01-01",
             "entered_customer": "2024-01-02", "first_order_value": 50.0},
            {"person_id": "b", "stage": "customer", "entered_captured": "2024-01-01",
             "entered_customer": "2024-01-03", "first_order_value": 70.0},
            {"person_id": "c", "stage": "captured", "entered_captured": "2024-01-09"},
            {"person_id": "d", "stage": "customer", "entered_captured": "2024-01-01",
             "entered_customer": "2024-01-04", "first_order_value": 30.0},
            {"person_id": "e", "stage": "captured", "entered_captured": "2024-01-07"},
            {"person_id": "f", "stage": "customer", "entered_captured": "2024-01-01",
             "entered_customer": "2024-01-06", "first_order_value": 90.0},
            {"person_id": "g", "stage": "customer", "entered_captured": "2024-01-05",
             "entered_customer": "2024-01-05", "first_order_value": 10.0},
            {"person_id": "h", "stage": "awareness"},
        ]
    )


def test_durations_are_censored_at_the_end_of_as_of(tiny):
    """Test the cohort: converters' times, censored open leads, exclusions."""
    durations = conversion_durations(tiny, AS_OF).set_index("person_id")
    assert list(durations.index) == ["a", "b", "c", "d", "e", "f"]
    assert_allclose(durations["days"], [1, 2, 2, 3, 4, 5])
    assert list(durations["converted"]) == [True, True, False, True, False, True]


@pytest.mark.usefixtures("any_cohort_size")
def test_time_to_customer_matches_hand_computed_kaplan_meier(tiny):
    """Test the KM steps 5/6, 2/3, 4/9, 0 at days 1, 2, 3, 5 (hand computed), the
    median of 3 days and the Greenwood log(-log) band at day 1: S = 5/6,
    se = (5/6) sqrt(1/30), bounds S^exp(±1.96 se / (S |ln S|))."""
    result = time_to_customer(tiny, AS_OF)
    curve = result.curve
    assert_allclose(curve["days"], [1, 2, 3, 5])
    assert_allclose(curve["survival"], [5 / 6, 2 / 3, 4 / 9, 0])
    assert result.median_days == 3
    assert (result.leads, result.converted) == (6, 4)
    s, se = 5 / 6, 5 / 6 * np.sqrt(1 / 30)
    spread = 1.959964 * se / (s * abs(np.log(s)))
    assert curve["low"].iloc[0] == pytest.approx(s ** np.exp(spread), rel=1e-5)
    assert curve["high"].iloc[0] == pytest.approx(s ** np.exp(-spread), rel=1e-5)


def test_time_to_customer_without_conversions_has_no_median():
    """Test that no conversions give a NaN median, not 0 or the follow-up time."""
    leads = leads_table([{"person_id": "a", "stage": "captured",
                          "entered_captured": "2024-01-01"}])
    result = time_to_customer(leads, AS_OF)
    assert np.isnan(result.median_days) and result.converted == 0


@pytest.mark.usefixtures("any_cohort_size")
def test_win_probability_is_one_minus_km_at_the_horizon(tiny):
    """Test P(win within 2.5 days) = 1 - S(2.5) = 1/3 and within 10 days = 1."""
    table = win_probability_by_stage(tiny, AS_OF, horizon_days=2.5).set_index("stage")
    assert table.loc["captured", "win_probability"] == pytest.approx(1 / 3)
    assert table.loc["captured", "low"] <= 1 / 3 <= table.loc["captured", "high"]
    assert np.isnan(table.loc["engaged", "win_probability"])
    later = win_probability_by_stage(tiny, AS_OF, horizon_days=10).set_index("stage")
    assert later.loc["captured", "win_probability"] == pytest.approx(1.0)


@pytest.mark.usefixtures("any_cohort_size")
def test_win_probability_when_nobody_converted_is_zero_with_an_exact_bound():
    """Test a cohort with no customer (QA: the Funnel crashed on it): P(win) is 0,
    and the upper bound is Clopper-Pearson's for 0 of the 3 leads followed 5 days
    or more, 1 - 0.025^(1/3) = 0.7076 (scipy's beta quantile gives the same)."""
    from scipy.stats import beta

    leads = leads_table(
        [
            {"person_id": p, "stage": "captured", "entered_captured": day}
            for p, day in [("a", "2024-01-01"), ("b", "2024-01-02"),
                           ("c", "2024-01-05"), ("d", "2024-01-08")]
        ]
    )
    table = win_probability_by_stage(leads, AS_OF, horizon_days=5).set_index("stage")
    row = table.loc["captured"]
    assert (row["leads"], row["converted"]) == (4, 0)
    assert (row["win_probability"], row["low"]) == (0.0, 0.0)
    assert row["high"] == pytest.approx(1 - 0.025 ** (1 / 3))
    assert row["high"] == pytest.approx(beta.ppf(0.975, 1, 3))
    # nobody followed for 60 days: the bound is unknown, not 0
    later = win_probability_by_stage(leads, AS_OF, horizon_days=60)
    assert np.isnan(later.set_index("stage").loc["captured", "high"])


def test_as_of_is_a_local_day():
    """Test that a purchase at 2024-01-11 03:00 UTC is still on Jan 10 in Los
    Angeles, so it counts as converted there but is censored in UTC."""
    leads = leads_table([{"person_id": "a", "stage": "customer",
                          "entered_captured": "2024-01-01",
                          "entered_customer": "2024-01-11 03:00"}])
    utc = conversion_durations(leads, AS_OF)
    la = conversion_durations(leads, AS_OF, timezone="America/Los_Angeles")
    assert not utc["converted"].iloc[0] and la["converted"].iloc[0]


def test_stage_conversion_wilson_interval_and_weekly_test():
    """Test Wilson 95 % for 5 of 10, (0.2366, 0.7634) by the formula of Wilson (1927),
    and the z-test of this week (5 of 10) against 4 trailing weeks (0 of 40):
    pooled p = 0.1, z = 0.5 / sqrt(0.09 (1/10 + 1/40)) = 4.714."""
    rows = [
        {"person_id": f"p{i}", "stage": "engaged" if i < 5 else "captured",
         "entered_captured": "2024-01-01",
         "entered_engaged": "2024-03-26" if i < 5 else None}
        for i in range(10)
    ]
    table = stage_conversion_intervals(leads_table(rows), dt.date(2024, 3, 31))
    row = table.set_index("from_stage").loc["captured"]
    assert (row["reached"], row["converted"], row["rate"]) == (10, 5, 0.5)
    assert (round(row["low"], 4), round(row["high"], 4)) == (0.2366, 0.7634)
    assert (row["week_at_risk"], row["week_converted"]) == (10, 5)
    assert row["trailing_rate"] == 0.0
    z = 0.5 / np.sqrt(0.1 * 0.9 * (1 / 10 + 1 / 40))
    assert row["p_value"] == pytest.approx(2 * norm.sf(z), rel=1e-6)
    assert row["differs"]


def test_wilson_interval_for_eight_of_ten():
    """Test Wilson 95 % for 8 of 10: (0.4902, 0.9433), hand computed."""
    rows = [
        {"person_id": f"p{i}", "stage": "engaged", "entered_captured": "2024-01-01",
         "entered_engaged": "2024-01-02" if i < 8 else None}
        for i in range(10)
    ]
    table = stage_conversion_intervals(leads_table(rows), AS_OF)
    row = table.set_index("from_stage").loc["captured"]
    assert (round(row["low"], 4), round(row["high"], 4)) == (0.4902, 0.9433)


def test_pipeline_value_weights_open_leads_by_conditional_win_probability(tiny):
    """Test the value of the two open leads with a 2-day horizon: c (2 days in
    stage) wins with 1 - S(4)/S(2) = 1/3, e (4 days) with 1 - S(6)/S(4) = 1."""
    result = pipeline_value(tiny, AS_OF, customer_value=100.0, horizon_days=2)
    by_stage = result.by_stage.set_index("stage")
    assert by_stage.loc["captured", "open_leads"] == 2
    assert by_stage.loc["captured", "expected_customers"] == pytest.approx(4 / 3)
    assert result.total == pytest.approx(400 / 3)
    assert result.low <= result.total <= result.high
    assert result.by_week["week_end"].iloc[-1] == AS_OF


def test_pipeline_value_defaults_to_mean_first_order(tiny):
    """Test that without a model value a new customer is worth the mean first order
    of the customers (50, 70, 30, 90, 10 -> 50)."""
    result = pipeline_value(tiny, AS_OF, customer_value=None, horizon_days=2)
    assert result.customer_value == pytest.approx(50.0)


def test_pipeline_value_history_uses_stages_at(tiny):
    """Test that the weekly history asks ``stages_at`` for past days and that the
    month-over-month change is now minus a month ago."""
    asked = []

    def stages_at(day):
        asked.append(day)
        return tiny.assign(stage="captured").iloc[:0]

    result = pipeline_value(tiny, AS_OF, 100.0, horizon_days=2, weeks=2,
                            stages_at=stages_at)
    assert asked[:2] == [AS_OF - dt.timedelta(days=14), AS_OF - dt.timedelta(days=7)]
    assert result.by_week["value"].iloc[-1] == pytest.approx(result.total)
    mom = result.month_over_month
    assert mom["value_month_ago"] == 0.0
    assert mom["change"] == pytest.approx(result.total)


# ---- honest uncertainty with few leads (new-user test) -------------------------------
def three_captured() -> pd.DataFrame:
    """The new-user test's leads: three captured, one buys 10 days after capture,
    the other two are open 9.6 and 7.6 days (tests/data/new_user/)."""
    return leads_table(
        [
            {"person_id": "a", "stage": "customer",
             "entered_captured": "2023-12-31 00:00",
             "entered_customer": "2024-01-10 00:00", "first_order_value": 35.0},
            {"person_id": "b", "stage": "captured",
             "entered_captured": "2024-01-01 10:00"},
            {"person_id": "c", "stage": "captured",
             "entered_captured": "2024-01-03 10:00"},
        ]
    )


def test_three_leads_give_no_win_probability_but_say_too_few():
    """Test that 1 buyer of 3 leads is not "100.0 % (100.0 % - 100.0 %)": below
    MIN_LEADS the win probability, median and shares are NaN with the reason."""
    note = "too few leads: 3 entered, at least 10 are needed for a figure"
    win = win_probability_by_stage(three_captured(), AS_OF).set_index("stage")
    row = win.loc["captured"]
    assert row["note"] == note
    assert np.isnan([row["win_probability"], row["low"], row["high"]]).all()
    assert win.loc["engaged", "note"] == ""  # nobody entered: nothing to say
    ttc = time_to_customer(three_captured(), AS_OF)
    assert ttc.note == note and np.isnan(ttc.median_days)
    by = converted_by(ttc)
    assert by[["share", "low", "high"]].isna().all().all()


def test_pipeline_value_range_of_too_few_leads_is_none_to_all_won():
    """Test the value range was "70 - 70": with no win estimate the two open leads
    at 35 each are worth 0 to 2 x 35 = 70."""
    value = pipeline_value(three_captured(), AS_OF, customer_value=35.0)
    stage = value.by_stage.set_index("stage").loc["captured"]
    assert stage["open_leads"] == 2
    assert (stage["low"], stage["high"]) == (0.0, 70.0)
    assert (value.low, value.high) == (0.0, 70.0)


def test_a_curve_that_reaches_zero_keeps_a_wide_interval(any_cohort_size):
    """Test the last lead at risk converting: S = 0 at 10 days with one lead at
    risk; the log(-log) band was the point 100 % - 100 %, now the exact
    Clopper-Pearson bound of 1 of 1, 0.025 ** (1 / 1) = 2.5 % to 100 %."""
    win = win_probability_by_stage(three_captured(), AS_OF, horizon_days=30)
    row = win.set_index("stage").loc["captured"]
    assert row["win_probability"] == 1.0
    assert row["low"] == pytest.approx(0.025) and row["high"] == 1.0
    curve = time_to_customer(three_captured(), AS_OF).curve
    assert curve["high"].iloc[-1] == pytest.approx(0.975)


def test_nothing_censored_gives_wilson_on_the_plain_share():
    """Test 3 of 12 leads, all followed past the horizon: P(win) = 3/12 with
    Wilson's (1927) interval, by hand from its formula (z = 1.959964)."""
    rows = [
        {"person_id": f"p{i}", "stage": "customer" if i < 3 else "captured",
         "entered_captured": "2023-10-01",
         "entered_customer": "2023-10-05" if i < 3 else None}
        for i in range(12)
    ]
    row = win_probability_by_stage(leads_table(rows), AS_OF, horizon_days=30)
    row = row.set_index("stage").loc["captured"]
    n, p, z = 12, 0.25, 1.959964
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert row["win_probability"] == pytest.approx(0.25)
    assert row["low"] == pytest.approx(centre - half, rel=1e-5)
    assert row["high"] == pytest.approx(centre + half, rel=1e-5)


def test_one_conversion_draws_from_day_zero():
    """Test the curve for the chart starts at (0 days, 0 %) so that one step
    draws (a step line needs two points) and the axis starts at 0."""
    curve = curve_from_origin(time_to_customer(three_captured(), AS_OF))
    assert_allclose(curve["days"], [0, 10])
    assert_allclose(curve["converted"], [0, 1])
    assert_allclose(curve["converted_low"], [0, 0.025])
