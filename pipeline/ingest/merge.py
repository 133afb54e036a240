"""Merge what each file's reader returned into one :class:`~pipeline.model.Dataset`.

- Orders are deduplicated by ``order_id`` across files: the Shopify orders export
  keeps the order when it has it, else the first file uploaded; every other copy's
  rows count as duplicates in its own file's report, and its ``order`` event goes.
- People are merged by ``person_id`` after linking phones and platform ids seen
  beside an email to that email (:mod:`pipeline.ingest.identity`).
- The store's time zone is inferred from the UTC offsets readers saw, unless given.
- Notes say what the data cannot tell: orders without a person, undated captures,
  intent events past the end of the order data, several currencies.
"""

from __future__ import annotations

import logging
from collections import Counter
from itertools import permutations

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import union_categoricals

from pipeline.ingest.base import ReadResult
from pipeline.ingest.identity import apply_links, link_map
from pipeline.ingest.persons import member_of
from pipeline.model import (
    AGGREGATE_COLUMNS,
    CLAIM_COLUMNS,
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    PEOPLE_COLUMNS,
    SPEND_COLUMNS,
    TS,
    Dataset,
    FileReport,
    conform,
    empty_frame,
)
from pipeline.timezones import zone_label

logger = logging.getLogger(__name__)

OFFSET_PAIRS: dict[tuple[int, int], str] = {
    (-600, -540): "America/Anchorage",
    (-480, -420): "America/Los_Angeles",
    (-420, -360): "America/Denver",
    (-360, -300): "America/Chicago",
    (-300, -240): "America/New_York",
    (-240, -180): "America/Halifax",
    (-210, -150): "America/St_Johns",
    (-180, -120): "America/Sao_Paulo",
    (0, 60): "Europe/London",
    (60, 120): "Europe/Berlin",
    (120, 180): "Europe/Helsinki",
    (570, 630): "Australia/Adelaide",
    (600, 660): "Australia/Sydney",
    (720, 780): "Pacific/Auckland",
}
"""(standard, daylight) UTC offsets in minutes and the most populous zone using them.

Pairs shared by several zones (-0800/-0700 is also Tijuana) resolve to the zone
with the most online stores; the user can set another in the app.
"""

UNEVEN_OFFSETS: dict[int, str] = {
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    390: "Asia/Yangon",
    570: "Australia/Darwin",
    -570: "Pacific/Marquesas",
    210: "Asia/Tehran",
    270: "Asia/Kabul",
}
"""Offsets that are not whole hours, which ``Etc/GMT±N`` zones cannot express."""

INTENT_EVENTS = ("checkout_started", "add_to_cart")
ONE_ROW_ONE_EVENT = frozenset({"events_csv", "mapped"})
"""Kinds whose every loaded row is one event, so a repeated event is a repeated row."""
ORDERS_DEDUPLICATED = frozenset({"events_csv", "mapped"})
"""Kinds whose reader keeps one row per order id (a repeat is a duplicate row there)."""
ORDER_SOURCE_RANK: dict[str, int] = {"shopify_orders": 0}
"""Whose copy of an order is kept when several files hold it (lowest first); the
store's own order export knows refunds and cancellations that event feeds do not."""


def infer_timezone(offsets: Counter) -> str:
    """The store's time zone from the UTC offsets of its timestamps.

    Parameters
    ----------
    offsets
        Minutes east of UTC and how often each was seen.

    Returns
    -------
    str
        A zone from :data:`OFFSET_PAIRS` when the two offsets seen most form a known
        (standard, daylight) pair; a fixed ``Etc/GMT±N`` zone (or a zone of
        :data:`UNEVEN_OFFSETS`) when one offset covers nearly every timestamp;
        ``"UTC"`` otherwise.
    """
    total = sum(offsets.values())
    if not total:
        return "UTC"
    common = [o for o, n in offsets.most_common() if n >= 0.02 * total]
    if len(common) >= 2:
        pair = tuple(sorted(common[:2]))
        if pair in OFFSET_PAIRS and len(common) == 2:
            return OFFSET_PAIRS[pair]
    if len(common) == 1:
        minutes = common[0]
        if minutes == 0:
            return "UTC"
        if minutes % 60 == 0:
            hours = minutes // 60
            # Etc/GMT signs are inverted: UTC+5 is Etc/GMT-5
            return f"Etc/GMT{-hours:+d}"
        return UNEVEN_OFFSETS.get(minutes, "UTC")
    return "UTC"


