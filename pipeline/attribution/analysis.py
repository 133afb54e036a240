"""One call from loaded data to every model, its intervals and Klaviyo's overstatement.

:func:`analyse_dataset` builds journeys from events; :func:`analyse_paths` reads
aggregated path tables. Both return an :class:`Analysis`, whose :meth:`to_json` is
the shape ``python -m pipeline attribution --json`` prints.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.attribution.intervals import Intervals, bootstrap
from pipeline.attribution.journeys import (
    Journeys,
    JourneySettings,
    build_journeys,
)
from pipeline.attribution.klaviyo import (
    EMAIL_SMS,
    KlaviyoSettings,
    Overstatement,
    claimed_per_path,
    has_messages,
    overstatement,
)
from pipeline.attribution.models import (
    MODEL_NAMES,
    Attribution,
    ModelSettings,
    attribute,
)
from pipeline.attribution.paths import PathSet, path_set_from_frame
from pipeline.model import Dataset, json_safe

log = logging.getLogger(__name__)


@dataclass
class Analysis:
    """Everything the Attribution page and the CLI show.

    Attributes
    ----------
    attribution
        Every model's credit side by side.
    paths
        The journeys the models ran on.
    coverage
        Share of conversions with at least one touch in the lookback window.
    intervals
        Bootstrap intervals (``None`` when not asked for).
    journeys
        Journeys from events (``None`` for aggregated path files).
    klaviyo
        Klaviyo's replayed claim (``None`` without email or SMS events).
    """

    attribution: Attribution
    paths: PathSet
    coverage: float
    intervals: Intervals | None = None
    journeys: Journeys | None = None
    klaviyo: Overstatement | None = None

    def to_json(self) -> dict:
        """The CLI's JSON object; never holds NaN.

        ``intervals`` maps each model to ``{channel: {"conversions": [low, high],
        "revenue": [low, high]}}``, plus ``klaviyo_overstatement: [low, high]`` when
        Klaviyo's claim was replayed.
        """
        out = {
            "conversions": _count(self.attribution.total_conversions),
            "revenue": self.attribution.total_revenue,
            "coverage": self.coverage,
            "models": _columns(self.attribution.conversions),
            "revenue_models": _columns(self.attribution.revenue),
            "intervals": self.intervals.to_dict() if self.intervals else {},
        }
        if self.klaviyo is not None:
            out["klaviyo"] = self.klaviyo.to_dict()
            if self.intervals and "overstatement" in self.intervals.extras:
                out["intervals"]["klaviyo_overstatement"] = list(
                    self.intervals.extras["overstatement"]
                )
        return json_safe(out)


def _count(value: float) -> int | float:
    """A whole number of conversions as an int (fractions stay floats)."""
    return int(value) if float(value).is_integer() else value


def _columns(table: pd.DataFrame) -> dict:
    return {m: {str(k): float(v) for k, v in table[m].items()} for m in table.columns}


def analyse_paths(
    frame: pd.DataFrame,
    models: tuple[str, ...] | None = None,
    settings: ModelSettings | None = None,
    n_boot: int = 0,
    seed: int = 0,
) -> Analysis:
    """Every model on an aggregated path table (``path;total_conversions;...``).

    Models that need touch times are left out. See :func:`analyse_dataset` for the
    other parameters.
    """
    paths = path_set_from_frame(frame)
    result = attribute(paths, models, settings)
    converting = paths.conversions > 0
    total = paths.conversions.sum()
    coverage = (
        float(paths.conversions[converting & (paths.lengths > 0)].sum() / total)
        if total
        else float("nan")
    )
    intervals = (
        bootstrap(paths, tuple(result.conversions.columns), settings, n_boot, seed)
        if n_boot
        else None
    )
    return Analysis(result, paths, coverage, intervals)


def analyse_dataset(
    dataset: Dataset,
    journey_settings: JourneySettings | None = None,
    models: tuple[str, ...] | None = None,
    settings: ModelSettings | None = None,
    n_boot: int = 0,
    seed: int = 0,
    reference_model: str = "markov",
    klaviyo_settings: KlaviyoSettings | None = None,
    leads: pd.DataFrame | None = None,
) -> Analysis:
    """Journeys from ``dataset``'s events, every model, and Klaviyo's claim.

    Parameters
    ----------
    dataset
        Loaded data with events and purchases.
    journey_settings
        Lookback, opens as touches, cutting (see
        :class:`~pipeline.attribution.journeys.JourneySettings`).
    models
        Models to run (default all).
    settings
        Model options.
    n_boot
        Bootstrap replicates for intervals (0: none).
    seed
        Bootstrap seed.
    reference_model
        The model Klaviyo's claim is compared with.
    klaviyo_settings
        Klaviyo's windows.
    leads
        Stage entries for the "already in purchase intent" part of the gap.

    Returns
    -------
    Analysis
    """
    journeys = build_journeys(dataset, journey_settings)
    result = attribute(journeys.paths, models, settings)
    klaviyo = None
    if has_messages(dataset):
        reference = (
            reference_model
            if reference_model in result.revenue
            else (result.revenue.columns[-1])
        )
        klaviyo = overstatement(
            dataset,
            journeys.conversions,
            result.revenue,
            reference,
            klaviyo_settings,
            leads,
        )
    intervals = None
    if n_boot:
        extras = {}
        if klaviyo is not None:
            extras["overstatement"] = overstatement_statistic(journeys.paths, klaviyo)
        intervals = bootstrap(
            journeys.paths,
            tuple(result.conversions.columns),
            settings,
            n_boot,
            seed,
            extras=extras,
        )
    return Analysis(
        result, journeys.paths, journeys.coverage, intervals, journeys, klaviyo
    )


def overstatement_statistic(paths: PathSet, klaviyo: Overstatement):
    """Claimed ÷ the reference model's Email + SMS revenue, on a bootstrap replicate."""
    claimed = claimed_per_path(paths.path_key, klaviyo.orders_frame)
    per_conversion = np.divide(
        claimed,
        paths.conversions,
        out=np.zeros_like(claimed),
        where=paths.conversions > 0,
    )
    reference = klaviyo.reference_model

    def statistic(conv: np.ndarray, value: np.ndarray, credit: dict) -> float:
        names, _, rev = credit[reference]
        email_sms = sum(r for n, r in zip(names, rev, strict=True) if n in EMAIL_SMS)
        return float((per_conversion * conv).sum() / email_sms) if email_sms else np.nan

    return statistic


__all__ = ["MODEL_NAMES", "Analysis", "analyse_dataset", "analyse_paths"]
