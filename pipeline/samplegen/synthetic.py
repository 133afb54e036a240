"""Large synthetic event tables for benchmarks, built directly in the model's dtypes.

No per-lead loop and no CSV: every column is drawn with numpy at once and string
columns are built with pyarrow ``take`` from small dictionaries, so 10M events take
a few seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.model import (
    EVENT_COLUMNS,
    ORDER_COLUMNS,
    PEOPLE_COLUMNS,
    TS,
    Dataset,
    file_column,
)
from pipeline.samplegen import catalogue as cat

# Event mix of the benchmark tables (relative shares).
EVENT_MIX: dict[str, float] = {
    "session": 0.16,
    "page_view": 0.10,
    "product_view": 0.24,
    "sizing_view": 0.015,
    "wishlist_add": 0.01,
    "add_to_cart": 0.03,
    "checkout_started": 0.015,
    "order": 0.01,
    "signup": 0.02,
    "email_open": 0.22,
    "email_click": 0.03,
    "sms_click": 0.01,
    "ad_click": 0.04,
    "email_delivered": 0.08,
}
SPAN_DAYS = 365
ANON_SHARE = 0.1


def _strings(values: pa.Array, index: np.ndarray) -> pd.Series:
    """A pandas ``string`` column of ``values[index]`` (-1 gives a missing value)."""
    mask = index < 0
    indices = pa.array(index, type=pa.int32(), mask=mask if mask.any() else None)
    taken = values.cast(pa.large_string()).take(indices)
    return pd.Series(pd.arrays.ArrowStringArray(taken))


def _constant(value: str, n: int) -> pd.Series:
    """A pandas ``string`` column holding ``value`` ``n`` times."""
    array = pa.repeat(pa.scalar(value, pa.large_string()), n)
    return pd.Series(pd.arrays.ArrowStringArray(array))


def _person_ids(n_leads: int) -> pa.Array:
    n_anon = int(n_leads * ANON_SHARE)
    numbers = np.arange(n_leads)
    known = np.char.add(
        np.char.add("lead", numbers[: n_leads - n_anon].astype(str)), "@example.com"
    )
    anon = np.char.add(
        "ga4:", (1_000_000_000 + numbers[n_leads - n_anon :]).astype(str)
    )
    return pa.array(np.concatenate([known, anon]).astype(object), type=pa.string())


def synthetic_events(
    n_leads: int, n_events: int, seed: int = 0, timezone: str = "UTC"
) -> Dataset:
    """A :class:`~pipeline.model.Dataset` of ``n_events`` events of ``n_leads`` people.

    People are emails ``lead<i>@example.com`` except the last tenth, which are
    anonymous ``ga4:`` ids. Events spread over the 365 days ending 2026-11-30 with
    a skewed activity per person (some people do much more than others), the mix
    of :data:`EVENT_MIX`, products from the sample catalogue, channels on sessions,
    clicks and opens, campaigns on messages, and orders with ids and values (the
    orders table holds the same orders, all purchases).

    Parameters
    ----------
    n_leads
        People (rows of ``people``).
    n_events
        Events (rows of ``events``).
    seed
        Seed of the random generator.
    timezone
        Stored as the dataset's time zone.

    Returns
    -------
    pipeline.model.Dataset
        ``people``, ``events`` and ``orders`` in the model's columns and dtypes.
    """
    if n_leads < 1 or n_events < 1:
        raise ValueError("n_leads and n_events must both be at least 1")
    rng = np.random.default_rng(seed)
    ids = _person_ids(n_leads)

    # who: skewed activity (the density of u**3 falls like rank**(-2/3)), shuffled
    # over ids, so windows see busy and quiet leads alike
    rank = (rng.random(n_events) ** 3 * n_leads).astype(np.int64)
    person = np.sort(rng.permutation(n_leads)[rank])  # grouped by person, like exports
    end_us = int(pd.Timestamp("2026-12-01", tz="UTC").value // 1_000)
    span_us = SPAN_DAYS * 86_400_000_000
    ts = end_us - span_us + rng.integers(0, span_us, n_events)

    names = list(EVENT_MIX)
    shares = np.array(list(EVENT_MIX.values()))
    etype = rng.choice(len(names), size=n_events, p=shares / shares.sum())
    code = {name: k for k, name in enumerate(names)}
    has_product = np.isin(
        etype,
        [
            code[e]
            for e in ("product_view", "wishlist_add", "add_to_cart", "email_click")
        ],
    )
    product = np.where(has_product, rng.integers(0, len(cat.PRODUCTS), n_events), -1)

    # channels: email and SMS events carry theirs, sessions and ad clicks one drawn
    channel = np.full(n_events, -1)
    for name, ch in (
        ("email_open", cat.EMAIL),
        ("email_click", cat.EMAIL),
        ("email_delivered", cat.EMAIL),
        ("sms_click", cat.SMS),
    ):
        channel[etype == code[name]] = ch
    web = etype == code["session"]
    channel[web] = rng.integers(0, len(cat.CHANNELS), web.sum())
    ads = etype == code["ad_click"]
    channel[ads] = rng.choice([cat.PAID_SOCIAL, cat.PAID_SEARCH], ads.sum())
    campaigns = [f"Campaign {k:02d}" for k in range(40)]
    messaged = np.isin(
        etype,
        [
            code[e]
            for e in ("email_open", "email_click", "email_delivered", "sms_click")
        ],
    )
    campaign = np.where(messaged, rng.integers(0, len(campaigns), n_events), -1)
    sm = [cat.SOURCE_MEDIUM[c] for c in range(len(cat.CHANNELS))]

    is_order = etype == code["order"]
    order_no = np.cumsum(is_order) - 1
    order_index = np.where(is_order, order_no, -1)
    n_orders = int(is_order.sum())
    order_ids = pa.array([str(7_000_000_000_000 + k) for k in range(n_orders)])
    value = np.full(n_events, np.nan)
    value[is_order] = np.round(rng.gamma(2.0, 60.0, n_orders), 2)

    events = pd.DataFrame(
        {
            "person_id": _strings(ids, person),
            "ts": pd.Series(ts.astype("datetime64[us]")).dt.tz_localize("UTC"),
            "event": _strings(pa.array(names), etype),
            "channel": _strings(pa.array(cat.CHANNELS), channel),
            "source": _strings(
                pa.array([s for s, _ in sm]), np.where(web, channel, -1)
            ),
            "medium": _strings(
                pa.array([m for _, m in sm]), np.where(web, channel, -1)
            ),
            "campaign": _strings(pa.array(campaigns), campaign),
            "product": _strings(pa.array([p[0] for p in cat.PRODUCTS]), product),
            "order_id": _strings(order_ids, order_index)
            if n_orders
            else pd.Series(pd.NA, index=range(n_events), dtype="string"),
            "value": value,
            "source_file": file_column("synthetic_events", pd.RangeIndex(n_events)),
        }
    )[list(EVENT_COLUMNS)]

    people = pd.DataFrame(
        {
            "person_id": _strings(ids, np.arange(n_leads)),
            "email": _strings(
                ids,
                np.where(
                    np.arange(n_leads) < n_leads - int(n_leads * ANON_SHARE),
                    np.arange(n_leads),
                    -1,
                ),
            ),
            "phone": pd.Series(pd.NA, index=range(n_leads), dtype="string"),
            "first_seen": pd.Series(pd.NaT, index=range(n_leads), dtype=TS),
            "signup_source": pd.Series(pd.NA, index=range(n_leads), dtype="string"),
            "consent_email": pd.Series(pd.NA, index=range(n_leads), dtype="boolean"),
            "consent_sms": pd.Series(pd.NA, index=range(n_leads), dtype="boolean"),
            "source_file": _constant("synthetic_events", n_leads),
        }
    )[list(PEOPLE_COLUMNS)]
    # first sightings: events are grouped by person, so one reduceat finds them
    starts = np.flatnonzero(np.r_[True, person[1:] != person[:-1]])
    first_us = np.full(n_leads, np.iinfo(np.int64).min)
    first_us[person[starts]] = np.minimum.reduceat(ts, starts)
    seen = first_us != np.iinfo(np.int64).min
    first_seen = np.full(n_leads, np.datetime64("NaT", "us"))
    first_seen[seen] = first_us[seen].astype("datetime64[us]")
    people["first_seen"] = pd.Series(first_seen).dt.tz_localize("UTC").astype(TS)

    orders_ev = events[is_order]
    orders = pd.DataFrame(
        {
            "order_id": orders_ev["order_id"].to_numpy(),
            "order_name": pd.NA,
            "store": "synthetic",
            "person_id": orders_ev["person_id"].to_numpy(),
            "ts": orders_ev["ts"].to_numpy(),
            "total": orders_ev["value"].to_numpy(),
            "refunded": 0.0,
            "net_value": orders_ev["value"].to_numpy(),
            "currency": "USD",
            "status": "purchase",
            "is_purchase": True,
            "source_file": "synthetic_events",
        }
    )
    orders = orders.astype({k: v for k, v in ORDER_COLUMNS.items()})
    return Dataset(people=people, events=events, orders=orders, timezone=timezone)
