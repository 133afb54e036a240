"""Attribution: every model side by side, pipeline views and Klaviyo's claim.

The figures come from :mod:`pipeline.attribution` (with
:mod:`pipeline.attribution.page_figures` for the claim, spend and worth beside the
models); the settings, the chart, the formatted tables and the sections below the
credit from :mod:`pages.settings_attribution`, :mod:`pages.charts_attribution`,
:mod:`pages.tables_attribution` and :mod:`pages.sections_attribution`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import sections_attribution as sections
from pages.charts_attribution import credit_chart
from pages.common import current_view
from pages.settings_attribution import attribution_settings
from pages.tables import show_table
from pages.tables_attribution import credit_table
from pipeline import clv_pricing
from pipeline.attribution import page_figures as figures
from pipeline.attribution import pipeline_views as pv
from pipeline.attribution.analysis import (
    analyse_dataset,
    analyse_paths,
    overstatement_statistic,
)
from pipeline.attribution.intervals import bootstrap
from pipeline.attribution.klaviyo import KlaviyoSettings
from pipeline.attribution.models import MODEL_LABELS, MODEL_NAMES
from pipeline.clv_currency import NO_CURRENCY, in_one_currency, purchase_currencies
from pipeline.formatting import MISSING, fmt_int, fmt_money, fmt_pct

# Win horizon of P(win | stage) in pipeline-weighted credit (the Funnel's default).
WIN_HORIZON_DAYS = 90

view = current_view()
dataset = view.dataset.up_to(view.as_of)  # (what had happened by the "as of" day)
path_tables = figures.uploaded_path_tables(dataset)
has_orders = len(dataset.purchases()) > 0

st.title("Attribution")
st.caption(
    f"Every model on the same journeys, over the orders up to {view.as_of:%d %b %Y}. "
    "Each column adds up to all conversions: orders with no touch in the lookback "
    "window are shown as (unattributed)."
)

# Guard: models need conversions.
if not has_orders and not path_tables and len(view.dataset.purchases()):
    st.info(
        f"No purchase up to {view.as_of:%d %b %Y}: move 'As of' in the sidebar to a "
        "later day to credit the orders."
    )
    st.stop()
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
        "choose {code} under Currency above to analyse them",
        "'no currency in the export'",
    ):
        st.warning(line)
data_key = (
    view.data_key,
    str(view.as_of),
    view.file_names,
    dataset.timezone,
    len(dataset.events),
    len(dataset.orders),
    chosen_currency,
    use_paths,
)

# Settings.
journey_settings, model_settings = attribution_settings()

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
    models = clv_pricing.customer_models(_dataset, as_of)
    return (
        clv_pricing.expected_new_customer_value(models),
        clv_pricing.customer_values(models),
    )


def transition_worth() -> tuple[pv.TransitionWorth, clv_pricing.NewCustomerValue]:
    """P(win | stage) from Kaplan-Meier and the leads' predicted values."""
    new_customer, values = cached_customer_value(
        dataset, (view.data_key, chosen_currency), view.as_of
    )
    worth = figures.advance_worth(
        view.leads, dataset, view.as_of, new_customer, values, WIN_HORIZON_DAYS
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


top = st.columns(3)
top[0].metric("Conversions", fmt_int(result.total_conversions))
top[1].metric(
    "Revenue" + (f" ({currency_code})" if currency_code else ""),
    money(result.total_revenue),
    help=None if use_paths else "Only orders in this currency.",
)
top[2].metric(
    (
        "Coverage (conversions on a path with a touch)"
        if use_paths
        else "Coverage (orders with a touch in the window)"
    ),
    fmt_pct(analysis.coverage),
)

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
            f"None of these {n_orders} orders has a touch in the "
            f"{journey_settings.lookback_days}-day "
            "lookback window: lengthen it under Settings, or add GA4 sessions or "
            "Klaviyo events that cover the orders' dates."
        )
    if not dataset.spend.empty:
        sections.unused_spend(dataset, "no order has a touch to credit")
    sections.klaviyo_reports(dataset, currency_code)
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
st.altair_chart(credit_chart(table, intervals, metric), width="stretch")
show_table(credit_table(table, intervals, metric, money), width="stretch")
st.caption(f"% change against {MODEL_LABELS[reference]}")
change = result.percent_change(reference, metric).rename(columns=MODEL_LABELS)
change.index.name = "Channel"
show_table(
    change.style.format(lambda v: f"{v:+,.1f} %", na_rep=MISSING), width="stretch"
)

# Conversion paths.
sections.conversion_paths(analysis, model_settings, currency_code)

# Pipeline views need events and stages.
spend_shown = False
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
    sections.pipeline_views(
        tables,
        worth_how,
        from_models,
        new_customer,
        dataset,
        currency_code,
        WIN_HORIZON_DAYS,
    )
    spend_shown = not tables["spend"].empty
if not dataset.spend.empty and not spend_shown:
    sections.unused_spend(
        dataset,
        "an aggregated paths file names no people, so no lead or customer can be "
        "counted against it"
        if use_paths
        else "no captured leads are uploaded to count against it",
    )

# Klaviyo's claim.
if analysis.klaviyo is not None:
    sections.klaviyo_claim(analysis.klaviyo, intervals, currency_code)

sections.klaviyo_reports(dataset, currency_code)
