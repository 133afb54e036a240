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
Clopper, C. J. and Pearson, E. S. (1934). "The use of confidence or fiducial limits
illustrated in the case of the binomial". *Biometrika* 26, 404-413.
Kalbfleisch, J. D. and Prentice, R. L. (2002). *The Statistical Analysis of Failure
Time Data*, 2nd ed., section 1.4 (the log(-log) interval of the Kaplan-Meier curve).
Fay, M. P., Brittain, E. H. and Proschan, M. A. (2013). "Pointwise confidence
intervals for a survival distribution with small samples or heavy censoring".
*Biostatistics* 14, 723-736 (why Greenwood-based intervals collapse to a point where
the curve reaches 0 or 1).
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass, field

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
MIN_LEADS = 10
"""The fewest leads in a cohort for a win probability, a median time or a share
converted: below it those figures are NaN and a note says "too few leads"."""


def too_few_leads(leads: int, min_leads: int | None = None) -> str:
    """Why a cohort of ``leads`` gets no figure, or ``""`` when it has at least
    ``min_leads`` (default :data:`MIN_LEADS`), or none, which has nothing to say."""
    min_leads = MIN_LEADS if min_leads is None else min_leads
    if 0 < leads < min_leads:
        return (
            f"too few leads: {leads} entered, at least {min_leads} are needed "
            "for a figure"
        )
    return ""


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
    """The KM step function with log(-log) pointwise 95 % bands.

    Where the curve is 0 (the last leads at risk all converted) the log(-log) band
    is a point; the upper bound there is instead the exact (Clopper-Pearson) one of
    ``n`` of ``n`` at risk converting, ``1 - 0.025 ** (1 / n)``.
    """
    s, se = km.surv_prob, km.surv_prob_se
    with np.errstate(all="ignore"):
        spread = Z95 * se / (s * np.log(s))
        low, high = s ** np.exp(-spread), s ** np.exp(spread)
    # Where the curve reaches 0 its band has no width; the exact bound with the
    # leads still at risk there says how little they tell.
    floor = 1 - 0.025 ** (1 / np.maximum(km.n_risk, 1))
    low = np.where(s >= 1, 1.0, np.where(s <= 0, 0.0, low))
    high = np.where(s >= 1, 1.0, np.where(s <= 0, floor, high))
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


