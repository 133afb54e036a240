"""Journeys from events: touches before each conversion, built as ibis expressions.

The work over events is written once in ibis (DuckDB in-process by default) and
follows the event layer's portability rules: time is the integer ``ts_us``, windows
are ordered by it, and the lookback is an integer range join, never an interval
window. :func:`journey_expr` returns the expression; :func:`build_journeys` runs it
and turns the rows into a :class:`~pipeline.attribution.paths.PathSet`.

Touches are sessions (their GA4 default channel group), email and SMS clicks, ad
clicks and, when asked, email opens (off by default: Apple Mail Privacy Protection
opens mail by itself). A click followed within a few minutes by a session of the
same channel is one touch: the session is dropped and the click, which names the
campaign, is kept. A conversion is credited with the touches of its person in the
lookback window before it (after the previous conversion when paths are cut at
each conversion). The touches of a person after their last conversion form one
non-converting journey (its null state).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from pipeline.attribution.paths import PathSet
from pipeline.eventlayer import US_PER_DAY, connect, event_frame
from pipeline.model import Dataset

log = logging.getLogger(__name__)

CLICK_EVENTS = ("email_click", "sms_click", "ad_click")
OPEN_EVENTS = ("email_open",)


@dataclass(frozen=True)
class JourneySettings:
    """How journeys are cut from events.

    Attributes
    ----------
    lookback_days
        Touches older than this before a conversion do not count.
    opens_as_touches
        Count email opens as touches (off: Apple MPP makes opens unreliable).
    cut_at_conversions
        A journey starts after the person's previous conversion.
    first_purchase_only
        Only each person's first purchase is a conversion.
    click_session_minutes
        A session this soon after a click of the same channel is the same touch.
    """

    lookback_days: float = 30.0
    opens_as_touches: bool = False
    cut_at_conversions: bool = True
    first_purchase_only: bool = False
    click_session_minutes: float = 5.0


def conversions_frame(dataset: Dataset, first_only: bool = False) -> pd.DataFrame:
    """Purchases as conversions: ``conv_id, person_id, ts_us, value``.

    Uses the purchases table; when it is empty, the ``order`` events stand in.
    """
    orders = dataset.purchases()
    if len(orders):
        frame = pd.DataFrame(
            {
                "conv_id": orders["order_id"].astype("string"),
                "person_id": orders["person_id"].astype("string"),
                "ts": orders["ts"],
                "value": orders["net_value"].astype(float),
            }
        )
    else:
        events = dataset.events[dataset.events["event"] == "order"]
        frame = pd.DataFrame(
            {
                "conv_id": events["order_id"].astype("string"),
                "person_id": events["person_id"].astype("string"),
                "ts": events["ts"],
                "value": events["value"].astype(float),
            }
        )
        missing = frame["conv_id"].isna()
        frame.loc[missing, "conv_id"] = [f"event:{i}" for i in np.flatnonzero(missing)]
    frame = frame.dropna(subset=["ts"])
    frame["ts_us"] = (
        pd.to_datetime(frame["ts"], utc=True)
        .astype("datetime64[us, UTC]")
        .astype("int64")
    )
    frame["value"] = frame["value"].fillna(0.0)
    frame = frame.sort_values(["ts_us", "conv_id"]).drop_duplicates("conv_id")
    if first_only:
        known = frame["person_id"].notna()
        first = ~frame["person_id"].duplicated() | ~known
        frame = frame[first]
    return frame[["conv_id", "person_id", "ts_us", "value"]].reset_index(drop=True)


def touches_expr(events: ibis.Table, settings: JourneySettings) -> ibis.Table:
    """Touch events, with a click's session folded into the click."""
    kinds = ["session", *CLICK_EVENTS]
    if settings.opens_as_touches:
        kinds += list(OPEN_EVENTS)
    t = events.filter(
        events.event.isin(kinds) & events.person_id.notnull() & events.channel.notnull()
    )
    t = t.mutate(is_session=(t.event == "session").cast("int8"))
    window = ibis.window(group_by=t.person_id, order_by=[t.ts_us, t.is_session])
    t = t.mutate(
        prev_event=t.event.lag().over(window),
        prev_channel=t.channel.lag().over(window),
        prev_ts=t.ts_us.lag().over(window),
    )
    merge_us = int(settings.click_session_minutes * 60_000_000)
    folded = (
        (t.event == "session")
        & t.prev_event.isin(list(CLICK_EVENTS)).fill_null(False)
        & (t.prev_channel == t.channel).fill_null(False)
        & ((t.ts_us - t.prev_ts) <= merge_us).fill_null(False)
    )
    return t.filter(~folded).select(
        "person_id", "ts_us", "event", "channel", "campaign"
    )