def merge(results: list[ReadResult], timezone: str | None = None) -> Dataset:
    """One dataset from every file's result (reports updated for duplicates).

    Parameters
    ----------
    results
        Per file, in upload order.
    timezone
        The store's time zone if the user set it; inferred otherwise.

    Returns
    -------
    Dataset
    """
    reports = [r.report for r in results]
    orders, duplicates = _deduplicated_orders(results)
    events = _concat([r.events for r in results], EVENT_COLUMNS)
    read_events = len(events)
    if duplicates and len(events):
        events = _without_duplicate_orders(events, duplicates)
    events = _without_repeated_events(events, reports)
    # each person's first event per file: one pass over each file's person column
    # serves both the sources by file and, when no event was dropped, first times;
    # a file whose people table covers its events and orders needs no pass at all
    named = [i for i, r in enumerate(results) if _names_people(r.events)]
    firsts = {
        i: _first_ts(results[i].events)
        for i in named
        if not results[i].people_cover and "ts" in results[i].events
    }
    complete = all(results[i].people_cover or i in firsts for i in named)
    covered = {r.report.file for r in results if r.people_cover}

    people = _concat([r.people for r in results], PEOPLE_COLUMNS, extra=("alias",))
    links = _links(people)
    if links:
        people["person_id"] = apply_links(people["person_id"], links)
        events["person_id"] = apply_links(events["person_id"], links)
        orders["person_id"] = apply_links(orders["person_id"], links)
    sources = _sources_by_file(results, links, firsts)
    events_first = None
    if complete and len(events) == read_events:
        events_first = pd.concat(list(firsts.values())) if firsts else _no_firsts()
        if links:
            events_first.index = pd.Index(
                apply_links(events_first.index.to_series(), links).to_numpy(),
                name="person_id",
            )
    with_people = [r for r in results if _names_people(r.people)]
    distinct = len(with_people) == 1 and with_people[0].people_cover and not links
    people = _merged_people(people, events, orders, events_first, covered, distinct)

    offsets: Counter = Counter()
    for report in reports:
        offsets.update(report.meta.get("utc_offsets", {}))
    tz = timezone or infer_timezone(offsets)

    for report in reports:
        report.check()
    dataset = Dataset(
        people=people,
        events=conform(events, EVENT_COLUMNS),
        orders=conform(orders, ORDER_COLUMNS),
        aggregates=_concat([r.aggregates for r in results], AGGREGATE_COLUMNS),
        spend=_concat([r.spend for r in results], SPEND_COLUMNS),
        claims=_concat([r.claims for r in results], CLAIM_COLUMNS),
        reports=reports,
        timezone=tz,
    )
    # which kinds of file named each person, for match rates (not a model table)
    dataset.person_sources = sources
    dataset.notes = coverage_notes(dataset, orders, offsets, timezone)
    for report in reports:
        if report.rows_read and report.rows_duplicate == report.rows_read:
            report.notes.append(
                "every row repeats a row of another file (the same export uploaded "
                "twice?): counted once, in the other file"
            )
        dataset.notes.extend(f"{report.file}: {note}" for note in report.notes)
    return dataset


def _names_people(table: pd.DataFrame | None) -> bool:
    return table is not None and len(table) > 0 and "person_id" in table


