"""What customers are worth to the Funnel page: BG/NBD and Gamma-Gamma fitted to a day.

:func:`customer_models` fits the customer models on the purchases up to the day
evaluated, or says why it cannot; :func:`expected_new_customer_value` prices one new
customer (first purchase plus discounted predicted future value, or the first
purchase alone when the models are unusable), and :func:`customer_values` prices
every existing customer. Pipeline value and pipeline-weighted attribution credit use
these figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd

from pipeline import clv_fit
from pipeline.clv import PurchaseSummary, purchase_summary
from pipeline.model import Dataset

log = logging.getLogger(__name__)

CLV_HORIZON_DAYS = 365.0
"""Horizon of a new customer's predicted future value on the Funnel page."""

CLV_ANNUAL_DISCOUNT = 0.10
"""Annual discount rate of that predicted value."""


@dataclass
class CustomerModels:
    """BG/NBD and Gamma-Gamma fitted on the purchases up to one day, or why not.

    Attributes
    ----------
    summary
        The per-customer purchase summary (``None`` when there are no purchases).
        Its ``repeat_source`` is dropped so that the object can be cached.
    fits
        The fits (``None`` without a summary).
    reason
        Why the models cannot price customers ("" when they can).
    """

    summary: PurchaseSummary | None
    fits: clv_fit.ClvModels | None
    reason: str = ""

    @property
    def usable(self) -> bool:
        """Whether both models converged."""
        return self.fits is not None and self.fits.usable


def customer_models(dataset: Dataset, as_of: dt.date | None) -> CustomerModels:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to ``as_of`` (inclusive).

    The calibration ends at ``as_of`` or at the last purchase day, whichever is
    earlier, so that customers are not aged by days without data; the time unit is
    days.

    Parameters
    ----------
    dataset
        The loaded data.
    as_of
        The local day the leads are evaluated at (``None``: every purchase).

    Returns
    -------
    CustomerModels
        With ``reason`` saying why the models are unusable (no purchases, too few
        repeat buyers, no convergence), never raising for those.
    """
    purchases = dataset.purchases()
    dated = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
    if dated.empty:
        return CustomerModels(None, None, "there are no purchases with a customer")
    local = dated["ts"].dt.tz_convert(dataset.timezone or "UTC")
    first, last = local.min().date(), local.max().date()
    end = last if as_of is None else min(last, pd.Timestamp(as_of).date())
    if end < first:
        return CustomerModels(
            None, None, f"the first purchase ({first}) is after the 'as of' day"
        )
    try:
        summary = purchase_summary(dataset, end)
    except ValueError as exc:
        return CustomerModels(None, None, str(exc))
    summary = dataclasses.replace(summary, repeat_source=None)
    fits = clv_fit.fit_models(summary)
    reason = "; ".join(
        line.rstrip(".") for line in fits.status() if "not fitted" in line
    )
    log.info("customer models to %s: %s", end, reason or "usable")
    return CustomerModels(summary, fits, reason)


@dataclass
class NewCustomerValue:
    """The expected value of one new customer, and where it comes from.

    Attributes
    ----------
    value
        First purchase plus predicted future value (or the first purchase alone
        when ``from_models`` is False); NaN without purchases.
    first_purchase
        Mean value of customers' first purchase-day.
    future
        Predicted discounted value of later purchases over the horizon (0 when
        ``from_models`` is False).
    from_models
        Whether BG/NBD and Gamma-Gamma priced the future purchases.
    how
        One sentence for the page: the method, or the fallback and why.
    """

    value: float
    first_purchase: float
    future: float
    from_models: bool
    how: str


def expected_new_customer_value(
    models: CustomerModels,
    horizon_days: float = CLV_HORIZON_DAYS,
    annual_discount: float = CLV_ANNUAL_DISCOUNT,
    margin: float = 1.0,
) -> NewCustomerValue:
    """The expected value of a new customer from the models, or the fallback.

    With usable models, ``margin × (mean first purchase + E[spend] × discounted
    E[purchases over the horizon | x = t_x = T = 0])``
    (:func:`pipeline.clv_fit.new_customer_value`). Otherwise the mean first
    purchase alone, with the reason in ``how``.
    """
    if models.summary is None or models.summary.customers.empty:
        return NewCustomerValue(
            float("nan"),
            float("nan"),
            0.0,
            False,
            "A new customer's value is not available yet: it is priced on the "
            "purchases up to the 'as of' day, and "
            f"{models.reason or 'there are none'}.",
        )
    first = float(models.summary.customers["first_value"].mean())
    if not models.usable:
        return NewCustomerValue(
            margin * first,
            first,
            0.0,
            False,
            "Average first purchase only, without future purchases (the customer "
            f"models could not be fitted: {models.reason}).",
        )
    value = clv_fit.new_customer_value(
        models.fits,
        first,
        horizon_days,
        annual_discount,
        margin,
        models.summary.unit_days,
    )
    return NewCustomerValue(
        value,
        first,
        value - margin * first,
        True,
        f"Average first purchase plus the purchases BG/NBD and Gamma-Gamma predict "
        f"over the next {horizon_days:,.0f} days, discounted at "
        f"{annual_discount:.0%} a year.",
    )


def customer_values(
    models: CustomerModels,
    horizon_days: float = CLV_HORIZON_DAYS,
    annual_discount: float = CLV_ANNUAL_DISCOUNT,
    margin: float = 1.0,
) -> pd.Series:
    """Each existing customer's value: purchases so far plus predicted future value.

    Returns
    -------
    pandas.Series
        ``margin ×`` the customer's purchase value to the calibration end plus the
        predicted CLV over the horizon (:func:`pipeline.clv_fit.customer_table`),
        indexed by ``person_id``; empty when the models are not usable.
    """
    if not models.usable:
        return pd.Series(dtype=float)
    table = clv_fit.customer_table(
        models.summary, models.fits, horizon_days, annual_discount, margin
    )
    values = margin * table["total_value"].astype(float) + table["clv"].astype(float)
    return pd.Series(values.to_numpy(), index=table["person_id"].astype(str))