def curve_from_origin(ttc: TimeToCustomer) -> pd.DataFrame:
    """The curve of ``ttc`` as shares converted, drawn from day 0.

    ``days, converted, converted_low, converted_high, at_risk``, starting with
    ``(0, 0, 0, 0, leads)``: a step line needs two points, so a curve with one
    conversion still draws, and its axis starts at 0 days.
    """
    curve = ttc.curve
    origin = pd.DataFrame(
        {"days": [0.0], "survival": [1.0], "low": [1.0], "high": [1.0],
         "at_risk": [ttc.leads]}
    )
    if not curve.empty and float(curve["days"].iloc[0]) <= 0:
        origin = origin.iloc[:0]
    both = pd.concat([origin, curve[origin.columns]], ignore_index=True)
    return pd.DataFrame(
        {
            "days": both["days"].astype(float),
            "converted": 1 - both["survival"].astype(float),
            "converted_low": 1 - both["high"].astype(float),
            "converted_high": 1 - both["low"].astype(float),
            "at_risk": both["at_risk"].astype(float),
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
        within the follow-up, the bound is not reached, or the cohort has fewer
        than :data:`MIN_LEADS` leads).
    leads, converted
        Leads in the cohort and how many became customers.
    durations
        :func:`conversion_durations` of the cohort, for shares by day.
    note
        ``"too few leads: ..."`` below :data:`MIN_LEADS` leads, else ``""``.
    """

    curve: pd.DataFrame
    median_days: float
    median_low: float
    median_high: float
    leads: int
    converted: int
    durations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["person_id", "days", "converted"])
    )
    note: str = ""


def time_to_customer(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    start_col: str = "entered_captured",
    timezone: str = "UTC",
    min_leads: int | None = None,
) -> TimeToCustomer:
    """Lead-to-customer time as a Kaplan-Meier curve with its median and interval.

    Below :data:`MIN_LEADS` leads the curve is kept but the median is NaN and
    ``note`` says why: one of three leads buying after ten days is no median.

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
    min_leads
        The fewest leads for a median (:data:`MIN_LEADS`).
    """
    durations = conversion_durations(leads, as_of, start_col, timezone=timezone)
    km = _km(durations)
    nan = float("nan")
    note = too_few_leads(len(durations), min_leads)
    if km is None or durations["converted"].sum() == 0:
        empty = pd.DataFrame(columns=["days", "survival", "low", "high", "at_risk"])
        return TimeToCustomer(empty, nan, nan, nan, len(durations), 0, durations, note)
    median = low = high = None
    if not note:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            median = km.quantile(0.5)
            low, high = km.quantile_ci(0.5)
    return TimeToCustomer(
        _curve(km),
        float(median) if median is not None else nan,
        float(low) if low is not None else nan,
        float(high) if high is not None else nan,
        len(durations),
        int(durations["converted"].sum()),
        durations,
        note,
    )


def share_converted_within(
    durations: pd.DataFrame, days: float
) -> tuple[float, float, float]:
    """The share of a cohort converted within ``days``, with a 95 % interval.

    Parameters
    ----------
    durations
        :func:`conversion_durations` of the cohort.
    days
        The horizon.

    Returns
    -------
    tuple of float
        ``(share, low, high)``; NaNs for an empty cohort.

    Notes
    -----
    The interval is chosen so that it never claims more than the leads tell:

    - when no lead was censored before ``days`` (each converted within it or was
      followed past it) the Kaplan-Meier estimate is the plain share ``k / n`` and
      its interval Wilson's (1927) score interval;
    - else, while the curve is strictly between 0 and 1, the log(-log) interval of
      the Kaplan-Meier estimate with Greenwood's variance (Kalbfleisch and Prentice
      2002, eq. 1.14);
    - where the curve is 1 (no conversion yet) or 0 (every lead still at risk
      converted) that interval is a point (Fay, Brittain and Proschan 2013); the
      bound is then the exact Clopper-Pearson (1934) one of 0 of ``n`` (or ``n`` of
      ``n``), ``1 - 0.025 ** (1 / n)``, with ``n`` the leads followed to ``days``
      (or those at risk at the last conversion).
    """
    if durations.empty:
        return float("nan"), float("nan"), float("nan")
    d = durations["days"].to_numpy(dtype=float)
    c = durations["converted"].to_numpy(dtype=bool)
    won = c & (d <= days)
    if not won.any():
        return _none_converted(durations["days"], days)
    if not (~c & (d < days)).any():
        return _rate(int(won.sum()), len(d), 0.05)
    curve = _curve(_km(durations))
    at = np.array([days], dtype=float)
    survival = float(_at(curve, at)[0])
    if survival <= 0:
        last = curve[curve["days"] <= days].iloc[-1]
        at_risk = max(int(last["at_risk"]), 1)
        return 1.0, float(0.025 ** (1 / at_risk)), 1.0
    return (
        1 - survival,
        float(1 - _at(curve, at, "high")[0]),
        float(1 - _at(curve, at, "low")[0]),
    )


def win_probability_by_stage(
    leads: pd.DataFrame,
    as_of: dt.date | str,
    horizon_days: float = 90.0,
    stages: tuple[str, ...] = OPEN_STAGES,
    timezone: str = "UTC",
    min_leads: int | None = None,
) -> pd.DataFrame:
    """P(customer within ``horizon_days`` of entering each stage), with censoring.

    For each stage, the cohort is every lead who entered it (before becoming a
    customer); the Kaplan-Meier estimate gives ``1 - S(horizon)`` and its 95 %
    interval (:func:`share_converted_within`, which stays wide with few leads).

    Returns
    -------
    pandas.DataFrame
        ``stage, leads, converted, win_probability, low, high, horizon_days,
        note``; NaN probability for a stage nobody entered, and for one fewer
        than :data:`MIN_LEADS` leads entered, whose ``note`` then says "too few
        leads" (``""`` otherwise).
    """
    rows = []
    for stage in stages:
        durations = conversion_durations(
            leads, as_of, f"entered_{stage}", timezone=timezone
        )
        note = too_few_leads(len(durations), min_leads)
        p = low = high = float("nan")
        if not note:
            p, low, high = share_converted_within(durations, horizon_days)
        rows.append(
            {
                "stage": stage,
                "leads": len(durations),
                "converted": int(durations["converted"].sum()),
                "win_probability": p,
                "low": low,
                "high": high,
                "horizon_days": horizon_days,
                "note": note,
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