def _no_firsts() -> pd.Series:
    """An empty :func:`_first_ts` result."""
    index = pd.Index([], dtype="string", name="person_id")
    return pd.Series([], index=index, dtype=TS, name="ts")


def _without_duplicate_orders(
    events: pd.DataFrame, duplicates: set[tuple[str, str]]
) -> pd.DataFrame:
    """Events without the ``order`` events of orders dropped as duplicates."""
    is_order = events["event"].eq("order").fillna(False).to_numpy(dtype=bool)
    if not is_order.any():
        return events
    orders = events.loc[is_order, ["order_id", "source_file"]].astype("string")
    keys = orders["order_id"].fillna("") + "\x1f" + orders["source_file"].fillna("")
    wanted = {f"{order}\x1f{file}" for order, file in duplicates}
    drop = np.zeros(len(events), dtype=bool)
    drop[np.flatnonzero(is_order)[keys.isin(wanted).to_numpy(dtype=bool)]] = True
    return events[~drop]


def _without_repeated_events(
    events: pd.DataFrame, reports: list[FileReport]
) -> pd.DataFrame:
    """Events of one-row-one-event files that an earlier file already holds.

    Overlapping exports (two event exports covering the same week) repeat events
    exactly; such a repeat counts as a duplicate row of its own file. Repeats
    inside one file are left to its reader.
    """
    row_files = {r.file for r in reports if r.kind in ONE_ROW_ONE_EVENT}
    if events.empty or len(reports) < 2 or not row_files:
        return events
    files = events["source_file"].astype("string")
    if files.nunique() < 2 or not files.isin(row_files).any():
        return events
    key = [c for c in EVENT_COLUMNS if c != "source_file"]
    anywhere = events.duplicated(subset=key, keep="first")
    within = events.duplicated(subset=[*key, "source_file"], keep="first")
    repeat = (anywhere & ~within & files.isin(row_files)).to_numpy(dtype=bool)
    if not repeat.any():
        return events
    counts = files[repeat].value_counts()
    for report in reports:
        n = int(counts.get(report.file, 0))
        report.rows_loaded -= n
        report.rows_duplicate += n
    return events[~repeat]


def _sources_by_file(
    results: list[ReadResult],
    links: dict[str, str],
    firsts: dict[int, pd.Series] | None = None,
) -> pd.DataFrame:
    """Distinct (person_id, kind) pairs, from each file's own tables.

    ``firsts`` holds, per result index, each person's first event time in its
    events, whose index is their distinct persons (saving another pass over a large
    events table); a result whose people cover its events gives its people alone.
    Every kind's ids are made distinct in one pass.
    """
    firsts = firsts or {}
    named: dict[str, list[pd.Series]] = {}
    distinct: dict[str, bool] = {}  # whether a kind's one table names each person once
    for i, result in enumerate(results):
        tables = (result.people, result.events, result.orders)
        if result.people_cover:
            tables = (result.people,)
            distinct.setdefault(result.report.kind, True)
        else:
            distinct[result.report.kind] = False
        for table in tables:
            if table is None or not len(table) or "person_id" not in table:
                continue
            ids = (
                pd.Series(firsts[i].index, dtype="string")
                if table is result.events and i in firsts
                else table["person_id"].astype("string")
            )
            named.setdefault(result.report.kind, []).append(ids)
    parts = []
    for kind, ids in named.items():
        if len(ids) == 1 and distinct.get(kind):
            unique = ids[0].dropna().reset_index(drop=True)
        else:
            unique = pd.Series(pd.concat(ids, ignore_index=True).dropna().unique())
        unique = apply_links(unique, links).drop_duplicates() if links else unique
        parts.append(pd.DataFrame({"person_id": unique, "kind": kind}))
    if not parts:
        return pd.DataFrame(
            {"person_id": pd.Series(dtype="string"), "kind": pd.Series(dtype="string")}
        )
    return pd.concat(parts, ignore_index=True)


