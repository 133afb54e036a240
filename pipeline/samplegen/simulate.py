"""The sample brand's lead simulation: one day at a time, vectorised over leads.

Each identified lead signs up on a day of the horizon (after an acquisition session
from one of the channels of :mod:`.catalogue`) and from then on lives a daily
process:

- *interest* ``x`` decays from the day of signup (or of the last purchase) with a
  lead-specific time constant, so leads engage early and lapse later;
- marketing *touches* arrive: email campaigns (twice a week, to the engaged part of
  the list) and flows (welcome, abandoned cart, post-purchase), SMS campaigns
  (Fridays), retargeting ad clicks (Paid Social, Paid Search), and organic, direct
  and referral visits, each more likely the higher ``x``;
- every click becomes a web *session* in which the lead views products (often a
  favourite one), sizing pages, adds to wishlist or cart and may start a checkout;
- the daily *purchase hazard* is a base rate plus, for every channel, its true
  effect ``beta`` times the lead's sessions from that channel in the last 7 days
  (:data:`TRUE_EFFECTS`). Opens have no effect. The session in which the lead buys
  comes from a channel drawn in proportion to each term of the hazard.

Every event is stored with its local day number and the second within that day in
the store's time zone, so the day each event falls on is known exactly (also on
the days daylight saving begins or ends).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.samplegen import catalogue as cat
from pipeline.samplegen.sessions import MARGIN_S, EventLog, Sessions

log = logging.getLogger(__name__)

TRUE_EFFECTS: dict[int, float] = {
    cat.EMAIL: 0.006,
    cat.SMS: 0.008,
    cat.PAID_SOCIAL: 0.030,
    cat.PAID_SEARCH: 0.015,
    cat.ORGANIC: 0.005,
    cat.DIRECT: 0.003,
    cat.REFERRAL: 0.006,
}
"""Added daily purchase probability per session from each channel in the last 7 days."""

TOUCH_MEMORY_DAYS = 7
LAST_UNSETTLED_DAYS = 31  # orders this recent are never refunded, voided or cancelled

# Daily visit probabilities at full interest, per channel (scaled by 0.2 + x).
VISIT_RATES: dict[int, float] = {
    cat.PAID_SOCIAL: 0.008,
    cat.PAID_SEARCH: 0.003,
    cat.ORGANIC: 0.004,
    cat.DIRECT: 0.004,
    cat.REFERRAL: 0.0015,
}
ACQUISITION_SHARES = {
    cat.PAID_SOCIAL: 0.38,
    cat.ORGANIC: 0.20,
    cat.PAID_SEARCH: 0.16,
    cat.DIRECT: 0.16,
    cat.REFERRAL: 0.10,
}
SETTLED_STATUS = (
    ("paid", 0.83),
    ("partially_refunded", 0.06),
    ("refunded", 0.05),
    ("voided", 0.03),
    ("cancelled", 0.03),
)
RECENT_STATUS = (("paid", 0.93), ("partially_refunded", 0.07))
PURCHASE_STATUSES = ("paid", "partially_refunded")


@dataclass
class Simulation:
    """What the simulation produced, in its own integer codes.

    Attributes
    ----------
    leads
        One row per identified lead (index = lead number): contact details,
        signup day and second, consent, acquisition channel.
    events
        One row per event: ``lead`` (identified leads first, then anonymous
        visitors), ``day``, ``sec`` (second of the local day), ``etype``,
        ``channel``, ``message``, ``product``, ``order`` (codes, -1 for none).
        Messaging events and orders go to Klaviyo's file, the rest to GA4's.
    orders
        One row per order placed (including test orders and orders of guests
        without an email): ``lead`` (-1 for guests), ``day``, ``sec``,
        ``status``, ``items`` (product codes), ``discount``, ``shipping``.
    checkouts
        Abandoned checkouts: ``lead``, ``day``, ``sec``, ``items``.
    messages, message_channel
        Campaign and flow names, and the channel code of each.
    day_start_us, day_len_s
        UTC microseconds of each local midnight, and each local day's length.
    start_date
        The first day of the horizon.
    n_anon
        How many anonymous visitors follow the leads in ``events``.
    caused
        Per channel, the expected purchases its sessions added (the sum over
        lead-days of ``beta`` times recent sessions).
    """

    leads: pd.DataFrame
    events: pd.DataFrame
    orders: pd.DataFrame
    checkouts: pd.DataFrame
    messages: list[str]
    message_channel: list[int]
    day_start_us: np.ndarray
    day_len_s: np.ndarray
    start_date: pd.Timestamp
    n_anon: int
    caused: np.ndarray


def _day_grid(end_date: str, horizon: int, timezone: str) -> tuple:
    """Local midnights (UTC microseconds) and day lengths of the horizon."""
    end = pd.Timestamp(end_date).normalize()
    start = end - pd.Timedelta(days=horizon - 1)
    midnights = pd.date_range(start, periods=horizon + 1, freq="D", tz=timezone)
    starts = midnights.as_unit("us").asi8
    lengths = (np.diff(starts) // 1_000_000).astype(np.int64)
    return start, starts, lengths


def _choice(rng: np.random.Generator, shares: dict[int, float], n: int) -> np.ndarray:
    keys = np.array(list(shares))
    probs = np.array(list(shares.values()))
    return keys[rng.choice(len(keys), size=n, p=probs / probs.sum())]


def _make_leads(
    rng: np.random.Generator, n: int, horizon: int, day_len
) -> pd.DataFrame:
    first = rng.integers(0, len(cat.FIRST_NAMES), n)
    last = rng.integers(0, len(cat.LAST_NAMES), n)
    domain = rng.integers(0, len(cat.EMAIL_DOMAINS), n)
    emails = [
        f"{cat.FIRST_NAMES[f][0].lower()}{cat.LAST_NAMES[g].lower()}{i + 100}"
        f"@{cat.EMAIL_DOMAINS[d]}"
        for i, (f, g, d) in enumerate(zip(first, last, domain, strict=True))
    ]
    signup_day = np.sort(horizon - 1 - (horizon * rng.beta(1.0, 1.8, n)).astype(int))
    latest = day_len[signup_day] - MARGIN_S
    signup_sec = (rng.uniform(0.25, 1.0, n) * latest).astype(np.int64)
    consent_sms = rng.random(n) < 0.3
    phones = [
        f"+1{rng.integers(201, 990)}555{rng.integers(0, 10_000):04d}" if s else ""
        for s in consent_sms
    ]
    return pd.DataFrame(
        {
            "email": emails,
            "phone": phones,
            "first_name": [cat.FIRST_NAMES[f] for f in first],
            "last_name": [cat.LAST_NAMES[g] for g in last],
            "city": rng.integers(0, len(cat.CITIES), n),
            "signup_day": signup_day,
            "signup_sec": signup_sec,
            "form": rng.choice(len(cat.SIGNUP_FORMS), n, p=[0.5, 0.25, 0.15, 0.1]),
            "acquisition": _choice(rng, ACQUISITION_SHARES, n),
            "consent_email": rng.random(n) < 0.92,
            "consent_sms": consent_sms,
            "mpp": rng.random(n) < 0.025,
            "weight": rng.beta(2.0, 3.0, n),
            "tau": rng.uniform(15.0, 90.0, n),
            "p_open": np.where(rng.random(n) < 0.2, 0.0, rng.beta(2.0, 3.0, n)),
            "ad_affinity": np.where(rng.random(n) < 0.7, rng.gamma(2.0, 0.5, n), 0.0),
            "favourite": rng.integers(0, len(cat.PRODUCTS), n),
        }
    )


def _messages(start: pd.Timestamp, horizon: int) -> tuple[list, list, dict, dict]:
    """Flows, then email campaigns (Tuesdays and Thursdays) and SMS (Fridays).

    Returns the names, their channel codes, and the message id sent on each
    campaign day (email, then SMS).
    """
    names = [*cat.FLOW_WELCOME, cat.FLOW_CART, cat.FLOW_POST_PURCHASE]
    channels = [cat.EMAIL] * len(names)
    email_days: dict[int, int] = {}
    for t in range(horizon):
        date = start + pd.Timedelta(days=t)
        if date.day_of_week in (1, 3):
            theme = cat.CAMPAIGN_THEMES[len(email_days) % len(cat.CAMPAIGN_THEMES)]
            email_days[t] = len(names)
            names.append(f"{date:%Y-%m-%d} {theme}")
            channels.append(cat.EMAIL)
    sms_days: dict[int, int] = {}
    for t in range(horizon):
        date = start + pd.Timedelta(days=t)
        if date.day_of_week == 4:
            sms_days[t] = len(names)
            theme = cat.SMS_THEMES[len(sms_days) % len(cat.SMS_THEMES)]
            names.append(f"{date:%Y-%m-%d} {theme}")
            channels.append(cat.SMS)
    return names, channels, email_days, sms_days


WELCOME, CART_FLOW, POST_PURCHASE = (0, 1, 2), 3, 4  # message ids of the flows
PURCHASE_STEPS = (  # the session in which a lead buys: (seconds after start, event)
    (0, cat.SESSION),
    (40, cat.PRODUCT_VIEW),
    (90, cat.ADD_TO_CART),
    (150, cat.CHECKOUT_STARTED),
    (300, cat.ORDER),
)


class _Store:
    """The state of every lead, advanced one local day at a time by :meth:`day`."""

    def __init__(self, rng, leads: pd.DataFrame, start, day_len, horizon: int) -> None:
        self.rng = rng
        self.leads = leads
        self.day_len = day_len
        self.horizon = horizon
        self.log = EventLog()
        self.sessions = Sessions(self.log, rng, len(leads))
        (self.messages, self.message_channel, self.email_days, self.sms_days) = (
            _messages(start, horizon)
        )
        self.featured = rng.integers(0, len(cat.PRODUCTS), len(self.messages))

        n = len(leads)
        col = {name: leads[name].to_numpy() for name in leads.columns}
        self.col = col
        self.consent_email = col["consent_email"].copy()
        self.consent_sms = col["consent_sms"].copy()
        self.anchor = col["signup_day"].astype(float)  # interest decays from here
        self.last_engaged = col["signup_day"].astype(float)
        self.purchases = np.zeros(n, dtype=np.int32)
        self.last_purchase_day = np.full(n, -10_000)
        self.last_cart_day = np.full(n, -10_000)
        self.cart_pending = np.zeros(n, dtype=bool)
        self.last_email = np.full(n, -1)
        self.last_sms = np.full(n, -1)
        self.ring = np.zeros((TOUCH_MEMORY_DAYS, len(cat.CHANNELS), n), dtype=np.int16)
        self.betas = np.array([TRUE_EFFECTS[c] for c in range(len(cat.CHANNELS))])
        self.caused = np.zeros(len(cat.CHANNELS))
        self.orders: list[dict] = []

    def day(self, t: int) -> None:
        """Simulate local day ``t``: signups, messages, visits, then purchases."""
        c = self.col
        self.t, self.dl = t, int(self.day_len[t])
        self.active = c["signup_day"] <= t
        decay = np.exp(-np.maximum(t - self.anchor, 0.0) / c["tau"])
        self.x = np.where(self.active, c["weight"] * (0.15 + 0.85 * decay), 0.0)
        self.today = np.zeros((len(cat.CHANNELS), len(self.leads)), dtype=np.int16)
        self._signups()
        self._emails()
        self._sms()
        self._visits()
        self.last_engaged[self.today.sum(axis=0) > 0] = t
        self._purchases()

        # carts left in today's sessions (before or after any order) start the flow
        for lead, _, _ in self.sessions.carts:
            self.cart_pending[lead] = True
            self.last_cart_day[lead] = t
        self.sessions.carts.clear()

    def _signups(self) -> None:
        """New leads: an acquisition session, then the signup itself."""
        c, t = self.col, self.t
        new = np.flatnonzero(c["signup_day"] == t)
        if len(new) == 0:
            return
        acq = c["acquisition"][new]
        sec = c["signup_sec"][new] - 600
        paid = acq == cat.PAID_SOCIAL
        ad = np.where(np.isin(acq, list(cat.AD_CAMPAIGNS)), -100 - acq, -1)
        self.log.add(
            new[paid],
            t,
            sec[paid] - 4,
            cat.AD_CLICK,
            channel=acq[paid],
            message=ad[paid],
        )
        self.sessions.run(
            t, new, acq, sec, self.x[new], c["favourite"][new], message=ad
        )
        self.today[acq, new] += 1
        self.log.add(
            new,
            t,
            sec + 600,
            cat.SIGNUP,
            message=-2 - c["form"][new],
        )

    def _emails(self) -> None:
        """Campaigns to the part of the list engaged in 14 days, and the flows."""
        c, t = self.col, self.t
        can = self.active & self.consent_email
        sends: list[tuple[np.ndarray, int]] = []
        if t in self.email_days:
            target = can & (t - self.last_engaged <= 14) & (c["signup_day"] < t)
            sends.append((np.flatnonzero(target), self.email_days[t]))
        for msg, delay in zip(WELCOME, (0, 2, 5), strict=True):
            sends.append((np.flatnonzero(can & (c["signup_day"] == t - delay)), msg))
        cart = can & self.cart_pending & (self.last_cart_day == t - 1)
        sends.append((np.flatnonzero(cart), CART_FLOW))
        bought = can & (self.last_purchase_day == t - 10)
        sends.append((np.flatnonzero(bought), POST_PURCHASE))
        for who, msg in sends:
            if len(who):
                self._email(who, msg)

    def _email(self, who: np.ndarray, msg: int) -> None:
        """One message to ``who``: opens (real or machine), clicks and sessions."""
        rng, c, t, dl, n = self.rng, self.col, self.t, self.dl, len(who)
        send = 36_000 + rng.integers(0, 3600, n)
        if msg == WELCOME[0]:
            send = c["signup_sec"][who] + 300
        if msg in (CART_FLOW, POST_PURCHASE):  # receipts of these flows only
            self.log.add(
                who,
                t,
                send,
                cat.EMAIL_DELIVERED,
                channel=cat.EMAIL,
                message=msg,
            )
        self.last_email[who] = msg
        x = self.x[who]
        real = rng.random(n) < c["p_open"][who] * (0.3 + 0.7 * x)
        machine = c["mpp"][who] & (rng.random(n) < 0.9)  # Apple Mail privacy opens
        opened = real | machine
        open_sec = np.where(
            real, send + rng.exponential(7200, n), send + rng.uniform(30, 900, n)
        ).astype(np.int64)
        late = open_sec >= dl  # late opens pile up just before local midnight
        open_sec[late] = dl - 1 - rng.integers(0, 20, late.sum())
        click = real & (rng.random(n) < (0.25 if msg == CART_FLOW else 0.05) + 0.25 * x)
        click_sec = np.minimum(
            open_sec + rng.integers(5, 600, n), dl - MARGIN_S - rng.integers(0, 600, n)
        )
        click &= click_sec > open_sec
        self.log.add(
            who[opened],
            t,
            open_sec[opened],
            cat.EMAIL_OPEN,
            channel=cat.EMAIL,
            message=msg,
        )
        r = rng.random(n)
        product = np.where(
            r < 0.5, self.featured[msg], np.where(r < 0.8, c["favourite"][who], -1)
        )
        self.log.add(
            who[click],
            t,
            click_sec[click],
            cat.EMAIL_CLICK,
            channel=cat.EMAIL,
            message=msg,
            product=product[click],
        )
        self.sessions.run(
            t,
            who[click],
            np.full(click.sum(), cat.EMAIL),
            click_sec[click] + 5,
            x[click],
            c["favourite"][who[click]],
            message=msg,
            first_product=product[click],
        )
        self.today[cat.EMAIL, who[click]] += 1
        self.last_engaged[who[real]] = t
        if msg in self.email_days.values():
            self.consent_email[who[rng.random(n) < 0.002]] = False

    def _sms(self) -> None:
        """The Friday SMS campaign to SMS subscribers."""
        rng, c, t = self.rng, self.col, self.t
        if t not in self.sms_days:
            return
        msg = self.sms_days[t]
        who = np.flatnonzero(self.active & self.consent_sms & (c["signup_day"] < t))
        self.last_sms[who] = msg
        click = rng.random(len(who)) < 0.02 + 0.08 * self.x[who]
        sec = 43_200 + rng.integers(0, 10_800, click.sum())
        self.log.add(
            who[click],
            t,
            sec,
            cat.SMS_CLICK,
            channel=cat.SMS,
            message=msg,
        )
        self.sessions.run(
            t,
            who[click],
            np.full(click.sum(), cat.SMS),
            sec + 5,
            self.x[who[click]],
            c["favourite"][who[click]],
            message=msg,
        )
        self.today[cat.SMS, who[click]] += 1
        self.consent_sms[who[rng.random(len(who)) < 0.003]] = False

    def _visits(self) -> None:
        """Ad clicks and unpaid visits, each more likely the higher the interest."""
        rng, c, t, n = self.rng, self.col, self.t, len(self.leads)
        for channel, rate in VISIT_RATES.items():
            p = rate * (0.2 + self.x)
            if channel == cat.PAID_SOCIAL:
                p = p * c["ad_affinity"]
            if channel == cat.DIRECT:
                p = p * (1.0 + (self.purchases > 0))
            who = np.flatnonzero(self.active & (rng.random(n) < p))
            sec = 10 + (rng.random(len(who)) * (self.dl - MARGIN_S)).astype(np.int64)
            ad = -100 - channel if channel in cat.AD_CAMPAIGNS else -1
            if channel == cat.PAID_SOCIAL:
                self.log.add(who, t, sec - 3, cat.AD_CLICK, channel=channel, message=ad)
            self.sessions.run(
                t,
                who,
                np.full(len(who), channel),
                sec,
                self.x[who],
                c["favourite"][who],
                message=ad,
            )
            self.today[channel, who] += 1

    def _purchases(self) -> None:
        """Draw today's buyers from the hazard of this and the last 6 days' touches."""
        rng, c, t = self.rng, self.col, self.t
        self.ring[t % TOUCH_MEMORY_DAYS] = self.today
        terms = self.betas[:, None] * self.ring.sum(axis=0)
        base = 0.0003 * (0.3 + c["weight"]) * (1.0 + 1.5 * (self.purchases > 0))
        hazard = np.minimum(base + terms.sum(axis=0), 0.6)
        self.caused += (terms * self.active).sum(axis=1)
        buyers = np.flatnonzero(self.active & (rng.random(len(self.leads)) < hazard))
        for i in buyers:
            shares = terms[:, i].copy()
            shares[cat.DIRECT] += 0.6 * base[i]
            shares[cat.ORGANIC] += 0.4 * base[i]
            channel = int(rng.choice(len(shares), p=shares / shares.sum()))
            self._buy(int(i), channel)

    def _buy(self, i: int, channel: int) -> None:
        """Lead ``i`` buys in a session from ``channel``; the order gets a status."""
        rng, t = self.rng, self.t
        msg = {cat.EMAIL: self.last_email[i], cat.SMS: self.last_sms[i]}.get(channel, 0)
        if msg < 0:  # never messaged on that channel: the visit is direct
            channel, msg = cat.DIRECT, 0
        sec = int(rng.random() * (self.dl - MARGIN_S)) + 60
        extra = rng.integers(0, len(cat.PRODUCTS), rng.poisson(0.4))
        items = [int(self.col["favourite"][i])] + [int(p) for p in extra][:3]
        tag = -1
        if channel == cat.PAID_SOCIAL:
            self.log.add(
                [i], t, sec - 3, cat.AD_CLICK, channel=channel, message=-100 - channel
            )
        elif channel in (cat.EMAIL, cat.SMS):
            etype = cat.EMAIL_CLICK if channel == cat.EMAIL else cat.SMS_CLICK
            self.log.add(
                [i],
                t,
                sec - 5,
                etype,
                channel=channel,
                message=msg,
                product=items[0] if channel == cat.EMAIL else -1,
            )
            tag = msg
        if channel in cat.AD_CAMPAIGNS:
            tag = -100 - channel
        order = len(self.orders)
        offsets, etypes = zip(*PURCHASE_STEPS, strict=True)
        self.log.add(
            [i] * 5,
            t,
            sec + np.array(offsets),
            np.array(etypes),
            channel=channel,
            message=np.array([tag, -1, -1, -1, -1]),
            product=np.array([-1, items[0], items[0], -1, -1]),
            order=np.array([-1, -1, -1, -1, order]),
        )

        settled = t <= self.horizon - 1 - LAST_UNSETTLED_DAYS
        table = SETTLED_STATUS if settled else RECENT_STATUS
        status = table[rng.choice(len(table), p=[p for _, p in table])][0]
        first = self.purchases[i] == 0
        self.orders.append(
            {
                "lead": i,
                "day": t,
                "sec": sec + PURCHASE_STEPS[-1][0],
                "status": status,
                "items": items,
                "first": first,
                "discount": 0.1 if first and rng.random() < 0.5 else 0.0,
            }
        )
        self.cart_pending[i] = False
        if status in PURCHASE_STATUSES:
            self.purchases[i] += 1
            self.last_purchase_day[i] = t
            self.anchor[i] = t


def simulate(
    n_leads: int, seed: int, end_date: str, timezone: str, horizon: int = 365
) -> Simulation:
    """Run the simulation; see the module docstring for the process.

    Parameters
    ----------
    n_leads
        Identified leads (each with an email); anonymous visitors come on top
        (a sixth as many).
    seed
        Seed of the random generator: the same seed gives the same store.
    end_date
        The last simulated day (``YYYY-MM-DD``, in ``timezone``).
    timezone
        The store's IANA time zone.
    horizon
        Days simulated, ending with ``end_date``.
    """
    rng = np.random.default_rng(seed)
    start, day_start, day_len = _day_grid(end_date, horizon, timezone)
    leads = _make_leads(rng, n_leads, horizon, day_len)
    store = _Store(rng, leads, start, day_len, horizon)
    for t in range(horizon):
        store.day(t)

    n_anon = _anonymous_visitors(rng, store.sessions, n_leads, horizon, day_len)
    orders = _extra_orders(rng, pd.DataFrame(store.orders), n_leads, horizon, day_len)
    checkouts = pd.DataFrame(
        store.sessions.checkouts, columns=["lead", "day", "sec", "items"]
    )
    leads["consent_email_end"] = store.consent_email
    leads["consent_sms_end"] = store.consent_sms
    events = store.log.frame()
    events["seq"] = np.arange(len(events))
    events = events.sort_values(["lead", "day", "sec", "seq"], kind="stable")
    events = events.drop(columns="seq").reset_index(drop=True)
    log.info(
        "simulated %d leads, %d events, %d orders", n_leads, len(events), len(orders)
    )
    return Simulation(
        leads,
        events,
        orders,
        checkouts,
        store.messages,
        store.message_channel,
        day_start,
        day_len,
        start,
        n_anon,
        store.caused,
    )


def _anonymous_visitors(
    rng, sessions: Sessions, n_leads: int, horizon: int, day_len: np.ndarray
) -> int:
    """Sessions of visitors who never leave an email (GA4 pseudo ids only)."""
    n_anon = max(n_leads // 6, 1)
    visits = 1 + rng.poisson(0.6, n_anon)
    who = np.repeat(np.arange(n_anon), visits) + n_leads
    days = rng.integers(0, horizon, len(who))
    channel = _choice(rng, ACQUISITION_SHARES, len(who))
    favourite = rng.integers(0, len(cat.PRODUCTS), n_anon)
    for t in np.unique(days):
        on = days == t
        sec = (rng.random(on.sum()) * (day_len[t] - MARGIN_S)).astype(np.int64)
        sessions.run(
            int(t),
            who[on],
            channel[on],
            sec,
            np.full(on.sum(), 0.3),
            favourite[who[on] - n_leads],
        )
    return n_anon


def _extra_orders(
    rng, orders: pd.DataFrame, n_leads: int, horizon: int, day_len: np.ndarray
) -> pd.DataFrame:
    """Add the orders no lead's journey explains: test orders and guest orders."""
    settled_end = horizon - 1 - LAST_UNSETTLED_DAYS
    extra = []
    staff = rng.choice(n_leads, 2, replace=False)
    for k in range(5):
        day = int(rng.integers(0, settled_end))
        extra.append(
            {
                "lead": int(staff[k % 2]),
                "day": day,
                "sec": int(rng.integers(36_000, 60_000)),
                "status": "test",
                "items": [int(rng.integers(0, len(cat.PRODUCTS)))],
                "first": False,
                "discount": 0.0,
            }
        )
    for _ in range(max(len(orders) // 60, 3)):
        day = int(rng.integers(0, horizon))
        extra.append(
            {
                "lead": -1,
                "day": day,
                "sec": int(rng.integers(0, day_len[day] - MARGIN_S)),
                "status": "paid",
                "items": [int(rng.integers(0, len(cat.PRODUCTS)))],
                "first": True,
                "discount": 0.0,
            }
        )
    out = pd.concat([orders, pd.DataFrame(extra)], ignore_index=True)
    out["sim_order"] = np.arange(len(out))
    return out
