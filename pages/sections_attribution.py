"""The Attribution page's sections below the models' credit: conversion paths,
pipeline views, spend, Klaviyo's claim and Klaviyo's reports.

Each function draws one section from figures the page already has (the cached
pipeline views, the analysis's Klaviyo comparison); the formatted tables come from
:mod:`pages.tables_attribution`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages.tables import show_table
from pages.tables_attribution import (
    claim_gap_table,
    claim_ratio_table,
    readable,
    worth_table,
)
from pipeline.attribution import conversion_paths as cp
from pipeline.attribution import page_figures as figures
from pipeline.attribution.analysis import Analysis
from pipeline.attribution.klaviyo import Overstatement, report_comparison
from pipeline.attribution.models import MODEL_LABELS, ModelSettings
from pipeline.clv_pricing import NewCustomerValue
from pipeline.formatting import MISSING, fmt_int, fmt_money, fmt_number, fmt_pct
from pipeline.model import Dataset


def conversion_paths(
    analysis: Analysis, settings: ModelSettings, currency_code: str | None
) -> None:
    """Touches and days before each conversion, and what each position is credited."""
    st.subheader("Conversion paths")
    left, right = st.columns(2)
    left.caption("Touches before each conversion")
    show_table(
        readable(cp.touches_to_convert(analysis.paths), currency_code),
        where=left,
        width="stretch",
    )
    days = cp.days_to_convert(analysis.paths)
    if not days.empty:
        right.caption("Days from the first touch to the conversion")
        show_table(readable(days, currency_code), where=right, width="stretch")
    st.caption("Conversions credited to the only, first, middle and last touches")
    models = tuple(analysis.attribution.conversions.columns)
    show_table(
        cp.credit_by_position(analysis.paths, models, settings)
        .rename(columns=MODEL_LABELS)
        .style.format(lambda v: fmt_number(v, 1), na_rep=MISSING),
        width="stretch",
    )


def pipeline_views(
    tables: dict[str, pd.DataFrame],
    worth_how: str,
    from_models: bool,
    new_customer: NewCustomerValue,
    dataset: Dataset,
    currency_code: str | None,
    horizon_days: int,
) -> None:
    """Credit by stage transition, pipeline-weighted credit, outbound and spend.

    ``tables`` are :func:`pipeline.attribution.pipeline_views.pipeline_tables` with
    their ``worth`` (:func:`pipeline.attribution.pipeline_views.worth_by_transition`);
    ``worth_how`` and ``from_models`` say how the advances were priced.
    """

    def money(value: object) -> str:
        return fmt_money(value, currency_code)

    show_table(readable(tables["transitions"], currency_code, 2), width="stretch")
    st.subheader("Pipeline-weighted credit")
    st.caption(
        "Each advance is worth (P(win | new stage) − P(win | old stage)) × the lead's "
        f"predicted value, shared by the chosen model. Here: {worth_how}."
    )
    if not new_customer.from_models:
        st.warning(new_customer.how)
    worths = tables["worth"]
    show_table(
        worth_table(worths, money), width="stretch", key="attr_transition_worth"
    )
    if (worths["worth"] < 0).any():
        st.caption(
            "A negative worth means leads entering the later stage are no likelier "
            f"to buy within {horizon_days} days than those entering the earlier "
            "one: touches before such advances get negative credit."
        )
    weighted = tables["weighted"]
    st.caption(f"Worth credited to each channel ({currency_code or 'no currency'})")
    show_table(
        readable(weighted, currency_code, 2, money=tuple(weighted.columns)),
        width="stretch",
    )
    st.subheader("Outbound effectiveness")
    if tables["outbound"].empty:
        st.info("No email or SMS touches with a campaign or flow name.")
    else:
        show_table(
            readable(tables["outbound"], currency_code, 2),
            width="stretch",
            hide_index=True,
        )
    if not tables["spend"].empty:
        spend(tables["spend"], from_models, dataset, currency_code)


def spend(
    spend_table: pd.DataFrame,
    from_models: bool,
    dataset: Dataset,
    currency_code: str | None,
) -> None:
    """Spend, CAC and CLV per channel; CLV ÷ CAC only within one currency."""

    def money(value: object) -> str:
        return fmt_money(value, currency_code)

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
    spend_table, spend_code, no_ratio = figures.spend_in_currency(
        spend_table, dataset.spend, currency_code
    )
    if no_ratio:
        st.caption(
            f"Spend is in {spend_code} and orders in {currency_code}: CLV ÷ CAC "
            "is left out (no exchange rates)."
        )
    spend_money = tuple(
        c
        for c in spend_table.columns
        if c == "spend" or c.startswith("cost_per") or c == "cac"
    )
    show_table(
        readable(
            spend_table, spend_code or currency_code, 2, money=spend_money
        ).format({"CLV": money}, na_rep=MISSING),
        width="stretch",
    )


def unused_spend(dataset: Dataset, why: str) -> None:
    """Say that uploaded ad spend is not used on this page, and why."""
    codes = dataset.spend["currency"].dropna().astype(str).str.upper()
    code = codes.mode().iloc[0] if len(codes) else None
    st.info(
        f"Ad spend is uploaded ({fmt_int(len(dataset.spend))} rows, "
        f"{fmt_money(dataset.spend['spend'].sum(), code)} in all), but it is not "
        f"used here: {why}. Spend, cost per lead and CAC by channel appear under the "
        "pipeline views once orders, touches (GA4 sessions or Klaviyo events) and "
        "captured leads are uploaded together."
    )


def klaviyo_claim(
    klaviyo: Overstatement, intervals: object | None, currency_code: str | None
) -> None:
    """Klaviyo's attributed revenue against the orders and every model."""

    def money(value: object) -> str:
        return fmt_money(value, currency_code)

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
    show_table(claim_gap_table(klaviyo, money), width="stretch")
    show_table(
        claim_ratio_table(figures.claim_ratios(klaviyo), money), width="stretch"
    )


def klaviyo_reports(dataset: Dataset, currency_code: str | None) -> None:
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
    show_table(readable(comparison, currency_code), width="stretch", hide_index=True)
