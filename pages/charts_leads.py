"""The Leads page's Altair charts: the lead score's calibration on a later period and
its coefficients.

Each function takes a table of the fitted
:class:`pipeline.scoring.LeadScoreModel` and returns a chart; the page draws it.
"""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

INTERVAL_COLOR = "#8a9bb0"
"""Interval bars: readable on the light and the dark theme."""


def calibration_top(table: pd.DataFrame) -> float:
    """Where the calibration chart's axes end: a round rate just above the highest
    predicted rate or interval end, at most 100 %.

    Parameters
    ----------
    table
        The scoring model's calibration table (``predicted``, ``observed_high``).

    Returns
    -------
    float
        A rate in (0, 1]: 0.1 when the bins reach 8.3 %.
    """
    reach = float(np.nanmax(table[["predicted", "observed_high"]].to_numpy(float)))
    if not reach > 0:
        return 1.0
    room = reach * 1.1
    step = 10.0 ** math.floor(math.log10(room))
    return min(1.0, math.ceil(room / step) * step)


def calibration_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Observed purchase rate against predicted, per bin, with Wilson intervals.

    Both axes span what the bins reach (:func:`calibration_top`): a 2 % base rate
    is not drawn on 0-100 %. The dashed diagonal is perfect calibration.

    Parameters
    ----------
    table
        ``bin, leads, predicted, observed, observed_low, observed_high``
        (:func:`pipeline.scoring_fit.calibration_table`).
    """
    top = calibration_top(table)
    scale = alt.Scale(domain=[0, top], nice=False)
    diagonal = (
        alt.Chart(pd.DataFrame({"x": [0, top], "y": [0, top]}))
        .mark_line(strokeDash=[4, 4], color="gray")
        .encode(x=alt.X("x:Q", scale=scale), y=alt.Y("y:Q", scale=scale))
    )
    base = alt.Chart(table)
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X(
            "predicted:Q",
            title="Predicted P(purchase)",
            axis=alt.Axis(format="%"),
            scale=scale,
        ),
        y=alt.Y(
            "observed:Q",
            title="Observed purchase rate",
            axis=alt.Axis(format="%"),
            scale=scale,
        ),
        tooltip=[
            alt.Tooltip("bin:O", title="Bin"),
            alt.Tooltip("leads:Q", title="Leads", format=","),
            alt.Tooltip("predicted:Q", title="Predicted", format=".1%"),
            alt.Tooltip("observed:Q", title="Observed", format=".1%"),
        ],
    )
    bars = base.mark_rule(color=INTERVAL_COLOR).encode(
        x=alt.X("predicted:Q", scale=scale),
        y=alt.Y("observed_low:Q", scale=scale),
        y2="observed_high:Q",
    )
    return (diagonal + bars + points).properties(
        title="Calibration on the later period (95 % Wilson intervals)", height=320
    )


def coefficient_chart(coefs: pd.DataFrame) -> alt.LayerChart:
    """Each feature's log-odds coefficient with its 95 % interval.

    Parameters
    ----------
    coefs
        ``term, coef, ci_low, ci_high, odds_ratio`` without the constant.
    """
    intervals = (
        alt.Chart(coefs, title="Coefficients (log-odds) with 95 % intervals")
        .mark_rule(color=INTERVAL_COLOR, strokeWidth=2)
        .encode(
            y=alt.Y("term:N", title=None, sort=None, axis=alt.Axis(labelLimit=280)),
            x=alt.X("ci_low:Q", title="Log-odds of a purchase"),
            x2="ci_high:Q",
        )
    )
    points = (
        alt.Chart(coefs)
        .mark_point(filled=True)
        .encode(
            y=alt.Y("term:N", sort=None),
            x="coef:Q",
            tooltip=[
                "term",
                alt.Tooltip("coef:Q", format=".3f"),
                alt.Tooltip("ci_low:Q", format=".3f"),
                alt.Tooltip("ci_high:Q", format=".3f"),
                alt.Tooltip("odds_ratio:Q", format=".2f", title="Odds ratio"),
            ],
        )
    )
    return intervals + points
