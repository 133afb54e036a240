"""Attribution: every model side by side, pipeline views and Klaviyo's claim."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from pages.common import current_view
from pipeline import funnel
from pipeline.attribution import conversion_paths as cp
from pipeline.attribution import pipeline_views as pv
from pipeline.attribution.analysis import (
    analyse_dataset,
    analyse_paths,
    overstatement_statistic,
)
from pipeline.attribution.intervals import bootstrap
from pipeline.attribution.journeys import JourneySettings
from pipeline.attribution.klaviyo import KlaviyoSettings, report_comparison
from pipeline.attribution.models import MODEL_LABELS, MODEL_NAMES, ModelSettings
from pipeline.clv_currency import NO_CURRENCY, in_one_currency, purchase_currencies
from pipeline.formatting import MISSING, fmt_int, fmt_money, fmt_number, fmt_pct

# Win horizon of P(win | stage) in pipeline-weighted credit (the Funnel's default).
WIN_HORIZON_DAYS = 90

WORDS = {
    "cac": "CAC",
    "clv": "CLV",
    "clv_to_cac": "CLV ÷ CAC",
    "person_id": "person",
    "sms_rows": "SMS rows",
    "naive_sum": "sum of all rows",
    "naive_share": "sum of all rows ÷ Shopify revenue",
    "largest_share": "largest row ÷ Shopify revenue",
}
MONEY_HINTS = (
    "revenue",
    "spend",
    "cost_per",
    "cac",
    "clv",
    "worth",
    "naive_sum",
    "largest_row",
    "value",
)


def words(name: object) -> str:
    """A column or index name for people: ``leads_advanced`` → ``Leads advanced``."""
    text = WORDS.get(str(name), str(name).replace("_", " "))
    return text[:1].upper() + text[1:]


def readable(
    frame: pd.DataFrame,
    currency: str | None = None,
    digits: int = 1,
    money: tuple[str, ...] = (),
    shares: tuple[str, ...] = (),
):
    """``frame`` for display: worded headers, money with its currency, shares as
    percents, missing values as a dash (never "None"); numbers stay sortable."""
    frame = frame.copy()
    money = tuple(money) or tuple(
        c
        for c in frame.columns
        if any(h in str(c) for h in MONEY_HINTS)
        and not str(c).endswith("_to_cac")
        and pd.api.types.is_numeric_dtype(frame[c])
    )
    shares = tuple(shares) or tuple(
        c
        for c in frame.columns
        if ("share" in str(c) or "rate" in str(c))
        and pd.api.types.is_numeric_dtype(frame[c])
    )
    formats = {}
    for column in frame.columns:
        if column in money:
            formats[words(column)] = lambda v: fmt_money(v, currency)
        elif column in shares:
            formats[words(column)] = fmt_pct
        elif pd.api.types.is_bool_dtype(frame[column]):
            formats[words(column)] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_numeric_dtype(frame[column]):
            values = frame[column].dropna().astype(float)
            whole = len(values) and (values == values.round()).all()
            formats[words(column)] = (
                fmt_int if whole else (lambda v: fmt_number(v, digits))
            )
    frame.columns = [words(c) for c in frame.columns]
    if frame.index.name:
        frame.index.name = words(frame.index.name)
    return frame.style.format(formats, na_rep=MISSING)


view = current_view()
dataset = view.dataset
path_tables = [
    r.meta["paths"]
    for r in dataset.reports
    if isinstance(r.meta.get("paths"), pd.DataFrame)
]
has_orders = len(dataset.purchases()) > 0

st.title("Attribution")
st.caption(
    "Every model on the same journeys. Each column adds up to all conversions: "
    "orders with no touch in the lookback window are shown as (unattributed)."
)

# Guard: models need conversions.
if not has_orders and not path_tables:
    st.info(
        "No purchases and no conversion paths: upload Shopify orders with GA4 or "
        "Klaviyo events, or an aggregated path file (path;total_conversions;...)."
    )
    st.stop()

# Which conversions: journeys from events, or the aggregated paths file(s).
use_paths = not has_orders
if has_orders and path_tables:
    source = st.radio(
        "Analyse",
        ["events", "paths"],
        format_func={
            "events": "journeys built from the uploaded events and orders",
            "paths": "the uploaded aggregated paths file",
        }.get,
        horizontal=True,
        key="attribution_source",
        help="The paths file and the events describe different conversions, so "
        "they are analysed one at a time, never added together.",
    )
    use_paths = source == "paths"
    st.caption(
        "Analysing the aggregated paths file; the orders and events are not used."
        if use_paths
        else "Analysing journeys from the events and orders; the paths file is not "
        "used (choose it above)."
    )

# One currency at a time: amounts in different currencies are never added up.
currency_code = None
chosen_currency = None
if not use_paths:
    currencies = purchase_currencies(dataset)
    if len(currencies) > 1:
        chosen_currency = st.selectbox(
            "Currency",
            list(currencies),
            format_func=lambda c: (
                ("no currency in the export" if c == NO_CURRENCY else c)
                + f" ({currencies[c]:,} orders)"
            ),
            key="attribution_currency",
            help="Orders keep their currency and amounts in different currencies "
            "are never added up: conversions and revenue here are those of the "
            "orders in this currency only.",
        )
    dataset, currency_choice = in_one_currency(dataset, chosen_currency)
    currency_code = currency_choice.code
    chosen_currency = currency_choice.currency
    for line in currency_choice.warnings(
        "choose {code} under Currency above to analyse them"
    ):
        st.warning(line)
data_key = (
    view.file_names,
    dataset.timezone,
    len(dataset.events),
    len(dataset.orders),
    chosen_currency,
    use_paths,
)

# Settings.
with st.expander("Settings", expanded=False):
    left, right = st.columns(2)
    lookback = left.slider(
        "Lookback window (days)",
        1,
        90,
        30,
        key="attr_lookback_days",
        bind="query-params",
    )
    opens = left.checkbox(
        "Count email opens as touches (Apple MPP makes them unreliable)",
        value=False,
        key="attr_opens_as_touches",
        bind="query-params",
    )
    collapse = left.checkbox(
        "Collapse repeats of a channel",
        value=False,
        key="attr_collapse_repeats",
        bind="query-params",
    )
    cut = left.checkbox(
        "Start each journey after the previous order",
        value=True,
        key="attr_cut_at_conversions",
        bind="query-params",
    )
    first_only = left.checkbox(
        "First purchases only",
        value=False,
        key="attr_first_purchase_only",
        bind="query-params",
    )
    half_life = right.slider(
        "Time decay half-life (days)",
        1,
        30,
        7,
        key="attr_half_life",
        bind="query-params",
    )
    first_share = right.slider(
        "Position based: first touch (%)",
        0,
        100,
        40,
        key="attr_first_share",
        bind="query-params",
    )
    last_share = right.slider(
        "Position based: last touch (%)",
        0,
        100 - first_share,
        min(40, 100 - first_share),
        key="attr_last_share",
        bind="query-params",
    )
    order = right.selectbox(
        "Markov order", [1, 2, 3], key="attr_markov_order", bind="query-params"
    )

reference = st.selectbox(
    "Reference model",
    MODEL_NAMES,
    index=MODEL_NAMES.index("markov"),
    format_func=MODEL_LABELS.get,
    key="attr_reference",
    bind="query-params",
)
metric = st.radio(
    "Credit",
    ["conversions", "revenue"],
    horizontal=True,
    key="attr_metric",
    bind="query-params",
)
journey_settings = JourneySettings(lookback, opens, cut, first_only)
model_settings = ModelSettings(
    half_life, first_share / 100, last_share / 100, order, collapse_repeats=collapse
)


@st.cache_data(show_spinner="Crediting every model…", max_entries=16)
def cached_analysis(_dataset, key, journeys, models):
    """Every model on this data and these settings (cached per settings)."""
    if not use_paths:
        return analyse_dataset(
            _dataset,
            journeys,
            None,
            models,
            0,
            0,
            reference,
            KlaviyoSettings(),
            view.leads,
        )
    return analyse_paths(pd.concat(path_tables, ignore_index=True), None, models)


@st.cache_data(show_spinner="Resampling journeys…", max_entries=8)
def cached_intervals(_analysis, key, models, n_boot):
    """Bootstrap intervals, with Klaviyo's overstatement (on request, cached)."""
    extras = {}
    if _analysis.klaviyo is not None:
        extras["overstatement"] = overstatement_statistic(
            _analysis.paths, _analysis.klaviyo
        )
    return bootstrap(
        _analysis.paths,
        tuple(_analysis.attribution.conversions.columns),
        models,
        n_boot=n_boot,
        seed=0,
        extras=extras,
    )


