"""The conversion-paths view: how long journeys are, how long they take, and which
touches (first, middle, last) the models reward."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.attribution.models import ModelSettings
from pipeline.attribution.paths import PathSet
from pipeline.attribution.pipeline_views import touch_credit

LENGTH_BINS = (1, 2, 3, 4, 5, 7, 10)
DAY_BINS = (0, 1, 4, 8, 15, 31)
DAY_LABELS = ("same day", "1–3 days", "4–7 days", "8–14 days", "15–30 days", "31+ days")


def touches_to_convert(paths: PathSet) -> pd.DataFrame:
    """Conversions and revenue by number of touches in the journey (10+ grouped)."""
    converting = paths.conversions > 0
    lengths = paths.lengths[converting]
    labels = np.where(
        lengths == 0,
        "0 (unattributed)",
        np.where(lengths >= 10, "10+", lengths.astype(str)),
    )
    frame = pd.DataFrame(
        {
            "touches": labels,
            "conversions": paths.conversions[converting],
            "revenue": paths.value[converting],
        }
    )
    table = frame.groupby("touches", sort=False).sum()
    order = sorted(
        table.index, key=lambda s: (s[0] != "0", int(s.split()[0].rstrip("+")))
    )
    table = table.reindex(order)
    table["share"] = table["conversions"] / table["conversions"].sum()
    return table


def days_to_convert(paths: PathSet) -> pd.DataFrame:
    """Conversions by days from the journey's first touch to the conversion."""
    if paths.touch_age_days is None:
        return pd.DataFrame()
    converting = (paths.conversions > 0) & (paths.lengths > 0)
    first_age = paths.touch_age_days[paths.offsets[:-1][converting]]
    bins = np.digitize(np.floor(first_age), DAY_BINS[1:], right=False)
    frame = pd.DataFrame(
        {
            "days": np.array(DAY_LABELS)[bins],
            "conversions": paths.conversions[converting],
            "revenue": paths.value[converting],
        }
    )
    table = frame.groupby("days").sum().reindex(DAY_LABELS).fillna(0.0)
    total = table["conversions"].sum()
    table["share"] = table["conversions"] / total if total else np.nan
    return table


def credit_by_position(
    paths: PathSet, models: tuple[str, ...], settings: ModelSettings | None = None
) -> pd.DataFrame:
    """Each model's conversions credited to only, first, middle and last touches.

    A journey of one touch gives it to ``only touch``; otherwise the first touch is
    early, the last is late and the rest are the middle.
    """
    position = paths.touch_position
    length = paths.lengths[paths.touch_path]
    group = np.where(
        length == 1,
        "only touch",
        np.where(
            position == 0,
            "first touch",
            np.where(position == length - 1, "last touch", "middle touches"),
        ),
    )
    columns = {}
    for model in models:
        conv, _ = touch_credit(paths, model, settings)
        columns[model] = pd.Series(conv).groupby(group).sum()
    order = ["only touch", "first touch", "middle touches", "last touch"]
    return pd.DataFrame(columns).reindex(order).fillna(0.0)
