"""The lead simulation behind the sample brand: one day at a time, vectorised over leads.

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
MARGIN_S = 1800  # sessions start at least this long before the end of their day
LAST_UNSETTLED_DAYS = 31  # orders this recent are never refunded, voided or cancelled

# Daily visit probabilities at full interest, per channel (scaled by 0.2 + x).
VISIT_RATES: dict[int, float] = {
    cat.PAID_SOCIAL: 0.012,
    cat.PAID_SEARCH: 0.005,
    cat.ORGANIC: 0.006,
    cat.DIRECT: 0.006,
    cat.REFERRAL: 0.002,
}
ACQUISITION_SHARES = {
    cat.PAID_SOCIAL: 0.38,
    cat.ORGANIC: 0.20,
    cat.PAID_SEARCH: 0.16,
    cat.DIRECT: 0.16,
    cat.REFERRAL: 0.10,
}
SETTLED_STATUS = (("paid", 0.83), ("partially_refunded", 0.06), ("refunded", 0.05),
                  ("voided", 0.03), ("cancelled", 0.03))
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
        ``channel``, ``message``, ``product``, ``order`` (codes, -1 for none) and
        ``file`` (``"ga4"`` or ``"klaviyo"``).
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


class _Log:
    """Event columns collected batch by batch, joined once at the end."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {
            k: [] for k in ("lead", "day", "sec", "etype", "channel", "message",
                            "product", "order", "file")
        }

    def add(self, lead, day, sec, etype, *, channel=-1, message=-1, product=-1,
            order=-1, file="ga4") -> None:
        lead = np.asarray(lead, dtype=np.int32)
        n = len(lead)
        if n == 0:
            return
        for key, value, dtype in (
            ("lead", lead, np.int32), ("day", day, np.int32), ("sec", sec, np.int32),
            ("etype", etype, np.int8), ("channel", channel, np.int8),
            ("message", message, np.int32), ("product", product, np.int16),
            ("order", order, np.int32),
        ):
            self.parts[key].append(np.broadcast_to(np.asarray(value, dtype), n).copy())
        self.parts["file"].append(np.full(n, file == "klaviyo", dtype=bool))

    def frame(self) -> pd.DataFrame:
        out = {k: np.concatenate(v) for k, v in self.parts.items()}
        frame = pd.DataFrame(out)
        frame["file"] = np.where(frame["file"], "klaviyo", "ga4")
        return frame


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


def _make_leads(rng: np.random.Generator, n: int, horizon: int, day_len) -> pd.DataFrame:
    first = rng.integers(0, len(cat.FIRST_NAMES), n)
    last = rng.integers(0, len(cat.LAST_NAMES), n)
    domain = rng.integers(0, len(cat.EMAIL_DOMAINS), n)
    emails = [
        f"{cat.FIRST_NAMES[f].lower()}.{cat.LAST_NAMES[g].lower()}{i + 100}"
        f"@{cat.EMAIL_DOMAINS[d]}"
        for i, (f, g, d) in enumerate(zip(first, last, domain, strict=True))
    ]
    signup_day = np.sort(rng.integers(0, horizon, n))
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
            "mpp": rng.random(n) < 0.06,
            "weight": rng.beta(2.0, 3.0, n),
            "tau": rng.uniform(15.0, 90.0, n),
            "p_open": np.where(rng.random(n) < 0.2, 0.0, rng.beta(2.0, 3.0, n)),
            "ad_affinity": np.where(rng.random(n) < 0.7, rng.gamma(2.0, 0.5, n), 0.0),
            "favourite": rng.integers(0, len(cat.PRODUCTS), n),
        }
    )