@st.cache_data(show_spinner="Fitting the customer-value models…", max_entries=4)
def cached_customer_value(_dataset, data_key, as_of):
    """A new customer's predicted value and each customer's (not the rules)."""
    models = funnel.customer_models(_dataset, as_of)
    return funnel.expected_new_customer_value(models), funnel.customer_values(models)


def transition_worth() -> tuple[pv.TransitionWorth, funnel.NewCustomerValue]:
    """P(win | stage) from Kaplan-Meier and the leads' predicted values."""
    new_customer, values = cached_customer_value(
        dataset, (view.data_key, chosen_currency), view.as_of
    )
    if not np.isfinite(new_customer.value):
        return pv.empirical_worth(view.leads, dataset), new_customer
    worth = pv.transition_worth(
        view.leads,
        view.as_of,
        new_customer.value,
        values,
        WIN_HORIZON_DAYS,
        dataset.timezone or "UTC",
        new_customer.from_models,
    )
    return worth, new_customer


@st.cache_data(show_spinner="Crediting stage transitions…", max_entries=8)
def cached_pipeline_tables(_dataset, _leads, _journeys, key, journeys, models, chosen):
    """The pipeline views for one model and these settings, with what the advances
    are worth (cached; per-customer values stay out of the cached result)."""
    worth, new_customer = transition_worth()
    tables = pv.pipeline_tables(
        _dataset, _leads, chosen, journeys, models, _journeys, worth
    )
    tables["worth"] = pv.worth_by_transition(_leads, worth)
    return tables, worth.how, worth.from_models, new_customer


