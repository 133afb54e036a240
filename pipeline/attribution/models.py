"""Every attribution model on the same journeys, side by side.

:func:`attribute` runs the chosen models on one
:class:`~pipeline.attribution.paths.PathSet` and returns two tables, conversions and
revenue, one row per channel and one column per model. Each column sums exactly to
its total: conversions of journeys with no touch go to ``(unattributed)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline.attribution.heuristics import HEURISTICS, NEEDS_TIMES, heuristic_credit
from pipeline.attribution.markov import markov_credit
from pipeline.attribution.paths import UNATTRIBUTED, PathSet, collapse_repeats
from pipeline.attribution.shapley import MAX_CHANNELS, shapley_credit

log = logging.getLogger(__name__)

MODEL_NAMES: tuple[str, ...] = HEURISTICS + ("markov", "shapley")
"""Every model, in the order tables show them."""

MODEL_LABELS: dict[str, str] = {
    "first_click": "First click",
    "last_click": "Last click",
    "last_non_direct": "Last non-direct click",
    "linear": "Linear",
    "time_decay": "Time decay",
    "position_based": "Position based",
    "markov": "Markov (removal effect)",
    "shapley": "Shapley",
}


@dataclass(frozen=True)
class ModelSettings:
    """Options of the models (the journeys' own settings live with the journeys).

    Attributes
    ----------
    half_life_days
        Time decay: a touch this many days before the conversion counts half.
    first_share, last_share
        Position based: shares of the first and last touch.
    markov_order
        Markov chain order, 1 to 3.
    max_channels
        Shapley: exact up to this many channels, the rarest beyond grouped as Other.
    collapse_repeats
        Merge runs of one channel inside a journey into one touch.
    """

    half_life_days: float = 7.0
    first_share: float = 0.4
    last_share: float = 0.4
    markov_order: int = 1
    max_channels: int = MAX_CHANNELS
    collapse_repeats: bool = False


def available_models(paths: PathSet, models: tuple[str, ...] | None = None) -> tuple:
    """The requested models (default all) that ``paths`` supports (time needs times)."""
    wanted = MODEL_NAMES if models is None else tuple(models)
    unknown = [m for m in wanted if m not in MODEL_NAMES]
    if unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; "
            f"choose from {', '.join(MODEL_NAMES)}"
        )
    return tuple(m for m in wanted if paths.has_times or m not in NEEDS_TIMES)


def model_arrays(
    paths: PathSet,
    model: str,
    settings: ModelSettings,
    conversions: np.ndarray | None = None,
    value: np.ndarray | None = None,
    nulls: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """One model's conversions and revenue per channel, and the channel names."""
    if model in HEURISTICS:
        conv, rev = heuristic_credit(
            paths,
            model,
            conversions,
            value,
            half_life_days=settings.half_life_days,
            first_share=settings.first_share,
            last_share=settings.last_share,
        )
        return conv, rev, paths.channels
    if model == "markov":
        conv, rev = markov_credit(
            paths, settings.markov_order, conversions, value, nulls
        )
        return conv, rev, paths.channels
    if model == "shapley":
        return shapley_credit(paths, conversions, value, settings.max_channels)
    raise ValueError(f"unknown model {model!r}")


def credit_series(
    paths: PathSet,
    conv: np.ndarray,
    rev: np.ndarray,
    names: tuple[str, ...],
    conversions: np.ndarray,
    value: np.ndarray,
) -> tuple[pd.Series, pd.Series]:
    """Per-channel credit with ``(unattributed)`` added for journeys with no touch."""
    empty = paths.lengths == 0
    conv_s = pd.Series(conv, index=list(names), dtype=float)
    rev_s = pd.Series(rev, index=list(names), dtype=float)
    if empty.any() and conversions[empty].sum() > 0:
        conv_s[UNATTRIBUTED] = float(conversions[empty].sum())
        rev_s[UNATTRIBUTED] = float(value[empty].sum())
    return conv_s, rev_s


@dataclass
class Attribution:
    """Every model's credit, side by side.

    Attributes
    ----------
    conversions, revenue
        One row per channel, one column per model; each column sums to the total.
    total_conversions, total_revenue
        All conversions and their revenue (including unattributed ones).
    settings
        The model settings used.
    """

    conversions: pd.DataFrame
    revenue: pd.DataFrame
    total_conversions: float
    total_revenue: float
    settings: ModelSettings = field(default_factory=ModelSettings)

    def percent_change(
        self, reference: str, metric: str = "conversions"
    ) -> pd.DataFrame:
        """Each model's credit as % change against ``reference``'s, per channel.

        A channel the reference gives nothing is shown as missing (``NaN``).
        """
        table = self.conversions if metric == "conversions" else self.revenue
        if reference not in table:
            raise ValueError(f"reference model {reference!r} was not run")
        base = table[reference].replace(0.0, np.nan)
        return table.sub(base, axis=0).div(base, axis=0) * 100.0


def attribute(
    paths: PathSet,
    models: tuple[str, ...] | None = None,
    settings: ModelSettings | None = None,
) -> Attribution:
    """Run ``models`` (default: every model the paths support) on the same journeys.

    Parameters
    ----------
    paths
        The journeys (from events or an aggregated path file).
    models
        Model names from :data:`MODEL_NAMES`; time-needing models are left out when
        the paths carry no times.
    settings
        Model options.

    Returns
    -------
    Attribution
    """
    settings = settings or ModelSettings()
    if settings.collapse_repeats:
        paths = collapse_repeats(paths)
    conversions_cols: dict[str, pd.Series] = {}
    revenue_cols: dict[str, pd.Series] = {}
    for model in available_models(paths, models):
        conv, rev, names = model_arrays(paths, model, settings)
        conversions_cols[model], revenue_cols[model] = credit_series(
            paths, conv, rev, names, paths.conversions, paths.value
        )
        log.info("%s: %.1f conversions credited", model, conversions_cols[model].sum())
    conv_table = pd.DataFrame(conversions_cols).fillna(0.0)
    rev_table = pd.DataFrame(revenue_cols).fillna(0.0)
    order = sorted(conv_table.index, key=lambda c: (c == UNATTRIBUTED, str(c)))
    return Attribution(
        conv_table.reindex(order),
        rev_table.reindex(order),
        float(paths.conversions.sum()),
        float(paths.value[paths.conversions > 0].sum()),
        settings,
    )
