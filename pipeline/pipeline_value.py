"""Pipeline value: the expected value of open leads, by stage and week.

Pipeline value = Σ over open leads of P(win within a horizon | stage, time in stage)
× the expected value of a new customer, with the win probabilities from the
Kaplan-Meier curves of :mod:`pipeline.survival` and the customer value from the
BG/NBD and Gamma-Gamma models (:func:`pipeline.clv_fit.new_customer_value`). The
leads table is the one described in :mod:`pipeline.survival`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.survival import (
    OPEN_STAGES,
    _at,
    _curve,
    _days,
    _end_of,
    _entered,
    _km,
    conversion_durations,
    win_probability_by_stage,
)


@dataclass
class PipelineValue:
    """Expected value of the open pipeline.

    Attributes
    ----------
    total, low, high
        Value now and an approximate 95 % range from the win-probability intervals
        (0 to every open lead won for a stage too few leads entered to estimate).
    by_stage
        ``stage, open_leads, win_probability (mean), expected_customers, value,
        low, high``.
    by_week
        ``week_end, open_leads, expected_customers, value`` at the end of each week
        (local dates).
    month_over_month
        ``value_now, value_month_ago, change, change_pct`` (30 days apart).
    customer_value
        Expected value of one new customer used.
    horizon_days
        Win horizon.
    """

    total: float
    low: float
    high: float
    by_stage: pd.DataFrame
    by_week: pd.DataFrame
    month_over_month: dict[str, float]
    customer_value: float
    horizon_days: float


def _stage_curves(leads, as_of, horizon_days, timezone):
    """KM curve and the win-probability row (:func:`win_probability_by_stage`) of
    each open stage."""
    curves, wins = {}, {}
    table = win_probability_by_stage(leads, as_of, horizon_days, timezone=timezone)
    for row in table.itertuples():
        durations = conversion_durations(
            leads, as_of, f"entered_{row.stage}", timezone=timezone
        )
        km = _km(durations)
        curves[row.stage] = _curve(km) if km is not None else None
        wins[row.stage] = row
    return curves, wins


def _value_range(
    value: float, open_leads: int, customer_value: float, win
) -> tuple[float, float]:
    """An approximate 95 % range of one stage's value.

    The stage's value scaled by its win probability's interval over the estimate
    (``value * low / p`` to ``value * high / p``). When the stage has no estimate
    (fewer than :data:`pipeline.survival.MIN_LEADS` leads entered it) each open
    lead's chance is anywhere from 0 to 1, so the range is 0 to every open lead
    won; with an estimate of 0 the upper bound is every open lead won at the
    interval's upper bound.
    """
    if open_leads == 0:
        return 0.0, 0.0
    most = open_leads * customer_value
    p = float("nan") if win is None else win.win_probability
    if not np.isfinite(p):
        return 0.0, most
    if p > 0:
        return value * win.low / p, value * win.high / p
    return 0.0, most * win.high if np.isfinite(win.high) else most


def _open_win_probability(
    leads: pd.DataFrame, at: pd.Timestamp, curves: dict, horizon_days: float,
    stage: pd.Series | None = None,
) -> pd.DataFrame:
    """Stage and P(win within the horizon | stage, time in stage) of leads open at
    ``at``. Without ``stage`` a lead's stage is the highest it had entered."""
    customer = _entered(leads, "customer")
    is_open = customer.isna() | (customer >= at)
    if stage is None:
        stage = pd.Series(pd.NA, index=leads.index, dtype="object")
        for name in OPEN_STAGES:
            stage = stage.where(~(_entered(leads, name) < at), name)
    stage = stage.astype("object")
    frame = []
    for name in OPEN_STAGES:
        rows = is_open & (stage == name)
        curve = curves.get(name)
        if not rows.any() or curve is None:
            continue
        entry = _entered(leads, name)[rows]
        age = np.clip(_days(pd.Series(at, index=entry.index), entry), 0, None)
        age = np.nan_to_num(age, nan=0.0)
        s_now = _at(curve, age)
        s_later = _at(curve, age + horizon_days)
        with np.errstate(all="ignore"):
            p = np.where(s_now > 0, 1 - s_later / s_now, 0.0)
        frame.append(pd.DataFrame({"stage": name, "p": p}, index=entry.index))
    if not frame:
        return pd.DataFrame({"stage": pd.Series(dtype=object), "p": []})
    return pd.concat(frame)


