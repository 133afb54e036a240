"""The lead score's logistic regression, and the figures that check it.

:func:`fit_logit` fits P(purchase within the horizon) on :func:`design_matrix`
(constant, entry-point and stage dummies, ``log(1 + count)`` of each engagement
count) by maximum likelihood (statsmodels ``GLM``, binomial) with 95 % Wald
intervals, or by a ridge fit with a weak normal prior and Laplace intervals when a
feature separates buyers completely. :func:`auc` (the Mann-Whitney rank statistic)
and :func:`calibration_table` (with Wilson intervals) check it on a later period.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm, rankdata
from statsmodels.stats.proportion import proportion_confint

from pipeline.scoring_features import ENGAGEMENT, OPEN_STAGES

MAX_SOURCES = 6
MIN_SOURCE_ROWS = 10
MAX_ABS_COEF = 10.0
MAX_STD_ERR = 50.0
PRIOR_SD = 2.5
Z95 = 1.959963984540054


def design_matrix(
    features: pd.DataFrame, sources: list[str], uses_stage: bool
) -> pd.DataFrame:
    """The regression's columns: constant, entry-point and stage dummies, log counts.

    ``sources[0]`` is the entry point's reference level; entry points not in
    ``sources`` are grouped as ``other``. The stage's reference level is ``captured``.
    """
    columns: dict[str, np.ndarray] = {"const": np.ones(len(features))}
    entry = features["entry_point"].astype("string").fillna("unknown")
    entry = entry.where(entry.isin(sources), "other")
    for source in sources[1:] + ["other"]:
        columns[f"entry[{source}]"] = (entry == source).to_numpy(dtype=float)
    if uses_stage:
        stage = features["stage"].astype("string")
        for name in OPEN_STAGES[1:]:
            columns[f"stage[{name}]"] = (stage == name).fillna(False).to_numpy(float)
    for name in ENGAGEMENT:
        columns[f"log1p_{name}"] = np.log1p(features[name].to_numpy(dtype=float))
    return pd.DataFrame(columns, index=features.index)


def _sources(features: pd.DataFrame) -> list[str]:
    """Entry points common enough to get their own coefficient, most common first."""
    counts = features["entry_point"].astype("string").fillna("unknown").value_counts()
    common = counts[counts >= MIN_SOURCE_ROWS].index[:MAX_SOURCES]
    return [str(s) for s in common] or ["unknown"]


def auc(outcome: np.ndarray, predicted: np.ndarray) -> float:
    """Area under the ROC curve, as the Mann-Whitney U statistic over n₁·n₀.

    Ties in ``predicted`` count one half. ``nan`` when only one class is present.
    """
    outcome = np.asarray(outcome).astype(bool)
    positives, negatives = int(outcome.sum()), int((~outcome).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(predicted)
    u = ranks[outcome].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def calibration_table(
    outcome: np.ndarray, predicted: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Predicted against observed purchase rate, by quantile bin of prediction.

    Returns ``bin, leads, predicted, observed, observed_low, observed_high`` with
    95 % Wilson intervals on the observed rate.
    """
    frame = pd.DataFrame({"y": np.asarray(outcome, dtype=int), "p": predicted})
    n_bins = max(1, min(bins, len(frame) // 20 or 1))
    ranks = frame["p"].rank(method="first")
    frame["bin"] = pd.qcut(ranks, n_bins, labels=False) + 1 if n_bins > 1 else 1
    table = frame.groupby("bin").agg(
        leads=("y", "size"), predicted=("p", "mean"), purchases=("y", "sum")
    )
    table["observed"] = table["purchases"] / table["leads"]
    low, high = proportion_confint(table["purchases"], table["leads"], method="wilson")
    table["observed_low"], table["observed_high"] = low, high
    return table.drop(columns="purchases").reset_index()


def _separated(result) -> bool:
    """Whether a maximum-likelihood fit ran off to infinity (complete separation)."""
    slopes = np.abs(np.asarray(result.params)[1:])
    return (
        not getattr(result, "converged", True)
        or not np.all(np.isfinite(result.bse))
        or bool(len(slopes) and slopes.max() > MAX_ABS_COEF)
        or bool(np.nanmax(np.asarray(result.bse)) > MAX_STD_ERR)
    )


def _ridge_fit(y: np.ndarray, design: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Ridge logistic fit (statsmodels), with its Laplace-approximation covariance.

    The penalty is a normal prior with standard deviation :data:`PRIOR_SD` on every
    slope (the constant is free); the covariance is the inverse of the penalised
    log-likelihood's Hessian at the estimate.
    """
    n, k = design.shape
    penalty = np.full(k, 1.0 / PRIOR_SD**2)
    penalty[0] = 0.0
    model = sm.GLM(y, design, family=sm.families.Binomial())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = model.fit_regularized(alpha=penalty / n, L1_wt=0.0, maxiter=200)
    params = np.asarray(fitted.params, dtype=float)
    x = design.to_numpy(dtype=float)
    p = 1.0 / (1.0 + np.exp(-(x @ params)))
    hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
    return params, np.linalg.pinv(hessian)


def fit_logit(
    features: pd.DataFrame, outcome: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray, list[str], list[str], bool, bool]:
    """Fit the logistic regression.

    Maximum likelihood (statsmodels ``GLM``, binomial) with Wald intervals; when a
    feature separates buyers from non-buyers completely, so that the maximum
    likelihood estimate does not exist, a ridge fit with a weak normal prior
    instead (see :func:`_ridge_fit`), flagged by the last value returned.

    Returns
    -------
    tuple
        Coefficient table, parameters, design columns, entry-point levels, whether
        the stage is used, whether the ridge fit was needed.
    """
    sources = _sources(features)
    uses_stage = bool(features["stage"].notna().any())
    design = design_matrix(features, sources, uses_stage)
    keep = [c for c in design if c == "const" or design[c].std() > 0]
    design = design[keep]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is detected and handled below
        result = sm.GLM(outcome, design, family=sm.families.Binomial()).fit()
    penalised = _separated(result)
    if penalised:
        params, covariance = _ridge_fit(outcome, design)
        std_err = np.sqrt(np.clip(np.diag(covariance), 0, None))
        z = params / np.where(std_err > 0, std_err, np.nan)
        p_value = 2 * norm.sf(np.abs(z))
    else:
        params = result.params.to_numpy()
        std_err = result.bse.to_numpy()
        p_value = result.pvalues.to_numpy()
    coefficients = pd.DataFrame(
        {
            "term": design.columns,
            "coef": params,
            "std_err": std_err,
            "ci_low": params - Z95 * std_err,
            "ci_high": params + Z95 * std_err,
            "odds_ratio": np.exp(params),
            "p_value": p_value,
        }
    )
    return coefficients, params, keep, sources, uses_stage, penalised
