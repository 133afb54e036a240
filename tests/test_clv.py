"""Tests of the purchase summary, BG/NBD, Gamma-Gamma and customer value."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import ibis.config
import lifetimes
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from pipeline import clv_fit, clv_models
from pipeline.clv import (
    purchase_days_table,
    purchase_summary,
    repeat_by_day_table,
    summary_table,
)
from pipeline.clv_simulate import (
    simulate_bgnbd,
    simulate_transactions,
    transactions_dataset,
)
from pipeline.clv_validation import cumulative_tracking, holdout_report
from pipeline.ingest import load_files
from pipeline.model import ORDER_COLUMNS, Dataset, conform

CDNOW = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"


def orders_dataset(rows: list[tuple], timezone: str = "UTC") -> Dataset:
    """A dataset from ``(person_id, utc timestamp, value[, is_purchase])`` rows."""
    frame = pd.DataFrame(
        [
            {
                "order_id": f"o{i}",
                "person_id": row[0],
                "ts": pd.Timestamp(row[1], tz="UTC"),
                "total": row[2],
                "refunded": 0.0,
                "net_value": row[2],
                "currency": "USD",
                "status": "purchase" if (len(row) < 4 or row[3]) else "voided",
                "is_purchase": len(row) < 4 or row[3],
            }
            for i, row in enumerate(rows)
        ]
    )
    return Dataset(orders=conform(frame, ORDER_COLUMNS), timezone=timezone)


# --- CDNOW: the published results -------------------------------------------------


@pytest.fixture(scope="module")
def cdnow():
    """CDNOW sample read by the product's readers; calibration to 1997-09-30 in
    weeks, holdout to 1998-06-30 (the 39 + 39 weeks of the paper)."""
    dataset = load_files([(CDNOW.name, CDNOW.read_bytes())])
    summary = purchase_summary(dataset, "1997-09-30", "1998-06-30", "weeks")
    return summary, clv_fit.fit_models(summary)


def test_cdnow_summary_counts(cdnow):
    """Test that the summary has the 2,357 customers of the paper's sample, 946 of
    them repeat buyers (Fader and Hardie 2013, note 025)."""
    summary, _ = cdnow
    assert len(summary.customers) == 2357
    assert (summary.customers["frequency"] > 0).sum() == 946


def test_cdnow_bgnbd_parameters_match_fader_hardie_lee_2005(cdnow):
    """Test that BG/NBD gives r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 and
    LL = -9582.4 (Fader, Hardie and Lee 2005a, section 6)."""
    _, fits = cdnow
    p = fits.bgnbd.params
    assert (round(p["r"], 3), round(p["alpha"], 3)) == (0.243, 4.414)
    assert (round(p["a"], 3), round(p["b"], 3)) == (0.793, 2.426)
    assert round(fits.bgnbd.log_likelihood, 1) == -9582.4
    assert fits.bgnbd.penalizer == 0.0


def test_cdnow_conditional_expectation_matches_paper(cdnow):
    """Test that E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226 (paper, section 6)."""
    _, fits = cdnow
    value = clv_models.bgnbd_conditional_purchases(
        fits.bgnbd.params, 39, np.array([2]), np.array([30.43]), np.array([38.86])
    )
    assert round(float(value[0]), 3) == 1.226


def test_cdnow_gamma_gamma_matches_note_025(cdnow):
    """Test that Gamma-Gamma gives p = 6.25, q = 3.74, gamma = 15.44 (Fader and Hardie
    2013, note 025; lifetimes gives 15.447 from its rounded summary file)."""
    _, fits = cdnow
    p = fits.gamma_gamma.params
    assert (round(p["p"], 2), round(p["q"], 2), round(p["v"], 2)) == (6.25, 3.74, 15.44)
    assert fits.gamma_gamma.n == 946


def test_cdnow_summary_matches_lifetimes_summary(cdnow):
    """Test that frequency, recency, T and mean repeat value equal lifetimes'
    ``summary_data_from_transaction_data`` on the same transactions (days / 7)."""
    summary, _ = cdnow
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=None, dtype={0: str, 2: str})
    raw = pd.DataFrame(
        {
            "id": "id:" + raw[0].str.lstrip("0"),
            "date": pd.to_datetime(raw[2], format="%Y%m%d"),
            "value": raw[4],
        }
    )
    raw = raw[raw["date"] <= "1997-09-30"]
    peer = lifetimes.utils.summary_data_from_transaction_data(
        raw, "id", "date", "value", observation_period_end="1997-09-30"
    )
    ours = summary.customers.set_index("person_id")
    assert set(ours.index) == set(peer.index)
    peer = peer.loc[ours.index]
    assert_allclose(ours["frequency"], peer["frequency"])
    assert_allclose(ours["recency"], peer["recency"] / 7)
    assert_allclose(ours["T"], peer["T"] / 7)
    # lifetimes averages each repeat transaction; ours each repeat purchase-day.
    single = ours["purchase_days"] == ours["orders"]
    assert_allclose(
        ours.loc[single, "monetary_value"], peer.loc[single, "monetary_value"]
    )


def test_cdnow_holdout_and_tracking_reconcile(cdnow):
    """Test that tracking reaches the calibration and holdout repeat totals and that
    its expectation at the calibration end is the sum of E[X(T_i)] (equation 9)."""
    summary, fits = cdnow
    table = clv_fit.customer_table(summary, fits)
    report = holdout_report(table)
    track = cumulative_tracking(summary, fits)
    at_end = track[track["date"] == dt.date(1997, 9, 30)].iloc[0]
    assert at_end["actual"] == summary.customers["frequency"].sum()
    assert track["actual"].iloc[-1] == at_end["actual"] + report.actual
    expected = clv_models.bgnbd_expected_purchases(
        fits.bgnbd.params, summary.customers["T"].to_numpy()
    ).sum()
    assert_allclose(at_end["expected"], expected, rtol=1e-9)
    assert report.actual == int(summary.customers["holdout_frequency"].sum())
    assert_allclose(report.predicted, table["predicted_holdout"].sum())
    assert report.error_pct == pytest.approx(
        100 * (report.predicted - report.actual) / report.actual
    )
    assert report.by_frequency["customers"].sum() == 2357
    assert list(report.by_frequency["frequency"])[-1] == "7+"


# --- Against lifetimes on the same numbers ----------------------------------------


@pytest.fixture(scope="module")
def peer():
    """Our fits and lifetimes' on lifetimes' own CDNOW summary (weeks)."""
    data = pd.read_csv(CDNOW.parent / "cdnow_customers_summary_with_transactions.csv")
    x, t_x, T = data["x"].to_numpy(), data["t_x"].to_numpy(), data["T"].to_numpy()
    repeat = data[data["x"] > 0]
    return {
        "data": (x, t_x, T),
        "ours": clv_models.fit_bgnbd(x, t_x, T),
        "theirs": lifetimes.BetaGeoFitter().fit(x, t_x, T),
        "gg_ours": clv_models.fit_gamma_gamma(repeat["x"], repeat["zbar"]),
        "gg_theirs": lifetimes.GammaGammaFitter().fit(repeat["x"], repeat["zbar"]),
        "repeat": repeat,
    }


def test_bgnbd_fit_matches_lifetimes(peer):
    """Test that our BG/NBD estimates, log-likelihood and standard errors equal
    lifetimes' BetaGeoFitter to 1e-6."""
    ours, theirs = peer["ours"], peer["theirs"]
    names = list(clv_models.BGNBD_PARAMS)
    assert_allclose([ours.params[k] for k in names], theirs.params_[names], rtol=1e-6)
    x = peer["data"][0]
    # lifetimes reports the mean NLL on time scaled by c = 1 / max(T); rescaling
    # time by c shifts the log-likelihood by -sum(x) ln c.
    their_ll = -theirs._negative_log_likelihood_ * len(x)
    their_ll += x.sum() * np.log(theirs._scale)
    assert_allclose(ours.log_likelihood, their_ll, rtol=1e-6)
    se = ours.standard_errors()
    assert_allclose([se[k] for k in names], theirs.standard_errors_[names], rtol=1e-4)


