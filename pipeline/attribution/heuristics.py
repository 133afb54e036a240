"""Rule-based attribution: first/last/last non-direct click, linear, decay, position.

Each rule gives every touch a share of its journey (the shares of a journey add up to
one), and a channel's credit is the sum of its touches' shares times the journey's
conversions, or its revenue. Everything is vectorised over the flat arrays of a
:class:`~pipeline.attribution.paths.PathSet`: no Python loop runs per journey.
"""

from __future__ import annotations

import numpy as np

from pipeline.attribution.paths import PathSet

DIRECT_CHANNELS = frozenset({"Direct", "direct", "(direct)"})
"""Channel names that the last non-direct click model passes over."""


def touch_shares(paths: PathSet, model: str, **options: float) -> np.ndarray:
    """Each touch's share of its journey's credit under a rule-based model.

    Parameters
    ----------
    paths
        The journeys.
    model
        ``first_click``, ``last_click``, ``last_non_direct``, ``linear``,
        ``time_decay`` or ``position_based``.
    **options
        ``half_life_days`` (time decay, default 7), ``first_share`` and
        ``last_share`` (position based, defaults 0.4 and 0.4).

    Returns
    -------
    numpy.ndarray
        ``float64`` share per touch; the shares of every non-empty journey sum to 1.
    """
    lengths = paths.lengths
    touch_path = paths.touch_path
    position = paths.touch_position
    length = lengths[touch_path]
    last = position == length - 1

    if model == "first_click":
        return (position == 0).astype(np.float64)
    if model == "last_click":
        return last.astype(np.float64)
    if model == "linear":
        return 1.0 / length
    if model == "last_non_direct":
        return _last_non_direct(paths, touch_path, last)
    if model == "time_decay":
        return _time_decay(paths, touch_path, options.get("half_life_days", 7.0))
    if model == "position_based":
        first = float(options.get("first_share", 0.4))
        final = float(options.get("last_share", 0.4))
        return _position_based(position, length, first, final)
    raise ValueError(f"unknown rule-based model {model!r}; use one of {HEURISTICS}")


HEURISTICS: tuple[str, ...] = (
    "first_click",
    "last_click",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
)
"""The rule-based models, in the order tables show them."""

NEEDS_TIMES = frozenset({"time_decay"})
"""Models that need touch times (left out for aggregated path files)."""


def _last_non_direct(
    paths: PathSet, touch_path: np.ndarray, last: np.ndarray
) -> np.ndarray:
    direct_codes = [i for i, c in enumerate(paths.channels) if c in DIRECT_CHANNELS]
    non_direct = ~np.isin(paths.touch_channel, direct_codes)
    index = np.arange(len(touch_path))
    best = np.full(paths.n_paths, -1, dtype=np.int64)
    nonempty = paths.lengths > 0
    if nonempty.any():
        candidate = np.where(non_direct, index, -1)
        best[nonempty] = np.maximum.reduceat(candidate, paths.offsets[:-1][nonempty])
    chosen = np.where(best >= 0, best, paths.offsets[1:] - 1)
    shares = np.zeros(len(touch_path))
    has_touch = paths.lengths > 0
    shares[chosen[has_touch]] = 1.0
    return shares


def _time_decay(paths: PathSet, touch_path: np.ndarray, half_life: float) -> np.ndarray:
    if paths.touch_age_days is None:
        raise ValueError(
            "time decay needs touch times; aggregated path files have none, so leave "
            "the model out for them"
        )
    if half_life <= 0:
        raise ValueError(f"half_life_days must be positive, not {half_life}")
    age = np.clip(paths.touch_age_days, 0.0, None)
    weight = np.exp2(-age / half_life)
    total = np.bincount(touch_path, weight, minlength=paths.n_paths)
    return weight / total[touch_path]


def _position_based(
    position: np.ndarray, length: np.ndarray, first: float, final: float
) -> np.ndarray:
    if first < 0 or final < 0 or first + final > 1:
        raise ValueError(
            f"first and last shares must be >= 0 and add up to at most 1, not "
            f"{first} and {final}"
        )
    is_first = position == 0
    is_last = position == length - 1
    middle = (1.0 - first - final) / np.maximum(length - 2, 1)
    shares = np.where(is_first, first, np.where(is_last, final, middle))
    two = length == 2
    pair = first + final
    shares = np.where(two & is_first, first / pair if pair else 0.5, shares)
    shares = np.where(two & is_last, final / pair if pair else 0.5, shares)
    return np.where(length == 1, 1.0, shares)


def heuristic_credit(
    paths: PathSet,
    model: str,
    conversions: np.ndarray | None = None,
    value: np.ndarray | None = None,
    **options: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and revenue credited to each channel by a rule-based model.

    Parameters
    ----------
    paths
        The journeys.
    model
        See :func:`touch_shares`.
    conversions, value
        Per-journey weights to credit (default: the journeys' own); the bootstrap
        passes resampled ones.
    **options
        Passed to :func:`touch_shares`.

    Returns
    -------
    tuple of numpy.ndarray
        Conversions and revenue per channel (``len(paths.channels)`` each).
        Journeys without touches get nothing here (see ``UNATTRIBUTED``).
    """
    conversions = paths.conversions if conversions is None else conversions
    value = paths.value if value is None else value
    shares = touch_shares(paths, model, **options)
    touch_path = paths.touch_path
    n = len(paths.channels)
    conv = np.bincount(paths.touch_channel, shares * conversions[touch_path], n)
    rev = np.bincount(paths.touch_channel, shares * value[touch_path], n)
    return conv, rev
