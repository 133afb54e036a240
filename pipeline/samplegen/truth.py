"""The simulation's own record of the truth: stages, Klaviyo's claims, channel effects.

This is bookkeeping over the events the simulation emitted, in its own day
numbers, written independently of the stage engine so that it can check it. It
follows the default rules of :mod:`pipeline.rules` to the letter:

- the stage as of day *D* is the highest stage whose rule holds over the events
  up to the end of *D* (local time), every window being the *d* days ending with
  *D* (``D - d + 1 .. D``);
- engaged: >= 3 ``email_open`` in 14 days, >= 5 ``product_view`` in 30 days, an
  ``email_click`` with a product in 30 days, or a ``wishlist_add`` in 30 days;
- purchase intent: an ``add_to_cart`` or ``checkout_started`` in 30 days with no
  purchase after it, the same product viewed >= 3 times in 30 days, or a
  ``sizing_view`` in 30 days;
- customer: >= 1 purchase ever (``repeat`` from the second); test, voided,
  cancelled and fully refunded orders are not purchases;
- every identified lead is at least captured; anonymous visitors are awareness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.samplegen import catalogue as cat
from pipeline.samplegen.simulate import PURCHASE_STATUSES, TRUE_EFFECTS, Simulation

CAPTURED, ENGAGED, INTENT, CUSTOMER = 1, 2, 3, 4
STAGE_NAMES = {
    0: "awareness",
    CAPTURED: "captured",
    ENGAGED: "engaged",
    INTENT: "purchase_intent",
    CUSTOMER: "customer",
}
KLAVIYO_WINDOW_S = 5 * 86_400
"""Klaviyo's attribution window for an email open, an email click and an SMS click."""


def _daily_counts(events: pd.DataFrame, mask: np.ndarray, n: int, h: int) -> np.ndarray:
    """Events per lead and local day, as an ``n x h`` array."""
    out = np.zeros((n, h), dtype=np.int32)
    np.add.at(out, (events["lead"].to_numpy()[mask], events["day"].to_numpy()[mask]), 1)
    return out


def _in_window(counts: np.ndarray, days: int, at_least: int) -> np.ndarray:
    """Whether ``at_least`` events fall in the ``days`` days ending with each day."""
    total = np.cumsum(counts, axis=1)
    before = np.zeros_like(total)
    before[:, days:] = total[:, :-days]
    return (total - before) >= at_least


def _same_product(
    views: pd.DataFrame, n: int, h: int, days: int = 30, at_least: int = 3
) -> np.ndarray:
    """Days on which some product was viewed ``at_least`` times in ``days`` days.

    With the views of one lead and product in time order, the rule holds on day
    *D* exactly when some view *i* has ``day_i <= D`` and the view ``at_least - 1``
    before it has ``day >= D - days + 1``: the days ``day_i .. day_{i-2} + days - 1``.
    """
    v = views.sort_values(["lead", "product", "day", "sec"], kind="stable")
    lead, prod, day = (v[c].to_numpy() for c in ("lead", "product", "day"))
    lag = at_least - 1
    same = (lead[lag:] == lead[:-lag]) & (prod[lag:] == prod[:-lag])
    first, last = day[lag:][same], day[:-lag][same] + days
    ok = last > first
    diff = np.zeros((n, h + 1), dtype=np.int32)
    np.add.at(diff, (lead[lag:][same][ok], first[ok]), 1)
    np.add.at(diff, (lead[lag:][same][ok], np.minimum(last[ok], h)), -1)
    return np.cumsum(diff, axis=1)[:, :h] > 0


def _last_key(events: pd.DataFrame, mask: np.ndarray, n: int, h: int) -> np.ndarray:
    """The latest (day, second) key of the masked events up to the end of each day."""
    key = events["day"].to_numpy().astype(np.int64) * 100_000 + events["sec"].to_numpy()
    out = np.full((n, h), -1, dtype=np.int64)
    np.maximum.at(
        out,
        (events["lead"].to_numpy()[mask], events["day"].to_numpy()[mask]),
        key[mask],
    )
    return np.maximum.accumulate(out, axis=1)


