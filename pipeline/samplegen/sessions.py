"""Event bookkeeping of the simulation: the event log and web sessions.

A session starts at a second of a local day and lays its events out at a fixed step,
ending well before local midnight (:data:`MARGIN_S`), so that every event of a
session falls on the session's day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.samplegen import catalogue as cat

MARGIN_S = 1800
"""Sessions start at least this many seconds before the end of their local day."""


COLUMNS = (
    ("lead", np.int32),
    ("day", np.int32),
    ("sec", np.int32),
    ("etype", np.int8),
    ("channel", np.int8),
    ("message", np.int32),
    ("product", np.int16),
    ("order", np.int32),
)
"""The event log's integer columns (codes of :mod:`.catalogue`, -1 for none)."""


class EventLog:
    """Event columns collected batch by batch, joined once at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in COLUMNS}

    def add(
        self, lead, day, sec, etype, *, channel=-1, message=-1, product=-1, order=-1
    ) -> None:
        """Append events of ``lead`` (an array); other arguments broadcast to it."""
        lead = np.asarray(lead, dtype=np.int32)
        n = len(lead)
        if n == 0:
            return
        values = (lead, day, sec, etype, channel, message, product, order)
        for (key, dtype), value in zip(COLUMNS, values, strict=True):
            self.parts[key].append(np.broadcast_to(np.asarray(value, dtype), n).copy())

    def frame(self) -> pd.DataFrame:
        """Every event logged, in the order logged."""
        return pd.DataFrame({k: np.concatenate(v) for k, v in self.parts.items()})


class Sessions:
    """Turn batches of sessions into web events; remember carts and checkouts."""

    def __init__(self, log_: EventLog, rng: np.random.Generator, n_leads: int) -> None:
        self.log = log_
        self.rng = rng
        self.n_leads = n_leads
        self.carts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.checkouts: list[tuple] = []

    def run(
        self, day, lead, channel, sec, x, favourite, *, message=-1, first_product=-1
    ) -> None:
        """Sessions of ``lead`` starting at ``sec`` of ``day`` (arrays or scalars)."""
        rng, n = self.rng, len(lead)
        if n == 0:
            return
        message = np.broadcast_to(np.asarray(message), n)
        first_product = np.broadcast_to(np.asarray(first_product), n)
        step = rng.integers(20, 80, n)
        self.log.add(lead, day, sec, cat.SESSION, channel=channel, message=message)

        # product views: the clicked product first, then the favourite or others
        views = np.minimum(rng.poisson(0.3 + 2.4 * x), 8)
        views = np.where(first_product >= 0, np.maximum(views, 1), views)
        idx = np.repeat(np.arange(n), views)
        pos = np.arange(len(idx)) - np.repeat(np.cumsum(views) - views, views)
        product = np.where(
            rng.random(len(idx)) < 0.55,
            favourite[idx],
            rng.integers(0, len(cat.PRODUCTS), len(idx)),
        )
        product = np.where(
            (pos == 0) & (first_product[idx] >= 0), first_product[idx], product
        )
        self.log.add(
            lead[idx],
            day,
            sec[idx] + (pos + 1) * step[idx],
            cat.PRODUCT_VIEW,
            channel=channel[idx],
            product=product,
        )
        landing = (views == 0) & (rng.random(n) < 0.35)
        self.log.add(
            lead[landing],
            day,
            sec[landing] + step[landing],
            cat.PAGE_VIEW,
            channel=channel[landing],
        )

        # what follows the views, each at its own position in the session
        last_seen = np.full(n, -1)
        last_seen[idx] = product  # the last view of each session wins
        seen = views > 0
        tail = sec + (views + 1) * step
        kinds = (
            (cat.SIZING_VIEW, 0.04 + 0.12 * x, -1),
            (cat.WISHLIST_ADD, 0.05 + 0.12 * x, None),
            (cat.ADD_TO_CART, 0.03 + 0.12 * x, None),
        )
        cart = np.zeros(n, dtype=bool)
        for k, (etype, prob, prod) in enumerate(kinds):
            hit = seen & (rng.random(n) < prob)
            if etype == cat.ADD_TO_CART:
                cart = hit
            self.log.add(
                lead[hit],
                day,
                tail[hit] + k * step[hit],
                etype,
                channel=channel[hit],
                product=last_seen[hit] if prod is None else -1,
            )
        checkout = cart & (rng.random(n) < 0.4)
        checkout_sec = tail + 3 * step
        self.log.add(
            lead[checkout],
            day,
            checkout_sec[checkout],
            cat.CHECKOUT_STARTED,
            channel=channel[checkout],
        )
        known = lead < self.n_leads
        self.carts.append(
            (
                lead[cart & known],
                np.full((cart & known).sum(), day),
                tail[cart & known] + 2 * step[cart & known],
            )
        )
        keep = checkout & known
        for lead_i, sec_i, prod_i in zip(
            lead[keep], checkout_sec[keep], last_seen[keep], strict=True
        ):
            self.checkouts.append((int(lead_i), int(day), int(sec_i), [int(prod_i)]))