def pipeline_value(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    customer_value: float | None = None,
    horizon_days: float = 90.0,
    weeks: int = 12,
    timezone: str = "UTC",
    stages_at: Callable[[dt.date], pd.DataFrame] | None = None,
) -> PipelineValue:
    """Σ over open leads of P(win | stage) × the expected value of a new customer.

    A lead's win probability is conditional on how long it has been in its stage:
    ``1 - S(a + h) / S(a)`` from its stage's Kaplan-Meier curve
    (:func:`win_probability_by_stage`), ``a`` its days in the stage and ``h`` the
    horizon, so that leads stalled for months count for little.

    Parameters
    ----------
    leads
        The leads table (see the module docstring); ``stage`` gives today's stages.
    as_of
        The day evaluated.
    customer_value
        Expected value of one new customer (first purchase plus predicted future
        value, :func:`pipeline.clv_fit.new_customer_value`). ``None``: the mean
        first order value of the customers in ``leads`` (first purchase only).
    horizon_days
        Win horizon.
    weeks
        Weekly history length (``by_week`` and ``month_over_month``).
    timezone
        The store's time zone, in which ``as_of`` is a local day.
    stages_at
        The leads table as of a past local day (for example
        ``lambda day: engine.leads(rules, day)``), for the weekly history. Without
        it, past stages are rebuilt from entry times (the highest stage entered by
        then; lapsed rule windows are not replayed) for every week including the
        last, so ``by_week`` is consistent in itself but its last value may differ
        from ``total``, which uses today's ``stage`` column. Win curves are today's
        in both cases.
    """
    end = _end_of(as_of, timezone)
    if customer_value is None or not np.isfinite(customer_value):
        values = pd.to_numeric(leads["first_order_value"], errors="coerce")
        customer_value = float(values.mean()) if values.notna().any() else 0.0
    curves, wins = _stage_curves(leads, as_of, horizon_days, timezone)

    now = _open_win_probability(leads, end, curves, horizon_days, leads["stage"])
    by_stage = []
    for name in OPEN_STAGES:
        p = now.loc[now["stage"] == name, "p"]
        value = float(p.sum() * customer_value)
        low, high = _value_range(value, len(p), customer_value, wins.get(name))
        by_stage.append({
            "stage": name, "open_leads": len(p),
            "win_probability": float(p.mean()) if len(p) else float("nan"),
            "expected_customers": float(p.sum()), "value": value,
            "low": low, "high": high,
        })
    by_stage = pd.DataFrame(by_stage)

    def expected_at(day: dt.date) -> pd.Series:
        """Win probabilities of the leads open at the end of a past local day."""
        at = _end_of(day, timezone)
        if stages_at is None:
            return _open_win_probability(leads, at, curves, horizon_days)["p"]
        past = stages_at(day)
        return _open_win_probability(past, at, curves, horizon_days, past["stage"])[
            "p"
        ]

    as_of_date = pd.Timestamp(as_of).date()
    history = []
    for k in range(weeks, -1, -1):
        day = as_of_date - dt.timedelta(days=7 * k)
        p = now["p"] if k == 0 and stages_at is not None else expected_at(day)
        history.append({
            "week_end": day, "open_leads": len(p),
            "expected_customers": float(p.sum()),
            "value": float(p.sum() * customer_value),
        })
    then = float(expected_at(as_of_date - dt.timedelta(days=30)).sum() * customer_value)
    today = history[-1]["value"]
    mom = {
        "value_now": today, "value_month_ago": then, "change": today - then,
        "change_pct": 100 * (today - then) / then if then else float("nan"),
    }
    return PipelineValue(
        float(by_stage["value"].sum()), float(by_stage["low"].sum()),
        float(by_stage["high"].sum()), by_stage, pd.DataFrame(history), mom,
        float(customer_value), horizon_days,
    )