def test_bgnbd_predictions_match_lifetimes(peer):
    """Test that E[Y(t)], P(alive) and E[X(t)] equal lifetimes' for the same
    parameters."""
    x, t_x, T = peer["data"]
    theirs = peer["theirs"]
    params = theirs.params_.to_dict()
    assert_allclose(
        clv_models.bgnbd_conditional_purchases(params, 39, x, t_x, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
        rtol=1e-10,
    )
    assert_allclose(
        clv_models.bgnbd_p_alive(params, x, t_x, T),
        theirs.conditional_probability_alive(x, t_x, T),
        rtol=1e-10,
    )
    t = np.array([1.0, 39.0, 78.0])
    assert_allclose(
        clv_models.bgnbd_expected_purchases(params, t),
        theirs.expected_number_of_purchases_up_to_time(t),
        rtol=1e-10,
    )


def test_gamma_gamma_matches_lifetimes(peer):
    """Test that our Gamma-Gamma estimates and conditional spend equal lifetimes'
    GammaGammaFitter to 1e-6."""
    ours, theirs, repeat = peer["gg_ours"], peer["gg_theirs"], peer["repeat"]
    names = list(clv_models.GG_PARAMS)
    assert_allclose([ours.params[k] for k in names], theirs.params_[names], rtol=1e-6)
    assert_allclose(
        clv_models.gg_expected_spend(ours.params, repeat["x"], repeat["zbar"]),
        theirs.conditional_expected_average_profit(repeat["x"], repeat["zbar"]),
        rtol=1e-6,
    )


def test_clv_matches_lifetimes_customer_lifetime_value(peer):
    """Test that 12 monthly steps of 30 days with the matching annual rate give
    lifetimes' ``customer_lifetime_value`` (time = 12, freq = "D")."""
    x, t_x, T = (np.asarray(c) * 7 for c in peer["data"])  # weeks to days
    x = np.asarray(peer["data"][0])
    bg = lifetimes.BetaGeoFitter().fit(x, t_x, T)
    gg = peer["gg_theirs"]
    m = pd.Series(np.where(x > 0, 30.0 + x, 0.0))
    monthly = 0.01
    theirs = gg.customer_lifetime_value(
        bg, pd.Series(x), pd.Series(t_x), pd.Series(T), m, time=12,
        discount_rate=monthly, freq="D",
    )
    annual = (1 + monthly) ** (365.25 / 30) - 1
    flow = clv_fit.discounted_purchases(bg.params_.to_dict(), x, t_x, T, 360, annual, 1)
    spend = gg.conditional_expected_average_profit(pd.Series(x), m)
    assert_allclose(spend * flow, theirs, rtol=1e-9)


def test_compressed_weights_give_the_same_fit():
    """Test that a fit on distinct rows with weights equals one on every row."""
    data = simulate_bgnbd(3000, 0.5, 10.0, 0.8, 3.0, np.repeat([20.0, 40.0], 1500), 3)
    data["recency"] = data["recency"].round()
    full = clv_models.fit_bgnbd(data["frequency"], data["recency"], data["T"])
    rows = data.value_counts().reset_index()
    weighted = clv_models.fit_bgnbd(
        rows["frequency"], rows["recency"], rows["T"], weights=rows["count"]
    )
    assert len(rows) < len(data) / 3
    names = list(full.params)
    assert_allclose(
        [weighted.params[k] for k in names], [full.params[k] for k in names], rtol=1e-7
    )


# --- Parameter recovery from the model's own data ---------------------------------


@pytest.fixture(scope="module")
def simulated():
    """20,000 customers drawn from BG/NBD with the CDNOW parameters, and the fit."""
    true = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    T = np.random.default_rng(11).uniform(30, 39, 20_000)
    data = simulate_bgnbd(20_000, *true.values(), T, seed=7)
    return true, clv_models.fit_bgnbd(data["frequency"], data["recency"], data["T"])


def test_bgnbd_recovers_simulated_parameters(simulated):
    """Test that every true parameter lies within 3 standard errors of its estimate."""
    true, fit = simulated
    se = fit.standard_errors()
    for name, value in true.items():
        assert abs(fit.params[name] - value) < 3 * se[name], name


def test_gamma_gamma_recovers_simulated_parameters():
    """Test that Gamma-Gamma recovers p, q, v from mean spends drawn from the model
    (the mean of x Gamma(p, nu) spends is Gamma(p x, x nu))."""
    rng = np.random.default_rng(5)
    p, q, v = 6.0, 4.0, 15.0
    x = rng.integers(1, 8, 8000)
    nu = rng.gamma(q, 1 / v, x.size)
    m = rng.gamma(p * x, 1 / (x * nu))
    fit = clv_models.fit_gamma_gamma(x, m)
    se = fit.standard_errors()
    for name, value in {"p": p, "q": q, "v": v}.items():
        assert abs(fit.params[name] - value) < 3 * se[name], name


def test_transactions_generator_round_trip():
    """Test that transactions drawn from the model, summarised by day and fitted,
    give back the parameters (alpha in days) within 10 %."""
    true = (0.75, 40.0, 0.6, 3.0)
    tx = simulate_transactions(20_000, true, (6.0, 4.0, 20.0), seed=3)
    summary = purchase_summary(transactions_dataset(tx), time_unit="days")
    fits = clv_fit.fit_models(summary)
    assert len(summary.customers) == 20_000
    got = [fits.bgnbd.params[k] for k in clv_models.BGNBD_PARAMS]
    assert_allclose(got, true, rtol=0.10)
    assert_allclose(fits.gamma_gamma.params["p"], 6.0, rtol=0.15)


# --- The summary, by hand ---------------------------------------------------------


def test_summary_merges_same_day_orders_and_excludes_first_purchase():
    """Test frequency, recency, T and mean repeat value on a hand-computed case:
    orders on days 0 (two, merged), 3 and 10; calibration to day 10 inclusive."""
    dataset = orders_dataset(
        [
            ("ann", "2024-01-01 10:00", 10.0),
            ("ann", "2024-01-01 18:00", 5.0),
            ("ann", "2024-01-04 09:00", 20.0),
            ("ann", "2024-01-11 23:59", 30.0),
            ("bob", "2024-01-05 12:00", 50.0),
            ("bob", "2024-01-12 00:00", 70.0),
            ("cy", "2024-01-06 12:00", 99.0, False),
        ]
    )
    summary = purchase_summary(dataset, "2024-01-11", time_unit="days")
    rows = summary.customers.set_index("person_id")
    assert sorted(rows.index) == ["ann", "bob"]
    ann = rows.loc["ann"]
    assert (ann["frequency"], ann["recency"], ann["T"]) == (2, 10.0, 10.0)
    assert ann["monetary_value"] == 25.0 and ann["first_value"] == 15.0
    assert ann["orders"] == 4 and ann["purchase_days"] == 3
    bob = rows.loc["bob"]
    assert (bob["frequency"], bob["T"], bob["holdout_frequency"]) == (0, 6.0, 1)
    assert bob["holdout_value"] == 70.0
    assert summary.counts["same_day_orders_merged"] == 1
    assert summary.counts["orders_after_calibration"] == 1

    weeks = purchase_summary(dataset, "2024-01-11", time_unit="weeks")
    ann_w = weeks.customers.set_index("person_id").loc["ann"]
    assert ann_w["recency"] == pytest.approx(10 / 7)
    assert ann_w["T"] == pytest.approx(10 / 7)
    assert ann_w["frequency"] == 2


def test_summary_days_are_local_to_the_store():
    """Test that 03:00 UTC on Jan 2 is still Jan 1 in Los Angeles, so it merges with
    a Jan 1 order there but not in UTC."""
    rows = [("ann", "2024-01-01 20:00", 10.0), ("ann", "2024-01-02 03:00", 5.0)]
    la = purchase_summary(orders_dataset(rows, "America/Los_Angeles"))
    utc = purchase_summary(orders_dataset(rows, "UTC"))
    assert la.customers.loc[0, "frequency"] == 0
    assert la.counts["same_day_orders_merged"] == 1
    assert utc.customers.loc[0, "frequency"] == 1


def test_summary_counts_orders_without_a_person():
    """Test that purchases with no person are counted, not silently dropped."""
    dataset = orders_dataset([("ann", "2024-01-01", 10.0), (None, "2024-01-02", 5.0)])
    summary = purchase_summary(dataset)
    assert summary.counts["orders_without_person"] == 1
    assert summary.counts["orders"] == 1


def test_summary_rejects_impossible_dates():
    """Test that a calibration end before the first purchase or a holdout end before
    the calibration end raise ValueError that says what to pick."""
    dataset = orders_dataset([("ann", "2024-01-05", 10.0), ("ann", "2024-02-01", 5.0)])
    with pytest.raises(ValueError, match="before the first purchase"):
        purchase_summary(dataset, "2024-01-01")
    with pytest.raises(ValueError, match="not after the calibration end"):
        purchase_summary(dataset, "2024-01-20", "2024-01-10")
    with pytest.raises(ValueError, match="time unit"):
        purchase_summary(dataset, time_unit="months")


def test_summary_compiles_for_bigquery_and_spark(monkeypatch):
    """Test that the summary expression compiles to BigQuery and Spark SQL."""

    class SparkOptions(ibis.config.Config):
        treat_nan_as_null: bool = False

    monkeypatch.setattr(ibis.options, "pyspark", SparkOptions())
    events = ibis.table(
        {"person_id": "string", "day": "int32", "event": "string", "value": "float64"},
        name="events",
    )
    days = purchase_days_table(events)
    expr = summary_table(days, 19_000, 7, 19_100)
    tracking = repeat_by_day_table(days, 19_000, 19_100)
    for dialect in ("bigquery", "pyspark"):
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "GROUP BY" in sql and "MIN_BY(" in sql, dialect
        assert "JOIN" in ibis.to_sql(tracking, dialect=dialect), dialect


# --- Fits that should not give numbers, and customer values -----------------------


def test_too_few_repeat_buyers_are_explained_not_fitted():
    """Test that with under 10 repeat buyers neither model is fitted and the status
    says why."""
    rows = [(f"c{i}", "2024-01-01", 10.0) for i in range(30)]
    rows += [("c0", "2024-02-01", 12.0), ("c1", "2024-03-01", 9.0)]
    summary = purchase_summary(orders_dataset(rows))
    fits = clv_fit.fit_models(summary)
    assert not fits.usable
    assert "only 2 of 30 customers bought again" in fits.status()[0]
    table = clv_fit.customer_table(summary, fits)
    assert "clv" not in table and len(table) == 30
    assert clv_fit.population_figures(summary, fits).empty


def test_penalizer_ladder_rescues_a_fit_on_the_edge():
    """Test that a BG/NBD fit whose estimates run to the edge without a penalty
    converges on a later rung, reported, and fails with a reason on none."""
    x = np.array([0] * 40 + [1] * 10)
    t_x = np.array([0.0] * 40 + [5.0] * 10)
    T = np.full(50, 60.0)
    fit = clv_models.fit_bgnbd(x, t_x, T)
    assert fit.converged and fit.penalizer == 0.001 and fit.tried == [0.0, 0.001]
    failed = clv_models.fit_bgnbd(x, t_x, T, ladder=(0.0,))
    assert not failed.converged and failed.params == {}
    assert "edge of the parameter space" in failed.reason


def test_customer_figures_are_consistent(cdnow):
    """Test CLV's properties (zero margin, discounting, horizon) and the identities
    behind churn risk and the next purchase date."""
    summary, fits = cdnow
    base = clv_fit.customer_table(summary, fits, 365, 0.10, 0.5)
    assert (clv_fit.customer_table(summary, fits, 365, 0.1, 0.0)["clv"] == 0).all()
    undiscounted = clv_fit.customer_table(summary, fits, 365, 0.0, 0.5)["clv"]
    assert (undiscounted >= base["clv"]).all()
    assert (clv_fit.customer_table(summary, fits, 730, 0.1, 0.5)["clv"]
            >= base["clv"]).all()
    assert ((base["churn_risk"] >= 1 - base["p_alive"] - 1e-12)
            & (base["churn_risk"] <= 1)).all()
    one_time = base[base["frequency"] == 0].iloc[0]
    r, alpha = fits.bgnbd.params["r"], fits.bgnbd.params["alpha"]
    T, t = one_time["T"], 90 / 7
    assert one_time["churn_risk"] == pytest.approx(((alpha + T) / (alpha + T + t)) ** r)
    assert one_time["expected_spend"] == pytest.approx(
        clv_models.gg_population_mean(fits.gamma_gamma.params)
    )
    x, t_x, T = (np.array([5.0]), np.array([37.0]), np.array([38.86]))
    wait = clv_models.bgnbd_time_to_next_purchase(fits.bgnbd.params, x, t_x, T)
    half = clv_models.bgnbd_p_no_purchase(fits.bgnbd.params, wait[0], x, t_x, T)
    assert half[0] == pytest.approx(0.5)


def test_new_customer_value_adds_first_order_to_predicted_value(cdnow):
    """Test that a new customer's value is the first order plus the discounted
    E[X(t)] steps at the population mean spend."""
    summary, fits = cdnow
    value = clv_fit.new_customer_value(fits, 40.0, 364, 0.0, 1.0, unit_days=7)
    future = clv_models.bgnbd_expected_purchases(fits.bgnbd.params, 52.0)
    mean = clv_models.gg_population_mean(fits.gamma_gamma.params)
    assert value == pytest.approx(40.0 + future * mean)


def test_population_figures_carry_standard_errors(cdnow):
    """Test that population figures have positive SEs and that the total CLV equals
    the sum of the customer table."""
    summary, fits = cdnow
    figures = clv_fit.population_figures(summary, fits, 365, 0.1, 1.0)
    table = clv_fit.customer_table(summary, fits, 365, 0.1, 1.0)
    assert (figures["se"] > 0).all()
    assert figures["value"].iloc[-1] == pytest.approx(table["clv"].sum())
    assert figures["value"].iloc[0] == pytest.approx(table["expected_purchases"].sum())
