"""Customer value: BG/NBD and Gamma-Gamma, checked on a holdout, per customer."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from pages.charts_customer_value import (
    clv_histogram,
    holdout_chart,
    matrix_chart,
    tracking_chart,
)
from pages.common import current_view
from pages.tables import show_table
from pipeline import clv_fit
from pipeline.clv import purchase_summary
from pipeline.clv_currency import NO_CURRENCY, in_one_currency, purchase_currencies
from pipeline.clv_validation import cumulative_tracking, holdout_report
from pipeline.formatting import (
    MISSING,
    fmt_int,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_pct,
)

# Holdout errors beyond this (in %) get a warning next to the headline figures.
HOLDOUT_WARNING_PCT = 20.0

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

# One currency at a time: amounts in different currencies are never added up.
currencies = purchase_currencies(dataset)
chosen_currency = None
if len(currencies) > 1:
    chosen_currency = st.selectbox(
        "Currency",
        list(currencies),
        format_func=lambda c: (
            ("no currency in the export" if c == NO_CURRENCY else c)
            + f" ({currencies[c]:,} orders)"
        ),
        key="clv_currency",
        help="Orders keep their currency and amounts in different currencies are "
        "never added up: the models are fitted on the orders in this currency only "
        "(purchase counts included).",
    )
dataset, currency_choice = in_one_currency(dataset, chosen_currency)
currency = currency_choice.code
for line in currency_choice.warnings(
    "choose {code} under Currency to analyse them", "'no currency in the export'"
):
    st.warning(line)
purchases = dataset.purchases()
purchases = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
if purchases.empty:
    st.info(
        "No purchases with a customer (email, phone or customer id) in this "
        "currency: choose another one above."
    )
    st.stop()
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
    "Horizon (days)",
    30,
    1095,
    365,
    step=15,
    key="clv_horizon_days",
    bind="query-params",
    help="Expected purchases and CLV over this many days.",
)
discount = (
    middle.slider(
        "Annual discount rate (%)",
        0,
        30,
        10,
        key="clv_discount_pct",
        bind="query-params",
    )
    / 100
)
margin = (
    right.slider(
        "Margin (%)",
        1,
        100,
        100,
        key="clv_margin_pct",
        bind="query-params",
        help="Share of spend kept as profit; 100 % shows revenue.",
    )
    / 100
)
time_unit = unit_col.radio(
    "Time unit",
    ["days", "weeks"],
    horizontal=True,
    key="clv_time_unit",
    help="Unit of recency, age and the BG/NBD rate; weeks are days ÷ 7.",
)
span = (last_date - first_date).days
default_end = last_date - dt.timedelta(days=max(1, min(180, span // 3)))
calibration_end = st.date_input(
    "Calibration end for the holdout check (inclusive)",
    value=default_end,
    min_value=first_date,
    max_value=last_date - dt.timedelta(days=1),
    key="clv_calibration_end",
    help="The models are fitted on purchases to this date and asked to predict "
    f"the repeat purchases from the next day to {last_date}.",
)


# Work: summaries and fits, kept per view in the session.
def _cached(name: str, key: tuple, build):
    store = st.session_state.setdefault("_lens_clv_cache", {})
    full = (name, view.data_key, currency_choice.currency, *key)
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
        summary, fits = _cached(
            "fit", (last_date, None, time_unit), lambda: _fit(last_date, None)
        )
        check, check_fits = _cached(
            "fit",
            (calibration_end, last_date, time_unit),
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
            ("v", f"scale of customers' spend ({currency or 'no currency given'})"),
        )
        for value in [fits.gamma_gamma.params[name]]
    ],
    columns=["Parameter", "Estimate", "Standard error", "Meaning"],
)
show_table(
    params.style.format(
        {
            "Estimate": lambda v: fmt_number(v, 4),
            "Standard error": lambda v: fmt_number(v, 4),
        },
        na_rep=MISSING,
    ),
    hide_index=True,
    key="clv_params",
)
figures = clv_fit.population_figures(summary, fits, horizon, discount, margin)
for column, row in zip(st.columns(len(figures)), figures.itertuples(), strict=True):
    is_money = row.unit == "currency"
    fmt = (lambda v: fmt_money(v, currency, 0)) if is_money else fmt_number
    column.metric(row.figure, fmt(row.value))
    column.caption("95 % " + fmt_interval(row.low, row.high, formatter=fmt))

# The holdout check, next to the headline: a large error means the figures above
# rest on purchase rates that did not hold.
check_table = clv_fit.customer_table(check, check_fits, horizon, discount, margin)
holdout = holdout_report(check_table) if check_fits.bgnbd.converged else None
if (
    holdout is not None
    and holdout.error_pct is not None
    and abs(holdout.error_pct) > HOLDOUT_WARNING_PCT
):
    over = holdout.error_pct > 0
    st.warning(
        f"**These predictions probably {'overstate' if over else 'understate'} "
        "future purchases and value.** Fitted to "
        f"{calibration_end}, the models predicted {fmt_number(holdout.predicted)} "
        f"repeat purchase-days to {last_date} and {fmt_int(holdout.actual)} "
        f"happened ({holdout.error_pct:+.0f} %). Customers bought "
        f"{'less' if over else 'more'} often after {calibration_end} than before: "
        "purchase rates changed, and the models assume they do not. Read the "
        f"figures above as {'an upper' if over else 'a lower'} bound (see the "
        "holdout check below).",
        icon="⚠️",
    )

# Frequency/recency and P(alive) matrices.
st.subheader("Who will buy, and who is still active")
grid = clv_fit.frequency_recency_grid(
    fits,
    float(summary.customers["T"].max()),
    horizon / summary.unit_days,
    max_frequency=int(min(20, summary.customers["frequency"].max())),
)
matrix_left, matrix_right = st.columns(2)
for column, field, title in (
    (matrix_left, "expected_purchases", f"Expected purchases, next {horizon} days"),
    (matrix_right, "p_alive", "P(alive)"),
):
    column.altair_chart(matrix_chart(grid, field, title, unit), width="stretch")

# Holdout check.
st.subheader(f"Holdout check: fitted to {calibration_end}, predicting to {last_date}")
if holdout is None:
    st.warning(" ".join(check_fits.status()))
else:
    a, b, c = st.columns(3)
    a.metric("Predicted repeat purchase-days", fmt_number(holdout.predicted))
    b.metric("Actual", fmt_int(holdout.actual))
    c.metric(
        "Error", fmt_pct(None if holdout.error_pct is None else holdout.error_pct / 100)
    )
    left_chart, right_chart = st.columns(2)
    left_chart.altair_chart(holdout_chart(holdout.by_frequency), width="stretch")
    right_chart.altair_chart(
        tracking_chart(cumulative_tracking(check, check_fits), calibration_end),
        width="stretch",
    )

# CLV distribution and the customer table.
st.subheader(f"Customer value over the next {horizon} days")
st.altair_chart(clv_histogram(table, currency), width="stretch")
shown = table.sort_values("clv", ascending=False)
money_format = {"USD": "dollar", "EUR": "euro", "JPY": "yen"}.get(
    currency or "", f"%.2f {currency}" if currency else "%.2f"
)
count_column = st.column_config.NumberColumn
money_columns = (
    "total_value",
    "repeat_value",
    "first_value",
    "monetary_value",
    "holdout_value",
    "expected_spend",
    "clv",
)
labels = {
    "person_id": "Customer",
    "first_purchase": "First purchase",
    "last_purchase": "Last purchase",
    "purchase_days": "Purchase-days",
    "orders": "Orders",
    "total_value": "Spend",
    "repeat_value": "Repeat spend",
    "frequency": "Repeat purchase-days",
    "recency": f"Recency ({time_unit})",
    "T": f"Age ({time_unit} since first purchase)",
    "first_value": "First purchase-day spend",
    "monetary_value": "Mean repeat spend",
    "holdout_frequency": "Holdout purchase-days",
    "holdout_orders": "Holdout orders",
    "holdout_value": "Holdout spend",
    "p_alive": "P(alive)",
    "expected_purchases": f"Expected purchases, next {horizon} days",
    "expected_spend": "Expected spend per purchase",
    "clv": f"CLV, next {horizon} days",
    "churn_risk": "Churn risk",
    "next_purchase_date": "Next purchase (expected)",
    "predicted_holdout": "Predicted holdout purchase-days",
}
config = {}
for name, label in labels.items():
    if name in money_columns:
        config[name] = count_column(label, format=money_format)
    elif name in ("p_alive", "churn_risk"):
        config[name] = count_column(label, format="percent")
    elif name in ("recency", "T") and time_unit == "days":
        config[name] = count_column(label, format="%d")  # (whole days)
    elif name in ("recency", "T", "expected_purchases", "predicted_holdout"):
        config[name] = count_column(label, format="%.2f")
    elif name in ("first_purchase", "last_purchase"):
        config[name] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
    else:
        config[name] = label
display = shown.copy()
if "next_purchase_date" in display:
    next_date = pd.to_datetime(display["next_purchase_date"])
    display["next_purchase_date"] = next_date.dt.strftime("%Y-%m-%d").where(
        next_date.notna(), f"{MISSING} (likely lapsed)"
    )
show_table(display, hide_index=True, key="clv_customers", column_config=config)
st.download_button(
    "Download the customer table (CSV)",
    lambda: shown.to_csv(index=False),
    file_name="customer_value.csv",
    mime="text/csv",
    key="clv_download",
)
