"""The Funnel page's velocity figures, with right-censoring.

:func:`velocity_figures` gathers, for the leads as of one day, the Kaplan-Meier win
probabilities by stage and lead-to-customer time (:mod:`pipeline.survival`), the
shares converted within fixed numbers of days (:func:`converted_by`), stage
conversion with Wilson intervals, and pipeline value (:mod:`pipeline.pipeline_value`)
priced with the expected value of a new customer
(:func:`pipeline.clv_pricing.expected_new_customer_value`). :func:`replay_days`
lists the past days whose leads the weekly value history needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.pipeline_value import PipelineValue, pipeline_value
from pipeline.survival import (
    TimeToCustomer,
    share_converted_within,
    stage_conversion_intervals,
    time_to_customer,
    win_probability_by_stage,
)


@dataclass
class Velocity:
    """The Funnel page's velocity figures, all with right-censoring.

    Attributes
    ----------
    win
        :func:`pipeline.survival.win_probability_by_stage`.
    time_to_customer
        :func:`pipeline.survival.time_to_customer` from capture.
    converted_by
        :func:`converted_by` of that curve.
    conversion
        :func:`pipeline.survival.stage_conversion_intervals`.
    value
        :func:`pipeline.pipeline_value.pipeline_value`.
    """

    win: pd.DataFrame
    time_to_customer: TimeToCustomer
    converted_by: pd.DataFrame
    conversion: pd.DataFrame
    value: PipelineValue


def converted_by(
    curve: TimeToCustomer, days: Sequence[float] = (7, 30, 90, 180, 365)
) -> pd.DataFrame:
    """The share of leads who became customers within each number of days.

    ``1 - S(t)`` of the Kaplan-Meier curve with its 95 % interval
    (:func:`pipeline.survival.share_converted_within`, wide with few leads); NaN
    beyond the longest follow-up (the curve says nothing there) and for a cohort of
    fewer than :data:`pipeline.survival.MIN_LEADS` leads (``curve.note`` says so).

    Returns
    -------
    pandas.DataFrame
        ``days, share, low, high``.
    """
    t = np.asarray(days, dtype=float)
    nan = np.full(len(t), np.nan)
    durations = curve.durations
    if curve.curve.empty or curve.note or durations.empty:
        return pd.DataFrame({"days": t, "share": nan, "low": nan, "high": nan})
    followed = float(durations["days"].max())
    rows = [
        share_converted_within(durations, day) if day <= followed else (np.nan,) * 3
        for day in t
    ]
    share, low, high = (
        np.array(column, dtype=float) for column in zip(*rows, strict=True)
    )
    return pd.DataFrame({"days": t, "share": share, "low": low, "high": high})


def velocity_figures(
    leads: pd.DataFrame,
    as_of: dt.date,
    customer_value: float | None,
    horizon_days: float = 90.0,
    weeks: int = 12,
    timezone: str = "UTC",
    stages_at: Callable[[dt.date], pd.DataFrame] | None = None,
) -> Velocity:
    """Win probabilities, time to customer, stage conversion and pipeline value.

    Parameters
    ----------
    leads
        The leads from :meth:`pipeline.stages.StageEngine.leads` as of ``as_of``.
    as_of
        The local day evaluated; open leads are censored at its end.
    customer_value
        Expected value of one new customer
        (:func:`pipeline.clv_pricing.expected_new_customer_value`);
        ``None`` or NaN: the mean first order of the customers in ``leads``.
    horizon_days
        Win horizon: P(customer within this many days).
    weeks
        Weeks of pipeline-value history.
    timezone
        The store's time zone.
    stages_at
        The leads as of a past local day, for the weekly history (see
        :func:`pipeline.pipeline_value.pipeline_value`).
    """
    if customer_value is not None and not np.isfinite(customer_value):
        customer_value = None
    ttc = time_to_customer(leads, as_of, timezone=timezone)
    return Velocity(
        win_probability_by_stage(leads, as_of, horizon_days, timezone=timezone),
        ttc,
        converted_by(ttc),
        stage_conversion_intervals(leads, as_of, timezone=timezone),
        pipeline_value(
            leads, as_of, customer_value, horizon_days, weeks, timezone, stages_at
        ),
    )


def replay_days(as_of: dt.date, weeks: int) -> list[dt.date]:
    """The past days whose leads the weekly pipeline-value history replays.

    The end of each of the ``weeks`` weeks before ``as_of``, then 30 days before it
    (the month-over-month change): the days
    :func:`pipeline.pipeline_value.pipeline_value` asks ``stages_at`` for.
    """
    days = [as_of - dt.timedelta(days=7 * k) for k in range(1, weeks + 1)]
    days.append(as_of - dt.timedelta(days=30))
    return days