class _Sessions:
    """Turn batches of sessions into web events; remember carts and checkouts."""

    def __init__(self, log_: _Log, rng: np.random.Generator, n_leads: int) -> None:
        self.log = log_
        self.rng = rng
        self.n_leads = n_leads
        self.carts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.checkouts: list[tuple] = []

    def run(self, day, lead, channel, sec, x, favourite, *, message=-1,
            first_product=-1) -> None:
        """Sessions of ``lead`` starting at ``sec`` of ``day`` (arrays or scalars)."""
        rng, n = self.rng, len(lead)
        if n == 0:
            return
        message = np.broadcast_to(np.asarray(message), n)
        first_product = np.broadcast_to(np.asarray(first_product), n)
        step = rng.integers(20, 80, n)
        self.log.add(lead, day, sec, cat.SESSION, channel=channel, message=message)

        # product views: the clicked product first, then the favourite or others
        views = np.minimum(rng.poisson(0.5 + 2.0 * x), 8)
        views = np.where(first_product >= 0, np.maximum(views, 1), views)
        idx = np.repeat(np.arange(n), views)
        pos = np.arange(len(idx)) - np.repeat(np.cumsum(views) - views, views)
        product = np.where(rng.random(len(idx)) < 0.55, favourite[idx],
                           rng.integers(0, len(cat.PRODUCTS), len(idx)))
        product = np.where((pos == 0) & (first_product[idx] >= 0),
                           first_product[idx], product)
        self.log.add(lead[idx], day, sec[idx] + (pos + 1) * step[idx],
                     cat.PRODUCT_VIEW, channel=channel[idx], product=product)
        landing = views == 0
        self.log.add(lead[landing], day, sec[landing] + step[landing], cat.PAGE_VIEW,
                     channel=channel[landing])

        # what follows the views, each at its own position in the session
        last_seen = np.full(n, -1)
        last_seen[idx] = product  # the last view of each session wins
        seen = views > 0
        tail = sec + (views + 1) * step
        kinds = (
            (cat.SIZING_VIEW, 0.03 + 0.10 * x, -1),
            (cat.WISHLIST_ADD, 0.02 + 0.05 * x, None),
            (cat.ADD_TO_CART, 0.03 + 0.12 * x, None),
        )
        cart = np.zeros(n, dtype=bool)
        for k, (etype, prob, prod) in enumerate(kinds):
            hit = seen & (rng.random(n) < prob)
            if etype == cat.ADD_TO_CART:
                cart = hit
            self.log.add(lead[hit], day, tail[hit] + k * step[hit], etype,
                         channel=channel[hit],
                         product=last_seen[hit] if prod is None else -1)
        checkout = cart & (rng.random(n) < 0.4)
        checkout_sec = tail + 3 * step
        self.log.add(lead[checkout], day, checkout_sec[checkout], cat.CHECKOUT_STARTED,
                     channel=channel[checkout])
        known = lead < self.n_leads
        self.carts.append((lead[cart & known], np.full((cart & known).sum(), day),
                           tail[cart & known] + 2 * step[cart & known]))
        keep = checkout & known
        for lead_i, sec_i, prod_i in zip(lead[keep], checkout_sec[keep],
                                         last_seen[keep], strict=True):
            self.checkouts.append((int(lead_i), int(day), int(sec_i), [int(prod_i)]))


def _campaign_names(start: pd.Timestamp, horizon: int) -> dict[int, str]:
    """Email campaign days (Tuesdays and Thursdays) and their names."""
    names = {}
    for t in range(horizon):
        date = start + pd.Timedelta(days=t)
        if date.dayofweek in (1, 3):
            theme = cat.CAMPAIGN_THEMES[len(names) % len(cat.CAMPAIGN_THEMES)]
            names[t] = f"{date:%Y-%m-%d} {theme}"
    return names


