"""Bootstrap intervals for every model's credit: journeys resampled with replacement.

A replicate draws as many journeys as there are (conversions plus non-converting
journeys) from the observed ones, with replacement: for aggregated paths that is a
multinomial draw over the (path, converted) cells, so a path row that stands for
many journeys is resampled journey by journey. Each model is then run on the
replicate, reusing what does not depend on the weights (touch shares, the Markov
chain's states, the Shapley channel masks). Intervals are percentile intervals.
Seeded: the same seed gives the same intervals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.attribution.heuristics import HEURISTICS, touch_shares
from pipeline.attribution.markov import build_chain, markov_credit
from pipeline.attribution.models import (
    ModelSettings,
    available_models,
    credit_series,
)
from pipeline.attribution.paths import PathSet, collapse_repeats
from pipeline.attribution.shapley import grouped_channels, shapley_credit

log = logging.getLogger(__name__)


@dataclass
class Intervals:
    """Bootstrap intervals of every model's credit.

    Attributes
    ----------
    conversions, revenue
        ``{model: DataFrame}`` with columns ``low`` and ``high`` per channel.
    extras
        ``{name: (low, high)}`` for extra statistics (e.g. Klaviyo's overstatement).
    replicates
        ``{model: (B, n_channels, 2)}`` raw replicate credit, for custom statistics.
    level
        The interval's coverage, e.g. 0.9.
    n_boot, seed
        How many replicates, and the seed.
    """

    conversions: dict[str, pd.DataFrame]
    revenue: dict[str, pd.DataFrame]
    extras: dict[str, tuple[float, float]]
    replicates: dict[str, tuple[list[str], np.ndarray]]
    level: float
    n_boot: int
    seed: int

    def to_dict(self) -> dict:
        """``{model: {channel: {"conversions": [lo, hi], "revenue": [lo, hi]}}}``."""
        out: dict = {}
        for model, conv in self.conversions.items():
            rev = self.revenue[model]
            out[model] = {
                str(ch): {
                    "conversions": [
                        float(conv.at[ch, "low"]),
                        float(conv.at[ch, "high"]),
                    ],
                    "revenue": [float(rev.at[ch, "low"]), float(rev.at[ch, "high"])],
                }
                for ch in conv.index
            }
        return out


def _resampler(paths: PathSet, rng: np.random.Generator) -> Callable:
    """A function returning resampled (conversions, value, nulls) per journey."""
    conv, nulls = paths.conversions, paths.nulls
    per_conversion = np.divide(
        paths.value, conv, out=np.zeros_like(conv), where=conv > 0
    )
    cells = np.concatenate([conv, nulls])
    total = cells.sum()
    integral = np.allclose(cells, np.round(cells)) and total > 0
    n = paths.n_paths

    def draw() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if integral:
            counts = rng.multinomial(int(round(total)), cells / total).astype(float)
            new_conv, new_nulls = counts[:n], counts[n:]
        else:
            weight = rng.poisson(1.0, n).astype(float)
            new_conv, new_nulls = conv * weight, nulls * weight
        return new_conv, per_conversion * new_conv, new_nulls

    return draw


def bootstrap(
    paths: PathSet,
    models: tuple[str, ...] | None = None,
    settings: ModelSettings | None = None,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.9,
    extras: dict[str, Callable[[np.ndarray, np.ndarray, dict], float]] | None = None,
    progress: Callable[[float], None] | None = None,
) -> Intervals:
    """Percentile bootstrap intervals for every model's conversions and revenue.

    Parameters
    ----------
    paths
        The journeys.
    models
        Models to run (default: all the paths support).
    settings
        Model options (as given to :func:`~pipeline.attribution.models.attribute`).
    n_boot
        Replicates.
    seed
        Random seed; the same seed gives the same intervals.
    level
        Interval coverage, between 0 and 1.
    extras
        Extra statistics ``f(conversions, value, credit) -> float`` computed on each
        replicate from the resampled per-journey conversions and revenue and
        ``credit = {model: (names, conv, rev)}``.
    progress
        Called with the fraction done after each replicate.

    Returns
    -------
    Intervals
    """
    settings = settings or ModelSettings()
    if settings.collapse_repeats:
        paths = collapse_repeats(paths)
    models = available_models(paths, models)
    rng = np.random.default_rng(seed)
    draw = _resampler(paths, rng)
    runners = _runners(paths, models, settings)

    samples: dict[str, list] = {m: [] for m in models}
    extra_samples: dict[str, list[float]] = {k: [] for k in extras or {}}
    names_of: dict[str, list[str]] = {}
    for b in range(n_boot):
        conv, value, nulls = draw()
        credit = {}
        for model in models:
            c, r, names = runners[model](conv, value, nulls)
            cs, rs = credit_series(paths, c, r, names, conv, value)
            names_of.setdefault(model, list(cs.index))
            cs = cs.reindex(names_of[model], fill_value=0.0)
            rs = rs.reindex(names_of[model], fill_value=0.0)
            samples[model].append(np.column_stack([cs.to_numpy(), rs.to_numpy()]))
            credit[model] = (names_of[model], cs.to_numpy(), rs.to_numpy())
        for name, fn in (extras or {}).items():
            extra_samples[name].append(float(fn(conv, value, credit)))
        if progress:
            progress((b + 1) / n_boot)

    tail = (1.0 - level) / 2.0 * 100.0
    out_conv, out_rev, replicates = {}, {}, {}
    for model in models:
        stack = np.stack(samples[model]) if samples[model] else np.zeros((0, 0, 2))
        replicates[model] = (names_of.get(model, []), stack)
        low = np.percentile(stack, tail, axis=0) if len(stack) else stack[0:0]
        high = np.percentile(stack, 100 - tail, axis=0) if len(stack) else stack[0:0]
        index = names_of.get(model, [])
        out_conv[model] = pd.DataFrame(
            {"low": low[:, 0], "high": high[:, 0]}, index=index
        )
        out_rev[model] = pd.DataFrame(
            {"low": low[:, 1], "high": high[:, 1]}, index=index
        )
    extra_out = {
        name: _percentiles(np.array(values), tail)
        for name, values in extra_samples.items()
    }
    log.info("bootstrap: %d replicates of %d models", n_boot, len(models))
    return Intervals(out_conv, out_rev, extra_out, replicates, level, n_boot, seed)


def _percentiles(values: np.ndarray, tail: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if not len(values):
        return (float("nan"), float("nan"))
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def _runners(paths: PathSet, models: tuple[str, ...], settings: ModelSettings) -> dict:
    """Per model, a function of resampled weights that reuses fixed work."""
    runners: dict[str, Callable] = {}
    touch_path = paths.touch_path
    n = len(paths.channels)
    for model in models:
        if model in HEURISTICS:
            shares = touch_shares(
                paths,
                model,
                half_life_days=settings.half_life_days,
                first_share=settings.first_share,
                last_share=settings.last_share,
            )

            def run(conv, value, nulls, shares=shares):
                return (
                    np.bincount(paths.touch_channel, shares * conv[touch_path], n),
                    np.bincount(paths.touch_channel, shares * value[touch_path], n),
                    paths.channels,
                )

            runners[model] = run
        elif model == "markov":
            chain = build_chain(paths, settings.markov_order)

            def run(conv, value, nulls, chain=chain):
                c, r = markov_credit(
                    paths, settings.markov_order, conv, value, nulls, chain
                )
                return c, r, paths.channels

            runners[model] = run
        elif model == "shapley":
            grouping = grouped_channels(paths, settings.max_channels)

            def run(conv, value, nulls, grouping=grouping):
                return shapley_credit(paths, conv, value, grouping=grouping)

            runners[model] = run
    return runners