analysis_key = (data_key, reference, view.rules.to_json(), str(view.as_of))
analysis = cached_analysis(dataset, analysis_key, journey_settings, model_settings)
result = analysis.attribution
table = result.conversions if metric == "conversions" else result.revenue


def money(value: object) -> str:
    """An amount in the analysed currency."""
    return fmt_money(value, currency_code)


fmt = fmt_number if metric == "conversions" else money

top = st.columns(3)
top[0].metric("Conversions", fmt_int(result.total_conversions))
top[1].metric(
    "Revenue" + (f" ({currency_code})" if currency_code else ""),
    money(result.total_revenue),
    help=None if use_paths else "Only orders in this currency.",
)
top[2].metric(
    "Coverage (orders with a touch in the window)", fmt_pct(analysis.coverage)
)


def klaviyo_reports() -> None:
    """Klaviyo's report rows against Shopify revenue (needs no touches)."""
    comparison = report_comparison(
        dataset.claims, dataset.purchases(), dataset.timezone or "UTC"
    )
    if comparison.empty:
        return
    st.subheader("Klaviyo's reports against Shopify revenue")
    st.caption(
        "Report rows by list or segment, and Email and SMS rows of one campaign, "
        "count the same orders again: their naive sum is double counting."
    )
    st.dataframe(readable(comparison, currency_code), width="stretch", hide_index=True)


# Empty state: orders but not one touch to credit them to.
if analysis.journeys is not None and not (analysis.coverage > 0):
    n_orders = fmt_int(result.total_conversions)
    if analysis.journeys.touches.empty:
        st.info(
            "No touchpoints uploaded: add GA4 sessions or Klaviyo events (or an "
            f"aggregated paths file) to attribute these {n_orders} orders."
        )
    else:
        st.info(
            f"None of these {n_orders} orders has a touch in the {lookback}-day "
            "lookback window: lengthen it under Settings, or add GA4 sessions or "
            "Klaviyo events that cover the orders' dates."
        )
    klaviyo_reports()
    st.stop()

# Intervals: on demand.
n_boot = st.select_slider(
    "Bootstrap replicates", [50, 100, 200, 500], value=100, key="attr_n_boot"
)
intervals = None
if st.button("Compute intervals", key="attr_bootstrap") or st.session_state.get(
    "attr_intervals_on"
):
    st.session_state["attr_intervals_on"] = True
    intervals = cached_intervals(
        analysis, (analysis_key, journey_settings), model_settings, n_boot
    )

# One chart and one table of every model.
long = table.reset_index(names="channel").melt(
    "channel", var_name="model", value_name="credit"
)
long["model"] = long["model"].map(MODEL_LABELS)
if intervals is not None:
    bounds = intervals.conversions if metric == "conversions" else intervals.revenue
    ci = pd.concat({MODEL_LABELS[m]: b for m, b in bounds.items()}, names=["model"])
    ci = ci.reset_index(names=["model", "channel"])
    long = long.merge(ci, on=["model", "channel"], how="left")