def simulate(
    n_leads: int, seed: int, end_date: str, timezone: str, horizon: int = 365
) -> Simulation:
    """Run the simulation; see the module docstring for the process.

    Parameters
    ----------
    n_leads
        Identified leads (each with an email); anonymous visitors come on top
        (a quarter as many).
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
    elog = _Log()
    sessions = _Sessions(elog, rng, n_leads)

    # messages: campaigns, flows, SMS campaigns
    campaigns = _campaign_names(start, horizon)
    messages = list(cat.FLOW_WELCOME) + [cat.FLOW_CART, cat.FLOW_POST_PURCHASE]
    message_channel = [cat.EMAIL] * len(messages)
    campaign_id = {}
    for t, name in campaigns.items():
        campaign_id[t] = len(messages)
        messages.append(name)
        message_channel.append(cat.EMAIL)
    sms_id = {}
    for t in range(horizon):
        if (start + pd.Timedelta(days=t)).dayofweek == 4:
            sms_id[t] = len(messages)
            messages.append(f"{start + pd.Timedelta(days=t):%Y-%m-%d} "
                            f"{cat.SMS_THEMES[len(sms_id) % len(cat.SMS_THEMES)]}")
            message_channel.append(cat.SMS)
    featured = rng.integers(0, len(cat.PRODUCTS), len(messages))

    n = n_leads
    signup_day = leads["signup_day"].to_numpy()
    weight = leads["weight"].to_numpy()
    tau = leads["tau"].to_numpy()
    p_open = leads["p_open"].to_numpy()
    mpp = leads["mpp"].to_numpy()
    ad_aff = leads["ad_affinity"].to_numpy()
    favourite = leads["favourite"].to_numpy()
    consent_email = leads["consent_email"].to_numpy().copy()
    consent_sms = leads["consent_sms"].to_numpy().copy()
    anchor = signup_day.astype(float)
    last_engaged = signup_day.astype(float)
    purchases = np.zeros(n, dtype=np.int32)
    last_purchase_day = np.full(n, -10_000)
    last_cart_day = np.full(n, -10_000)
    cart_pending = np.zeros(n, dtype=bool)
    last_email_msg = np.full(n, -1)
    last_sms_msg = np.full(n, -1)
    ring = np.zeros((TOUCH_MEMORY_DAYS, len(cat.CHANNELS), n), dtype=np.int16)
    betas = np.array([TRUE_EFFECTS[c] for c in range(len(cat.CHANNELS))])
    orders: list[dict] = []
    all_leads = np.arange(n)
    caused = np.zeros(len(cat.CHANNELS))

    for t in range(horizon):
        dl = int(day_len[t])
        active = signup_day <= t
        x = weight * (0.15 + 0.85 * np.exp(-np.maximum(t - anchor, 0.0) / tau))
        x = np.where(active, x, 0.0)
        today = np.zeros((len(cat.CHANNELS), n), dtype=np.int16)

        # signups: an acquisition session, then the signup itself
        new = np.flatnonzero(signup_day == t)
        if len(new):
            acq = leads["acquisition"].to_numpy()[new]
            sec = leads["signup_sec"].to_numpy()[new] - 600
            paid = np.isin(acq, list(cat.AD_CAMPAIGNS))
            ad = np.where(paid, -100 - acq, -1)
            elog.add(new[paid], t, sec[paid] - 4, cat.AD_CLICK, channel=acq[paid],
                     message=ad[paid])
            sessions.run(t, new, acq, sec, x[new], favourite[new], message=ad)
            today[acq, new] += 1
            elog.add(new, t, sec + 600, cat.SIGNUP,
                     message=-2 - leads["form"].to_numpy()[new], file="klaviyo")

        # email: campaigns to the engaged part of the list, and flows
        can_email = active & consent_email
        sends: list[tuple[np.ndarray, int, bool]] = []
        if t in campaign_id:
            target = can_email & (t - last_engaged <= 30) & (signup_day < t)
            sends.append((np.flatnonzero(target), campaign_id[t], False))
        for k, delay in enumerate((0, 2, 5)):
            sends.append((np.flatnonzero(can_email & (signup_day == t - delay)), k, True))
        sends.append((np.flatnonzero(can_email & cart_pending
                                     & (last_cart_day == t - 1)), 3, True))
        sends.append((np.flatnonzero(can_email & (last_purchase_day == t - 10)), 4, True))
        for who, msg, is_flow in sends:
            if len(who) == 0:
                continue
            base = 36_000 if msg != 0 else 0
            send = base + rng.integers(0, 3600, len(who))
            if msg == 0:
                send = leads["signup_sec"].to_numpy()[who] + 300
            if is_flow and msg != 1 and msg != 2:
                elog.add(who, t, send, cat.EMAIL_DELIVERED, channel=cat.EMAIL,
                         message=msg, file="klaviyo")
            last_email_msg[who] = msg
            real = rng.random(len(who)) < p_open[who] * (0.3 + 0.7 * x[who])
            machine = mpp[who] & (rng.random(len(who)) < 0.9)
            opened = real | machine
            open_sec = np.where(real, send + rng.exponential(7200, len(who)),
                                send + rng.uniform(30, 900, len(who))).astype(np.int64)
            late = open_sec >= dl
            open_sec[late] = dl - 1 - rng.integers(0, 20, late.sum())
            click_p = (0.25 if msg == 3 else 0.08) + 0.3 * x[who]
            click = real & (rng.random(len(who)) < click_p)
            click_sec = np.minimum(open_sec + rng.integers(5, 600, len(who)),
                                   dl - MARGIN_S - rng.integers(0, 600, len(who)))
            click &= click_sec > open_sec
            elog.add(who[opened], t, open_sec[opened], cat.EMAIL_OPEN,
                     channel=cat.EMAIL, message=msg, file="klaviyo")
            r = rng.random(len(who))
            prod = np.where(r < 0.5, featured[msg], np.where(r < 0.8, favourite[who], -1))
            elog.add(who[click], t, click_sec[click], cat.EMAIL_CLICK, channel=cat.EMAIL,
                     message=msg, product=prod[click], file="klaviyo")
            sessions.run(t, who[click], np.full(click.sum(), cat.EMAIL),
                         click_sec[click] + 5, x[who[click]], favourite[who[click]],
                         message=msg, first_product=prod[click])
            today[cat.EMAIL, who[click]] += 1
            last_engaged[who[real]] = t
            if not is_flow:
                consent_email[who[rng.random(len(who)) < 0.002]] = False

        # SMS campaigns on Fridays
        if t in sms_id:
            who = np.flatnonzero(active & consent_sms & (signup_day < t))
            last_sms_msg[who] = sms_id[t]
            click = rng.random(len(who)) < 0.04 + 0.12 * x[who]
            sec = 43_200 + rng.integers(0, 10_800, click.sum())
            elog.add(who[click], t, sec, cat.SMS_CLICK, channel=cat.SMS,
                     message=sms_id[t], file="klaviyo")
            sessions.run(t, who[click], np.full(click.sum(), cat.SMS), sec + 5,
                         x[who[click]], favourite[who[click]], message=sms_id[t])
            today[cat.SMS, who[click]] += 1
            consent_sms[who[rng.random(len(who)) < 0.003]] = False

        # ads and unpaid visits
        for channel, rate in VISIT_RATES.items():
            p = rate * (0.2 + x)
            if channel == cat.PAID_SOCIAL:
                p = p * ad_aff
            if channel == cat.DIRECT:
                p = p * (1.0 + (purchases > 0))
            who = np.flatnonzero(active & (rng.random(n) < p))
            sec = 10 + (rng.random(len(who)) * (dl - MARGIN_S)).astype(np.int64)
            ad = -100 - channel if channel in cat.AD_CAMPAIGNS else -1
            if channel in cat.AD_CAMPAIGNS:
                elog.add(who, t, sec - 3, cat.AD_CLICK, channel=channel, message=ad)
            sessions.run(t, who, np.full(len(who), channel), sec, x[who],
                         favourite[who], message=ad)
            today[channel, who] += 1
        last_engaged[today.sum(axis=0) > 0] = t

        # the purchase hazard, from this and the previous six days' sessions
        ring[t % TOUCH_MEMORY_DAYS] = today
        recent = ring.sum(axis=0)
        base = 0.0004 * (0.3 + weight) * (1.0 + 1.5 * (purchases > 0))
        terms = betas[:, None] * recent
        hazard = np.minimum(base + terms.sum(axis=0), 0.6)
        caused += (terms * active).sum(axis=1)
        buyers = all_leads[active & (rng.random(n) < hazard)]
        for i in buyers:
            shares = terms[:, i].copy()
            shares[cat.DIRECT] += 0.6 * base[i]
            shares[cat.ORGANIC] += 0.4 * base[i]
            channel = int(rng.choice(len(shares), p=shares / shares.sum()))
            msg = {cat.EMAIL: last_email_msg[i], cat.SMS: last_sms_msg[i]}.get(channel, 0)
            if msg < 0:
                channel, msg = cat.DIRECT, 0
            sec = int(rng.random() * (dl - MARGIN_S)) + 60
            items = [int(favourite[i])] + [
                int(p) for p in rng.integers(0, len(cat.PRODUCTS), rng.poisson(0.4))
            ][:3]
            if channel in cat.AD_CAMPAIGNS:
                elog.add([i], t, sec - 3, cat.AD_CLICK, channel=channel,
                         message=-100 - channel)
            elif channel in (cat.EMAIL, cat.SMS):
                etype = cat.EMAIL_CLICK if channel == cat.EMAIL else cat.SMS_CLICK
                elog.add([i], t, sec - 5, etype, channel=channel, message=msg,
                         product=items[0] if channel == cat.EMAIL else -1,
                         file="klaviyo")
            order = len(orders)
            mtag = msg if channel in (cat.EMAIL, cat.SMS) else -1
            if channel in cat.AD_CAMPAIGNS:
                mtag = -100 - channel
            elog.add([i] * 5, t, sec + np.array([0, 40, 90, 150, 300]),
                     np.array([cat.SESSION, cat.PRODUCT_VIEW, cat.ADD_TO_CART,
                               cat.CHECKOUT_STARTED, cat.ORDER]),
                     channel=channel,
                     message=np.array([mtag, -1, -1, -1, -1]),
                     product=np.array([-1, items[0], items[0], -1, -1]),
                     order=np.array([-1, -1, -1, -1, order]))
            settled = t <= horizon - 1 - LAST_UNSETTLED_DAYS
            table = SETTLED_STATUS if settled else RECENT_STATUS
            status = table[rng.choice(len(table), p=[p for _, p in table])][0]
            orders.append({
                "lead": int(i), "day": t, "sec": sec + 300, "status": status,
                "items": items, "first": purchases[i] == 0,
                "discount": 0.1 if purchases[i] == 0 and rng.random() < 0.5 else 0.0,
            })
            cart_pending[i] = False
            if status in PURCHASE_STATUSES:
                purchases[i] += 1
                last_purchase_day[i] = t
                anchor[i] = t

        # carts left in today's sessions (before or after any order) start the flow
        for lead_c, _, _ in sessions.carts:
            cart_pending[lead_c] = True
            last_cart_day[lead_c] = t
        sessions.carts.clear()

    n_anon = _anonymous_visitors(rng, sessions, n_leads, horizon, day_len)
    order_frame = _extra_orders(rng, pd.DataFrame(orders), n_leads, horizon, day_len)
    checkouts = pd.DataFrame(sessions.checkouts, columns=["lead", "day", "sec", "items"])
    leads["consent_email_end"] = consent_email
    leads["consent_sms_end"] = consent_sms
    events = elog.frame()
    events["seq"] = np.arange(len(events))
    events = events.sort_values(["lead", "day", "sec", "seq"], kind="stable")
    events = events.drop(columns="seq").reset_index(drop=True)
    log.info("simulated %d leads, %d events, %d orders", n, len(events), len(order_frame))
    return Simulation(leads, events, order_frame, checkouts, messages, message_channel,
                      day_start, day_len, start, n_anon, caused)


def _anonymous_visitors(rng, sessions: _Sessions, n_leads: int, horizon: int,
                        day_len: np.ndarray) -> int:
    """Sessions of visitors who never leave an email (GA4 pseudo ids only)."""
    n_anon = max(n_leads // 4, 1)
    visits = 1 + rng.poisson(0.6, n_anon)
    who = np.repeat(np.arange(n_anon), visits) + n_leads
    days = rng.integers(0, horizon, len(who))
    channel = _choice(rng, ACQUISITION_SHARES, len(who))
    favourite = rng.integers(0, len(cat.PRODUCTS), n_anon)
    for t in np.unique(days):
        on = days == t
        sec = (rng.random(on.sum()) * (day_len[t] - MARGIN_S)).astype(np.int64)
        sessions.run(int(t), who[on], channel[on], sec, np.full(on.sum(), 0.3),
                     favourite[who[on] - n_leads])
    return n_anon


def _extra_orders(rng, orders: pd.DataFrame, n_leads: int, horizon: int,
                  day_len: np.ndarray) -> pd.DataFrame:
    """Add the orders no lead's journey explains: test orders and guest orders."""
    settled_end = horizon - 1 - LAST_UNSETTLED_DAYS
    extra = []
    staff = rng.choice(n_leads, 2, replace=False)
    for k in range(5):
        day = int(rng.integers(0, settled_end))
        extra.append({"lead": int(staff[k % 2]), "day": day,
                      "sec": int(rng.integers(36_000, 60_000)), "status": "test",
                      "items": [int(rng.integers(0, len(cat.PRODUCTS)))],
                      "first": False, "discount": 0.0})
    for _ in range(max(len(orders) // 60, 3)):
        day = int(rng.integers(0, horizon))
        extra.append({"lead": -1, "day": day,
                      "sec": int(rng.integers(0, day_len[day] - MARGIN_S)),
                      "status": "paid", "items": [int(rng.integers(0, len(cat.PRODUCTS)))],
                      "first": True, "discount": 0.0})
    out = pd.concat([orders, pd.DataFrame(extra)], ignore_index=True)
    out["sim_order"] = np.arange(len(out))
    return out
