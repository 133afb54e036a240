"""Markov-chain attribution by removal effect, solved exactly from the absorbing chain.

Following Anderl, Becker, von Wangenheim and Schumann (2016), "Mapping the customer
journey: Lessons learned from graph-based online attribution modeling", IJRM 33(3),
journeys are read as walks on a Markov chain of order *k* whose transient states are
``(start)`` and the last *k* channels seen, and whose absorbing states are
``(conversion)`` and ``(null)``. Transition probabilities are the observed transition
counts normalised per state (each aggregated path counts ``conversions + nulls``
times). The probability of conversion from ``(start)`` is the absorption probability

.. math:: x = (I - Q)^{-1} r,\\qquad P(\\text{conv}) = x_{\\text{start}},

where :math:`Q` holds the transient-to-transient probabilities and :math:`r` the
probabilities of stepping into ``(conversion)``. The removal effect of channel *c* is
:math:`1 - P_{-c}(\\text{conv}) / P(\\text{conv})`, where in the chain without *c* every
state containing *c* leads to ``(null)``. Credit is the total shared in proportion to
the removal effects, so it sums exactly to the attributed conversions.

Unlike ChannelAttribution, which simulates walks, this solves the sparse linear
system directly (one LU factorisation per channel), so the same input always gives
the same answer. Revenue uses the same chain with the reward of a conversion from
state *s* set to the mean value of the conversions that left from *s*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from pipeline.attribution.paths import PathSet

log = logging.getLogger(__name__)


@dataclass
class Chain:
    """Transitions of the order-*k* chain, ready to re-weight for the bootstrap.

    Attributes
    ----------
    n_states
        Transient states; state 0 is ``(start)``.
    source, target
        Transient-to-transient transitions (state indexes), one per occurrence.
    path
        The journey each transient transition belongs to.
    end_state
        The last transient state of each non-empty journey (``-1`` for empty ones).
    contains
        Boolean ``(n_channels, n_states)``: whether state *s* involves channel *c*.
    """

    n_states: int
    source: np.ndarray
    target: np.ndarray
    path: np.ndarray
    end_state: np.ndarray
    contains: np.ndarray


def build_chain(paths: PathSet, order: int = 1) -> Chain:
    """The transitions of the order-``order`` chain of ``paths`` (see the module notes).

    Parameters
    ----------
    paths
        The journeys.
    order
        1, 2 or 3: how many past channels a state remembers.
    """
    if order not in (1, 2, 3):
        raise ValueError(f"Markov order must be 1, 2 or 3, not {order}")
    n_channels = len(paths.channels)
    base = n_channels + 1
    pad = n_channels

    channel = paths.touch_channel.astype(np.int64)
    position = paths.touch_position
    code = channel.copy()
    for lag in range(1, order):
        earlier = np.full(len(channel), pad, dtype=np.int64)
        ok = position >= lag
        earlier[ok] = channel[np.flatnonzero(ok) - lag]
        code = code * base + earlier
    if order == 1:
        unique, state = np.arange(n_channels, dtype=np.int64), code
    else:
        unique, state = np.unique(code, return_inverse=True)
    state = state.astype(np.int64) + 1

    touch_path = paths.touch_path
    first = position == 0
    previous = np.empty(len(state), dtype=np.int64)
    previous[first] = 0
    previous[~first] = state[np.flatnonzero(~first) - 1]

    end_state = np.full(paths.n_paths, -1, dtype=np.int64)
    nonempty = paths.lengths > 0
    end_state[nonempty] = state[paths.offsets[1:][nonempty] - 1]

    contains = np.zeros((n_channels, len(unique) + 1), dtype=bool)
    rest = unique.copy()
    for _ in range(order):
        digit = rest % base
        real = digit < n_channels
        contains[digit[real], np.flatnonzero(real) + 1] = True
        rest //= base
    return Chain(len(unique) + 1, previous, state, touch_path, end_state, contains)


def _absorption(
    chain: Chain,
    weight: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray,
    nulls: np.ndarray,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Q, r (conversion probability) and r_value (expected value) per state."""
    n = chain.n_states
    has_end = chain.end_state >= 0
    ends = chain.end_state[has_end]
    conv_out = np.bincount(ends, conversions[has_end], n)
    value_out = np.bincount(ends, value[has_end], n)
    null_out = np.bincount(ends, nulls[has_end], n)
    inner = weight[chain.path]
    inner_out = np.bincount(chain.source, inner, n)
    total = inner_out + conv_out + null_out
    scale = np.divide(1.0, total, out=np.zeros(n), where=total > 0)
    q = sp.coo_matrix(
        (inner * scale[chain.source], (chain.source, chain.target)), shape=(n, n)
    ).tocsr()
    q.sum_duplicates()
    return q, conv_out * scale, value_out * scale


