"""Awareness traffic by channel and week, from GA4's UI reports.

A GA4 report counts traffic, not people: its rows are channel aggregates
(:attr:`pipeline.model.Dataset.aggregates`) that no lead can be followed from. They
still say how much awareness each channel brought in each week, the volume at the
top of the pipeline. :func:`awareness_traffic` picks, among the uploaded reports,
the one table that breaks a visitor count down by channel, and by week or day when
one does, and returns it in long form.

Reports overlap (a traffic and a user acquisition report count the same visits by
different rules), so the figures of two tables are never added together.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

METRICS = ("Sessions", "Total users", "New users", "Active users", "Users")
"""Visitor counts, the first found used: sessions count every visit."""
OTHER = "Other channels"
"""The channels beyond the largest few, summed."""


@dataclass
class AwarenessTraffic:
    """One report table's visitor count by channel and period.

    Attributes
    ----------
    traffic
        ``period_start, period_end, channel, value`` (one row per channel and
        period), sorted by period and channel.
    metric
        The count, as the report names it (``Sessions``).
    source
        The file and table it came from (``file.csv, table 1: ...``).
    by_period
        Whether the table breaks the count down by week or day (else each channel
        has one total over the report's date range).
    """

    traffic: pd.DataFrame
    metric: str
    source: str
    by_period: bool

    def totals(self) -> pd.Series:
        """Each channel's count over every period, largest first."""
        sums = self.traffic.groupby("channel", observed=True)["value"].sum()
        return sums.sort_values(ascending=False)

    def top_channels(self, count: int = 6) -> pd.DataFrame:
        """``traffic`` with all but the ``count`` largest channels summed as
        :data:`OTHER`, per period (a readable number of lines on a chart)."""
        keep = set(self.totals().index[:count])
        channel = self.traffic["channel"].where(self.traffic["channel"].isin(keep))
        folded = self.traffic.assign(channel=channel.fillna(OTHER))
        keys = ["period_start", "period_end", "channel"]
        summed = folded.groupby(keys, dropna=False)["value"].sum().reset_index()
        return summed.sort_values(["period_start", "channel"], ignore_index=True)


def awareness_traffic(aggregates: pd.DataFrame) -> AwarenessTraffic | None:
    """The uploaded reports' visitor count by channel (and week), from one table.

    Parameters
    ----------
    aggregates
        The dataset's channel aggregates (:data:`pipeline.model.AGGREGATE_COLUMNS`).

    Returns
    -------
    AwarenessTraffic or None
        The table with a channel and a visitor count: the first metric of
        :data:`METRICS` any table has, and among tables with it, one broken down by
        period before one that is not, then the one with most rows. ``None`` when
        no table has a channel and a visitor count.
    """
    usable = aggregates[
        aggregates["channel"].notna()
        & aggregates["metric"].isin(METRICS)
        & aggregates["value"].notna()
    ]
    if usable.empty:
        return None
    metric = next(m for m in METRICS if usable["metric"].eq(m).any())
    rows = usable[usable["metric"] == metric]
    best = max(
        rows.groupby(["source_file", "table"], observed=True),
        key=lambda group: (_by_period(group[1]), len(group[1])),
    )
    (file, table), chosen = best
    traffic = (
        chosen.groupby(["period_start", "period_end", "channel"], dropna=False)[
            "value"
        ]
        .sum()
        .reset_index()
        .sort_values(["period_start", "channel"], ignore_index=True)
    )
    source = f"{file}, table {table}"
    return AwarenessTraffic(traffic, metric, source, _by_period(chosen))


def _by_period(rows: pd.DataFrame) -> bool:
    """Whether a table's rows hold several periods (weeks or days) per channel."""
    return rows["period_start"].nunique(dropna=True) > 1
