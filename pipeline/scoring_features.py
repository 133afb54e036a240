"""Lead-score features and outcomes, measured at a cut-off day from nothing after it.

:func:`cutoff_features` gives each open lead at the end of a cut-off day (in the
store's time zone) its entry point (``signup_source``), its stage at the cut-off
(from the stage engine, when given) and its engagement counts in the window ending
with the cut-off (:data:`ENGAGEMENT`). :func:`purchase_outcome` says who bought in the
horizon after it. The events are queried on an in-process DuckDB, registered once
per fit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipeline import eventlayer
from pipeline.model import Dataset

ENGAGEMENT: dict[str, tuple[str, ...]] = {
    "opens": ("email_open",),
    "clicks": ("email_click", "sms_click"),
    "product_views": ("product_view", "sizing_view", "wishlist_add"),
    "carts": ("add_to_cart", "checkout_started"),
    "sessions": ("session", "page_view", "ad_click"),
}
"""Engagement features: name to the canonical event types it counts."""

OPEN_STAGES: tuple[str, ...] = ("captured", "engaged", "purchase_intent")
"""Stages of leads that have not bought; the reference level is ``captured``."""


class _Events:
    """The dataset's events on an in-process DuckDB, registered once per fit."""

    def __init__(self, dataset: Dataset) -> None:
        self.timezone = dataset.timezone or "UTC"
        self.con = eventlayer.connect()
        self.table = eventlayer.events_table(self.con, dataset.events, self.timezone)

    def counts(self, cutoff_day: int, window_days: int) -> pd.DataFrame:
        """Engagement counts per person in the window ending with ``cutoff_day``."""
        kinds = {kind: name for name, kinds in ENGAGEMENT.items() for kind in kinds}
        t = self.table
        in_window = t.filter(
            (t.day <= cutoff_day)
            & (t.day > cutoff_day - window_days)
            & t.event.isin(list(kinds))
            & t.person_id.notnull()
        )
        grouped = in_window.group_by(["person_id", "event"]).agg(
            n=in_window.person_id.count()
        )
        long = grouped.execute()
        long["feature"] = long["event"].map(kinds)
        wide = long.pivot_table(
            index="person_id", columns="feature", values="n", aggfunc="sum"
        )
        return wide.reindex(columns=list(ENGAGEMENT), fill_value=0).fillna(0)

    def first_days(self, cutoff_day: int) -> pd.Series:
        """Each person's first event day, for events up to ``cutoff_day``."""
        t = self.table
        early = t.filter((t.day <= cutoff_day) & t.person_id.notnull())
        first = early.group_by("person_id").agg(first_day=early.day.min()).execute()
        return first.set_index("person_id")["first_day"]


def _day(date: dt.date | str | pd.Timestamp) -> int:
    return eventlayer.date_to_day(pd.Timestamp(date))


def _purchase_days(dataset: Dataset) -> pd.DataFrame:
    """``person_id, day`` of every purchase with a person, in the store's time zone."""
    purchases = dataset.purchases()
    purchases = purchases[purchases["person_id"].notna() & purchases["ts"].notna()]
    days = eventlayer.local_days(purchases["ts"], dataset.timezone or "UTC")
    return pd.DataFrame({"person_id": purchases["person_id"].to_numpy(), "day": days})


def _entry_point(people: pd.DataFrame) -> pd.Series:
    source = people["signup_source"].astype("string").str.strip().str.lower()
    return source.mask(source.isna() | (source == ""), "unknown")


def cutoff_features(
    dataset: Dataset,
    cutoff: dt.date,
    *,
    window_days: int = 30,
    stages: pd.DataFrame | None = None,
    events: _Events | None = None,
) -> pd.DataFrame:
    """Features of the open leads at the end of ``cutoff``, from nothing after it.

    Parameters
    ----------
    dataset
        The loaded data.
    cutoff
        The cut-off date (local to the store).
    window_days
        The engagement window ending with the cut-off.
    stages
        ``person_id, stage`` as of the cut-off (the stage engine's leads at that
        date). When given, only open stages are kept and the stage is a feature.

    Returns
    -------
    pandas.DataFrame
        One row per open lead: ``person_id, entry_point, stage`` and the counts of
        :data:`ENGAGEMENT`, sorted by ``person_id``.
    """
    events = events or _Events(dataset)
    cutoff_day = _day(cutoff)
    timezone = dataset.timezone or "UTC"

    # Who was known by the cut-off: an email or phone, first seen or active by then.
    people = dataset.people.drop_duplicates("person_id")
    identified = people["email"].notna() | people["phone"].notna()
    people = people[identified]
    seen = np.full(len(people), np.nan)
    dated = people["first_seen"].notna().to_numpy()
    if dated.any():
        seen[dated] = eventlayer.local_days(people["first_seen"][dated], timezone)
    seen = pd.Series(seen, index=people["person_id"].to_numpy(), dtype="float64")
    first_event = events.first_days(cutoff_day).reindex(seen.index).astype("float64")
    known_day = np.fmin(seen.to_numpy(), first_event.to_numpy())
    frame = pd.DataFrame(
        {
            "person_id": seen.index,
            "entry_point": _entry_point(people).to_numpy(),
            "known_day": known_day,
        }
    )
    frame = frame[frame["known_day"] <= cutoff_day]

    # Leads only: nobody who had bought by the cut-off.
    bought = _purchase_days(dataset)
    buyers = set(bought.loc[bought["day"] <= cutoff_day, "person_id"])
    frame = frame[~frame["person_id"].isin(buyers)]

    # Stage at the cut-off, when the stage engine gives it.
    if stages is not None:
        stage = stages[["person_id", "stage"]].drop_duplicates("person_id")
        frame = frame.merge(stage, on="person_id", how="inner")
        frame = frame[frame["stage"].isin(OPEN_STAGES)]
    else:
        frame["stage"] = pd.NA

    counts = events.counts(cutoff_day, window_days)
    frame = frame.join(counts, on="person_id")
    frame[list(ENGAGEMENT)] = frame[list(ENGAGEMENT)].fillna(0).astype("int64")
    frame = frame.drop(columns="known_day").sort_values("person_id")
    return frame.reset_index(drop=True)


def purchase_outcome(
    dataset: Dataset, person_ids: pd.Series, cutoff: dt.date, horizon_days: int
) -> np.ndarray:
    """Whether each person bought in the ``horizon_days`` after ``cutoff`` (0/1)."""
    cutoff_day = _day(cutoff)
    bought = _purchase_days(dataset)
    after = bought["day"] > cutoff_day
    window = bought[after & (bought["day"] <= cutoff_day + horizon_days)]
    return person_ids.isin(set(window["person_id"])).to_numpy().astype(int)
