"""Pipeline velocity and value: win probability, time to customer, stage conversion.

Every function takes the leads table of :meth:`pipeline.stages.StageEngine.leads`,
one row per person with at least these columns:

``person_id``; ``stage`` (one of :data:`pipeline.model.STAGES`);
``entered_captured``, ``entered_engaged``, ``entered_purchase_intent``,
``entered_customer``, ``entered_repeat`` (UTC timestamps, NaT when never);
``first_order_value`` (NaN for non-customers).

``as_of`` is a local date in the store's time zone (the ``timezone`` argument, the
dataset's :attr:`~pipeline.model.Dataset.timezone`); open leads are censored at the
end of that day.

Leads who have not become customers by ``as_of`` are *right-censored* there: they
may still convert. Conversion times are therefore estimated with the Kaplan-Meier
estimator (statsmodels' ``SurvfuncRight``), never as the mean over converters alone,
which would leave out every lead still open.

References
----------
Kaplan, E. L. and Meier, P. (1958). "Nonparametric estimation from incomplete
observations". *JASA* 53, 457-481.
Wilson, E. B. (1927). "Probable inference, the law of succession, and statistical
inference". *JASA* 22, 209-212.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

log = logging.getLogger(__name__)

OPEN_STAGES: tuple[str, ...] = ("captured", "engaged", "purchase_intent")
"""Stages of leads who may still become customers (awareness has no contact)."""

TRANSITIONS: tuple[tuple[str, str], ...] = (
    ("captured", "engaged"),
    ("engaged", "purchase_intent"),
    ("purchase_intent", "customer"),
    ("customer", "repeat"),
)
Z95 = 1.959963984540054
US_PER_DAY = 86_400_000_000


def _end_of(as_of: dt.date | str | pd.Timestamp, timezone: str = "UTC") -> pd.Timestamp:
    """The end of the local ``as_of`` day, in UTC: where open leads are censored."""
    day = pd.Timestamp(as_of)
    day = day.tz_localize(None) if day.tzinfo is not None else day
    end = day.normalize() + pd.Timedelta(days=1)
    return end.tz_localize(timezone).tz_convert("UTC")


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    """Days between two UTC timestamp columns, as floats."""
    delta = pd.to_datetime(later, utc=True) - pd.to_datetime(earlier, utc=True)
    return delta.dt.total_seconds().to_numpy(dtype=float) / 86_400


def conversion_durations(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    start_col: str = "entered_captured",
    end_col: str = "entered_customer",
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Time from entering a stage to becoming a customer, with censoring.

    Leads with no entry time are left out; so are leads who became customers at or
    before the moment they entered the stage (``end <= start``: people captured by
    their first order were never open leads). A lead not converted by the end of
    ``as_of`` is censored there.

    Returns
    -------
    pandas.DataFrame
        ``person_id, days, converted`` (bool), one row per lead in the cohort.
    """
    end = _end_of(as_of, timezone)
    start = pd.to_datetime(leads[start_col], utc=True)
    finish = pd.to_datetime(leads[end_col], utc=True)
    converted = finish.notna() & (finish < end)
    keep = start.notna() & (start < end) & ~(converted & (finish <= start))
    stop = finish.where(converted, end)
    days = np.clip(_days(stop, start), 0, None)
    return pd.DataFrame(
        {
            "person_id": leads["person_id"].to_numpy()[keep.to_numpy()],
            "days": days[keep.to_numpy()],
            "converted": converted[keep].to_numpy(),
        }
    )


def _km(durations: pd.DataFrame) -> SurvfuncRight | None:
    """The Kaplan-Meier fit of a duration table; ``None`` when it is empty."""
    if durations.empty:
        return None
    return SurvfuncRight(
        durations["days"].to_numpy(), durations["converted"].to_numpy().astype(int)
    )


def _curve(km: SurvfuncRight) -> pd.DataFrame:
    """The KM step function with log(-log) pointwise 95 % bands."""
    s, se = km.surv_prob, km.surv_prob_se
    with np.errstate(all="ignore"):
        spread = Z95 * se / (s * np.log(s))
        low, high = s ** np.exp(-spread), s ** np.exp(spread)
    low = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, low))
    high = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, high))
    return pd.DataFrame(
        {
            "days": km.surv_times,
            "survival": s,
            "low": np.nan_to_num(low, nan=0.0),
            "high": np.nan_to_num(high, nan=1.0),
            "at_risk": km.n_risk,
            "events": km.n_events,
        }
    )