order = [MODEL_LABELS[m] for m in table.columns]
base = alt.Chart(long).encode(
    x=alt.X("channel:N", title=None, axis=alt.Axis(labelAngle=-30)),
    xOffset=alt.XOffset("model:N", sort=order),
)
layers = [
    base.mark_bar().encode(
        y=alt.Y("credit:Q", title=metric.capitalize()),
        color=alt.Color("model:N", sort=order, title="Model"),
        tooltip=["channel", "model", alt.Tooltip("credit:Q", format=",.1f")]
        + (
            [alt.Tooltip("low:Q", format=",.1f"), alt.Tooltip("high:Q", format=",.1f")]
            if intervals is not None
            else []
        ),
    )
]
if intervals is not None:
    layers.append(base.mark_rule(color="black").encode(y="low:Q", y2="high:Q"))
st.altair_chart(alt.layer(*layers).properties(height=380), width="stretch")

digits = 1 if metric == "conversions" else 2
shown = table.rename(columns=MODEL_LABELS).round(digits)
if intervals is not None:
    bounds = intervals.conversions if metric == "conversions" else intervals.revenue
    for model, frame in bounds.items():
        label = MODEL_LABELS[model]
        shown[f"{label} 90% interval"] = [
            f"{fmt(frame.at[c, 'low'])} – {fmt(frame.at[c, 'high'])}"
            if c in frame.index
            else "–"
            for c in shown.index
        ]
shown.index.name = "Channel"
st.dataframe(
    shown
    if metric == "conversions"
    else shown.style.format(
        {label: money for label in shown.columns if label in order}, na_rep=MISSING
    ),
    width="stretch",
)
st.caption(f"% change against {MODEL_LABELS[reference]}")
change = result.percent_change(reference, metric).rename(columns=MODEL_LABELS)
change.index.name = "Channel"
st.dataframe(
    change.style.format(lambda v: f"{v:+,.1f} %", na_rep=MISSING), width="stretch"
)

# Conversion paths.
st.subheader("Conversion paths")
left, right = st.columns(2)
left.caption("Touches before each conversion")
left.dataframe(
    readable(cp.touches_to_convert(analysis.paths), currency_code), width="stretch"
)
days = cp.days_to_convert(analysis.paths)
if not days.empty:
    right.caption("Days from the first touch to the conversion")
    right.dataframe(readable(days, currency_code), width="stretch")
st.caption("Conversions credited to the only, first, middle and last touches")
st.dataframe(
    cp.credit_by_position(
        analysis.paths, tuple(result.conversions.columns), model_settings
    )
    .rename(columns=MODEL_LABELS)
    .style.format(lambda v: fmt_number(v, 1), na_rep=MISSING),
    width="stretch",
)

