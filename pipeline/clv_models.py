"""BG/NBD and Gamma-Gamma: likelihoods, fits on compressed rows, and predictions.

The models are the ones ``lifetimes`` implements, written again here so that they fit
on *compressed* data: customers with identical ``(x, t_x, T)`` (or ``(x, m)``) share
one row with a weight, and the likelihood has an analytic gradient. On a million
customers that is a few thousand distinct rows, which is what makes the fit fast.
``tests/test_clv.py`` checks every function here against ``lifetimes`` itself.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a). "Counting your customers the
easy way: an alternative to the Pareto/NBD model". *Marketing Science* 24 (2), 275-284.
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b). "RFM and CLV: using iso-value
curves for customer base analysis". *Journal of Marketing Research* 42 (4), 415-430.
Fader, P. S. and Hardie, B. G. S. (2013). "The Gamma-Gamma model of monetary value".
http://brucehardie.com/notes/025/
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008). "Computing P(alive) using the
BG/NBD model". http://brucehardie.com/notes/021/
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1
from statsmodels.tools.numdiff import approx_fprime

log = logging.getLogger(__name__)

PENALIZER_LADDER: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
"""Penalizers tried in turn when a fit does not converge (lifetimes' L2 penalty)."""

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")


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


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, their counts, and the inverse index.

    Returns
    -------
    (unique columns, weights, inverse) such that ``unique[k][inverse]`` gives back
    ``columns[k]``.
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, inverse, counts = np.unique(
        stacked, axis=0, return_inverse=True, return_counts=True
    )
    return [unique[:, k] for k in range(unique.shape[1])], counts, inverse.ravel()


def compressed(
    weights: np.ndarray | None, *columns: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and the summed weights (1 per row by default)."""
    unique, counts, inverse = compress(*columns)
    if weights is None:
        return unique, counts.astype(float)
    return unique, np.bincount(inverse, weights=np.asarray(weights, dtype=float))


# --- BG/NBD -----------------------------------------------------------------------


def bgnbd_loglik_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood of BG/NBD and its gradient in the parameters.

    The likelihood is equation (6) of Fader, Hardie and Lee (2005a), computed as
    in their section 7: ``ln L = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4))``.

    Returns
    -------
    (ll, grad) with ``ll`` of shape ``(n,)`` and ``grad`` of shape ``(n, 4)``, the
    derivative with respect to ``(r, alpha, a, b)``.
    """
    r, alpha, a, b = params
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(
        repeat,
        np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    top = np.maximum(a3, a4)
    w3 = np.exp(a3 - top)
    w4 = np.exp(a4 - top)
    total = w3 + w4
    ll = a1 + a2 + top + np.log(total)
    w3, w4 = w3 / total, w4 / total

    grad = np.empty((len(x), 4))
    grad[:, 0] = (
        digamma(r + x) - digamma(r) + np.log(alpha)
        - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    )
    grad[:, 1] = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    grad[:, 2] = digamma(a + b) - digamma(a + b + x) + w4 / a
    grad[:, 3] = (
        digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
        - w4 / (b + np.maximum(x, 1) - 1)
    )
    return ll, grad


def gg_loglik_terms(
    params: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row log-likelihood of the Gamma-Gamma model and its gradient.

    Equation (1a) of Fader and Hardie (2013), the density of a customer's mean spend
    ``m`` over ``x`` repeat transactions (the constant term dropped as ``lifetimes``
    does).

    Returns
    -------
    (ll, grad) with ``grad`` the derivative with respect to ``(p, q, v)``.
    """
    p, q, v = params
    px = p * x
    log_xm_v = np.log(x * m + v)
    ll = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * log_xm_v
    )
    grad = np.empty((len(x), 3))
    common = digamma(px + q)
    grad[:, 0] = x * (common - digamma(px) + np.log(m) + np.log(x) - log_xm_v)
    grad[:, 1] = common - digamma(q) + np.log(v) - log_xm_v
    grad[:, 2] = q / v - (px + q) / (x * m + v)
    return ll, grad


def _objective(terms, data, weights, penalizer):
    """Normalised negative log-likelihood with lifetimes' L2 penalty, on log params."""
    total = weights.sum()

    def value_and_grad(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        params = np.exp(log_params)
        ll, grad = terms(params, *data)
        value = -(weights @ ll) / total + penalizer * np.sum(params**2)
        gradient = -(weights @ grad) / total + 2 * penalizer * params
        if not np.isfinite(value):
            return np.inf, np.zeros_like(params)
        return float(value), gradient * params

    return value_and_grad


def _minimise(terms, data, weights, n_params, ladder, start):
    """Fit along the penalizer ladder; return the first converged :class:`Fit`."""
    fit = Fit(n=int(weights.sum()))
    for penalizer in ladder:
        fit.tried.append(penalizer)
        objective = _objective(terms, data, weights, penalizer)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = minimize(
                objective, np.full(n_params, start), jac=True, method="BFGS",
                options={"gtol": 1e-9, "maxiter": 2000},
            )
            gradient_ok = np.max(np.abs(objective(result.x)[1])) < 1e-5
        finite = np.all(np.isfinite(result.x)) and np.all(np.abs(result.x) < 30)
        if (result.success or gradient_ok) and finite:
            fit.converged, fit.penalizer = True, penalizer
            fit.reason = ""
            return fit, result.x, objective
        fit.reason = (
            f"the optimiser stopped without converging ({result.message.strip()}) "
            f"with penalizers {', '.join(str(p) for p in fit.tried)}"
        )
        log.info("no convergence with penalizer %s: %s", penalizer, result.message)
    return fit, None, None


def _covariance(objective, log_params: np.ndarray, total: float) -> np.ndarray | None:
    """Inverse Hessian of the total negative log-likelihood on the log scale."""
    hessian = approx_fprime(log_params, lambda z: objective(z)[1], centered=True)
    hessian = (hessian + hessian.T) / 2 * total
    try:
        cov = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return None
    return cov if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0) else None


def fit_bgnbd(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
    ladder: tuple[float, ...] = PENALIZER_LADDER,
) -> Fit:
    """Fit BG/NBD (Fader, Hardie and Lee 2005a) by maximum likelihood.

    Identical ``(x, t_x, T)`` rows are compressed into weights first. As in
    ``lifetimes``, time is scaled so that the largest ``T`` is 1 while fitting and
    the penalizer is ``penalizer * sum(theta**2)`` on the scaled parameters added
    to the mean negative log-likelihood, so a penalizer means the same as there.

    Parameters
    ----------
    x, t_x, T
        Repeat purchases, time of the last purchase and age, in one time unit.
    weights
        Customers per row (1 each when ``None``).
    ladder
        Penalizers tried in turn until a fit converges.

    Returns
    -------
    Fit
        ``params`` r, alpha (per the time unit of the inputs), a, b.
    """
    (x, t_x, T), w = compressed(weights, x, t_x, T)
    scale = 1.0 / T.max() if T.max() > 0 else 1.0
    data = (x, t_x * scale, T * scale)
    fit, log_params, objective = _minimise(bgnbd_loglik_terms, data, w, 4, ladder, 0.1)
    if log_params is None:
        return fit
    params = np.exp(log_params)
    params[1] /= scale
    fit.log_likelihood = float(w @ bgnbd_loglik_terms(params, x, t_x, T)[0])
    fit.params = dict(zip(BGNBD_PARAMS, map(float, params), strict=True))
    fit.covariance = _covariance(objective, log_params, w.sum())
    return fit


def bgnbd_expected_purchases(
    params: dict[str, float], t: float | np.ndarray
) -> np.ndarray:
    """E[X(t)]: repeat purchases of a new customer in ``(0, t]``.

    Equation (9) of Fader, Hardie and Lee (2005a).
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)


def bgnbd_conditional_purchases(
    params: dict[str, float],
    t: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in ``(T, T + t]``.

    Equation (10) of Fader, Hardie and Lee (2005a). Where the Gauss hypergeometric
    function overflows, Euler's transformation ``2F1(a,b;c;z) = (1-z)^(c-a-b)
    2F1(c-a, c-b; c; z)`` is used instead.
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    x, t_x, T = (np.asarray(c, dtype=float) for c in (x, t_x, T))
    if t <= 0:
        return np.zeros_like(x)
    h_a, h_b, h_c = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        log_hyp = np.log(hyp2f1(h_a, h_b, h_c, z))
        euler = np.log(hyp2f1(h_c - h_a, h_c - h_b, h_c, z)) + (
            h_c - h_a - h_b
        ) * np.log1p(-z)
    log_hyp = np.where(np.isfinite(log_hyp), log_hyp, euler)
    first = (a + b + x - 1) / (a - 1)
    second = -np.expm1(log_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    odds = a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return first * second / (1 + (x > 0) * odds)


def bgnbd_p_alive(
    params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive | x, t_x, T), Fader, Hardie and Lee (2008), note 021, equation (2)."""
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    x, t_x, T = (np.asarray(c, dtype=float) for c in (x, t_x, T))
    log_odds = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(
        a / (b + np.maximum(x, 1) - 1)
    )
    return np.where(x == 0, 1.0, expit(-log_odds))


def bgnbd_p_no_purchase(
    params: dict[str, float],
    t: float,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """P(no purchase in ``(T, T + t]`` | x, t_x, T).

    A customer who is alive at ``T`` cannot drop out before buying again (in BG/NBD
    dropout happens right after a purchase), so with ``lambda | x, T`` distributed
    ``Gamma(r + x, alpha + T)`` (Fader, Hardie and Lee 2005a, section 5):
    ``P = 1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x)``.
    """
    r, alpha = params["r"], params["alpha"]
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = bgnbd_p_alive(params, x, t_x, T)
    stay = ((alpha + T) / (alpha + T + t)) ** (r + x)
    return 1 - alive + alive * stay


def bgnbd_time_to_next_purchase(
    params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Time after ``T`` by which a next purchase becomes more likely than not.

    Solves ``bgnbd_p_no_purchase(t) = 0.5`` in closed form:
    ``t = (alpha + T) ((p / (p - 0.5))^(1 / (r + x)) - 1)`` with ``p = P(alive)``;
    ``inf`` when ``P(alive) <= 0.5`` (the customer more likely has lapsed).
    """
    r, alpha = params["r"], params["alpha"]
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = bgnbd_p_alive(params, x, t_x, T)
    with np.errstate(all="ignore"):
        ratio = np.where(alive > 0.5, alive / (alive - 0.5), np.inf)
        return (alpha + T) * (ratio ** (1 / (r + x)) - 1)


# --- Gamma-Gamma ------------------------------------------------------------------


def fit_gamma_gamma(
    x: np.ndarray,
    m: np.ndarray,
    weights: np.ndarray | None = None,
    ladder: tuple[float, ...] = PENALIZER_LADDER,
) -> Fit:
    """Fit the Gamma-Gamma model of spend (Fader and Hardie 2013, equation 1a).

    Parameters
    ----------
    x
        Repeat purchases of each repeat buyer (``x >= 1``).
    m
        Each buyer's mean spend over those repeat purchases (``m > 0``).
    weights, ladder
        As in :func:`fit_bgnbd`; the penalty is on the unscaled parameters, as in
        ``lifetimes``.

    Returns
    -------
    Fit
        ``params`` p, q, v (v in the currency of ``m``).
    """
    (x, m), w = compressed(weights, x, m)
    if np.any(x < 1) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs x >= 1 and positive mean spend m")
    fit, log_params, objective = _minimise(gg_loglik_terms, (x, m), w, 3, ladder, 0.1)
    if log_params is None:
        return fit
    params = np.exp(log_params)
    fit.log_likelihood = float(w @ gg_loglik_terms(params, x, m)[0])
    fit.params = dict(zip(GG_PARAMS, map(float, params), strict=True))
    fit.covariance = _covariance(objective, log_params, w.sum())
    if params[1] <= 1:
        fit.converged = False
        fit.reason = (
            f"the spend model's q = {params[1]:.3g} is at most 1, so the population "
            "mean spend v p / (q - 1) is not finite (spend too skewed for Gamma-Gamma)"
        )
    return fit


def gg_population_mean(params: dict[str, float]) -> float:
    """Mean spend per order in the population, ``v p / (q - 1)`` (note 025, eq. 4)."""
    return params["v"] * params["p"] / (params["q"] - 1)


def gg_expected_spend(
    params: dict[str, float], x: np.ndarray, m: np.ndarray
) -> np.ndarray:
    """E[spend per order | x, m]: Fader and Hardie (2013), equation (5).

    A weighted average of the population mean and the customer's own mean spend,
    the weight on the latter being ``p x / (p x + q - 1)``; ``x = 0`` gives the
    population mean.
    """
    p, q = params["p"], params["q"]
    x = np.asarray(x, dtype=float)
    own = p * x / (p * x + q - 1)
    m = np.where(x > 0, np.asarray(m, dtype=float), 0.0)
    return (1 - own) * gg_population_mean(params) + own * m
