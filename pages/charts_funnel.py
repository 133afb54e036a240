"""The Funnel page's Altair charts: stage bars, lead-to-customer time, weekly value
and weekly stage conversion.

Each function takes a table the page already has from ``pipeline`` and returns a
chart; the page draws it with its own widget key.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from pipeline.formatting import altair_money_format, fmt_int
from pipeline.funnel import CUSTOMER_KINDS, STAGE_LABELS
from pipeline.model import STAGES
from pipeline.survival import TimeToCustomer, curve_from_origin


def chart_title(text: str, **params) -> alt.Title:
    """A chart title whose subtitle reads on both the light and the dark theme."""
    return alt.Title(text, subtitleColor="#8a94a6", **params)


def stage_chart(bars: pd.DataFrame) -> alt.Chart:
    """Leads in each stage now, customers split into first-time and repeat.

    ``bars`` is :func:`pipeline.funnel.stage_split`. Legend and stacking follow
    :data:`pipeline.funnel.CUSTOMER_KINDS`, first-time before repeat, whatever the
    counts or the alphabet say.
    """
    parts = ["all", *CUSTOMER_KINDS.values()]
    bars = bars.assign(
        stage=bars["stage"].map(STAGE_LABELS),
        part=bars["part"].map(lambda p: CUSTOMER_KINDS.get(p, p)),
    )
    bars = bars.assign(part_order=bars["part"].map(parts.index))
    return (
        alt.Chart(
            bars,
            title=chart_title(
                "Leads in each stage now",
                subtitle="Customers split into first-time and repeat buyers",
            ),
        )
        .mark_bar()
        .encode(
            x=alt.X("leads:Q", stack="center", title="Leads (persons)", axis=None),
            y=alt.Y("stage:N", sort=[STAGE_LABELS[s] for s in STAGES], title=None),
            color=alt.Color(
                "part:N",
                title="Customers",
                sort=parts,
                scale=alt.Scale(domain=parts, range=["#4c78a8", "#72b7b2", "#2a7f62"]),
                legend=alt.Legend(values=parts[1:]),
            ),
            order=alt.Order("part_order:Q"),
            tooltip=[
                alt.Tooltip("stage:N", title="Stage"),
                alt.Tooltip("part:N", title="Part"),
                alt.Tooltip("leads:Q", title="Leads", format=","),
                alt.Tooltip("share:Q", title="Share of all leads", format=".1%"),
            ],
        )
        .properties(height=260)
    )


def time_to_customer_chart(ttc: TimeToCustomer) -> alt.LayerChart:
    """The share of captured leads who became customers, with its 95 % band."""
    curve = curve_from_origin(ttc)
    base = alt.Chart(curve).encode(
        x=alt.X("days:Q", title="Days since capture", axis=alt.Axis(format=",~f")),
    )
    band = base.mark_area(opacity=0.25, interpolate="step-after").encode(
        y=alt.Y(
            "converted_low:Q",
            title="Became customers",  # (a longer title squashes the plot)
            axis=alt.Axis(format="%"),
        ),
        y2="converted_high:Q",
    )
    line = base.mark_line(interpolate="step-after").encode(
        y="converted:Q",
        tooltip=[
            alt.Tooltip("days:Q", title="Days since capture", format=",.1f"),
            alt.Tooltip("converted:Q", title="Became customers", format=".1%"),
            alt.Tooltip("converted_low:Q", title="95 % low", format=".1%"),
            alt.Tooltip("converted_high:Q", title="95 % high", format=".1%"),
            alt.Tooltip("at_risk:Q", title="Leads still open (at risk)", format=","),
        ],
    )
    return alt.layer(band, line).properties(
        height=300,
        title=chart_title(
            "Lead-to-customer time (Kaplan-Meier)",
            subtitle=f"{fmt_int(ttc.converted)} of {fmt_int(ttc.leads)} captured "
            "leads bought; band: pointwise 95 % interval",
        ),
    )


def value_chart(
    weekly_value: pd.DataFrame, money: bool, currency: str | None
) -> alt.Chart:
    """Pipeline value (or expected customers, without ``money``) at each week's end.

    ``weekly_value`` is :func:`pipeline.funnel_weekly.value_weeks_with_orders`.
    """
    y_field = "value" if money else "expected_customers"
    money_tooltip = [
        alt.Tooltip("value:Q", title="Value", format=altair_money_format(currency))
    ]
    return (
        alt.Chart(
            weekly_value,
            title=chart_title(
                "Pipeline value at the end of each week",
                subtitle="Past weeks replay the stage rules on that day; win curves "
                "are today's",
            ),
        )
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "week_end:T",
                title="Week ending",
                axis=alt.Axis(format="%d %b %Y", labelAngle=0, labelOverlap=True),
            ),
            y=alt.Y(
                f"{y_field}:Q",
                title=(
                    ("Pipeline value" + (f" ({currency})" if currency else ""))
                    if money
                    else "Expected customers"
                ),
                # "~f": whole numbers without padding zeros, even on a flat line
                axis=alt.Axis(
                    format=("$" if money and currency == "USD" else "") + ",~f"
                ),
            ),
            tooltip=[
                alt.Tooltip("week_end:T", title="Week ending"),
                alt.Tooltip("open_leads:Q", title="Open leads", format=","),
                alt.Tooltip(
                    "expected_customers:Q", title="Expected customers", format=",.1f"
                ),
            ]
            + (money_tooltip if money else []),
        )
        .properties(height=240)
    )


def _weekly_base(recent: pd.DataFrame) -> alt.Chart:
    """The weekly charts' shared encoding: week, stage colour, one line per segment.

    Streamlit fits title, legend and axes into the chart's height: the legend sits
    on the right with whole labels, axis labels stay horizontal.
    """
    present = set(recent["stage"])
    stage_order = [STAGE_LABELS[s] for s in STAGES if STAGE_LABELS[s] in present]
    legend = alt.Legend(title="Stage entered", labelLimit=0)
    x_axis = alt.X(
        "week:T",
        title="Week entered (Monday)",
        axis=alt.Axis(format="%b %Y", labelAngle=0, labelOverlap=True),
    )
    return alt.Chart(recent).encode(
        x=x_axis,
        color=alt.Color(
            "stage:N",
            sort=stage_order,
            legend=legend,
            scale=alt.Scale(domain=stage_order),
        ),
        detail="segment:N",
        tooltip=[
            alt.Tooltip("week:T", title="Week of", format="%d %b %Y"),
            alt.Tooltip("stage:N", title="Stage"),
            alt.Tooltip("entered:Q", title="Entered (leads)", format=","),
            alt.Tooltip("advanced:Q", title="Advanced (leads)", format=","),
            alt.Tooltip("share_advanced:Q", title="Advanced", format=".1%"),
        ],
    )


def weekly_entries_chart(recent: pd.DataFrame) -> alt.Chart:
    """Entries into each stage per week, lines broken at weeks without entries.

    ``recent`` is :func:`pipeline.funnel_weekly.weekly_segments` with the stages
    in words (:data:`pipeline.funnel.STAGE_LABELS`).
    """
    return (
        _weekly_base(recent)
        .mark_line(point=True)
        .encode(
            y=alt.Y("entered:Q", title="Leads entering the stage"),
        )
        .properties(
            height=300,
            title=chart_title(
                "Entries per week",
                subtitle="Lines break where a stage had no entries for a week or more",
            ),
        )
    )


def weekly_share_chart(recent: pd.DataFrame) -> alt.LayerChart:
    """The share of each week's entrants who moved on, dots sized by entrants.

    ``recent`` as in :func:`weekly_entries_chart`.
    """
    base = _weekly_base(recent)
    share_y = alt.Y(
        "share_advanced:Q",
        title="Advanced (share of entrants)",
        axis=alt.Axis(format="%"),
    )
    return alt.layer(
        base.mark_line(strokeWidth=1, opacity=0.6).encode(y=share_y),
        base.mark_circle(opacity=0.9).encode(
            y=share_y,
            size=alt.Size(
                "entered:Q",
                title="Entrants",
                legend=None,
                scale=alt.Scale(range=[10, 160]),
            ),
        ),
    ).properties(
        height=320,
        title=chart_title(
            "Share of each week's entrants who moved to a later stage",
            subtitle="Dot size: entrants that week (small weeks swing widely); recent "
            "weeks are still open",
        ),
    )


def awareness_chart(traffic: pd.DataFrame, metric: str) -> alt.Chart:
    """A GA4 report's visitor count per period and channel, one line per channel.

    ``traffic`` is :meth:`pipeline.awareness.AwarenessTraffic.top_channels`.
    """
    return (
        alt.Chart(traffic)
        .mark_line(point=True)
        .encode(
            x=alt.X("period_start:T", title="Week (or day) starting"),
            y=alt.Y("value:Q", title=metric),
            color=alt.Color("channel:N", title="Channel"),
            tooltip=[
                alt.Tooltip("channel:N", title="Channel"),
                alt.Tooltip("period_start:T", title="From"),
                alt.Tooltip("period_end:T", title="To"),
                alt.Tooltip("value:Q", title=metric, format=",.0f"),
            ],
        )
        .properties(
            height=300,
            title=chart_title(
                f"{metric} by channel",
                subtitle="GA4 counts visits, not people: shown beside the funnel",
            ),
        )
    )