def rule_table(sim: Simulation) -> dict[str, np.ndarray]:
    """Each default rule's truth on every lead and day, as ``n_leads x horizon`` arrays.

    Also returns ``purchases``: the cumulative purchase count at the end of each day.
    """
    n, h = len(sim.leads), len(sim.day_len_s)
    ev = sim.events[sim.events["lead"] < n]
    etype = ev["etype"].to_numpy()
    purchase_ids = sim.orders.index[sim.orders["status"].isin(PURCHASE_STATUSES)]
    is_purchase = (etype == cat.ORDER) & np.isin(ev["order"].to_numpy(), purchase_ids)

    cart = _last_key(ev, np.isin(etype, (cat.ADD_TO_CART, cat.CHECKOUT_STARTED)), n, h)
    bought = _last_key(ev, is_purchase, n, h)
    cart_day = np.where(cart >= 0, cart // 100_000, -10_000)
    window_start = np.arange(h)[None, :] - 29
    views = ev[etype == cat.PRODUCT_VIEW]
    return {
        "engaged_opens": _in_window(
            _daily_counts(ev, etype == cat.EMAIL_OPEN, n, h), 14, 3
        ),
        "engaged_product_views": _in_window(
            _daily_counts(ev, etype == cat.PRODUCT_VIEW, n, h), 30, 5
        ),
        "engaged_product_click": _in_window(
            _daily_counts(
                ev, (etype == cat.EMAIL_CLICK) & (ev["product"].to_numpy() >= 0), n, h
            ),
            30,
            1,
        ),
        "engaged_wishlist": _in_window(
            _daily_counts(ev, etype == cat.WISHLIST_ADD, n, h), 30, 1
        ),
        "intent_cart": (cart >= 0) & (cart_day >= window_start) & (bought < cart),
        "intent_same_product": _same_product(views, n, h),
        "intent_sizing": _in_window(
            _daily_counts(ev, etype == cat.SIZING_VIEW, n, h), 30, 1
        ),
        "purchases": np.cumsum(_daily_counts(ev, is_purchase, n, h), axis=1),
    }


def stage_truth(sim: Simulation, person_ids: list[str]) -> pd.DataFrame:
    """The true stage of every person on the last day of the horizon.

    Parameters
    ----------
    sim
        The simulation.
    person_ids
        Person ids of the leads, then of the anonymous visitors, in the
        simulation's order.

    Returns
    -------
    pandas.DataFrame
        ``person_id, stage, customer_kind, purchases, lapsed, rules``: ``lapsed``
        marks a captured lead who was engaged or in purchase intent on an earlier
        day; ``rules`` lists the rules that hold on the last day.
    """
    n, h = len(sim.leads), len(sim.day_len_s)
    table = rule_table(sim)
    purchases = table.pop("purchases")
    engaged = np.zeros((n, h), dtype=bool)
    intent = np.zeros((n, h), dtype=bool)
    for name, holds in table.items():
        if name.startswith("engaged"):
            engaged |= holds
        else:
            intent |= holds
    stage = np.full((n, h), CAPTURED, dtype=np.int8)
    stage[engaged] = ENGAGED
    stage[intent] = INTENT
    stage[purchases >= 1] = CUSTOMER
    signed_up = np.arange(h)[None, :] >= sim.leads["signup_day"].to_numpy()[:, None]
    was_open_stage = ((stage == ENGAGED) | (stage == INTENT)) & signed_up
    final = stage[:, -1]
    bought = purchases[:, -1]
    rules = [
        ";".join(name for name, holds in table.items() if holds[i, -1])
        for i in range(n)
    ]
    kind = np.where(bought >= 2, "repeat", np.where(bought == 1, "first", ""))
    leads = pd.DataFrame(
        {
            "person_id": person_ids[:n],
            "stage": [STAGE_NAMES[s] for s in final],
            "customer_kind": kind,
            "purchases": bought,
            "lapsed": (final == CAPTURED) & was_open_stage.any(axis=1),
            "rules": rules,
        }
    )
    anon = pd.DataFrame(
        {
            "person_id": person_ids[n:],
            "stage": "awareness",
            "customer_kind": "",
            "purchases": 0,
            "lapsed": False,
            "rules": "",
        }
    )
    out = pd.concat([leads, anon], ignore_index=True)
    out["customer_kind"] = out["customer_kind"].replace("", pd.NA).astype("string")
    return out


def klaviyo_claims(sim: Simulation, orders: pd.DataFrame) -> pd.DataFrame:
    """What Klaviyo's attribution rule claims, order by order.

    An order is claimed, whole, by the latest message the person interacted with
    (email open, email click or SMS click) strictly before it, when the order
    falls inside that interaction's window (5 days for each kind).

    Parameters
    ----------
    sim
        The simulation.
    orders
        Purchases as exported: ``sim_order``, ``order_id``, ``lead``, ``ts_us`` and
        ``net_value``.
    """
    ev = sim.events
    kinds = {cat.EMAIL_OPEN: "open", cat.EMAIL_CLICK: "click", cat.SMS_CLICK: "click"}
    inter = ev[ev["etype"].isin(list(kinds)) & (ev["lead"] < len(sim.leads))]
    ts = _ts_us(sim, inter)
    key = inter["lead"].to_numpy().astype(np.int64) << 36 | (ts // 1_000_000 - _t0(sim))
    order_key = orders["lead"].to_numpy().astype(np.int64) << 36 | (
        orders["ts_us"].to_numpy() // 1_000_000 - _t0(sim)
    )
    sort = np.argsort(key, kind="stable")
    key = key[sort]
    pos = np.searchsorted(key, order_key, side="left") - 1
    found = pos >= 0
    pos = np.maximum(pos, 0)
    same_lead = (key[pos] >> 36) == (order_key >> 36)
    age = (order_key & ((1 << 36) - 1)) - (key[pos] & ((1 << 36) - 1))
    claimed = (
        found & same_lead & (age <= KLAVIYO_WINDOW_S) & (orders["lead"].to_numpy() >= 0)
    )
    hit = inter.iloc[sort[pos]]
    message = np.array(
        [sim.messages[m] for m in hit["message"].to_numpy()], dtype=object
    )
    channel = np.array(
        [cat.CHANNELS[c] for c in hit["channel"].to_numpy()], dtype=object
    )
    via = hit["etype"].map(kinds).to_numpy()
    return pd.DataFrame(
        {
            "order_id": orders["order_id"].to_numpy(),
            "person_id": orders["person_id"].to_numpy(),
            "claimed": claimed,
            "message": np.where(claimed, message, None),
            "channel": np.where(claimed, channel, None),
            "via": np.where(claimed, via, None),
            "value": orders["net_value"].to_numpy(),
        }
    ).astype(
        {
            "order_id": "string",
            "person_id": "string",
            "message": "string",
            "channel": "string",
            "via": "string",
        }
    )


def channel_effects(sim: Simulation) -> pd.DataFrame:
    """The causal effect built into the simulation for each channel.

    ``true_effect`` is the added daily purchase probability per session from the
    channel in the last 7 days; ``caused_purchases`` is the expected number of
    purchases those sessions added over the horizon.
    """
    return pd.DataFrame(
        {
            "channel": list(cat.CHANNELS),
            "true_effect": [TRUE_EFFECTS[c] for c in range(len(cat.CHANNELS))],
            "caused_purchases": np.round(sim.caused, 2),
        }
    ).sort_values("true_effect", ascending=False, ignore_index=True)


def _t0(sim: Simulation) -> int:
    return int(sim.day_start_us[0] // 1_000_000)


def _ts_us(sim: Simulation, events: pd.DataFrame) -> np.ndarray:
    """UTC microseconds of events given by local day and second."""
    return (
        sim.day_start_us[events["day"].to_numpy()]
        + events["sec"].to_numpy().astype(np.int64) * 1_000_000
    )
