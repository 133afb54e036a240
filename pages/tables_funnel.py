"""The Funnel page's tables, formatted for reading: stage conversion, win
probability, lead-to-customer time, stage conversion with intervals, pipeline value
by stage and stalled leads.

Each function takes figures the page already has from ``pipeline`` and returns a
frame for :func:`pages.tables.show_table`: counts as numbers (they sort as numbers),
rates and amounts as text, since where a step has no data source the cell says why
instead of showing 0 %.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pandas as pd

from pipeline.data_coverage import step_without_data
from pipeline.formatting import (
    fmt_days,
    fmt_interval,
    fmt_money,
    fmt_number,
    fmt_p_value,
    fmt_pct,
)
from pipeline.funnel import STAGE_LABELS
from pipeline.funnel_weekly import STEP_LABELS
from pipeline.model import STAGES


def _counts(values: pd.Series) -> pd.Series:
    """Counts as whole numbers (``NA`` where there is none)."""
    return values.round().astype("Int64")


def conversion_table(table: pd.DataFrame, no_data: dict[str, str]) -> pd.DataFrame:
    """Stage counts and conversion to the next stage.

    ``table`` is :func:`pipeline.funnel.funnel_table`; ``no_data`` is
    :func:`pipeline.data_coverage.stages_without_data`.
    """
    next_stage = dict(zip(STAGES, [*STAGES[1:], None], strict=True))
    went_on = [
        (step_without_data(stage, next_stage[stage], no_data) or fmt_pct(rate))
        if next_stage[stage]
        else fmt_pct(rate)
        for stage, rate in zip(table["stage"], table["conversion"], strict=True)
    ]
    return pd.DataFrame(
        {
            "Stage": table["stage"].map(STAGE_LABELS),
            "Leads now": _counts(table["leads"]),
            "Share of leads": table["share"].map(fmt_pct),
            "Reached this stage or later": _counts(table["reached"]),
            "Went on to the next stage": went_on,
        }
    )


def win_table(win: pd.DataFrame, horizon: int, no_data: dict[str, str]) -> pd.DataFrame:
    """Win probability by open stage with its 95 % interval.

    ``win`` is :attr:`pipeline.velocity.Velocity.win`.
    """
    return pd.DataFrame(
        {
            "Stage": win["stage"].map(STAGE_LABELS),
            "Open leads who entered": _counts(win["leads"]),
            "Of those, customers by now": _counts(win["converted"]),
            f"Win probability within {horizon} days": [
                no_data.get(stage) or note or fmt_pct(p)
                for stage, p, note in zip(
                    win["stage"], win["win_probability"], win["note"], strict=True
                )
            ],
            "95 % interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(win["low"], win["high"], strict=True)
            ],
        }
    )


def converted_by_table(by: pd.DataFrame) -> pd.DataFrame:
    """The share of captured leads who became customers within each number of days.

    ``by`` is :func:`pipeline.velocity.converted_by`.
    """
    return pd.DataFrame(
        {
            "Within": by["days"].map(lambda d: fmt_days(d, 0)),
            "Became customers": by["share"].map(fmt_pct),
            "95 % interval": [
                fmt_interval(lo, hi)
                for lo, hi in zip(by["low"], by["high"], strict=True)
            ],
        }
    )


def _measured(
    gaps: Sequence[str | None],
    values: pd.Series,
    formatter: Callable,
    orders_end: dt.date | None = None,
) -> list[str]:
    """A column's cells, with the reason instead where a step cannot be measured.

    With ``orders_end`` (a weekly column evaluated after the order data ends) every
    measurable cell says so instead of showing a figure.
    """
    out = []
    for gap, value in zip(gaps, values, strict=True):
        if gap is not None:
            out.append(gap)
        elif orders_end is not None:
            out.append(f"no orders after {orders_end:%Y-%m-%d}")
        else:
            out.append(formatter(value))
    return out


def intervals_table(
    conv: pd.DataFrame,
    no_data: dict[str, str],
    orders_end: dt.date | None,
    past_orders: bool,
) -> pd.DataFrame:
    """Stage conversion with 95 % Wilson intervals and this week against the last 4.

    ``conv`` is :attr:`pipeline.velocity.Velocity.conversion`; ``past_orders`` says
    that the day evaluated is after ``orders_end``, so no week can be compared.
    """
    steps = list(zip(conv["from_stage"], conv["to_stage"], strict=True))
    gaps = [step_without_data(a, b, no_data) for a, b in steps]
    weekly_end = orders_end if past_orders else None

    def weekly(column: str, formatter: Callable) -> list[str]:
        return _measured(gaps, conv[column], formatter, weekly_end)

    return pd.DataFrame(
        {
            "Step": [STEP_LABELS[step] for step in steps],
            "Ever entered the first stage": _counts(conv["reached"]),
            "Of those, ever in the next": _counts(conv["converted"]),
            "Conversion": _measured(gaps, conv["rate"], fmt_pct),
            "95 % interval": [
                gap or fmt_interval(lo, hi)
                for gap, lo, hi in zip(gaps, conv["low"], conv["high"], strict=True)
            ],
            "This week": weekly("week_rate", fmt_pct),
            "Previous 4 weeks (a week)": weekly("trailing_rate", fmt_pct),
            "p-value": weekly("p_value", fmt_p_value),
            "Changed?": weekly("differs", {True: "yes", False: "no"}.get),
        }
    )


def stage_value_table(
    by_stage: pd.DataFrame, money: bool, currency: str | None
) -> pd.DataFrame:
    """Where the pipeline value sits: open leads, win probability and value by stage.

    ``by_stage`` is :attr:`pipeline.pipeline_value.PipelineValue.by_stage`; without
    ``money`` (orders in several currencies) the value columns are left out.
    """
    value_columns = {}
    if money:
        value_columns = {
            "Value": by_stage["value"].map(lambda v: fmt_money(v, currency, 0)),
            "Approx. 95 % range": [
                fmt_interval(lo, hi, fmt_money, currency=currency, digits=0)
                for lo, hi in zip(by_stage["low"], by_stage["high"], strict=True)
            ],
        }
    return pd.DataFrame(
        {
            "Stage": by_stage["stage"].map(STAGE_LABELS),
            "Open leads": _counts(by_stage["open_leads"]),
            "Mean win probability (given days in stage)": by_stage[
                "win_probability"
            ].map(fmt_pct),
            "Expected customers": by_stage["expected_customers"].map(
                lambda v: fmt_number(v, 1)
            ),
        }
        | value_columns
    )


def stalled_table(
    stalled: pd.DataFrame, rule_labels: dict[str, str], timezone: str
) -> pd.DataFrame:
    """Stalled leads with their stage and rule in words and the local entry day.

    ``stalled`` is rows of :func:`pipeline.funnel.stalled_leads`.
    """
    return pd.DataFrame(
        {
            "Lead": stalled["person_id"],
            "Stage": stalled["stage"].map(STAGE_LABELS),
            "Why (rule)": stalled["rule"].map(lambda r: rule_labels.get(r, r)),
            "Entered": stalled["entered"].dt.tz_convert(timezone).dt.date,
            "Days in stage": stalled["days_in_stage"],
        }
    )
