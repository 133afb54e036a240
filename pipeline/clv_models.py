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

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from pipeline.clv_optim import (
    PENALIZER_LADDER,
    Fit,
    compress,
    compressed,
    covariance,
    dot,
    minimise,
)

WARM_START_ROWS = 20_000
"""Above this many distinct rows, a random subset of this size is fitted first to
start the full fit near its optimum (see :func:`pipeline.clv_optim.minimise`)."""

__all__ = ["PENALIZER_LADDER", "Fit", "compress", "compressed", "dot"]

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")


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


def bgnbd_totals(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
    """A function of the parameters giving the weighted total of
    :func:`bgnbd_loglik_terms` and its gradient, fast.

    The terms that depend on ``x`` alone (the gamma and digamma functions) are
    computed once per distinct ``x`` and weighted by its customers; only logs and
    exponentials are left per row.
    """
    levels, index = np.unique(x, return_inverse=True)
    w_level = np.bincount(index, weights=w)
    repeat = x > 0
    x_r, t_r, T_r, w_r = x[repeat], t_x[repeat], T[repeat], w[repeat]
    shift_r = np.maximum(x_r, 1) - 1
    w_sum, T_0, w_0 = w.sum(), T[~repeat], w[~repeat]

    def totals(params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = params
        lv = levels
        ll = dot(w_level, (
            gammaln(r + lv) - gammaln(r) + r * np.log(alpha) + gammaln(a + b)
            + gammaln(b + lv) - gammaln(b) - gammaln(a + b + lv)
        ))
        grad = np.array([
            dot(w_level, digamma(r + lv) - digamma(r) + np.log(alpha)),
            w_sum * r / alpha,
            dot(w_level, digamma(a + b) - digamma(a + b + lv)),
            dot(w_level, digamma(a + b) + digamma(b + lv) - digamma(b)
                - digamma(a + b + lv)),
        ])

        # One-time buyers: only A3 = -r ln(alpha + T).
        log_T0 = np.log(alpha + T_0)
        ll -= r * dot(w_0, log_T0)
        grad[0] -= dot(w_0, log_T0)
        grad[1] -= r * dot(w_0, 1 / (alpha + T_0))

        # Repeat buyers: ln(exp(A3) + exp(A4)).
        log_T, log_t = np.log(alpha + T_r), np.log(alpha + t_r)
        a3 = -(r + x_r) * log_T
        a4 = np.log(a) - np.log(b + shift_r) - (r + x_r) * log_t
        top = np.maximum(a3, a4)
        e3, e4 = np.exp(a3 - top), np.exp(a4 - top)
        both = e3 + e4
        ll += dot(w_r, top + np.log(both))
        e3, e4 = w_r * e3 / both, w_r * e4 / both
        grad[0] -= dot(e3, log_T) + dot(e4, log_t)
        grad[1] -= dot(r + x_r, e3 / (alpha + T_r) + e4 / (alpha + t_r))
        grad[2] += e4.sum() / a
        grad[3] -= dot(e4, 1 / (b + shift_r))
        return float(ll), grad

    return totals


def gg_totals(x: np.ndarray, m: np.ndarray, w: np.ndarray):
    """A function of the parameters giving the weighted total of
    :func:`gg_loglik_terms` and its gradient, with the gamma-function terms
    computed once per distinct ``x``."""
    levels, index = np.unique(x, return_inverse=True)
    w_level = np.bincount(index, weights=w)
    log_m = np.log(m)
    sum_x_log_m = dot(w, x * log_m)
    sum_log_m = dot(w, log_m)
    w_sum = w.sum()

    def totals(params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = params
        pl = p * levels
        log_xm_v = np.log(x * m + v)
        ll = dot(
            w_level, gammaln(pl + q) - gammaln(pl) - gammaln(q) + pl * np.log(levels)
        ) + w_sum * q * np.log(v) + p * sum_x_log_m - sum_log_m
        ll -= dot(w, (p * x + q) * log_xm_v)
        common = digamma(pl + q)
        grad = np.array([
            dot(w_level, levels * (common - digamma(pl) + np.log(levels)))
            + sum_x_log_m - dot(w, x * log_xm_v),
            dot(w_level, common - digamma(q)) + w_sum * np.log(v) - dot(w, log_xm_v),
            w_sum * q / v - dot(w, (p * x + q) / (x * m + v)),
        ])
        return float(ll), grad

    return totals


def fit_bgnbd(
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray | None = None,
    ladder: tuple[float, ...] = PENALIZER_LADDER,
) -> Fit:
    """Fit BG/NBD (Fader, Hardie and Lee 2005a) by maximum likelihood.

    Identical ``(x, t_x, T)`` rows are compressed into weights first. As in
    ``lifetimes``, time is scaled so that the largest ``T`` is 1 while fitting; a
    fit that fails is retried with the ridge penalties of ``ladder`` on the log
    parameters (see :mod:`pipeline.clv_optim`).

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
    sample = None
    if len(x) > WARM_START_ROWS:
        rows = np.random.default_rng(0).choice(len(x), WARM_START_ROWS, replace=False)
        sample = (bgnbd_totals(*(c[rows] for c in data), w[rows]), w[rows].sum())
    fit, log_params, objective = minimise(
        bgnbd_totals(*data, w), w.sum(), BGNBD_PARAMS, ladder, sample=sample
    )
    if log_params is None:
        return fit
    params = np.exp(log_params)
    params[1] /= scale
    fit.log_likelihood = dot(w, bgnbd_loglik_terms(params, x, t_x, T)[0])
    fit.params = dict(zip(BGNBD_PARAMS, map(float, params), strict=True))
    fit.covariance = covariance(objective, log_params, w.sum())
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

    Equation (10) of Fader, Hardie and Lee (2005a); see
    :func:`bgnbd_conditional_purchases_at` for several ``t`` at once.
    """
    return bgnbd_conditional_purchases_at(params, [t], x, t_x, T)[0]


def _log_hyp(h_a, h_b, h_c, z):
    """ln 2F1(h_a, h_b; h_c; z), by Euler's transformation ``2F1(a,b;c;z) =
    (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)`` where the direct value overflows."""
    with np.errstate(all="ignore"):
        out = np.log(hyp2f1(h_a, h_b, h_c, z))
        bad = ~np.isfinite(out)
        if bad.any():
            a_, b_, c_, z_ = h_a[bad], h_b[bad], h_c[bad], z[bad]
            out[bad] = np.log(hyp2f1(c_ - a_, c_ - b_, c_, z_)) + (
                c_ - a_ - b_
            ) * np.log1p(-z_)
    return out


def bgnbd_conditional_purchases_at(
    params: dict[str, float],
    ts: list[float] | np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """E[Y(t) | x, t_x, T] for each ``t`` in ``ts``: an array ``(len(ts), n)``.

    Equation (10) of Fader, Hardie and Lee (2005a). Its hypergeometric term depends
    on ``(x, T)`` only, not on ``t_x``, so it is computed once per distinct pair.
    """
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
    x, t_x, T = (np.atleast_1d(np.asarray(c, dtype=float)) for c in (x, t_x, T))
    (px, pT), _, pair = compress(x, T)
    first = (a + b + x - 1) / (a - 1)
    odds = a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    scale = first / (1 + (x > 0) * odds)
    out = np.zeros((len(ts), len(x)))
    for k, t in enumerate(ts):
        if t <= 0:
            continue
        log_hyp = _log_hyp(r + px, b + px, a + b + px - 1, t / (alpha + pT + t))
        second = -np.expm1(log_hyp + (r + px) * np.log((alpha + pT) / (alpha + t + pT)))
        out[k] = scale * second[pair]
    return out


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
        As in :func:`fit_bgnbd`; ``v`` is measured against the mean spend in the
        penalty and the edge check.

    Returns
    -------
    Fit
        ``params`` p, q, v (v in the currency of ``m``).
    """
    (x, m), w = compressed(weights, x, m)
    if np.any(x < 1) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs x >= 1 and positive mean spend m")
    shift = [0.0, 0.0, np.log(dot(w, m) / w.sum())]
    sample = None
    if len(x) > WARM_START_ROWS:
        rows = np.random.default_rng(0).choice(len(x), WARM_START_ROWS, replace=False)
        sample = (gg_totals(x[rows], m[rows], w[rows]), w[rows].sum())
    fit, log_params, objective = minimise(
        gg_totals(x, m, w), w.sum(), GG_PARAMS, ladder, shift, sample
    )
    if log_params is None:
        return fit
    params = np.exp(log_params)
    fit.log_likelihood = dot(w, gg_loglik_terms(params, x, m)[0])
    fit.params = dict(zip(GG_PARAMS, map(float, params), strict=True))
    fit.covariance = covariance(objective, log_params, w.sum())
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
