"""Customer value: BG/NBD and Gamma-Gamma, checked on a holdout, per customer."""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd
import streamlit as st

from pages.common import current_view
from pipeline import clv_fit
from pipeline.clv import purchase_summary
from pipeline.clv_validation import cumulative_tracking, holdout_report
from pipeline.formatting import (
    altair_money_format,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_pct,
)

st.title("Customer value")
view = current_view()
dataset = view.dataset

# Guard: the models need purchases of known customers.
purchases = dataset.purchases()
purchases = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
if purchases.empty:
    st.info(
        "No purchases with a customer (email, phone or customer id) yet. Upload a "
        "Shopify orders export or a transactions file to see customer value."
    )
    st.stop()
currency = purchases["currency"].dropna().mode()
currency = str(currency.iloc[0]) if len(currency) else "USD"
local = purchases["ts"].dt.tz_convert(dataset.timezone)
first_date, last_date = local.min().date(), min(local.max().date(), view.as_of)
if last_date <= first_date:
    st.info(
        f"Customer value needs purchases on at least two days up to {view.as_of} "
        "(the sidebar's 'As of' date): move that date later or upload more history."
    )
    st.stop()

# Inputs.
left, middle, right, unit_col = st.columns(4)
horizon = left.slider(
    "Horizon (days)", 30, 1095, 365, step=15, key="clv_horizon_days",
    bind="query-params", help="Expected purchases and CLV over this many days.",
)
discount = middle.slider(
    "Annual discount rate (%)", 0, 30, 10, key="clv_discount_pct",
    bind="query-params",
) / 100
margin = right.slider(
    "Margin (%)", 1, 100, 100, key="clv_margin_pct", bind="query-params",
    help="Share of spend kept as profit; 100 % shows revenue.",
) / 100
time_unit = unit_col.radio(
    "Time unit", ["days", "weeks"], horizontal=True, key="clv_time_unit",
    help="Unit of recency, age and the BG/NBD rate; weeks are days ÷ 7.",
)
span = (last_date - first_date).days
default_end = last_date - dt.timedelta(days=max(1, min(180, span // 3)))
calibration_end = st.date_input(
    "Calibration end for the holdout check (inclusive)", value=default_end,
    min_value=first_date, max_value=last_date - dt.timedelta(days=1),
    key="clv_calibration_end",
    help="The models are fitted on purchases to this date and asked to predict "
    f"the repeat purchases from the next day to {last_date}.",
)


# Work: summaries and fits, kept per view in the session.
def _cached(name: str, key: tuple, build):
    store = st.session_state.setdefault("_lens_clv_cache", {})
    full = (name, view.data_key, *key)
    if full not in store:
        if len(store) > 12:
            store.clear()
        store[full] = build()
    return store[full]


def _fit(end: dt.date, holdout_end: dt.date | None):
    summary = purchase_summary(dataset, end, holdout_end, time_unit)
    return summary, clv_fit.fit_models(summary)


try:
    with st.spinner("Fitting BG/NBD and Gamma-Gamma…"):
        summary, fits = _cached("fit", (last_date, None, time_unit),
                                lambda: _fit(last_date, None))
        check, check_fits = _cached(
            "fit", (calibration_end, last_date, time_unit),
            lambda: _fit(calibration_end, last_date),
        )
except ValueError as exc:
    st.error(str(exc))
    st.stop()
table = clv_fit.customer_table(summary, fits, horizon, discount, margin)

# Fit status: the penalizer used, or why there are no numbers.
for line in fits.status():
    (st.success if "not fitted" not in line else st.warning)(line)
counts = summary.counts
st.caption(
    f"{fmt_int(len(summary.customers))} customers with purchases to {last_date}; "
    f"{fmt_int(counts['same_day_orders_merged'])} same-day orders merged into one "
    f"purchase; {fmt_int(counts['orders_without_person'])} purchases without a "
    f"customer left out; {fmt_int(fits.spend_counts['excluded_nonpositive'])} repeat "
    "buyers with no positive repeat spend left out of the spend model."
)
if not fits.usable:
    st.stop()

# Parameters and population figures.
st.subheader("Fitted models")
unit = time_unit[:-1]
params = pd.DataFrame(
    [
        (name, value, fits.bgnbd.standard_errors()[name], meaning)
        for name, meaning in (
            ("r", "shape of purchase rates"),
            ("alpha", f"scale of purchase rates, in {unit}s (rates per {unit})"),
            ("a", "dropout probability, Beta a"),
            ("b", "dropout probability, Beta b"),
        )
        for value in [fits.bgnbd.params[name]]
    ]
    + [
        (name, value, fits.gamma_gamma.standard_errors()[name], meaning)
        for name, meaning in (
            ("p", "shape of spend per order"),
            ("q", "shape of customers' spend scale"),
            ("v", f"scale of customers' spend ({currency})"),
        )
        for value in [fits.gamma_gamma.params[name]]
    ],
    columns=["parameter", "estimate", "standard error", "meaning"],
)
st.dataframe(params, hide_index=True, key="clv_params")
figures = clv_fit.population_figures(summary, fits, horizon, discount, margin)
for column, row in zip(st.columns(len(figures)), figures.itertuples(), strict=True):
    is_money = row.unit == "currency"
    fmt = (lambda v: fmt_money(v, currency, 0)) if is_money else fmt_number
    column.metric(row.figure, fmt(row.value))
    column.caption("95 % " + fmt_interval(row.low, row.high, formatter=fmt))

# Frequency/recency and P(alive) matrices.
st.subheader("Who will buy, and who is still active")
grid = clv_fit.frequency_recency_grid(
    fits, float(summary.customers["T"].max()), horizon / summary.unit_days,
    max_frequency=int(min(20, summary.customers["frequency"].max())),
)
matrix_left, matrix_right = st.columns(2)
for column, field, title in (
    (matrix_left, "expected_purchases", f"Expected purchases, next {horizon} days"),
    (matrix_right, "p_alive", "P(alive)"),
):
    chart = alt.Chart(grid, title=title).mark_rect().encode(
        x=alt.X("recency:Q", bin=alt.Bin(maxbins=25),
                title=f"Recency: {unit}s from first to last purchase"),
        y=alt.Y("frequency:O", sort="descending", title="Repeat purchases"),
        color=alt.Color(f"mean({field}):Q", title=title),
        tooltip=["frequency", alt.Tooltip("recency:Q", format=".1f"),
                 alt.Tooltip(f"mean({field}):Q", format=".2f", title=title)],
    )
    column.altair_chart(chart, width="stretch")

# Holdout check.
st.subheader(f"Holdout check: fitted to {calibration_end}, predicting to {last_date}")
check_table = clv_fit.customer_table(check, check_fits, horizon, discount, margin)
holdout = holdout_report(check_table) if check_fits.bgnbd.converged else None
if holdout is None:
    st.warning(" ".join(check_fits.status()))
else:
    a, b, c = st.columns(3)
    a.metric("Predicted repeat purchase-days", fmt_number(holdout.predicted))
    b.metric("Actual", fmt_int(holdout.actual))
    c.metric("Error", fmt_pct(None if holdout.error_pct is None
                              else holdout.error_pct / 100))
    by = holdout.by_frequency.melt(
        id_vars=["frequency", "customers"], value_vars=["predicted", "actual"],
        var_name="series", value_name="purchases",
    )
    bars = alt.Chart(by, title="Holdout purchases per customer by calibration "
                     "frequency").mark_bar().encode(
        x=alt.X("frequency:N", sort=None, title="Repeat purchases in calibration"),
        xOffset="series:N",
        y=alt.Y("purchases:Q", title="Mean repeat purchase-days in holdout"),
        color=alt.Color("series:N", title=""),
        tooltip=["frequency", "series", "customers",
                 alt.Tooltip("purchases:Q", format=".2f")],
    )
    tracking = cumulative_tracking(check, check_fits)
    long = tracking.melt(id_vars=["date", "period"], value_vars=["actual", "expected"],
                         var_name="series", value_name="purchases")
    lines = alt.Chart(long, title="Cumulative repeat purchase-days").mark_line().encode(
        x=alt.X("date:T", title="Date"),
        y=alt.Y("purchases:Q", title="Cumulative repeat purchase-days"),
        color=alt.Color("series:N", title=""),
        tooltip=["date:T", "series", "period",
                 alt.Tooltip("purchases:Q", format=",.0f")],
    )
    rule = alt.Chart(pd.DataFrame({"date": [calibration_end]})).mark_rule(
        strokeDash=[4, 4]).encode(x="date:T")
    left_chart, right_chart = st.columns(2)
    left_chart.altair_chart(bars, width="stretch")
    right_chart.altair_chart(lines + rule, width="stretch")

# CLV distribution and the customer table.
st.subheader(f"Customer value over the next {horizon} days")
money = altair_money_format(currency)
hist = alt.Chart(table, title="CLV distribution").mark_bar().encode(
    x=alt.X("clv:Q", bin=alt.Bin(maxbins=40), title=f"CLV ({currency})"),
    y=alt.Y("count():Q", title="Customers"),
    tooltip=[alt.Tooltip("count():Q", title="Customers"),
             alt.Tooltip("clv:Q", bin=alt.Bin(maxbins=40), format=money, title="CLV")],
)
st.altair_chart(hist, width="stretch")
shown = table.sort_values("clv", ascending=False)
st.dataframe(shown, hide_index=True, key="clv_customers")
st.download_button(
    "Download the customer table (CSV)", lambda: shown.to_csv(index=False),
    file_name="customer_value.csv", mime="text/csv", key="clv_download",
)
