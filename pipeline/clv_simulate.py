"""Data drawn from BG/NBD and Gamma-Gamma themselves, for tests and the benchmark.

``lifetimes``' own generator calls ``DataFrame.append``, gone in pandas 2, so these
are written here, vectorised over customers.

The BG/NBD story (Fader, Hardie and Lee 2005a, section 3): a customer's repeat
purchases arrive as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
each repeat purchase the customer drops out with probability ``p ~ Beta(a, b)``.
Spend per purchase is ``Gamma(p, nu)`` with ``nu ~ Gamma(q, v)`` (Fader and Hardie
2013).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln

from pipeline.model import ORDER_COLUMNS, Dataset, conform


def _draw_counts(rng, n, r, alpha, a, b, T):
    """Rates, would-be arrivals in (0, T] and repeat purchases made."""
    lam = rng.gamma(r, 1.0 / alpha, n)
    drop = rng.beta(a, b, n)
    arrivals = rng.poisson(lam * T)
    lifetime = rng.geometric(drop)
    return arrivals, np.minimum(arrivals, lifetime)


def simulate_bgnbd(
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | np.ndarray,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-customer ``(x, t_x, T)`` drawn from BG/NBD.

    Given ``N`` Poisson arrivals in ``(0, T]`` their times are uniform order
    statistics, so the time of the ``x``-th is ``T Beta(x, N - x + 1)``.

    Returns
    -------
    pandas.DataFrame
        ``frequency, recency, T``.
    """
    rng = np.random.default_rng(seed)
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    arrivals, x = _draw_counts(rng, n, r, alpha, a, b, T)
    t_x = np.zeros(n)
    repeat = x > 0
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def simulate_transactions(
    n: int,
    bgnbd: tuple[float, float, float, float],
    spend: tuple[float, float, float],
    end: str = "2024-12-31",
    max_age_days: float = 730.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Transactions of ``n`` customers drawn from BG/NBD and Gamma-Gamma.

    Each customer's first purchase is uniform over the ``max_age_days`` before
    ``end``; time is in days. The first ``x`` of ``N`` uniform arrivals in ``(0,
    T]`` are drawn from exponential spacings, ``U_(i) = S_i / S_(N+1)``.

    Parameters
    ----------
    bgnbd
        ``(r, alpha, a, b)`` with ``alpha`` in days.
    spend
        ``(p, q, v)`` of Gamma-Gamma.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (int), ``ts`` (UTC timestamps), ``value``, first purchases
        included, sorted by customer and time.
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = bgnbd
    p, q, v = spend
    T = rng.uniform(0, max_age_days, n)
    arrivals, x = _draw_counts(rng, n, r, alpha, a, b, T)

    owner = np.repeat(np.arange(n), x)
    spacing = rng.exponential(1.0, owner.size)
    cumulative = np.cumsum(spacing)
    starts = np.concatenate([[0], np.cumsum(x)[:-1]])
    offset = np.repeat(cumulative[starts - 1] * (starts > 0), x) if owner.size else 0
    s_i = cumulative - offset
    s_x = np.zeros(n)
    s_x[x > 0] = s_i[np.cumsum(x)[x > 0] - 1]
    total = s_x + rng.gamma(arrivals - x + 1.0)
    repeat_age = T[owner] * s_i / total[owner]

    customer = np.concatenate([np.arange(n), owner])
    age = np.concatenate([np.zeros(n), repeat_age])
    first_age = T[customer]
    end_ts = pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)
    offset_s = ((first_age - age) * 86_400).astype("int64")
    ts = end_ts - pd.to_timedelta(offset_s + 1, unit="s")
    nu = rng.gamma(q, 1.0 / v, n)
    value = rng.gamma(p, 1.0 / nu[customer])
    frame = pd.DataFrame({"customer_id": customer, "ts": ts, "value": value.round(2)})
    return frame.sort_values(["customer_id", "ts"], ignore_index=True)


def bgnbd_probability_of_n(params: dict[str, float], t: float, n: int) -> float:
    """P(X(t) = n) for a new customer, equation (8) of Fader, Hardie and Lee (2005a)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    log_nb = (
        gammaln(r + n) - gammaln(r) - gammaln(n + 1)
        + r * np.log(alpha / (alpha + t)) + n * np.log(t / (alpha + t))
    )
    first = np.exp(betaln(a, b + n) - betaln(a, b) + log_nb)
    if n == 0:
        return float(first)
    j = np.arange(n)
    partial = np.exp(
        gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * np.log(t / (alpha + t))
    ).sum()
    second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (
        1 - (alpha / (alpha + t)) ** r * partial
    )
    return float(first + second)


def transactions_dataset(transactions: pd.DataFrame, timezone: str = "UTC") -> Dataset:
    """A :class:`~pipeline.model.Dataset` whose purchases are ``transactions``.

    Parameters
    ----------
    transactions
        ``customer_id, ts, value`` as :func:`simulate_transactions` returns; person
        ids become ``id:<customer_id>``.
    """
    n = len(transactions)
    orders = pd.DataFrame(
        {
            "order_id": pd.RangeIndex(n).astype(str),
            "person_id": "id:" + transactions["customer_id"].astype(str),
            "ts": pd.to_datetime(transactions["ts"], utc=True),
            "total": transactions["value"].astype(float),
            "refunded": 0.0,
            "net_value": transactions["value"].astype(float),
            "currency": "USD",
            "status": "purchase",
            "is_purchase": True,
        }
    )
    return Dataset(orders=conform(orders, ORDER_COLUMNS), timezone=timezone)
