"""The Funnel page's larger output sections: time to customer and the pipeline
value summary.

Each function draws one section from figures the page already has from
:func:`pipeline.velocity.velocity_figures`; charts and formatted tables come from
:mod:`pages.charts_funnel` and :mod:`pages.tables_funnel`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from pages import charts_funnel as charts
from pages import tables_funnel as tables
from pages.tables import show_table
from pipeline.clv_pricing import NewCustomerValue
from pipeline.formatting import fmt_days, fmt_interval, fmt_money, fmt_number, fmt_pct
from pipeline.pipeline_value import PipelineValue
from pipeline.report_funnel import new_customer_sentence
from pipeline.velocity import Velocity


def time_to_customer(figures: Velocity) -> None:
    """The Kaplan-Meier lead-to-customer curve, its median and the shares by day."""
    ttc = figures.time_to_customer
    st.markdown("**Time from capture to first purchase**")
    if ttc.curve.empty:
        st.info("No captured lead has become a customer yet, so there is no curve.")
    else:
        st.altair_chart(
            charts.time_to_customer_chart(ttc),
            width="stretch",
            key="funnel_time_to_customer",
        )
        if ttc.note:
            st.markdown(
                f"No median time or shares by day: {ttc.note}. The curve above is "
                "drawn, but so few leads cannot tell how long leads take."
            )
            return
        if np.isfinite(ttc.median_days):
            interval = fmt_interval(ttc.median_low, ttc.median_high, fmt_days, digits=0)
            st.markdown(
                "Half of captured leads buy within "
                f"**{fmt_days(ttc.median_days, 0)}** (95 % interval {interval})."
            )
        else:
            st.markdown(
                "Fewer than half of captured leads have bought within the follow-up, "
                "so the median time is not reached; the shares who bought within a "
                "given time are below."
            )
        show_table(
            tables.converted_by_table(figures.converted_by),
            hide_index=True,
            width="stretch",
            key="funnel_converted_by",
        )


def value_summary(
    value: PipelineValue,
    new_customer: NewCustomerValue,
    currencies: list[str],
    currency: str | None,
) -> None:
    """What a new customer is worth, pipeline value, expected customers and change.

    With orders in several ``currencies``, or no value for a new customer yet (no
    purchase by the 'as of' day), pipeline value is shown in expected customers,
    never in money added up across currencies or priced at nothing.
    """
    mixed_money = len(currencies) > 1
    priced = np.isfinite(new_customer.value)
    if mixed_money:
        st.warning(
            f"Orders are in several currencies ({', '.join(currencies)}): pipeline "
            "value is shown in expected customers, not money."
        )
    elif new_customer.from_models:
        st.success(new_customer_sentence(new_customer, currency))
    else:
        st.warning(new_customer_sentence(new_customer, currency))
    mom = value.month_over_month
    money = not mixed_money and priced
    expected = fmt_number(value.by_stage["expected_customers"].sum(), 1)
    left, middle, right = st.columns(3)
    if money:
        value_range = fmt_interval(
            value.low, value.high, fmt_money, currency=currency, digits=0
        )
        left.metric(
            "Pipeline value",
            fmt_money(value.total, currency, 0),
            help="Approximate 95 % range from the win-probability intervals: "
            f"{value_range}.",
        )
    else:
        why = (
            "the orders are in several currencies, and amounts in different "
            "currencies are never added up"
            if mixed_money
            else "a new customer has no value yet (no purchase by the 'as of' day)"
        )
        left.metric(
            "Pipeline value",
            "–",
            help=f"Not computed: {why}. Expected new customers are.",
        )
    middle.metric("Expected new customers", expected)
    right.metric(
        "Change over 30 days",
        fmt_pct(mom["change_pct"] / 100) if np.isfinite(mom["change_pct"]) else "–",
        delta=(fmt_money(mom["change"], currency, 0) if money else None),
        help="Pipeline value now against 30 days ago, both with today's win curves.",
    )
