"""The Customer value page's Altair charts: the frequency/recency matrices, the
holdout check and the CLV distribution.

Each function takes a table the page already has from ``pipeline`` and returns a
chart; the page draws it.
"""

from __future__ import annotations

import datetime as dt

import altair as alt
import pandas as pd

from pipeline.formatting import altair_money_format


def matrix_chart(grid: pd.DataFrame, field: str, title: str, unit: str) -> alt.Chart:
    """One figure of the frequency/recency grid as a heat map.

    Parameters
    ----------
    grid
        :func:`pipeline.clv_fit.frequency_recency_grid`.
    field
        The figure drawn: ``expected_purchases`` or ``p_alive``.
    title
        The chart's and the colour legend's title.
    unit
        The summary's time unit (``day`` or ``week``), for the recency axis.
    """
    return (
        alt.Chart(grid, title=title)
        .mark_rect()
        .encode(
            x=alt.X(
                "recency:Q",
                bin=alt.Bin(maxbins=25),
                title=f"Recency: {unit}s from first to last purchase",
            ),
            y=alt.Y("frequency:O", sort="descending", title="Repeat purchases"),
            color=alt.Color(f"mean({field}):Q", title=title),
            tooltip=[
                "frequency",
                alt.Tooltip("recency:Q", format=".1f"),
                alt.Tooltip(f"mean({field}):Q", format=".2f", title=title),
            ],
        )
    )


def holdout_chart(by_frequency: pd.DataFrame) -> alt.Chart:
    """Predicted against actual holdout purchases, per calibration frequency.

    Parameters
    ----------
    by_frequency
        The holdout report's ``frequency, customers, predicted, actual`` table
        (:func:`pipeline.clv_validation.holdout_report`).
    """
    long = by_frequency.melt(
        id_vars=["frequency", "customers"],
        value_vars=["predicted", "actual"],
        var_name="series",
        value_name="purchases",
    )
    return (
        alt.Chart(long, title="Holdout purchases per customer by calibration frequency")
        .mark_bar()
        .encode(
            x=alt.X("frequency:N", sort=None, title="Repeat purchases in calibration"),
            xOffset="series:N",
            y=alt.Y("purchases:Q", title="Mean repeat purchase-days in holdout"),
            color=alt.Color("series:N", title=""),
            tooltip=[
                "frequency",
                "series",
                "customers",
                alt.Tooltip("purchases:Q", format=".2f"),
            ],
        )
    )


def tracking_chart(tracking: pd.DataFrame, calibration_end: dt.date) -> alt.LayerChart:
    """Cumulative repeat purchase-days, actual against expected, with the
    calibration end marked.

    Parameters
    ----------
    tracking
        :func:`pipeline.clv_validation.cumulative_tracking`.
    calibration_end
        The last day the models were fitted on.
    """
    long = tracking.melt(
        id_vars=["date", "period"],
        value_vars=["actual", "expected"],
        var_name="series",
        value_name="purchases",
    )
    lines = (
        alt.Chart(long, title="Cumulative repeat purchase-days")
        .mark_line()
        .encode(
            x=alt.X("date:T", title="Date"),
            y=alt.Y("purchases:Q", title="Cumulative repeat purchase-days"),
            color=alt.Color("series:N", title=""),
            tooltip=[
                "date:T",
                "series",
                "period",
                alt.Tooltip("purchases:Q", format=",.0f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"date": [calibration_end]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(x="date:T")
    )
    return lines + rule


def clv_histogram(table: pd.DataFrame, currency: str | None) -> alt.Chart:
    """How many customers have each predicted CLV.

    Parameters
    ----------
    table
        The customers' table (``clv``).
    currency
        The amounts' currency code, for the axis and the tooltips.
    """
    money = altair_money_format(currency)
    return (
        alt.Chart(table, title="CLV distribution")
        .mark_bar()
        .encode(
            x=alt.X(
                "clv:Q",
                bin=alt.Bin(maxbins=40),
                title=f"CLV ({currency})" if currency else "CLV",
            ),
            y=alt.Y("count():Q", title="Customers"),
            tooltip=[
                alt.Tooltip("count():Q", title="Customers"),
                alt.Tooltip(
                    "clv:Q", bin=alt.Bin(maxbins=40), format=money, title="CLV"
                ),
            ],
        )
    )