def _at(curve: pd.DataFrame, days: np.ndarray, column: str = "survival") -> np.ndarray:
    """A step function of the curve evaluated at ``days`` (1 before the first step,
    and everywhere for a curve with no step)."""
    if curve.empty:
        return np.ones(len(days))
    index = np.searchsorted(curve["days"].to_numpy(), days, side="right") - 1
    values = curve[column].to_numpy()
    return np.where(index >= 0, values[np.clip(index, 0, None)], 1.0)


@dataclass
class TimeToCustomer:
    """Kaplan-Meier curve of time from capture to first purchase.

    Attributes
    ----------
    curve
        ``days, survival, low, high, at_risk, events``: share not yet customers.
    median_days, median_low, median_high
        The median time and its 95 % interval (NaN when fewer than half convert
        within the follow-up, or the bound is not reached).
    leads, converted
        Leads in the cohort and how many became customers.
    """

    curve: pd.DataFrame
    median_days: float
    median_low: float
    median_high: float
    leads: int
    converted: int


def time_to_customer(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    start_col: str = "entered_captured",
    timezone: str = "UTC",
) -> TimeToCustomer:
    """Lead-to-customer time as a Kaplan-Meier curve with its median and interval.

    Parameters
    ----------
    leads
        The leads table (see the module docstring).
    as_of
        The day the leads were evaluated; open leads are censored at its end.
    start_col
        The entry column the clock starts at.
    timezone
        The store's time zone, in which ``as_of`` is a local day.
    """
    durations = conversion_durations(leads, as_of, start_col, timezone=timezone)
    km = _km(durations)
    if km is None or durations["converted"].sum() == 0:
        empty = pd.DataFrame(columns=["days", "survival", "low", "high", "at_risk"])
        nan = float("nan")
        return TimeToCustomer(empty, nan, nan, nan, len(durations), 0)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        median = km.quantile(0.5)
        low, high = km.quantile_ci(0.5)
    return TimeToCustomer(
        _curve(km),
        float(median) if median is not None else float("nan"),
        float(low) if low is not None else float("nan"),
        float(high) if high is not None else float("nan"),
        len(durations),
        int(durations["converted"].sum()),
    )