def _concat(
    frames: list[pd.DataFrame | None],
    columns: dict[str, str],
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Frames stacked in the model's columns (plus the named extra columns)."""
    present = [f for f in frames if f is not None and len(f)]
    if not present:
        out = empty_frame(columns)
        for name in extra:
            out[name] = pd.Series(dtype="string")
        return out
    parts = []
    for frame in present:
        part = conform(frame, columns)
        for name in extra:
            part[name] = (
                frame[name].astype("string").array
                if name in frame
                else pd.arrays.ArrowStringArray(pa.nulls(len(frame), pa.large_string()))
            )
        parts.append(part)
    if len(parts) == 1:
        return parts[0]  # already indexed 0..n-1 by conform
    out = pd.concat(parts, ignore_index=True)
    for name, dtype in columns.items():
        if dtype == "category":  # pandas stacks unlike categories as objects
            out[name] = union_categoricals([p[name] for p in parts])
    return out


def _deduplicated_orders(
    results: list[ReadResult],
) -> tuple[pd.DataFrame, set[tuple[str, str]]]:
    """Orders with later copies of an ``order_id`` removed; reports updated.

    Returns the orders (with the private ``_flags`` column kept for notes) and the
    ``(order_id, source_file)`` pairs that were dropped as duplicates.
    """
    parts = []
    for index, result in enumerate(results):
        frame = result.orders
        if frame is None or not len(frame):
            continue
        part = conform(frame, ORDER_COLUMNS)
        part["_rows"] = frame["_rows"].to_numpy() if "_rows" in frame else 1
        part["_flags"] = (
            frame["_flags"].astype("string").to_numpy()
            if "_flags" in frame
            else part["status"].where(part["status"] != "purchase", "")
        )
        part["_file"] = index
        parts.append(part)
    if not parts:
        out = empty_frame(ORDER_COLUMNS)
        out["_flags"] = pd.Series(dtype="string")
        return out, set()

    orders = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        # the store's own export is the order's record; then the first file uploaded
        ranks = {
            i: ORDER_SOURCE_RANK.get(result.report.kind, 1)
            for i, result in enumerate(results)
        }
        rank = orders["_file"].map(ranks)
        orders = orders.assign(_rank=rank).sort_values(
            ["_rank", "_file"], kind="stable"
        )
        orders = orders.drop(columns=["_rank"])
    kind = results[int(orders["_file"].iloc[0])].report.kind
    if len(parts) == 1 and kind in ORDERS_DEDUPLICATED:
        return orders.drop(columns=["_rows", "_file"]), set()
    keyed = orders["order_id"].notna()
    repeat = keyed & orders.duplicated("order_id", keep="first")

    duplicates: set[tuple[str, str]] = set()
    for (file_index, status), group in orders[repeat].groupby(["_file", "status"]):
        report = results[int(file_index)].report
        rows = int(group["_rows"].sum())
        report.rows_duplicate += rows
        if status == "purchase":
            report.rows_loaded -= rows
        else:
            report.rows_excluded -= rows
            left = report.excluded_by.get(str(status), 0) - rows
            report.excluded_by[str(status)] = max(left, 0)
        duplicates.update(
            zip(group["order_id"], group["source_file"].astype(str), strict=True)
        )
    kept = orders[~repeat] if repeat.any() else orders
    if len(parts) > 1:
        kept = kept.sort_index()  # back in upload order
    return kept.drop(columns=["_rows", "_file"]).reset_index(drop=True), duplicates


def _links(people: pd.DataFrame) -> dict[str, str]:
    """Alias keys (phones, platform ids) linked to the email seen with them."""
    if people.empty:
        return {}
    aliased = people["alias"].notna().to_numpy()
    phoned = people["phone"].notna().to_numpy()
    if not aliased.any() and not phoned.any():
        return {}  # (a large events file's people: emails and ids only)
    phones = people.loc[phoned]
    pairs = [
        people.loc[aliased, ["person_id", "alias"]],
        pd.DataFrame(
            {"person_id": phones["person_id"], "alias": "tel:" + phones["phone"]}
        ),
    ]
    return link_map(pd.concat(pairs, ignore_index=True))


def _person_sources(
    people: pd.DataFrame,
    events: pd.DataFrame,
    orders: pd.DataFrame,
    reports: list[FileReport],
) -> pd.DataFrame:
    """Distinct (person_id, kind) pairs: which kinds of file name each person."""
    kind_of = {r.file: r.kind for r in reports}
    seen = pd.concat(
        [t[["person_id", "source_file"]] for t in (people, events, orders)],
        ignore_index=True,
    ).dropna()
    seen = seen.drop_duplicates()
    seen["kind"] = seen["source_file"].map(kind_of).astype("string")
    return seen.dropna(subset=["kind"])[["person_id", "kind"]].drop_duplicates()


def _merged_people(
    people: pd.DataFrame,
    events: pd.DataFrame,
    orders: pd.DataFrame,
    events_first: pd.Series | None = None,
    covered: set[str] | frozenset[str] = frozenset(),
    distinct: bool = False,
) -> pd.DataFrame:
    """One row per person_id from every table that names people, in upload order.

    Each column takes a person's first value in upload order; ``first_seen`` is the
    earliest of their sign-up, events and orders. ``events_first`` is
    :func:`_first_ts` of ``events`` when already known (persons may repeat in it).
    Events and orders of the ``covered`` files are left out: their people already
    hold them (:attr:`ReadResult.people_cover`). Person ids are hashed once; the
    rest works on integer codes. ``distinct`` says that ``people`` already names
    each person once (one file's people, which cover its events and orders).
    """
    if events_first is None:
        events_first = _first_ts(_not_from(events, covered))
    # every file covered (one events CSV, say): the orders need no pass either
    everyone = covered and covered >= set(_files(orders))
    orders_first = _no_firsts() if everyone else _first_ts(_not_from(orders, covered))
    rows = people.dropna(subset=["person_id"]).drop(columns=["alias"], errors="ignore")
    if distinct and not len(events_first) and not len(orders_first):
        return _with_email_keys(rows.reset_index(drop=True))
    named = pd.concat(
        [
            rows["person_id"].astype("string"),
            pd.Series(events_first.index, dtype="string"),
            pd.Series(orders_first.index, dtype="string"),
        ],
        ignore_index=True,
    )
    codes, ids = pd.factorize(named, use_na_sentinel=True)
    if not len(ids):
        return empty_frame(PEOPLE_COLUMNS)
    row_codes = codes[: len(rows)]

    first = _earliest(
        len(ids),
        (row_codes, rows["first_seen"]),
        (codes[len(rows) : len(rows) + len(events_first)], events_first),
        (codes[len(rows) + len(events_first) :], orders_first),
    )
    merged = pd.DataFrame(index=pd.RangeIndex(len(ids)))
    merged["person_id"] = ids.array.astype("string")
    columns = [c for c in PEOPLE_COLUMNS if c not in ("person_id", "first_seen")]
    if len(rows):
        firsts = rows[columns].groupby(row_codes, sort=False).first()
        merged = merged.join(firsts)
    merged["first_seen"] = first

    only_named = np.ones(len(ids), dtype=bool)
    only_named[row_codes] = False
    if only_named.any():
        missing = pd.Index(merged.loc[only_named, "person_id"])
        files = _first_files(missing, events, orders).to_numpy()
        merged.loc[only_named, "source_file"] = files
    return _with_email_keys(merged)


def _with_email_keys(merged: pd.DataFrame) -> pd.DataFrame:
    """People in the model's columns, an email-shaped key filling a blank email."""
    key = merged["person_id"]
    email_key = key.where(key.str.contains("@", regex=False))
    merged["email"] = merged.get("email", email_key).fillna(email_key)
    return conform(merged, PEOPLE_COLUMNS)


def _files(table: pd.DataFrame) -> list[str]:
    """The files a (small or large) table's rows come from."""
    if table.empty:
        return []
    return [str(f) for f in pd.unique(table["source_file"].dropna())]


def _not_from(table: pd.DataFrame, files: set[str] | frozenset[str]) -> pd.DataFrame:
    """The rows of a table that come from none of ``files``."""
    if not files or table.empty:
        return table
    return table[~table["source_file"].isin(files).to_numpy(dtype=bool)]


def _earliest(size: int, *parts: tuple[np.ndarray, pd.Series]) -> pd.Series:
    """The earliest time per code over several (codes, times) pairs; NaT if none."""
    latest = np.iinfo(np.int64).max
    first = np.full(size, latest, dtype=np.int64)
    for codes, times in parts:
        stamps = pd.to_datetime(times, utc=True).astype(TS).array.asi8
        stamps = np.where(pd.isna(times).to_numpy(dtype=bool), latest, stamps)
        np.minimum.at(first, codes, stamps)
    values = pd.to_datetime(np.where(first < latest, first, 0), unit="us", utc=True)
    return pd.Series(values, dtype=TS).where(first < latest)


def _first_ts(table: pd.DataFrame) -> pd.Series:
    """Each person's earliest ``ts`` in a table, indexed by ``person_id``.

    The same as ``table.groupby("person_id")["ts"].min()``, grouped on integer
    codes (much faster than on text for millions of rows).
    """
    if table.empty:
        return table.groupby("person_id", sort=False)["ts"].min()
    codes, uniques = pd.factorize(table["person_id"], use_na_sentinel=True)
    ts = pd.to_datetime(table["ts"], utc=True).astype(TS)
    # a person whose every time is missing keeps NaT, as groupby does
    stamps = np.where(ts.isna().to_numpy(), np.iinfo(np.int64).max, ts.array.asi8)
    valid = codes >= 0
    first = pd.Series(stamps[valid]).groupby(codes[valid], sort=False).min()
    index = pd.Index(pd.Series(uniques, dtype="string").to_numpy()[first.index])
    values = pd.to_datetime(
        first.where(first < np.iinfo(np.int64).max).to_numpy(), unit="us", utc=True
    )
    return pd.Series(values, index=index.rename("person_id"), name="ts").astype(TS)


def _first_files(
    persons: pd.Index, events: pd.DataFrame, orders: pd.DataFrame
) -> pd.Series:
    """The first file naming each of some persons (people known only by events)."""
    wanted = set(persons)
    seen = pd.concat(
        [
            t.loc[t["person_id"].isin(wanted), ["person_id", "source_file"]]
            for t in (events, orders)
        ],
        ignore_index=True,
    )
    return seen.groupby("person_id")["source_file"].first().reindex(persons)


def coverage_notes(
    dataset: Dataset,
    orders: pd.DataFrame,
    offsets: Counter,
    timezone: str | None,
) -> list[str]:
    """What the data cannot tell, in sentences for the overview page."""
    notes: list[str] = []
    bought = dataset.orders["is_purchase"].fillna(False).to_numpy(dtype=bool)
    purchases = dataset.orders[["person_id", "currency"]][bought]

    no_person = int(purchases["person_id"].isna().sum())
    if no_person:
        notes.append(
            f"{no_person:,} orders without a person (no email or phone): kept as "
            "revenue, left out of lead stages and customer counts."
        )

    flags = orders.get("_flags")
    if flags is not None and len(orders) and flags.fillna("").ne("").any():
        counts = {
            name: int(flags.fillna("").str.contains(name, regex=False).sum())
            for name in ("test", "voided", "cancelled", "refunded")
        }
        if any(counts.values()):
            parts = ", ".join(f"{n:,} {name}" for name, n in counts.items() if n)
            notes.append(
                f"Orders not counted as purchases: {parts} (an order can be in "
                f"several groups); {len(purchases):,} purchases remain."
            )

    undated = int(dataset.people["first_seen"].isna().sum())
    if undated:
        who = "1 person has" if undated == 1 else f"{undated:,} people have"
        notes.append(
            f"{who} no date at all: no sign-up date in the uploads (a Shopify "
            "customers export has none) and no dated event or order. They count as "
            "captured leads but stay out of timing metrics (time to customer, weekly "
            "figures, stalled leads)."
        )

    events = dataset.events
    if len(dataset.orders) and len(events):
        last_order = dataset.orders["ts"].max()
        ts = events["ts"]
        after = (ts > last_order).to_numpy(dtype=bool)
        late = ts[after][member_of(events["event"][after], INTENT_EVENTS)]
        if len(late) and pd.notna(last_order):
            end = last_order.tz_convert(dataset.timezone)
            latest = late.max().tz_convert(dataset.timezone)
            notes.append(
                f"Checkout and cart events run to {latest:%Y-%m-%d} but the order "
                f'data ends {end:%Y-%m-%d}: "no order after it" cannot be known '
                f"past {end:%Y-%m-%d} ({len(late):,} events after it)."
            )

    currencies = purchases["currency"].dropna().unique()
    if len(currencies) > 1:
        notes.append(
            f"Orders are in {len(currencies)} currencies "
            f"({', '.join(sorted(currencies))}): amounts are shown per currency "
            "and never added up without rates."
        )

    if timezone is None and offsets:
        notes.append(
            f"Store time zone taken as {zone_label(dataset.timezone)} from the UTC "
            "offsets of the order times; set it in the sidebar (or with --timezone "
            "on the command line) if that is wrong."
        )
    return notes


def match_rates(dataset: Dataset) -> list[dict]:
    """How many people of one source kind are also found in another.

    Parameters
    ----------
    dataset
        A loaded dataset.

    Returns
    -------
    list of dict
        One per ordered pair of kinds that name people: ``{"from": kind, "to": kind,
        "people": n, "matched": m}``, ``n`` the people of ``from`` and ``m`` how many
        of them also appear in ``to``.
    """
    seen = getattr(dataset, "person_sources", None)
    if seen is None:
        seen = _person_sources(
            dataset.people, dataset.events, dataset.orders, dataset.reports
        )
    if seen.empty:
        return []
    members = {k: set(g["person_id"]) for k, g in seen.groupby("kind")}
    out = []
    for a, b in permutations(sorted(members), 2):
        out.append(
            {
                "from": a,
                "to": b,
                "people": len(members[a]),
                "matched": len(members[a] & members[b]),
            }
        )
    return out


def match_matrix(rates: list[dict], label=str) -> pd.DataFrame:
    """:func:`match_rates` as a square table: the share of each row's people found
    in the column's source.

    Parameters
    ----------
    rates
        :func:`match_rates`.
    label
        Names a source kind for the headings.

    Returns
    -------
    pandas.DataFrame
        One row per kind (index: its label): ``People``, then one share column per
        kind, in the same order (``NaN`` on the diagonal); empty without pairs.
    """
    if not rates:
        return pd.DataFrame()
    frame = pd.DataFrame(rates)
    frame["share"] = frame["matched"] / frame["people"]
    kinds = sorted(set(frame["from"]) | set(frame["to"]))
    shares = frame.pivot(index="from", columns="to", values="share")
    shares = shares.reindex(index=kinds, columns=kinds)
    people = frame.groupby("from")["people"].first().reindex(kinds)
    table = pd.concat([people.rename("People"), shares], axis=1)
    table.index = [label(kind) for kind in kinds]
    table.columns = ["People"] + [label(kind) for kind in kinds]
    return table


def exclusions(reports: list[FileReport]) -> dict[str, int]:
    """Rows excluded by each rule, summed over files."""
    total: Counter = Counter()
    for report in reports:
        total.update(report.excluded_by)
    return dict(total)
