"""Exact Shapley-value attribution over channels, by subset sums on bitmasks.

The game follows Shao and Li (2011), "Data-driven multi-touch attribution models",
KDD, as simplified by Zhao, Mahboobi and Bagheri (2018), "Shapley value methods for
attribution modeling in online advertising", arXiv:1804.05327: the worth of a
coalition of channels *S* is

.. math:: v(S) = \\sum_{T \\subseteq S} R(T),

the conversions (or revenue) of the journeys whose set of channels *T* lies within
*S*, so :math:`v(\\text{all channels})` is every attributed conversion and the Shapley
values sum to it exactly (efficiency). :math:`R` is a histogram over channel-set
bitmasks; *v* is its zeta (subset-sum) transform, computed in
:math:`O(n 2^n)` array operations; the Shapley value of channel *i* is

.. math:: \\phi_i = \\sum_{S \\not\\ni i} \\frac{|S|! (n - |S| - 1)!}{n!}
    \\left(v(S \\cup \\{i\\}) - v(S)\\right),

evaluated for all coalitions at once with array slicing. Zhao et al. show that for
this game :math:`\\phi_i = \\sum_{T \\ni i} R(T) / |T|`; the tests use that closed form
as an independent check. Exact computation is kept to ``max_channels`` channels
(default 12); beyond that the rarest channels are grouped as ``Other``.
"""

from __future__ import annotations

import logging
from math import factorial

import numpy as np

from pipeline.attribution.paths import PathSet

log = logging.getLogger(__name__)

OTHER = "Other"
MAX_CHANNELS = 12


def grouped_channels(
    paths: PathSet, max_channels: int = MAX_CHANNELS
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Channel index of every touch after grouping the rarest channels as ``Other``.

    A channel's frequency is the number of journeys (conversions plus nulls) that
    touch it. Returns the new per-touch codes and the new channel names.
    """
    n = len(paths.channels)
    if n <= max_channels:
        return paths.touch_channel, paths.channels
    weight = (paths.conversions + paths.nulls)[paths.touch_path]
    frequency = np.bincount(paths.touch_channel, weight, n)
    ranked = np.argsort(-frequency, kind="stable")
    kept = np.sort(ranked[: max_channels - 1])
    mapping = np.full(n, max_channels - 1, dtype=np.int32)
    mapping[kept] = np.arange(len(kept), dtype=np.int32)
    names = tuple(paths.channels[i] for i in kept) + (OTHER,)
    log.info("Shapley: %d rarest of %d channels grouped as %r", n - len(kept), n, OTHER)
    return mapping[paths.touch_channel], names


def channel_masks(touch_channel: np.ndarray, paths: PathSet) -> np.ndarray:
    """The bitmask of the set of channels of every journey (0 for empty journeys)."""
    bits = np.left_shift(np.int64(1), touch_channel.astype(np.int64))
    masks = np.zeros(paths.n_paths, dtype=np.int64)
    nonempty = paths.lengths > 0
    if nonempty.any():
        masks[nonempty] = np.bitwise_or.reduceat(bits, paths.offsets[:-1][nonempty])
    return masks


def subset_sums(histogram: np.ndarray, n: int) -> np.ndarray:
    """Zeta transform: ``out[S] = sum(histogram[T] for T subset of S)`` for all masks.

    ``histogram`` has shape ``(2**n,)`` or ``(2**n, k)``; ``k`` columns are summed
    independently.
    """
    out = np.array(histogram, dtype=np.float64, copy=True)
    tail = out.shape[1:]
    for i in range(n):
        view = out.reshape((-1, 2, 1 << i) + tail)
        view[:, 1] += view[:, 0]
    return out


def shapley_from_worth(worth: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of ``n`` players from the worth of every coalition (by bitmask).

    Parameters
    ----------
    worth
        ``v(S)`` for ``S`` = 0 .. 2**n - 1, shape ``(2**n,)`` or ``(2**n, k)``.
    n
        Number of players.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)`` or ``(n, k)``.
    """
    sizes = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        sizes.reshape(-1, 2, 1 << i)[:, 1] += 1
    weights = np.array(
        [factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)]
    )
    tail = worth.shape[1:]
    values = np.zeros((n,) + tail)
    for i in range(n):
        view = worth.reshape((-1, 2, 1 << i) + tail)
        size = sizes.reshape(-1, 2, 1 << i)[:, 0]
        gain = view[:, 1] - view[:, 0]
        w = weights[size].reshape(size.shape + (1,) * len(tail))
        values[i] = (w * gain).sum(axis=(0, 1))
    return values


def shapley_credit(
    paths: PathSet,
    conversions: np.ndarray | None = None,
    value: np.ndarray | None = None,
    max_channels: int = MAX_CHANNELS,
    grouping: tuple[np.ndarray, tuple[str, ...]] | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Conversions and revenue per channel by exact Shapley value (module notes).

    Parameters
    ----------
    paths
        The journeys.
    conversions, value
        Per-journey weights (default: the journeys' own; the bootstrap passes others).
    max_channels
        Channels beyond this many are grouped as ``Other`` (rarest first).
    grouping
        A result of :func:`grouped_channels` to reuse.

    Returns
    -------
    tuple
        Conversions per channel, revenue per channel, and the channel names they
        refer to (the input's, or with ``Other`` when grouped).
    """
    conversions = paths.conversions if conversions is None else conversions
    value = paths.value if value is None else value
    codes, names = grouping or grouped_channels(paths, max_channels)
    n = len(names)
    masks = channel_masks(codes, paths)
    histogram = np.zeros((1 << n, 2))
    histogram[:, 0] = np.bincount(masks, conversions, 1 << n)
    histogram[:, 1] = np.bincount(masks, value, 1 << n)
    histogram[0] = 0.0
    worth = subset_sums(histogram, n)
    values = shapley_from_worth(worth, n)
    return values[:, 0], values[:, 1], names