def journey_expr(
    events: ibis.Table, conversions: ibis.Table, settings: JourneySettings
) -> ibis.Table:
    """Touches of every journey: converting ones and each person's null journey.

    Returns rows ``journey, person_id, conv_ts, ts_us, channel, campaign, event``;
    ``journey`` is the conversion id or ``null:<person>``.
    """
    lookback_us = int(settings.lookback_days * US_PER_DAY)
    touches = touches_expr(events, settings)

    by_person = ibis.window(group_by=conversions.person_id, order_by=conversions.ts_us)
    conv = conversions.mutate(
        prev_ts=conversions.ts_us.lag().over(by_person)
        if settings.cut_at_conversions
        else ibis.null("int64")
    )
    if "after_us" in conversions.columns:
        start, prev = conv.after_us, conv.prev_ts
        later = prev.isnull() | (start.notnull() & (start > prev))
        conv = conv.mutate(prev_ts=ibis.cases((later, start), else_=prev))
    conv = conv.select(
        conv_person=conv.person_id,
        conv_id=conv.conv_id,
        conv_ts=conv.ts_us,
        prev_ts=conv.prev_ts,
    )
    condition = [
        touches.person_id == conv.conv_person,
        touches.ts_us <= conv.conv_ts,
        touches.ts_us >= conv.conv_ts - lookback_us,
        conv.prev_ts.isnull() | (touches.ts_us > conv.prev_ts),
    ]
    converting = touches.join(conv, condition).select(
        journey=conv.conv_id,
        person_id=touches.person_id,
        conv_ts=conv.conv_ts,
        ts_us=touches.ts_us,
        channel=touches.channel,
        campaign=touches.campaign,
        event=touches.event,
    )

    last = conversions.group_by(lp=conversions.person_id).agg(
        last_conv=conversions.ts_us.max()
    )
    after = touches.left_join(last, touches.person_id == last.lp)
    after = after.filter(after.last_conv.isnull() | (after.ts_us > after.last_conv))
    end = ibis.window(group_by=after.person_id)
    after = after.mutate(end_ts=after.ts_us.max().over(end))
    null = after.filter(after.ts_us >= after.end_ts - lookback_us).select(
        journey=ibis.literal("null:") + after.person_id,
        person_id=after.person_id,
        conv_ts=after.end_ts,
        ts_us=after.ts_us,
        channel=after.channel,
        campaign=after.campaign,
        event=after.event,
    )
    return converting.union(null)


@dataclass
class Journeys:
    """Journeys from events, as paths plus their touches and conversions.

    Attributes
    ----------
    paths
        The :class:`PathSet` every model reads; ``path_key`` is the conversion id or
        ``null:<person>``.
    touches
        One row per touch: ``journey, person_id, conv_ts, ts_us, channel, campaign,
        event``, sorted by journey and time.
    conversions
        ``conv_id, person_id, ts_us, value``, one per conversion.
    settings
        How the journeys were cut.
    """

    paths: PathSet
    touches: pd.DataFrame
    conversions: pd.DataFrame
    settings: JourneySettings

    @property
    def coverage(self) -> float:
        """Share of conversions with at least one touch in the lookback window."""
        is_conv = self.paths.conversions > 0
        if not is_conv.any():
            return float("nan")
        return float((self.paths.lengths[is_conv] > 0).mean())


def build_journeys(
    dataset: Dataset,
    settings: JourneySettings | None = None,
    conversions: pd.DataFrame | None = None,
    con: ibis.BaseBackend | None = None,
) -> Journeys:
    """Journeys of ``dataset``'s people, ready for every model.

    Parameters
    ----------
    dataset
        The loaded data (its events carry ``channel``).
    settings
        Lookback, opens, cutting (default :class:`JourneySettings`).
    conversions
        What counts as a conversion: ``conv_id, person_id, ts_us, value``; default
        the purchases (:func:`conversions_frame`). The stage views pass stage
        entries instead, with ``after_us`` (nullable ``Int64``): only touches
        after it count (the entry into the stage the lead left).
    con
        An ibis backend (default: a fresh in-process DuckDB).

    Returns
    -------
    Journeys
    """
    settings = settings or JourneySettings()
    if conversions is None:
        conversions = conversions_frame(dataset, settings.first_purchase_only)
    own = con is None
    con = con or connect()
    events = con.create_table(
        "attribution_events",
        event_frame(dataset.events, dataset.timezone),
        overwrite=True,
    )
    columns = ["conv_id", "person_id", "ts_us", "value"]
    if "after_us" in conversions:
        columns.append("after_us")
    conv_table = con.create_table(
        "attribution_conversions",
        conversions[columns].astype(
            {"conv_id": "string", "person_id": "string", "ts_us": "int64"}
        ),
        overwrite=True,
    )
    rows = con.to_pandas(journey_expr(events, conv_table, settings))
    if own:
        con.disconnect()
    rows = rows.sort_values(["journey", "ts_us", "event"], kind="stable")
    log.info("journeys: %d touches for %d conversions", len(rows), len(conversions))
    return Journeys(
        _path_set(rows, conversions), rows.reset_index(drop=True), conversions, settings
    )


def _path_set(rows: pd.DataFrame, conversions: pd.DataFrame) -> PathSet:
    """Assemble the PathSet: every conversion (touched or not), then null journeys."""
    null_keys = pd.unique(rows.loc[rows["journey"].str.startswith("null:"), "journey"])
    keys = np.concatenate(
        [conversions["conv_id"].astype(str).to_numpy(object), null_keys.astype(object)]
    )
    index = pd.Index(keys)
    journey = index.get_indexer(rows["journey"].astype(str))
    rows = rows.assign(_j=journey).sort_values(["_j", "ts_us"], kind="stable")
    lengths = np.bincount(rows["_j"].to_numpy(), minlength=len(keys))
    codes, names = pd.factorize(rows["channel"].astype(str), sort=True)
    n_conv = len(conversions)
    conv = np.concatenate([np.ones(n_conv), np.zeros(len(null_keys))])
    value = np.concatenate(
        [conversions["value"].to_numpy(float), np.zeros(len(null_keys))]
    )
    age = rows["conv_ts"].to_numpy(np.int64) - rows["ts_us"].to_numpy(np.int64)
    return PathSet(
        channels=tuple(str(n) for n in names),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        touch_channel=codes.astype(np.int32),
        conversions=conv,
        value=value,
        nulls=1.0 - conv,
        touch_age_days=age / US_PER_DAY,
        touch_campaign=rows["campaign"].astype(object).to_numpy(),
        path_key=keys,
    )
