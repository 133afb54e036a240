"""How far Klaviyo's attributed revenue overstates what email and SMS did.

Klaviyo credits an order, whole, to the latest message a person interacted with
before it, as long as the order falls inside that interaction's attribution window
(by default 5 days after an email open, an email click or an SMS click; 12 hours
after an SMS is delivered, when delivery events exist). :func:`replay` applies that
rule to the events, order by order, so the claim can be compared with what the
attribution models credit to Email and SMS. Opens count, and Apple Mail Privacy
Protection opens mail by itself, so part of the claim rests on opens alone.

:func:`report_comparison` puts the figures of Klaviyo's own reports (``claims``)
next to the deduplicated Shopify revenue of the same period: report rows by list or
segment, and Email and SMS rows of one campaign, count the same orders more than
once, so their naive sum is flagged as double counting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.model import Dataset

log = logging.getLogger(__name__)

HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
EMAIL_SMS = ("Email", "SMS")


@dataclass(frozen=True)
class KlaviyoSettings:
    """Klaviyo's attribution windows (its defaults), and whether opens count."""

    email_open_days: float = 5.0
    email_click_days: float = 5.0
    sms_click_days: float = 5.0
    sms_delivery_hours: float = 12.0
    use_opens: bool = True

    def windows_us(self, has_delivery: bool) -> dict[str, int]:
        """Window in microseconds per interaction event that can claim an order."""
        windows = {
            "email_click": int(self.email_click_days * DAY_US),
            "sms_click": int(self.sms_click_days * DAY_US),
        }
        if self.use_opens:
            windows["email_open"] = int(self.email_open_days * DAY_US)
            if has_delivery:
                windows["sms_delivered"] = int(self.sms_delivery_hours * HOUR_US)
        return windows


VIA = {
    "email_open": "open",
    "email_click": "click",
    "sms_click": "click",
    "sms_delivered": "delivery",
}
CHANNEL_OF = {
    "email_open": "Email",
    "email_click": "Email",
    "sms_click": "SMS",
    "sms_delivered": "SMS",
}


def has_messages(dataset: Dataset) -> bool:
    """Whether the data holds any email or SMS interaction."""
    return bool(dataset.events["event"].isin(list(VIA)).any())