def _solve(q: sp.csr_matrix, rhs: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Absorption vectors for the chain with states outside ``keep`` sent to null."""
    n = q.shape[0]
    if n <= 400:
        dense = np.eye(n) - (q.toarray() * keep[:, None])
        return np.linalg.solve(dense, rhs * keep[:, None])
    a = (sp.identity(n, format="csr") - sp.diags(keep.astype(float)) @ q).tocsc()
    return spla.splu(a).solve(rhs * keep[:, None])


def removal_effects(
    paths: PathSet,
    order: int = 1,
    conversions: np.ndarray | None = None,
    value: np.ndarray | None = None,
    nulls: np.ndarray | None = None,
    chain: Chain | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Removal effects of every channel, for conversions and for revenue.

    Parameters
    ----------
    paths
        The journeys.
    order
        The chain's order (1 to 3).
    conversions, value, nulls
        Per-journey weights (default: the journeys' own; the bootstrap passes others).
    chain
        A chain from :func:`build_chain` to reuse.

    Returns
    -------
    tuple
        Removal effects for conversions and for revenue (one per channel, in
        ``[0, 1]``) and the chain's conversion probability from ``(start)``.
    """
    conversions = paths.conversions if conversions is None else conversions
    value = paths.value if value is None else value
    nulls = paths.nulls if nulls is None else nulls
    chain = build_chain(paths, order) if chain is None else chain
    weight = conversions + nulls

    q, r_conv, r_value = _absorption(chain, weight, conversions, value, nulls)
    rhs = np.column_stack([r_conv, r_value])
    full = _solve(q, rhs, np.ones(chain.n_states, dtype=bool))[0]
    n_channels = len(paths.channels)
    effect = np.zeros((n_channels, 2))
    for c in range(n_channels):
        without = _solve(q, rhs, ~chain.contains[c])[0]
        effect[c] = np.divide(full - without, full, out=np.zeros(2), where=full > 0)
    effect = np.clip(effect, 0.0, 1.0)
    return effect[:, 0], effect[:, 1], float(full[0])


def markov_credit(
    paths: PathSet,
    order: int = 1,
    conversions: np.ndarray | None = None,
    value: np.ndarray | None = None,
    nulls: np.ndarray | None = None,
    chain: Chain | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and revenue per channel, shared by Markov removal effects.

    The attributed totals (journeys with at least one touch) are split in
    proportion to the removal effects, so each sums exactly to its total.
    Parameters are those of :func:`removal_effects`.
    """
    conversions = paths.conversions if conversions is None else conversions
    value = paths.value if value is None else value
    effect_conv, effect_value, _ = removal_effects(
        paths, order, conversions, value, nulls, chain
    )
    touched = paths.lengths > 0
    return (
        _share(effect_conv, float(conversions[touched].sum())),
        _share(effect_value, float(value[touched].sum())),
    )


def _share(effect: np.ndarray, total: float) -> np.ndarray:
    weight = effect.sum()
    if weight <= 0:
        return np.zeros_like(effect)
    return total * effect / weight
