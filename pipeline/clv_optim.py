"""Maximum likelihood on compressed rows, for :mod:`pipeline.clv_models`.

Customers with identical data share one row with a weight; the objective is the
weighted mean negative log-likelihood with an analytic gradient, minimised by BFGS
on the log parameters. A fit that fails is retried along a ladder of ridge
penalties; standard errors come from the numerical Hessian of the total
log-likelihood.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from statsmodels.tools.numdiff import approx_fprime

log = logging.getLogger(__name__)

PENALIZER_LADDER: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
"""Ridge penalties on the log parameters, tried in turn until a fit converges."""


@dataclass
class Fit:
    """A fitted model, or the reason there is none.

    Attributes
    ----------
    params
        Parameter name to estimate (``{}`` when not fitted).
    covariance
        Covariance of the *log* parameters (inverse Hessian of the total negative
        log-likelihood), in the order of ``params``; ``None`` when not fitted or
        when the Hessian is singular.
    log_likelihood
        The total log-likelihood at the estimate (without the penalty term).
    penalizer
        The penalizer of the converged setting.
    converged
        Whether a fit converged; when ``False``, ``reason`` says why.
    reason
        Why the model was not fitted or did not converge ("" when it did).
    n
        Number of customers (sum of weights) fitted.
    tried
        The penalizers tried, in order.
    """

    params: dict[str, float] = field(default_factory=dict)
    covariance: np.ndarray | None = None
    log_likelihood: float = float("nan")
    penalizer: float = 0.0
    converged: bool = False
    reason: str = ""
    n: int = 0
    tried: list[float] = field(default_factory=list)

    def standard_errors(self) -> dict[str, float]:
        """Standard errors of the parameters (delta method from the log scale)."""
        if self.covariance is None:
            return {name: float("nan") for name in self.params}
        diag = np.sqrt(np.clip(np.diag(self.covariance), 0, None))
        return {
            name: float(value * se)
            for (name, value), se in zip(self.params.items(), diag, strict=True)
        }


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """The inner product of two vectors.

    ``einsum`` rather than ``@`` or ``vdot``: multi-threaded BLAS makes those
    orders of magnitude slower on vectors when the machine's cores are busy.
    """
    return float(np.einsum("i,i->", a, b))


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, their counts, and the inverse index.

    Rows are matched by hashing (pandas ``factorize``), in order of first
    appearance, which is much faster than sorting on a million rows.

    Returns
    -------
    (unique columns, weights, inverse) such that ``unique[k][inverse]`` gives back
    ``columns[k]``.
    """
    arrays = [np.asarray(c, dtype=float) for c in columns]
    inverse = np.zeros(len(arrays[0]), dtype=np.int64)
    for array in arrays:
        codes, levels = pd.factorize(array)
        # Re-factorising keeps the combined key below the row count: no overflow.
        inverse, _ = pd.factorize(inverse * len(levels) + codes)
    counts = np.bincount(inverse)
    first = np.empty(len(counts), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(inverse))[::-1]
    return [a[first] for a in arrays], counts, inverse


def compressed(
    weights: np.ndarray | None, *columns: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and the summed weights (1 per row by default)."""
    unique, counts, inverse = compress(*columns)
    if weights is None:
        return unique, counts.astype(float)
    return unique, np.bincount(inverse, weights=np.asarray(weights, dtype=float))


def _objective(totals, weight_sum, penalizer, shift):
    """Mean negative log-likelihood plus a ridge penalty on the log parameters.

    ``totals(params)`` returns the weighted total log-likelihood and its gradient
    in the parameters. The penalty ``penalizer * sum((log theta - shift)^2)`` pulls
    each parameter toward 1 on the fitting scale from either side. (``lifetimes``'
    penalty on ``theta^2`` only pulls toward 0, which cannot rescue a parameter
    running to 0.)
    """

    def value_and_grad(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = totals(params)
        centred = log_params - shift
        value = -ll / weight_sum + penalizer * np.sum(centred**2)
        if not np.isfinite(value):
            return np.inf, np.zeros_like(params)
        gradient = -grad / weight_sum * params + 2 * penalizer * centred
        return float(value), gradient

    return value_and_grad


EDGE = 9.2
"""Estimates whose scaled log exceeds this (outside 1e-4 to 1e4) sit on the edge of
the parameter space: the data do not identify them, so the fit counts as failed."""


def _positive_definite(matrix: np.ndarray) -> np.ndarray | None:
    """The symmetrised matrix if it is positive definite, else ``None``."""
    matrix = (matrix + matrix.T) / 2
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    return matrix


def _bfgs(objective, start, hess_inv=None):
    """BFGS on the log parameters with a tight gradient tolerance."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return minimize(
            objective, start, jac=True, method="BFGS",
            options={"gtol": 1e-8, "maxiter": 2000, "hess_inv0": hess_inv},
        )


def minimise(totals, weight_sum, names, ladder, log_shift=None, sample=None):
    """Fit along the penalizer ladder; return the first converged :class:`Fit`.

    ``log_shift`` moves each log parameter to a unit-free scale before the edge
    check (for example ``log v - log mean(m)`` for Gamma-Gamma). ``sample``, a
    ``(totals, weight_sum)`` pair for a random subset of the rows, gives a warm
    start: the subset is fitted first and its estimate and inverse Hessian start
    the fit on all rows, which then needs far fewer evaluations. The estimate is
    the full data's either way.
    """
    fit = Fit(n=int(round(weight_sum)))
    shift = np.zeros(len(names)) if log_shift is None else np.asarray(log_shift)
    for penalizer in ladder:
        fit.tried.append(penalizer)
        objective = _objective(totals, weight_sum, penalizer, shift)
        start, hess_inv = np.full(len(names), 0.1), None
        if sample is not None:
            warm = _bfgs(_objective(*sample, penalizer, shift), start)
            if np.all(np.isfinite(warm.x)) and np.all(np.abs(warm.x - shift) < EDGE):
                start, hess_inv = warm.x, _positive_definite(warm.hess_inv)
        result = _bfgs(objective, start, hess_inv)
        with np.errstate(all="ignore"):
            gradient_ok = np.max(np.abs(objective(result.x)[1])) < 1e-5
        edge = ~np.isfinite(result.x) | (np.abs(result.x - shift) > EDGE)
        if (result.success or gradient_ok) and not edge.any():
            fit.converged, fit.penalizer, fit.reason = True, penalizer, ""
            return fit, result.x, objective
        tried = ", ".join(str(p) for p in fit.tried)
        if edge.any():
            stuck = ", ".join(
                f"{n} = {np.exp(v):.3g}"
                for n, v, e in zip(names, result.x - shift, edge, strict=True) if e
            )
            fit.reason = (
                f"the estimates ran to the edge of the parameter space ({stuck} on "
                f"the fitting scale) with penalizers {tried}: the data cannot pin "
                "the model down (too little repeat buying or too short a history)"
            )
        else:
            fit.reason = (
                f"the optimiser stopped without converging ({result.message.strip()}) "
                f"with penalizers {tried}"
            )
        log.info("no convergence with penalizer %s: %s", penalizer, fit.reason)
    return fit, None, None


def covariance(objective, log_params: np.ndarray, total: float) -> np.ndarray | None:
    """Inverse Hessian of the total negative log-likelihood on the log scale."""
    hessian = approx_fprime(log_params, lambda z: objective(z)[1], centered=True)
    hessian = (hessian + hessian.T) / 2 * total
    try:
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None
    return cov if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0) else None