# Pipeline views need events and stages.
if analysis.journeys is not None and not view.leads.empty:
    st.subheader("Credit by stage transition")
    chosen = st.selectbox(
        "Model for the pipeline views",
        MODEL_NAMES,
        index=MODEL_NAMES.index("linear"),
        format_func=MODEL_LABELS.get,
        key="attr_pipeline_model",
        bind="query-params",
    )
    tables, worth_how, from_models, new_customer = cached_pipeline_tables(
        dataset,
        view.leads,
        analysis.journeys,
        (analysis_key, chosen, view.data_key),
        journey_settings,
        model_settings,
        chosen,
    )
    st.dataframe(readable(tables["transitions"], currency_code, 2), width="stretch")
    st.subheader("Pipeline-weighted credit")
    st.caption(
        "Each advance is worth (P(win | new stage) − P(win | old stage)) × the lead's "
        f"predicted value, shared by the chosen model. Here: {worth_how}."
    )
    if not new_customer.from_models:
        st.warning(new_customer.how)
    worths = tables["worth"]
    st.dataframe(
        pd.DataFrame(
            {
                "Advances": worths["advances"].map(fmt_int),
                "Mean change in P(win)": worths["mean_gain"].map(fmt_pct),
                "Mean predicted value": worths["mean_value"].map(money),
                "Total worth": worths["worth"].map(money),
            }
        ).rename_axis(index="Stage"),
        width="stretch",
        key="attr_transition_worth",
    )
    if (worths["worth"] < 0).any():
        st.caption(
            "A negative worth means leads entering the later stage are no likelier "
            f"to buy within {WIN_HORIZON_DAYS} days than those entering the earlier "
            "one: touches before such advances get negative credit."
        )
    weighted = tables["weighted"]
    st.caption(f"Worth credited to each channel ({currency_code or 'no currency'})")
    st.dataframe(
        readable(weighted, currency_code, 2, money=tuple(weighted.columns)),
        width="stretch",
    )
    st.subheader("Outbound effectiveness")
    if tables["outbound"].empty:
        st.info("No email or SMS touches with a campaign or flow name.")
    else:
        st.dataframe(
            readable(tables["outbound"], currency_code, 2),
            width="stretch",
            hide_index=True,
        )
    if not tables["spend"].empty:
        st.subheader("Spend")
        st.caption(
            "CLV is the mean predicted value (purchases so far plus BG/NBD and "
            "Gamma-Gamma's next 12 months) of the customers the chosen model credits "
            "to each channel; CAC is spend over those new customers."
            if from_models
            else "CLV here is the average revenue per customer so far (a floor: the "
            "customer-value models could not be fitted); CAC is spend over new "
            "customers credited by the chosen model."
        )
        spend_currency = dataset.spend["currency"].dropna().astype(str).str.upper()
        spend_code = spend_currency.mode().iloc[0] if len(spend_currency) else None
        spend_table = tables["spend"].copy()
        if spend_code and currency_code and spend_code != currency_code:
            spend_table["clv_to_cac"] = np.nan
            st.caption(
                f"Spend is in {spend_code} and orders in {currency_code}: CLV ÷ CAC "
                "is left out (no exchange rates)."
            )
        spend_money = tuple(
            c
            for c in spend_table.columns
            if c == "spend" or c.startswith("cost_per") or c == "cac"
        )
        st.dataframe(
            readable(
                spend_table, spend_code or currency_code, 2, money=spend_money
            ).format({"CLV": money}, na_rep=MISSING),
            width="stretch",
        )

# Klaviyo's claim.
klaviyo = analysis.klaviyo
if klaviyo is not None:
    st.subheader("Klaviyo's attributed revenue against the models")
    cols = st.columns(4)
    cols[0].metric("Klaviyo claims", money(klaviyo.claimed_revenue))
    if klaviyo.total_revenue:
        cols[0].caption(
            f"{fmt_pct(klaviyo.claimed_revenue / klaviyo.total_revenue)} of "
            f"revenue ({money(klaviyo.total_revenue)})"
        )
    cols[1].metric("Resting on opens alone", money(klaviyo.claimed_opens_only_revenue))
    cols[2].metric("Click-only claim", money(klaviyo.click_only_claimed_revenue))
    cols[3].metric(
        f"Overstatement vs {MODEL_LABELS[klaviyo.reference_model]}",
        f"×{fmt_number(klaviyo.overstatement, 2)}",
    )
    if intervals is not None and "overstatement" in intervals.extras:
        low, high = intervals.extras["overstatement"]
        st.caption(
            f"Overstatement, {intervals.level:.0%} bootstrap interval: "
            f"×{fmt_number(low, 2)} to ×{fmt_number(high, 2)}"
        )
    else:
        st.caption("Compute intervals above for the overstatement's interval.")
    gap = pd.DataFrame(
        {
            "Revenue": [
                klaviyo.claimed_with_ad_click_revenue,
                klaviyo.claimed_already_intent_revenue,
            ],
        },
        index=[
            "claimed orders with an ad click in the window",
            "claimed orders of leads already in purchase intent",
        ],
    )
    st.dataframe(gap.style.format(money, na_rep=MISSING), width="stretch")
    by_model = pd.DataFrame(
        {"Email + SMS revenue": pd.Series(klaviyo.model_email_sms_revenue)}
    )
    by_model["Klaviyo's claim ÷ this"] = klaviyo.claimed_revenue / by_model[
        "Email + SMS revenue"
    ].replace(0.0, float("nan"))
    by_model = by_model.rename(index=MODEL_LABELS)
    by_model.index.name = "Model"
    st.dataframe(
        by_model.style.format(
            {
                "Email + SMS revenue": money,
                "Klaviyo's claim ÷ this": lambda v: f"×{fmt_number(v, 2)}",
            },
            na_rep=MISSING,
        ),
        width="stretch",
    )

klaviyo_reports()
