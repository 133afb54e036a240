"""Fitting BG/NBD and Gamma-Gamma to a purchase summary, and customer value from them.

:func:`fit_models` is the slow step (run once per data and calibration date);
:func:`customer_table` and :func:`population_figures` turn the fits into per-customer
and population figures for any horizon, discount rate and margin, fast enough for a
slider. Predictions are computed once per distinct ``(x, t_x, T)`` and spread back.

CLV over a horizon ``H`` is (Fader, Hardie and Lee 2005b, section "CLV"; here in
discrete monthly steps)::

    CLV = margin * E[spend per order]
          * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^(t_k / 365.25)

with ``t_k = k H / K``, ``K`` the number of whole months in ``H`` (at least 1),
``E[Y(t)]`` the BG/NBD conditional expectation and ``d`` the annual discount rate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.tools.numdiff import approx_fprime

from pipeline import clv_models as models
from pipeline.clv import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    MIN_REPEAT_CUSTOMERS,
    PurchaseSummary,
)

log = logging.getLogger(__name__)


@dataclass
class ClvModels:
    """The two fits on one summary, with what was left out and why.

    Attributes
    ----------
    bgnbd, gamma_gamma
        The fits; ``converged`` False with a ``reason`` when not usable.
    spend_counts
        ``fitted`` (repeat buyers with positive mean spend), ``excluded_nonpositive``
        (repeat buyers whose mean repeat spend is 0 or less), ``one_time`` (buyers
        with no repeat purchase, who get the population mean spend).
    time_unit
        Unit of ``alpha`` (BG/NBD rates are per this unit).
    """

    bgnbd: models.Fit
    gamma_gamma: models.Fit
    spend_counts: dict[str, int] = field(default_factory=dict)
    time_unit: str = "days"

    @property
    def usable(self) -> bool:
        """Whether both models converged and can give values."""
        return self.bgnbd.converged and self.gamma_gamma.converged

    def status(self) -> list[str]:
        """Sentences for the page and the CLI on how each model was fitted."""
        lines = []
        for name, fit in (("BG/NBD", self.bgnbd), ("Gamma-Gamma", self.gamma_gamma)):
            if fit.converged:
                how = "without a penalizer" if fit.penalizer == 0 else (
                    f"with penalizer {fit.penalizer} (smaller ones did not converge)"
                )
                lines.append(f"{name} fitted on {fit.n:,} customers {how}.")
            else:
                lines.append(f"{name} not fitted: {fit.reason}.")
        return lines


def fit_models(summary: PurchaseSummary) -> ClvModels:
    """Fit BG/NBD on every calibration customer and Gamma-Gamma on repeat buyers.

    Gamma-Gamma is fitted on the repeat buyers with positive mean repeat spend only
    (Fader and Hardie 2013); the others are counted in ``spend_counts``. With fewer
    than :data:`MIN_REPEAT_CUSTOMERS` repeat buyers neither model is fitted.
    """
    c = summary.customers
    repeat = c["frequency"] > 0
    positive = repeat & (c["monetary_value"] > 0)
    counts = {
        "fitted": int(positive.sum()),
        "excluded_nonpositive": int((repeat & ~positive).sum()),
        "one_time": int((~repeat).sum()),
    }
    if repeat.sum() < MIN_REPEAT_CUSTOMERS:
        why = (
            f"only {int(repeat.sum())} of {len(c):,} customers bought again before "
            f"{summary.calibration_end}; the models need at least "
            f"{MIN_REPEAT_CUSTOMERS} repeat buyers (use a later calibration end or "
            "more history)"
        )
        return ClvModels(
            models.Fit(reason=why), models.Fit(reason=why), counts, summary.time_unit
        )

    bgnbd = models.fit_bgnbd(c["frequency"], c["recency"], c["T"])
    if positive.sum() < MIN_REPEAT_CUSTOMERS:
        gamma_gamma = models.Fit(
            reason=f"only {int(positive.sum())} repeat buyers have a positive mean "
            f"repeat spend; at least {MIN_REPEAT_CUSTOMERS} are needed"
        )
    else:
        gamma_gamma = models.fit_gamma_gamma(
            c.loc[positive, "frequency"], c.loc[positive, "monetary_value"]
        )
    return ClvModels(bgnbd, gamma_gamma, counts, summary.time_unit)


def _steps(horizon_days: float) -> np.ndarray:
    """Step ends in days: whole months over the horizon (at least one step)."""
    k = max(1, int(round(horizon_days / DAYS_PER_MONTH)))
    return np.arange(1, k + 1) * horizon_days / k


def discounted_purchases(
    params: dict[str, float],
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    horizon_days: float,
    annual_discount: float,
    unit_days: int,
) -> np.ndarray:
    """Sum over monthly steps of expected repeat purchases, each discounted.

    The sum in the CLV formula of this module's docstring, per row.
    """
    return _flows(params, x, t_x, T, horizon_days, annual_discount, unit_days)[0]


def _flows(params, x, t_x, T, horizon_days, annual_discount, unit_days, extra=()):
    """Discounted purchases over the horizon, undiscounted ones, and E[Y(t)] at
    each of the ``extra`` times (in the model's unit)."""
    ends = _steps(horizon_days)
    times = np.concatenate([ends / unit_days, np.asarray(extra, dtype=float)])
    cumulative = models.bgnbd_conditional_purchases_at(params, times, x, t_x, T)
    steps = np.diff(cumulative[: len(ends)], axis=0, prepend=0.0)
    discount = (1 + annual_discount) ** (ends / DAYS_PER_YEAR)
    total = (steps / discount[:, None]).sum(axis=0)
    return total, cumulative[len(ends) - 1], cumulative[len(ends):]


def customer_table(
    summary: PurchaseSummary,
    fits: ClvModels,
    horizon_days: float = 365.0,
    annual_discount: float = 0.10,
    margin: float = 1.0,
    churn_days: float = 90.0,
) -> pd.DataFrame:
    """Per-customer figures from the fits; empty predictions when not usable.

    Parameters
    ----------
    summary, fits
        From :func:`pipeline.clv.purchase_summary` and :func:`fit_models`.
    horizon_days
        The horizon for expected purchases and CLV, in days.
    annual_discount
        Annual discount rate (0.10 = 10 % a year).
    margin
        Share of revenue kept as profit (1.0 = revenue).
    churn_days
        Window of the churn risk, P(no purchase in the next ``churn_days`` days).

    Returns
    -------
    pandas.DataFrame
        The summary's columns (first and last purchase as dates) plus ``p_alive``,
        ``expected_purchases``, ``expected_spend``, ``clv``, ``churn_risk``,
        ``next_purchase_date`` (NaT when more likely lapsed) and, with a holdout,
        ``predicted_holdout``.
    """
    c = summary.customers
    out = c.drop(columns=["first_day", "last_day"]).copy()
    out.insert(1, "first_purchase", _dates(c["first_day"]))
    out.insert(2, "last_purchase", _dates(c["last_day"]))
    if not fits.usable or c.empty:
        return out

    unit = summary.unit_days
    (x, t_x, T), _, inverse = models.compress(c["frequency"], c["recency"], c["T"])
    bg = fits.bgnbd.params
    extra = [summary.holdout_length] if summary.holdout_end is not None else []
    flow, purchases, at_extra = _flows(
        bg, x, t_x, T, horizon_days, annual_discount, unit, extra
    )
    out["p_alive"] = models.bgnbd_p_alive(bg, x, t_x, T)[inverse]
    out["expected_purchases"] = purchases[inverse]
    spend = _expected_spend(
        fits.gamma_gamma.params,
        c["frequency"].to_numpy(dtype=float),
        c["monetary_value"].to_numpy(dtype=float),
    )
    out["expected_spend"] = spend
    out["clv"] = margin * spend * flow[inverse]
    out["churn_risk"] = models.bgnbd_p_no_purchase(bg, churn_days / unit, x, t_x, T)[
        inverse
    ]
    wait = models.bgnbd_time_to_next_purchase(bg, x, t_x, T)[inverse] * unit
    wait = np.where(np.isfinite(wait) & (wait < 365 * 50), np.ceil(wait), np.nan)
    end = np.datetime64(summary.calibration_end, "s")
    out["next_purchase_date"] = pd.Series(
        end + pd.to_timedelta(wait, unit="D").to_numpy(), index=out.index
    )
    if extra:
        out["predicted_holdout"] = at_extra[0][inverse]
    return out


def _dates(days: pd.Series) -> pd.Series:
    """Local day numbers as dates (``datetime64[s]`` at midnight)."""
    return pd.to_datetime(days.to_numpy(dtype="int64"), unit="D").astype(
        "datetime64[s]"
    ).to_series(index=days.index)


def _expected_spend(gg: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Gamma-Gamma spend per order; the population mean where ``m <= 0``.

    One-time buyers (``x = 0``) and repeat buyers left out of the fit for a mean
    repeat spend of 0 or less both get the population mean.
    """
    usable = (x > 0) & (m > 0)
    spend = models.gg_expected_spend(gg, np.where(usable, x, 0), np.where(usable, m, 0))
    return np.asarray(spend, dtype=float)


def new_customer_value(
    fits: ClvModels,
    first_order_value: float,
    horizon_days: float = 365.0,
    annual_discount: float = 0.10,
    margin: float = 1.0,
    unit_days: int = 1,
) -> float:
    """Expected value of a customer who has just made a first purchase.

    ``margin * first_order_value`` plus the CLV of a customer with ``x = t_x = T =
    0`` (BG/NBD equation 9 over the horizon, at the population mean spend). NaN when
    the models are not usable.
    """
    if not fits.usable:
        return float("nan")
    zero = np.zeros(1)
    flow = discounted_purchases(
        fits.bgnbd.params, zero, zero, zero, horizon_days, annual_discount, unit_days
    )[0]
    mean_spend = models.gg_population_mean(fits.gamma_gamma.params)
    return float(margin * (first_order_value + mean_spend * flow))


def population_figures(
    summary: PurchaseSummary,
    fits: ClvModels,
    horizon_days: float = 365.0,
    annual_discount: float = 0.10,
    margin: float = 1.0,
) -> pd.DataFrame:
    """Population figures with standard errors from the parameters' uncertainty.

    The standard errors use the delta method: the gradient of each figure in the
    log parameters (numerical, central differences) with the inverse Hessian of
    each model's log-likelihood, the two models taken as independent. They carry
    parameter uncertainty only, not the randomness of future purchases.

    Returns
    -------
    pandas.DataFrame
        ``figure, value, se, low, high, unit`` (``low``/``high`` = value ± 1.96 se);
        empty when the models are not usable.
    """
    columns = ["figure", "value", "se", "low", "high", "unit"]
    if not fits.usable:
        return pd.DataFrame(columns=columns)

    c = summary.customers
    (x, t_x, T, m), weight, _ = models.compress(
        c["frequency"], c["recency"], c["T"], c["monetary_value"]
    )
    names = list(models.BGNBD_PARAMS) + list(models.GG_PARAMS)
    unit = summary.unit_days

    def figures(log_theta: np.ndarray) -> np.ndarray:
        theta = dict(zip(names, np.exp(log_theta), strict=True))
        bg = {k: theta[k] for k in models.BGNBD_PARAMS}
        gg = {k: theta[k] for k in models.GG_PARAMS}
        purchases = models.bgnbd_conditional_purchases(
            bg, horizon_days / unit, x, t_x, T
        )
        flow = discounted_purchases(bg, x, t_x, T, horizon_days, annual_discount, unit)
        spend = _expected_spend(gg, x, m)
        return np.array([
            models.dot(weight, purchases),
            models.dot(weight, models.bgnbd_p_alive(bg, x, t_x, T)),
            models.gg_population_mean(gg),
            margin * models.dot(weight, spend * flow),
        ])

    log_theta = np.log([fits.bgnbd.params[k] for k in models.BGNBD_PARAMS]
                       + [fits.gamma_gamma.params[k] for k in models.GG_PARAMS])
    value = figures(log_theta)
    cov = np.zeros((7, 7))
    for block, fit in ((slice(0, 4), fits.bgnbd), (slice(4, 7), fits.gamma_gamma)):
        cov[block, block] = fit.covariance if fit.covariance is not None else np.nan
    jac = approx_fprime(log_theta, figures, centered=True)
    se = np.sqrt(np.einsum("ij,jk,ik->i", jac, cov, jac))
    return pd.DataFrame({
        "figure": [
            f"Repeat purchases, next {horizon_days:g} days",
            "Customers still active (sum of P(alive))",
            "Mean spend per order, population",
            f"Customer value, next {horizon_days:g} days",
        ],
        "value": value,
        "se": se,
        "low": value - 1.96 * se,
        "high": value + 1.96 * se,
        "unit": ["purchase-days", "customers", "currency", "currency"],
    })


def frequency_recency_grid(
    fits: ClvModels,
    T: float,
    horizon: float,
    max_frequency: int = 20,
    points: int = 25,
) -> pd.DataFrame:
    """Expected purchases and P(alive) over a grid of frequency and recency.

    The matrices of Fader, Hardie and Lee (2005b), figure 2, for customers of age
    ``T`` (all in the model's time unit): ``frequency`` 0 to ``max_frequency`` and
    ``recency`` from 0 to ``T``; one-time buyers only at recency 0.

    Returns
    -------
    pandas.DataFrame
        ``frequency, recency, expected_purchases, p_alive`` (long form); empty when
        BG/NBD was not fitted.
    """
    if not fits.bgnbd.converged or T <= 0:
        return pd.DataFrame(
            columns=["frequency", "recency", "expected_purchases", "p_alive"]
        )
    x, t_x = np.meshgrid(np.arange(max_frequency + 1), np.linspace(0, T, points))
    x, t_x = x.ravel().astype(float), t_x.ravel()
    keep = (x > 0) | (t_x == 0)
    x, t_x = x[keep], t_x[keep]
    age = np.full_like(x, T)
    bg = fits.bgnbd.params
    return pd.DataFrame(
        {
            "frequency": x.astype(int),
            "recency": t_x,
            "expected_purchases": models.bgnbd_conditional_purchases(
                bg, horizon, x, t_x, age
            ),
            "p_alive": models.bgnbd_p_alive(bg, x, t_x, age),
        }
    )
