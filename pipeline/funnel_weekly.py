"""Weekly stage conversion: entries per week, the share that advanced, and tests.

:func:`weekly_conversion` counts each week's entries into every stage and how many
advanced; :func:`weekly_segments` breaks a chart's lines at weeks without entries;
:func:`weeks_with_orders` and :func:`value_weeks_with_orders` keep the weeks in which
a purchase could be seen;
:func:`weekly_change_sentences` says in plain words whether this week's stage
conversion differs from the trailing weeks
(:func:`pipeline.survival.stage_conversion_intervals`). Recent weeks have had less
time to advance.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline.data_coverage import not_measured, step_without_data
from pipeline.funnel import ENTRY_COLUMNS
from pipeline.model import STAGES


def weekly_conversion(leads: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Entries into each stage per week and the share of them that advanced.

    A lead that entered a stage advanced when it later (or at the same moment)
    entered a higher stage; for customers, when it made a repeat purchase.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads`.
    timezone
        The store's time zone; weeks start on Monday in it.

    Returns
    -------
    pandas.DataFrame
        ``week`` (the Monday, a date), ``stage``, ``entered``, ``advanced`` and
        ``share_advanced``, sorted by week and stage. Recent weeks have had less
        time to advance.
    """
    targets = {
        "captured": ["entered_engaged", "entered_purchase_intent", "entered_customer"],
        "engaged": ["entered_purchase_intent", "entered_customer"],
        "purchase_intent": ["entered_customer"],
        "customer": ["entered_repeat"],
    }
    parts = []
    for stage, later in targets.items():
        start = leads[ENTRY_COLUMNS[stage]]
        dated = start.notna()
        if not dated.any():
            continue
        advanced = np.zeros(len(leads), dtype=bool)
        for col in later:
            advanced |= (leads[col].notna() & (leads[col] >= start)).to_numpy()
        local = start[dated].dt.tz_convert(timezone).dt.tz_localize(None)
        monday = local.dt.normalize() - pd.to_timedelta(local.dt.day_of_week, "D")
        week = monday.dt.date
        parts.append(
            pd.DataFrame(
                {
                    "week": week.to_numpy(),
                    "stage": stage,
                    "advanced": advanced[dated.to_numpy()],
                }
            )
        )
    columns = ["week", "stage", "entered", "advanced", "share_advanced"]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = (
        pd.concat(parts, ignore_index=True)
        .groupby(["week", "stage"], sort=False)
        .agg(entered=("advanced", "size"), advanced=("advanced", "sum"))
        .reset_index()
    )
    table["advanced"] = table["advanced"].astype(int)
    table["share_advanced"] = table["advanced"] / table["entered"]
    table["stage"] = pd.Categorical(table["stage"], categories=STAGES)
    table = table.sort_values(["week", "stage"]).reset_index(drop=True)
    table["stage"] = table["stage"].astype(str)
    return table[columns]


def weekly_segments(weekly: pd.DataFrame) -> pd.DataFrame:
    """:func:`weekly_conversion` with a ``segment`` key that breaks lines at gaps.

    A stage's weeks form one segment while they follow each other; a week with no
    entries starts a new one, so a chart drawn per segment does not bridge months
    without data with a straight line.

    Returns
    -------
    pandas.DataFrame
        The table with ``segment`` (text: the stage and a running number).
    """
    if weekly.empty:
        return weekly.assign(segment=pd.Series(dtype="string"))
    table = weekly.sort_values(["stage", "week"]).copy()
    week = pd.to_datetime(table["week"])
    gap = week.groupby(table["stage"]).diff().gt(pd.Timedelta(days=7))
    run = gap.astype(int).groupby(table["stage"]).cumsum()
    table["segment"] = table["stage"].astype(str) + ":" + run.astype(str)
    return table.sort_values(["week", "stage"]).reset_index(drop=True)


def weeks_with_orders(
    weekly: pd.DataFrame, orders_end: dt.date | None
) -> tuple[pd.DataFrame, bool]:
    """:func:`weekly_conversion` without the weeks that start after the order data.

    In a week after the last order day nobody can be seen to move on to customer,
    so such weeks are left out.

    Parameters
    ----------
    weekly
        :func:`weekly_conversion`.
    orders_end
        :func:`pipeline.data_coverage.order_data_end` (``None``: keep every week).

    Returns
    -------
    tuple
        The weeks kept, with ``week`` as timestamps, and whether any week was left
        out.
    """
    weekly = weekly.assign(week=pd.to_datetime(weekly["week"]))
    if orders_end is None or not len(weekly):
        return weekly, False
    end = pd.Timestamp(orders_end)
    last_monday = end - pd.Timedelta(days=end.day_of_week)
    return weekly[weekly["week"] <= last_monday], bool(
        (weekly["week"] > last_monday).any()
    )