def win_probability_by_stage(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    horizon_days: float = 90.0,
    stages: tuple[str, ...] = OPEN_STAGES,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """P(customer within ``horizon_days`` of entering each stage), with censoring.

    For each stage, the cohort is every lead who entered it (before becoming a
    customer); the Kaplan-Meier estimate gives ``1 - S(horizon)`` and its
    log(-log) 95 % interval.

    Returns
    -------
    pandas.DataFrame
        ``stage, leads, converted, win_probability, low, high, horizon_days``;
        NaN probability for a stage nobody entered.
    """
    rows = []
    for stage in stages:
        durations = conversion_durations(
            leads, as_of, f"entered_{stage}", timezone=timezone
        )
        km = _km(durations)
        p = low = high = float("nan")
        if km is not None and not durations["converted"].any():
            p, low, high = _none_converted(durations["days"], horizon_days)
        elif km is not None:
            curve = _curve(km)
            day = np.array([horizon_days])
            p = float(1 - _at(curve, day)[0])
            low, high = float(1 - _at(curve, day, "high")[0]), float(
                1 - _at(curve, day, "low")[0]
            )
        rows.append(
            {
                "stage": stage,
                "leads": len(durations),
                "converted": int(durations["converted"].sum()),
                "win_probability": p,
                "low": low,
                "high": high,
                "horizon_days": horizon_days,
            }
        )
    return pd.DataFrame(rows)


def _none_converted(days: pd.Series, horizon_days: float) -> tuple[float, float, float]:
    """P(win) 0 when no lead of a cohort converted, with the exact 95 % upper bound.

    The Kaplan-Meier curve has no step then, and its log(-log) band no width. Of the
    ``n`` leads followed for the whole horizon none converted: the Clopper-Pearson
    upper bound of a share with 0 of ``n`` is ``1 - 0.025 ** (1 / n)`` (about
    3.7 / n). With no lead followed that long the bound is unknown (NaN).
    """
    followed = int((days.to_numpy() >= horizon_days).sum())
    high = 1 - 0.025 ** (1 / followed) if followed else float("nan")
    return 0.0, 0.0, high


def _entered(leads: pd.DataFrame, stage: str) -> pd.Series:
    """The entry column of a stage (``repeat`` included) as UTC timestamps."""
    return pd.to_datetime(leads[f"entered_{stage}"], utc=True)


def _rate(converted: int, total: int, alpha: float) -> tuple[float, float, float]:
    """Share and Wilson interval; NaNs when ``total`` is 0."""
    if total == 0:
        return float("nan"), float("nan"), float("nan")
    low, high = proportion_confint(converted, total, alpha=alpha, method="wilson")
    return converted / total, float(low), float(high)


def _weekly_counts(
    start: pd.Series, finish: pd.Series, w0: pd.Timestamp, w1: pd.Timestamp
) -> tuple[int, int]:
    """(at risk, converted) in the window ``[w0, w1)``: open in the first stage
    during the window, and moving to the next stage within it."""
    reached = start.notna() & (start < w1)
    open_at_start = finish.isna() | (finish >= w0)
    at_risk = reached & open_at_start
    converted = at_risk & finish.notna() & (finish < w1)
    return int(at_risk.sum()), int(converted.sum())


def stage_conversion_intervals(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    trailing_weeks: int = 4,
    alpha: float = 0.05,
    timezone: str = "UTC",
) -> pd.DataFrame:
    """Stage-to-stage conversion with Wilson intervals, and this week vs the trailing
    weeks.

    ``rate`` is the share of leads who entered ``from_stage`` by ``as_of`` and also
    entered ``to_stage``. The weekly rate is the share of leads open in
    ``from_stage`` during a week (entered it, not yet in ``to_stage`` at the week's
    start) who moved on within that week; this week (the 7 days to the end of
    ``as_of``) is compared with the pooled ``trailing_weeks`` before it by a
    two-proportion z-test (statsmodels ``proportions_ztest``).

    Returns
    -------
    pandas.DataFrame
        ``from_stage, to_stage, reached, converted, rate, low, high,
        week_at_risk, week_converted, week_rate, week_low, week_high,
        trailing_rate, trailing_low, trailing_high, p_value, differs``.
    """
    end = _end_of(as_of, timezone)
    week = pd.Timedelta(days=7)
    rows = []
    for first, then in TRANSITIONS:
        start, finish = _entered(leads, first), _entered(leads, then)
        start = start.where(start < end)
        finish = finish.where(finish < end)
        reached = start.notna()
        converted = int((reached & finish.notna()).sum())
        rate, low, high = _rate(converted, int(reached.sum()), alpha)

        n_week, c_week = _weekly_counts(start, finish, end - week, end)
        n_trail = c_trail = 0
        for k in range(1, trailing_weeks + 1):
            n, c = _weekly_counts(start, finish, end - (k + 1) * week, end - k * week)
            n_trail, c_trail = n_trail + n, c_trail + c
        week_rate, week_low, week_high = _rate(c_week, n_week, alpha)
        trail_rate, trail_low, trail_high = _rate(c_trail, n_trail, alpha)
        p_value = _two_proportion_p(c_week, n_week, c_trail, n_trail)
        rows.append(
            {
                "from_stage": first, "to_stage": then,
                "reached": int(reached.sum()), "converted": converted,
                "rate": rate, "low": low, "high": high,
                "week_at_risk": n_week, "week_converted": c_week,
                "week_rate": week_rate, "week_low": week_low, "week_high": week_high,
                "trailing_rate": trail_rate, "trailing_low": trail_low,
                "trailing_high": trail_high, "p_value": p_value,
                "differs": bool(p_value < alpha) if np.isfinite(p_value) else False,
            }
        )
    return pd.DataFrame(rows)


def _two_proportion_p(c1: int, n1: int, c2: int, n2: int) -> float:
    """Two-sided p-value of a two-proportion z-test; NaN when it is undefined."""
    pooled = (c1 + c2) / (n1 + n2) if n1 and n2 else 0.0
    if not n1 or not n2 or pooled in (0.0, 1.0):
        return float("nan")
    _, p = proportions_ztest([c1, c2], [n1, n2])
    return float(p)
