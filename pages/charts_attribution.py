"""The Attribution page's chart: every model's credit per channel, side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd

from pipeline.attribution.models import MODEL_LABELS


def credit_chart(
    table: pd.DataFrame, intervals: object | None, metric: str
) -> alt.LayerChart:
    """Grouped bars of each model's credit per channel, with interval rules.

    Parameters
    ----------
    table
        The models' conversions or revenue per channel (one column per model).
    intervals
        :func:`pipeline.attribution.intervals.bootstrap`, or ``None``; with it each
        bar gets its interval as a black rule and in its tooltip.
    metric
        ``conversions`` or ``revenue``.
    """
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
    interval_tips = [
        alt.Tooltip("low:Q", format=",.1f"),
        alt.Tooltip("high:Q", format=",.1f"),
    ]
    layers = [
        base.mark_bar().encode(
            y=alt.Y("credit:Q", title=metric.capitalize()),
            color=alt.Color("model:N", sort=order, title="Model"),
            tooltip=["channel", "model", alt.Tooltip("credit:Q", format=",.1f")]
            + (interval_tips if intervals is not None else []),
        )
    ]
    if intervals is not None:
        layers.append(base.mark_rule(color="black").encode(y="low:Q", y2="high:Q"))
    return alt.layer(*layers).properties(height=380)
