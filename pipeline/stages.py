"""The stage engine: each lead's stage as of a day, the rule behind it, and entry times.

Stages, highest first: customer (first-time or repeat), purchase intent, engaged,
captured, awareness. A person with an email or phone is at least *captured*; a person
known only by a platform id (``ga4:``, ``shopify:``, ``id:``) is *awareness*, whatever
they did short of buying. Purchases make anyone a customer (a store's customer id in a
transaction log, a Shopify customer without an email) except an anonymous GA4 pseudo
id (``ga4:``), which stays awareness. A lead's stage as of day *D* is the highest
stage whose rule holds over the events up to the end of *D* (the store's local day),
every window ending at *D*:
"the last 14 days" are days *D* − 13 … *D*. Stages other than customer lapse when
their events age out of the window. Customer means at least
``StageRules.customer_min_orders`` purchases up to *D*; repeat means two or more.

A lead *entered* a stage at the first moment one of its rules held, judged the same
way at that moment: for "at least *n* events within *d* days", the first matching
event whose (*n* − 1)-th predecessor lies in the *d* days ending on its day (exact
integer-time expressions that compile to BigQuery and Spark SQL, in
:mod:`pipeline.stage_exprs`). Captured entry is ``people.first_seen``, else the
person's first event; a capture with neither stays undated (NaT).

The event-scale work (numbered events per rule, windows, entry times, order ranks) is
ibis expressions over the event layer's table; numpy only combines the per-person
results into one row per lead. Each rule's numbered events are kept as a table once
computed (they do not depend on the settings), and results are cached per (rule,
settings, as of), so a slider move runs one small join for the rule it changed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections import OrderedDict

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline import eventlayer
from pipeline.model import STAGES, TS, Dataset
from pipeline.rules import RULE_NAMES, StageRules
from pipeline.stage_exprs import (
    first_events_expr,
    order_ranks_expr,
    rule_family_expr,
    rule_on_family_expr,
)

log = logging.getLogger(__name__)

STAGE_RANK: dict[str, int] = {stage: rank for rank, stage in enumerate(STAGES)}
"""Stage name to its rank, awareness 0 up to customer 4."""

COUNT_KEYS: tuple[str, ...] = STAGES + ("customer_first", "customer_repeat")
"""The keys of :func:`stage_counts`, in the order the CLI prints them."""

RULE_LABELS: tuple[str, ...] = ("awareness", "captured", *RULE_NAMES, "customer")
"""Every value of the ``rule`` column of :meth:`StageEngine.leads`."""

LEAD_COLUMNS: tuple[str, ...] = (
    "person_id",
    "stage",
    "customer_kind",
    "rule",
    "identified",
    "entered_captured",
    "entered_engaged",
    "entered_purchase_intent",
    "entered_customer",
    "entered_repeat",
    "orders",
    "first_order_value",
)

NAT = np.iinfo(np.int64).min
"""The int64 that numpy reads as NaT in ``datetime64[us]``: "never" in entry arrays."""

_PLATFORM_ID = r"^[A-Za-z][A-Za-z0-9_]*:"
_CACHE_SIZE = 96
_ENGINES = itertools.count()


def identified_ids(person_id: pd.Series) -> pd.Series:
    """Whether each person id is itself an email or a phone (``tel:``).

    A platform id (``ga4:…``, ``shopify:…``, ``id:…``) is not, even when it holds an
    ``@``.
    """
    ids = person_id.astype("string").fillna("")
    tel = ids.str.startswith("tel:")
    email = ids.str.contains("@", regex=False) & ~ids.str.contains(_PLATFORM_ID)
    return (tel | email).astype(bool)


def buyer_ids(person_id: pd.Series) -> pd.Series:
    """Whether each person's purchases can make them a customer: everyone but an
    anonymous GA4 pseudo id (``ga4:…``; a GA4 ``user_id`` is the store's own)."""
    ids = person_id.astype("string").fillna("")
    return (~ids.str.startswith("ga4:")).astype(bool)


def stage_counts(leads: pd.DataFrame) -> dict[str, int]:
    """Leads per stage, with customers split into first-time and repeat.

    Returns
    -------
    dict
        Keys exactly ``awareness, captured, engaged, purchase_intent, customer,
        customer_first, customer_repeat``; the first five add up to the leads and
        ``customer == customer_first + customer_repeat``.
    """
    stage = leads["stage"].astype("string")
    counts = {name: int((stage == name).sum()) for name in STAGES}
    kind = leads["customer_kind"].astype("string")
    is_customer = stage == "customer"
    counts["customer_first"] = int((is_customer & (kind == "first")).sum())
    counts["customer_repeat"] = int((is_customer & (kind == "repeat")).sum())
    return counts


def _to_numpy(column: pa.ChunkedArray, fill: int | bool) -> np.ndarray:
    """An arrow column as numpy, nulls replaced by ``fill``."""
    return column.fill_null(fill).to_numpy()


def _timestamps(us: np.ndarray) -> pd.Series:
    """Int64 microseconds (``NAT`` for never) as UTC timestamps."""
    return pd.Series(us.view("datetime64[us]")).dt.tz_localize("UTC").astype(TS)


class StageEngine:
    """Stages of every person in a dataset, recomputed quickly as the rules change.

    Parameters
    ----------
    dataset
        The loaded data; its events are registered once in ``con``.
    con
        An ibis backend; a fresh in-process DuckDB from
        :func:`pipeline.eventlayer.connect` when ``None``.

    Attributes
    ----------
    con
        The backend holding the events.
    events
        The event layer's table (:data:`pipeline.eventlayer.EVENT_LAYER_COLUMNS`)
        with the integer person key ``pid`` first (an index into
        :attr:`person_ids`); events without a person are left out.
    orders
        The order events ranked per person
        (:func:`pipeline.stage_exprs.order_ranks_expr`), as a table.
    person_ids
        Every person: the dataset's people, then persons seen only in events.
    timezone
        The store's time zone, in which days and "as of" are counted.
    """

    def __init__(self, dataset: Dataset, con: ibis.BaseBackend | None = None) -> None:
        self.timezone = dataset.timezone or "UTC"
        self.con = con if con is not None else eventlayer.connect()
        self._rule_cache: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = (
            OrderedDict()
        )
        self._families: dict[str, ibis.Table] = {}
        # Table names: plain on the engine's own backend, unique on a shared one.
        self._prefix = "" if con is None else f"stage_engine_{next(_ENGINES)}_"

        # Events with a person, as the event layer's frame plus the integer key.
        raw = dataset.events
        has_person = raw["person_id"].notna()
        if not has_person.all():
            log.info("%d events without a person left out", int((~has_person).sum()))
            raw = raw[has_person]
        frame = eventlayer.event_frame(raw, self.timezone)

        # People: the dataset's people first, then persons known only from events.
        people = self._people_table(dataset.people, frame["person_id"])
        self.person_ids = people["person_id"].reset_index(drop=True)
        codes = pc.index_in(
            pa.array(frame["person_id"], type=pa.string()),
            value_set=pa.array(self.person_ids, type=pa.string()),
        )
        frame.insert(0, "pid", codes.to_numpy(zero_copy_only=False).astype("int64"))
        self.events = self.con.create_table(
            f"{self._prefix}events", frame, overwrite=True
        )
        log.info("stage engine: %d events, %d persons", len(frame), len(people))

        # What does not depend on the rules: identity, first sightings, orders.
        self._identified = people["identified"].to_numpy(bool)
        self._buyer = buyer_ids(people["person_id"]).to_numpy(bool) | self._identified
        self._first_seen_us, self._first_seen_day = self._first_seen(people)
        self._first_event_us, self._first_event_day = self._first_events()
        self._orders = self._order_ranks()
        # The latest event day not after today: a future-dated row is a typo, not
        # the day the data runs to.
        self._today_day = eventlayer.date_to_day(
            pd.Timestamp.now(tz=self.timezone).date()
        )
        past = self.events.filter(self.events.day <= self._today_day)
        last_day = self.con.execute(past.day.max()) if len(frame) else None
        self._last_event_day = -1 if pd.isna(last_day) else int(last_day)
        # (records naming nobody are no lead's, but the data runs to them too)
        unnamed = self._last_unnamed_day(dataset)
        self._last_event_day = max(self._last_event_day, unnamed)

    # -- set-up -------------------------------------------------------------------

    def _last_unnamed_day(self, dataset: Dataset) -> int:
        """The latest local day, not after today, of the events and orders that name
        no person (-1 when there is none)."""
        stamps = pd.concat(
            [
                table.loc[table["person_id"].isna(), "ts"]
                for table in (dataset.events, dataset.orders)
            ]
        ).dropna()
        if stamps.empty:
            return -1
        local = pd.to_datetime(stamps, utc=True).dt.tz_convert(self.timezone)
        days = [eventlayer.date_to_day(d) for d in local.dt.normalize().unique()]
        days = [d for d in days if d <= self._today_day]
        return max(days, default=-1)

    @staticmethod
    def _people_table(people: pd.DataFrame, event_ids: pd.Series) -> pd.DataFrame:
        """One row per person with ``identified`` and ``first_seen``."""
        people = people[people["person_id"].notna()]
        known = (
            people.assign(
                has_contact=people["email"].notna() | people["phone"].notna()
            )
            .groupby("person_id", sort=False)
            .agg(has_contact=("has_contact", "any"), first_seen=("first_seen", "min"))
            .reset_index()
        )
        seen = pc.unique(pa.array(event_ids, type=pa.string()).drop_null())
        known_ids = pa.array(known["person_id"], type=pa.string())
        extra = pc.filter(seen, pc.invert(pc.is_in(seen, value_set=known_ids)))
        extra = extra.to_numpy(zero_copy_only=False)
        others = pd.DataFrame(
            {
                "person_id": pd.Series(extra, dtype="string"),
                "has_contact": False,
                "first_seen": pd.Series(pd.NaT, index=range(len(extra)), dtype=TS),
            }
        )
        table = pd.concat([known, others], ignore_index=True)
        table["person_id"] = table["person_id"].astype("string")
        table["first_seen"] = pd.to_datetime(table["first_seen"], utc=True).astype(TS)
        table["identified"] = table["has_contact"] | identified_ids(table["person_id"])
        return table

    def _first_seen(self, people: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """People's ``first_seen`` as microseconds and local days (NAT when none)."""
        seen = people["first_seen"]
        dated = seen.notna().to_numpy()
        us = np.full(len(people), NAT, dtype=np.int64)
        day = np.full(len(people), np.iinfo(np.int32).max, dtype=np.int64)
        if dated.any():
            us[dated] = seen[dated].astype("int64").to_numpy()
            day[dated] = eventlayer.local_days(seen[dated], self.timezone)
        return us, day

    def _first_events(self) -> tuple[np.ndarray, np.ndarray]:
        """Each person's first event as microseconds and local day."""
        n = len(self.person_ids)
        us = np.full(n, NAT, dtype=np.int64)
        day = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
        table = self.con.to_pyarrow(first_events_expr(self.events))
        pid = table["pid"].to_numpy()
        us[pid] = table["first_us"].to_numpy()
        day[pid] = table["first_day"].to_numpy()
        return us, day

    def _order_ranks(self) -> dict[str, np.ndarray]:
        """Every order event sorted by person and rank, as numpy arrays.

        Also kept as the backend table :attr:`orders` for the cart rule.
        """
        self.orders = self.con.create_table(
            f"{self._prefix}orders", order_ranks_expr(self.events), overwrite=True
        )
        table = self.con.to_pyarrow(self.orders.order_by(["pid", "rank"]))
        return {
            "pid": table["pid"].to_numpy(),
            "ts_us": table["ts_us"].to_numpy(),
            "day": table["day"].to_numpy().astype(np.int64),
            "value": table["value"].to_numpy(zero_copy_only=False),
        }

    # -- public -------------------------------------------------------------------

    @property
    def default_as_of(self) -> dt.date:
        """The local day of the latest dated record not after today.

        Records are events and first sightings, days counted in the store's time
        zone. Records dated after today (typos such as a year 2031 order) are left
        out, so one of them cannot move "as of" years ahead; the readers flag them.
        Today when nothing is dated on or before today.
        """
        seen = self._first_seen_day[self._first_seen_day <= self._today_day]
        days = [int(d) for d in (self._last_event_day, seen.max(initial=-1)) if d >= 0]
        if not days:
            return pd.Timestamp.now(tz=self.timezone).date()
        return eventlayer.day_to_date(max(days)).date()

    def leads(
        self, rules: StageRules, as_of: dt.date | str | None = None
    ) -> pd.DataFrame:
        """Every lead's stage as of a day under ``rules``.

        Parameters
        ----------
        rules
            The stage rules (thresholds, windows, switches).
        as_of
            The local day evaluated; :attr:`default_as_of` when ``None``.

        Returns
        -------
        pandas.DataFrame
            One row per person seen by the end of ``as_of`` (or never dated), with
            the columns of :data:`LEAD_COLUMNS`: ``stage`` and ``rule`` are
            categoricals over :data:`pipeline.model.STAGES` and
            :data:`RULE_LABELS`, ``customer_kind`` is ``first``/``repeat``/NA, the
            ``entered_*`` columns are UTC timestamps (NaT when never, or for an
            undated capture), ``orders`` counts purchases up to ``as_of``.
        """
        day = eventlayer.date_to_day(as_of if as_of is not None else self.default_as_of)
        n = len(self.person_ids)
        identified = self._identified

        # Who exists by the end of the day: seen by then, or never dated.
        first_day = np.minimum(self._first_seen_day, self._first_event_day)
        undated = first_day == np.iinfo(np.int32).max
        present = (first_day <= day) | undated

        # Start from captured or awareness.
        rank = identified.astype(np.int8)
        rule_code = rank.astype(np.int16)
        entered = {
            "captured": self._captured_entry(day),
            "engaged": np.full(n, NAT, dtype=np.int64),
            "purchase_intent": np.full(n, NAT, dtype=np.int64),
        }

        # Intent rules, then engaged ones; within a stage the first listed rule wins.
        arrays = self._rule_arrays(rules, day)
        for name in reversed(RULE_NAMES):
            rule = rules.rules[name]
            if not rule.enabled:
                continue
            entry_us, holds = arrays[name]
            stage_entry = entered[rule.stage]
            first = identified & (entry_us != NAT)
            first &= (stage_entry == NAT) | (entry_us < stage_entry)
            stage_entry[first] = entry_us[first]
            hit = holds & identified & (rank <= STAGE_RANK[rule.stage])
            rank[hit] = STAGE_RANK[rule.stage]
            rule_code[hit] = RULE_LABELS.index(name)

        # Customers: enough purchases up to the day.
        min_orders = max(rules.customer_min_orders, 1)
        orders, entered_customer, entered_repeat, first_value = self._customers(
            day, min_orders
        )
        buyer = self._buyer
        orders = np.where(buyer, orders, 0)
        is_customer = buyer & (orders >= min_orders)
        rank[is_customer] = STAGE_RANK["customer"]
        rule_code[is_customer] = RULE_LABELS.index("customer")
        kind = np.where(is_customer, np.where(orders >= 2, 1, 0), -1)

        frame = pd.DataFrame(
            {
                "person_id": self.person_ids,
                "stage": pd.Categorical.from_codes(rank, STAGES),
                "customer_kind": pd.Categorical.from_codes(kind, ["first", "repeat"]),
                "rule": pd.Categorical.from_codes(rule_code, RULE_LABELS),
                "identified": identified,
                "entered_captured": _timestamps(entered["captured"]),
                "entered_engaged": _timestamps(entered["engaged"]),
                "entered_purchase_intent": _timestamps(entered["purchase_intent"]),
                "entered_customer": _timestamps(
                    np.where(buyer, entered_customer, NAT)
                ),
                "entered_repeat": _timestamps(np.where(buyer, entered_repeat, NAT)),
                "orders": orders.astype(np.int64),
                "first_order_value": np.where(buyer, first_value, np.nan),
            }
        )
        if present.all():
            return frame
        return frame[present].reset_index(drop=True)

    # -- per-day pieces -----------------------------------------------------------

    def _captured_entry(self, day: int) -> np.ndarray:
        """``first_seen``, else the first event, of identified people, by ``day``."""
        dated = self._first_seen_us != NAT
        us = np.where(dated, self._first_seen_us, self._first_event_us)
        us_day = np.where(dated, self._first_seen_day, self._first_event_day)
        return np.where(self._identified & (us_day <= day), us, NAT)

    def _rule_arrays(
        self, rules: StageRules, day: int
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Entry times and "holds" flags of every enabled rule for every person.

        Results are cached per (rule, settings, day); the rules not cached are
        computed together in one query.
        """
        keys = {
            name: (name, rule.min_count, rule.window_days, day)
            for name, rule in rules.rules.items()
            if rule.enabled
        }
        missing = [name for name, key in keys.items() if key not in self._rule_cache]
        if missing:
            parts = [
                rule_on_family_expr(
                    self._family(name), name, rules.rules[name], day, self.orders
                ).mutate(rule_index=ibis.literal(i, type="int16"))
                for i, name in enumerate(missing)
            ]
            table = self.con.to_pyarrow(ibis.union(*parts, distinct=False))
            which = table["rule_index"].to_numpy()
            pids = table["pid"].to_numpy()
            entries = _to_numpy(table["entry_us"], NAT)
            holding = _to_numpy(table["holds"], False)
            n = len(self.person_ids)
            for i, name in enumerate(missing):
                rows = which == i
                entry = np.full(n, NAT, dtype=np.int64)
                holds = np.zeros(n, dtype=bool)
                entry[pids[rows]] = entries[rows]
                holds[pids[rows]] = holding[rows]
                self._rule_cache[keys[name]] = (entry, holds)
            log.debug("computed rules %s as of day %d", missing, day)

        out = {}
        for name, key in keys.items():
            self._rule_cache.move_to_end(key)
            out[name] = self._rule_cache[key]
        while len(self._rule_cache) > _CACHE_SIZE:
            self._rule_cache.popitem(last=False)
        return out

    def _family(self, name: str) -> ibis.Table:
        """Rule ``name``'s numbered events, kept as a backend table once computed."""
        if name not in self._families:
            self._families[name] = self.con.create_table(
                f"{self._prefix}family_{name}",
                rule_family_expr(self.events, name),
                overwrite=True,
            )
        return self._families[name]

    def _customers(
        self, day: int, min_orders: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Orders up to ``day``, customer and repeat entry times, first order value."""
        n = len(self.person_ids)
        orders = self._orders
        upto = orders["day"] <= day
        count = np.bincount(orders["pid"][upto], minlength=n)

        # Orders are sorted by person and rank: rank k of person p is at start[p]+k-1.
        start = np.searchsorted(orders["pid"], np.arange(n))

        def kth(values: np.ndarray, k: int, fill) -> np.ndarray:
            out = np.full(n, fill, dtype=values.dtype)
            has = count >= k
            out[has] = values[start[has] + k - 1]
            return out

        return (
            count,
            kth(orders["ts_us"], min_orders, NAT),
            kth(orders["ts_us"], 2, NAT),
            kth(orders["value"].astype(np.float64), 1, np.nan),
        )