def last_weeks(weekly: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """The rows of the last ``weeks`` weeks of ``weekly`` (``week`` as timestamps)."""
    first_week = weekly["week"].max() - pd.Timedelta(weeks=weeks - 1)
    return weekly[weekly["week"] >= first_week]


def value_weeks_with_orders(
    by_week: pd.DataFrame, orders_end: dt.date | None
) -> tuple[pd.DataFrame, int]:
    """Weekly pipeline value up to the last order day, and how many weeks are cut.

    Parameters
    ----------
    by_week
        ``PipelineValue.by_week`` (:func:`pipeline.pipeline_value.pipeline_value`).
    orders_end
        :func:`pipeline.data_coverage.order_data_end` (``None``: keep every week).

    Returns
    -------
    tuple
        The weeks ending on or before ``orders_end``, with ``week_end`` as
        timestamps, and the number of weeks left out.
    """
    weekly = by_week.assign(week_end=pd.to_datetime(by_week["week_end"]))
    if orders_end is None:
        return weekly, 0
    covered = weekly["week_end"] <= pd.Timestamp(orders_end)
    return weekly[covered], int((~covered).sum())


STEP_LABELS = {
    ("captured", "engaged"): "Captured → engaged",
    ("engaged", "purchase_intent"): "Engaged → purchase intent",
    ("purchase_intent", "customer"): "Purchase intent → customer",
    ("customer", "repeat"): "Customer → repeat buyer",
}


def weekly_change_sentences(
    conversion: pd.DataFrame,
    alpha: float = 0.05,
    trailing_weeks: int = 4,
    missing: dict[str, str] | None = None,
    orders_end: dt.date | None = None,
    as_of: dt.date | None = None,
) -> list[str]:
    """This week against the trailing weeks, one plain sentence per stage step.

    Parameters
    ----------
    conversion
        :func:`pipeline.survival.stage_conversion_intervals`.
    alpha
        The test's level.
    trailing_weeks
        The number of weeks the trailing rate pooled.
    missing
        :func:`pipeline.data_coverage.stages_without_data` (and
        :func:`~pipeline.data_coverage.stages_switched_off`): a step into or out
        of such a stage is said not to be measured instead of "0 of N moved on".
    orders_end, as_of
        :func:`pipeline.data_coverage.order_data_end` and the day evaluated: when
        ``as_of`` is after the order data, no week is compared (nobody can be seen
        to buy in it).
    """
    lines = []
    missing = missing or {}
    for row in conversion.itertuples():
        step = STEP_LABELS.get((row.from_stage, row.to_stage), row.from_stage)
        gap = step_without_data(row.from_stage, row.to_stage, missing)
        if gap is not None:
            lines.append(f"{step}: {not_measured(gap)}.")
            continue
        if orders_end is not None and as_of is not None and as_of > orders_end:
            lines.append(
                f"{step}: no weekly comparison, because the order data ends on "
                f"{orders_end:%Y-%m-%d}, before this week (to {as_of:%Y-%m-%d}); "
                f"set 'As of' to {orders_end:%Y-%m-%d} or earlier to compare weeks."
            )
            continue
        this = (
            f"{row.week_converted:,} of {row.week_at_risk:,} moved on this week "
            f"({100 * row.week_rate:.1f} %)"
            if row.week_at_risk
            else "nobody was open in the stage this week"
        )
        before = (
            f"{100 * row.trailing_rate:.1f} % a week over the {trailing_weeks} "
            "weeks before"
            if np.isfinite(row.trailing_rate)
            else "no earlier weeks to compare"
        )
        if not np.isfinite(row.p_value):
            verdict = "no test possible (too few leads or no movement)"
        elif row.differs:
            way = "higher" if row.week_rate > row.trailing_rate else "lower"
            verdict = (
                f"this week is {way}, beyond chance (p = {row.p_value:.3f} < {alpha:g})"
            )
        else:
            verdict = (
                f"no clear change: the gap is within chance (p = {row.p_value:.2f})"
            )
        lines.append(f"{step}: {this}, against {before}; {verdict}.")
    return lines
