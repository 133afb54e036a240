"""Holdout validation of BG/NBD: predicted against actual repeat purchases.

The checks follow Fader, Hardie and Lee (2005a), section 6: fit on a calibration
period, then compare, for the customers acquired in it, the repeat purchase-days
expected in the holdout (equation 10) with those made, in total, per customer, by
calibration frequency (their figure 4), and as cumulative repeat purchases over
calendar time (their figure 2, built from equation 9 per cohort of first purchase).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline import clv_models as models
from pipeline.clv import PurchaseSummary
from pipeline.clv_fit import ClvModels
from pipeline.eventlayer import date_to_day, day_to_date

FREQUENCY_CAP = 7
"""Calibration frequencies from this one up are pooled ("7+"), as in the paper."""


@dataclass
class HoldoutReport:
    """Predicted and actual repeat purchase-days in the holdout.

    Attributes
    ----------
    predicted
        Sum over calibration customers of E[Y(holdout length) | x, t_x, T].
    actual
        Repeat purchase-days those customers made in the holdout.
    error_pct
        ``100 (predicted - actual) / actual``; ``None`` when ``actual`` is 0.
    per_customer
        ``person_id, frequency, predicted, actual``.
    by_frequency
        ``frequency`` (label, ``"7+"`` pooled), ``customers``, ``predicted``,
        ``actual`` (means per customer).
    """

    predicted: float
    actual: int
    error_pct: float | None
    per_customer: pd.DataFrame
    by_frequency: pd.DataFrame

    def to_dict(self) -> dict[str, float | int | None]:
        """The ``holdout`` object of ``python -m pipeline clv --json``."""
        return {
            "predicted": round(float(self.predicted), 4),
            "actual": int(self.actual),
            "error_pct": None if self.error_pct is None else round(self.error_pct, 4),
        }


def holdout_report(table: pd.DataFrame) -> HoldoutReport | None:
    """Compare predicted and actual holdout purchases of the calibration customers.

    Parameters
    ----------
    table
        A customer table from :func:`pipeline.clv_fit.customer_table` made with a
        holdout (columns ``person_id, frequency, predicted_holdout,
        holdout_frequency``).

    Returns
    -------
    HoldoutReport or None
        ``None`` when the table has no holdout or no predictions.
    """
    if "predicted_holdout" not in table or "holdout_frequency" not in table:
        return None
    per = pd.DataFrame(
        {
            "person_id": table["person_id"],
            "frequency": table["frequency"].astype(int),
            "predicted": table["predicted_holdout"].astype(float),
            "actual": table["holdout_frequency"].astype(int),
        }
    )
    predicted, actual = float(per["predicted"].sum()), int(per["actual"].sum())
    error = None if actual == 0 else 100 * (predicted - actual) / actual

    capped = per["frequency"].clip(upper=FREQUENCY_CAP)
    by = per.groupby(capped).agg(
        customers=("person_id", "size"),
        predicted=("predicted", "mean"),
        actual=("actual", "mean"),
    )
    by.index = [f"{k}+" if k == FREQUENCY_CAP else str(k) for k in by.index]
    by = by.rename_axis("frequency").reset_index()
    return HoldoutReport(predicted, actual, error, per, by)


def cumulative_tracking(
    summary: PurchaseSummary, fits: ClvModels, step_days: int = 7
) -> pd.DataFrame:
    """Actual and expected cumulative repeat purchase-days over calendar time.

    Customers acquired by the calibration end are grouped by day of first purchase;
    each cohort of ``n`` customers is expected to make ``n E[X(t - s)]`` repeat
    purchase-days by day ``t`` (equation 9 of Fader, Hardie and Lee 2005a, ``s`` the
    cohort's first day).

    Returns
    -------
    pandas.DataFrame
        ``date, actual, expected, period`` (``calibration`` or ``holdout``) every
        ``step_days`` days; ``expected`` is NaN when BG/NBD was not fitted.
    """
    c = summary.customers
    if c.empty:
        return pd.DataFrame(columns=["date", "actual", "expected", "period"])
    cal_day = date_to_day(summary.calibration_end)
    last = date_to_day(summary.holdout_end or summary.calibration_end)
    start = int(c["first_day"].min())
    points = np.arange(start + step_days, last + step_days, step_days)
    points = np.minimum(points, last)
    points = np.unique(np.append(points, [cal_day]))

    by_day = summary.repeat_by_day
    counts = by_day.set_index("day")["repeat_purchases"]
    daily = counts.reindex(np.arange(start, last + 1), fill_value=0).cumsum()
    actual = daily.reindex(points).to_numpy()

    expected = np.full(len(points), np.nan)
    if fits.bgnbd.converged:
        cohorts = c.groupby("first_day").size()
        age = (points[:, None] - cohorts.index.to_numpy()[None, :]) / summary.unit_days
        age = np.clip(age, 0, None)
        per_customer = models.bgnbd_expected_purchases(fits.bgnbd.params, age)
        counts = cohorts.to_numpy(dtype=float)
        expected = np.einsum("ij,j->i", np.where(age > 0, per_customer, 0.0), counts)

    return pd.DataFrame(
        {
            "date": [day_to_date(d).date() for d in points],
            "actual": actual,
            "expected": expected,
            "period": np.where(points <= cal_day, "calibration", "holdout"),
        }
    )