def _interactions(events: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    frame = events[events["event"].isin(kinds) & events["person_id"].notna()]
    frame = frame.assign(
        its=pd.to_datetime(frame["ts"], utc=True)
        .astype("datetime64[us, UTC]")
        .astype("int64"),
        person_id=frame["person_id"].astype(str),
    )
    return frame[["person_id", "its", "event", "campaign"]].sort_values("its")


def _latest_within(
    orders: pd.DataFrame, interactions: pd.DataFrame, window_us: int
) -> pd.DataFrame:
    """Per order, the latest interaction at or before it and within ``window_us``."""
    if interactions.empty:
        return pd.DataFrame(index=orders.index, columns=["its", "event", "campaign"])
    merged = pd.merge_asof(
        orders[["ts_us", "person_id"]].reset_index(),
        interactions,
        left_on="ts_us",
        right_on="its",
        by="person_id",
        direction="backward",
        tolerance=window_us,
        allow_exact_matches=False,
    ).set_index("index")
    return merged[["its", "event", "campaign"]].reindex(orders.index)


def replay(
    dataset: Dataset,
    conversions: pd.DataFrame,
    settings: KlaviyoSettings | None = None,
) -> pd.DataFrame:
    """Klaviyo's last-touch rule replayed on every order.

    Parameters
    ----------
    dataset
        Its events give the opens, clicks and deliveries.
    conversions
        The orders: ``conv_id, person_id, ts_us, value`` (as
        :func:`pipeline.attribution.journeys.conversions_frame` returns).
    settings
        Windows; ``use_opens=False`` is the click-only replay.

    Returns
    -------
    pandas.DataFrame
        One row per order: ``order_id, person_id, ts_us, value, claimed, message,
        channel, via, interaction_us, click_in_window``.
    """
    settings = settings or KlaviyoSettings()
    events = dataset.events
    has_delivery = bool((events["event"] == "sms_delivered").any())
    windows = settings.windows_us(has_delivery)
    orders = conversions.dropna(subset=["person_id"]).copy()
    orders["person_id"] = orders["person_id"].astype(str)
    orders = orders.sort_values("ts_us")
    interactions = _interactions(events, list(windows))

    best = pd.DataFrame(
        {"its": np.full(len(orders), -1, dtype=np.int64)}, index=orders.index
    )
    best["event"], best["campaign"] = None, None
    click_in_window = np.zeros(len(orders), dtype=bool)
    for kind, window in windows.items():
        found = _latest_within(
            orders, interactions[interactions["event"] == kind], window
        )
        its = pd.to_numeric(found["its"], errors="coerce")
        later = its.notna().to_numpy() & (its.fillna(-1).to_numpy() > best["its"])
        best.loc[later, "its"] = its[later].astype(np.int64)
        best.loc[later, "event"] = kind
        best.loc[later, "campaign"] = found.loc[later, "campaign"]
        if kind in ("email_click", "sms_click"):
            click_in_window |= its.notna().to_numpy()

    claimed = best["its"].to_numpy() >= 0
    out = pd.DataFrame(
        {
            "order_id": conversions["conv_id"].astype(str),
            "person_id": conversions["person_id"],
            "ts_us": conversions["ts_us"],
            "value": conversions["value"].astype(float),
        }
    )
    out["claimed"] = False
    out.loc[orders.index, "claimed"] = claimed
    out["message"] = pd.Series(best["campaign"], dtype=object).where(claimed)
    out["channel"] = best["event"].map(CHANNEL_OF).where(claimed)
    out["via"] = best["event"].map(VIA).where(claimed)
    out["interaction_us"] = pd.Series(best["its"].where(claimed), dtype="Int64")
    out["click_in_window"] = False
    out.loc[orders.index, "click_in_window"] = click_in_window
    return out.reset_index(drop=True)


@dataclass
class Overstatement:
    """Klaviyo's claim against the orders and the models.

    Revenue figures are in the store's currency; ``overstatement`` is claimed
    revenue ÷ the reference model's Email + SMS revenue.
    """

    total_revenue: float
    claimed_revenue: float
    claimed_opens_only_revenue: float
    click_only_claimed_revenue: float
    overstatement: float
    claimed_orders: int
    orders: int
    reference_model: str
    model_email_sms_revenue: dict[str, float]
    claimed_with_ad_click_revenue: float
    claimed_already_intent_revenue: float
    orders_frame: pd.DataFrame

    def to_dict(self) -> dict[str, float]:
        """The CLI's ``klaviyo`` object."""
        return {
            "total_revenue": self.total_revenue,
            "claimed_revenue": self.claimed_revenue,
            "claimed_opens_only_revenue": self.claimed_opens_only_revenue,
            "click_only_claimed_revenue": self.click_only_claimed_revenue,
            "overstatement": self.overstatement,
        }


def email_sms_revenue(revenue: pd.DataFrame) -> dict[str, float]:
    """Each model's revenue credited to the Email and SMS channels."""
    rows = revenue.loc[revenue.index.isin(EMAIL_SMS)]
    return {model: float(rows[model].sum()) for model in revenue.columns}


def overstatement(
    dataset: Dataset,
    conversions: pd.DataFrame,
    model_revenue: pd.DataFrame,
    reference_model: str = "markov",
    settings: KlaviyoSettings | None = None,
    leads: pd.DataFrame | None = None,
) -> Overstatement:
    """Replay Klaviyo's rule and compare its claim with the models.

    Parameters
    ----------
    dataset, conversions, settings
        As for :func:`replay`.
    model_revenue
        Revenue per channel (rows) and model (columns), from
        :func:`pipeline.attribution.models.attribute`.
    reference_model
        The model whose Email + SMS revenue is the denominator.
    leads
        Optional stage entries (``person_id``, ``entered_purchase_intent``): claims
        on orders of leads already in purchase intent before the message are
        summed separately.

    Returns
    -------
    Overstatement
    """
    settings = settings or KlaviyoSettings()
    frame = replay(dataset, conversions, settings)
    click_only = replay(
        dataset,
        conversions,
        KlaviyoSettings(**{**settings.__dict__, "use_opens": False}),
    )
    frame["click_only_claimed"] = click_only["claimed"].to_numpy()
    frame["ad_click_in_window"] = _ad_click_in_window(dataset, frame, settings)
    frame["already_intent"] = _already_intent(frame, leads)

    claimed = frame["claimed"]
    by_model = email_sms_revenue(model_revenue)
    reference = by_model.get(reference_model, float("nan"))
    claimed_revenue = float(frame.loc[claimed, "value"].sum())
    ratio = claimed_revenue / reference if reference else float("nan")
    return Overstatement(
        total_revenue=float(frame["value"].sum()),
        claimed_revenue=claimed_revenue,
        claimed_opens_only_revenue=float(
            frame.loc[claimed & ~frame["click_in_window"], "value"].sum()
        ),
        click_only_claimed_revenue=float(
            frame.loc[frame["click_only_claimed"], "value"].sum()
        ),
        overstatement=ratio,
        claimed_orders=int(claimed.sum()),
        orders=len(frame),
        reference_model=reference_model,
        model_email_sms_revenue=by_model,
        claimed_with_ad_click_revenue=float(
            frame.loc[claimed & frame["ad_click_in_window"], "value"].sum()
        ),
        claimed_already_intent_revenue=float(
            frame.loc[claimed & frame["already_intent"], "value"].sum()
        ),
        orders_frame=frame,
    )


def _ad_click_in_window(
    dataset: Dataset, frame: pd.DataFrame, settings: KlaviyoSettings
) -> np.ndarray:
    """Whether an ad click fell inside the claiming interaction's window."""
    ads = _interactions(dataset.events, ["ad_click"])
    claimed = frame[frame["claimed"] & frame["person_id"].notna()].copy()
    if ads.empty or claimed.empty:
        return np.zeros(len(frame), dtype=bool)
    claimed["person_id"] = claimed["person_id"].astype(str)
    longest = max(settings.windows_us(True).values())
    claimed = claimed.sort_values("ts_us")
    found = _latest_within(claimed, ads, longest)
    windows = settings.windows_us(True)
    event_of = {v: k for k, v in VIA.items()}
    window = [
        windows.get(
            "sms_delivered"
            if via == "delivery"
            else ("sms_click" if ch == "SMS" else event_of.get(via, "email_click")),
            longest,
        )
        for via, ch in zip(claimed["via"], claimed["channel"], strict=True)
    ]
    its = pd.to_numeric(found["its"], errors="coerce").to_numpy()
    inside = np.nan_to_num(claimed["ts_us"].to_numpy() - its, nan=np.inf) <= window
    out = pd.Series(False, index=frame.index)
    out.loc[claimed.index] = inside
    return out.to_numpy()


def _already_intent(frame: pd.DataFrame, leads: pd.DataFrame | None) -> np.ndarray:
    """Whether the person entered purchase intent before the claiming message."""
    if leads is None or "entered_purchase_intent" not in leads:
        return np.zeros(len(frame), dtype=bool)
    entered = leads.set_index(leads["person_id"].astype(str))["entered_purchase_intent"]
    entered = pd.to_datetime(entered, utc=True).astype("datetime64[us, UTC]")
    entered_us = entered.astype("int64").where(entered.notna())
    at = frame["person_id"].astype(str).map(entered_us)
    before = pd.to_numeric(at, errors="coerce") < pd.to_numeric(
        frame["interaction_us"], errors="coerce"
    )
    return (before.fillna(False) & frame["claimed"]).to_numpy(bool)


def claimed_per_path(path_keys: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """Claimed revenue per conversion, aligned to a PathSet's ``path_key``."""
    claimed = frame.loc[frame["claimed"]].set_index("order_id")["value"]
    return pd.Series(path_keys).map(claimed).fillna(0.0).to_numpy(float)


REVENUE_METRIC = r"(?:placed.?order.?value|revenue|order.?value|conversion.?value)"


def report_comparison(
    claims: pd.DataFrame, purchases: pd.DataFrame, timezone: str = "UTC"
) -> pd.DataFrame:
    """Klaviyo's reported revenue per period next to the Shopify revenue of the period.

    Parameters
    ----------
    claims
        The model's ``claims`` table (Klaviyo report rows in long form).
    purchases
        Purchases (``ts``, ``net_value``), deduplicated across files.
    timezone
        The store's time zone: a report period of whole days covers those local days.

    Returns
    -------
    pandas.DataFrame
        One row per reported period: ``period_start, period_end, rows,
        naive_sum`` (every row added up), ``largest_row`` (the biggest single row),
        ``email_rows, sms_rows``, ``shopify_revenue``, ``shopify_orders``,
        ``naive_share`` and ``largest_share`` (of Shopify revenue) and
        ``double_counting`` (more than one row claims the same period's orders).
    """
    tool = claims["tool"].astype(str).str.lower().str.contains("klaviyo")
    metric = claims["metric"].astype(str).str.lower().str.contains(REVENUE_METRIC)
    rows = claims[tool & metric & claims["value"].notna()]
    if rows.empty:
        return pd.DataFrame()
    local = pd.to_datetime(purchases["ts"], utc=True).dt.tz_convert(timezone)
    local = local.dt.tz_localize(None)
    out = []
    keys = ["period_start", "period_end"]
    for (start, end), group in rows.groupby(keys, dropna=False):
        start, end = _naive(start), _naive(end)
        stop = end + pd.Timedelta(days=1) if end == end.normalize() else end
        inside = (local >= start) & (local < stop) if pd.notna(start) else local < stop
        revenue = float(purchases.loc[inside, "net_value"].sum())
        channel = group["channel"].astype(str)
        naive = float(group["value"].sum())
        largest = float(group["value"].max())
        out.append(
            {
                "period_start": start,
                "period_end": end,
                "rows": len(group),
                "naive_sum": naive,
                "largest_row": largest,
                "email_rows": int(channel.str.lower().eq("email").sum()),
                "sms_rows": int(channel.str.lower().eq("sms").sum()),
                "shopify_revenue": revenue,
                "shopify_orders": int(inside.sum()),
                "naive_share": naive / revenue if revenue else float("nan"),
                "largest_share": largest / revenue if revenue else float("nan"),
                "double_counting": len(group) > 1,
            }
        )
    return pd.DataFrame(out)


def _naive(stamp) -> pd.Timestamp:
    """A report boundary as a wall-clock time (reports give dates, stored as UTC)."""
    stamp = pd.Timestamp(stamp)
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
