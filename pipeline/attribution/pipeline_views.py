"""Pipeline movement attributed: stage transitions, their worth, campaigns, spend.

A *transition* is a lead's entry into a stage (captured, engaged, purchase intent,
customer) from the highest stage it had reached before; entries into a stage below
one already reached are not advances. Each transition is treated as a conversion:
its journey is the lead's touches in the lookback window before the entry and after
the entry into the stage it left, credited by the chosen model.

Pipeline-weighted attribution gives each transition a worth,
``(P(win | new stage) - P(win | old stage)) x expected order value``, with empirical
win rates (the share of leads that ever reached a stage and became customers) and
the average first-order value standing in for predicted value until customer
lifetime value is wired in; the model then shares that worth like revenue.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pipeline.attribution.heuristics import HEURISTICS, touch_shares
from pipeline.attribution.journeys import Journeys, JourneySettings, build_journeys
from pipeline.attribution.models import ModelSettings, model_arrays
from pipeline.attribution.paths import PathSet
from pipeline.model import Dataset

log = logging.getLogger(__name__)

STAGE_ORDER = ("awareness", "captured", "engaged", "purchase_intent", "customer")
TRANSITION_LABELS = {
    "captured": "awareness → captured",
    "engaged": "captured → engaged",
    "purchase_intent": "engaged → purchase intent",
    "customer": "purchase intent → customer",
}


def _entry_us(leads: pd.DataFrame, stage: str) -> np.ndarray:
    column = f"entered_{stage}"
    if column not in leads:
        return np.full(len(leads), np.nan)
    ts = pd.to_datetime(leads[column], utc=True).astype("datetime64[us, UTC]")
    return np.where(ts.notna(), ts.astype("int64"), np.nan)


def transitions(leads: pd.DataFrame) -> pd.DataFrame:
    """Every lead's advances: ``person_id, stage, from_stage, ts_us, after_us``.

    Parameters
    ----------
    leads
        The stage engine's leads (``person_id`` and ``entered_<stage>`` columns).
    """
    entries = {s: _entry_us(leads, s) for s in STAGE_ORDER[1:]}
    rows = []
    for rank, stage in enumerate(STAGE_ORDER[1:], start=1):
        at = entries[stage]
        higher = [entries[s] for s in STAGE_ORDER[rank + 1 :]]
        skipped = np.zeros(len(at), dtype=bool)
        for h in higher:
            skipped |= h < at
        prev_stage = np.full(
            len(at), STAGE_ORDER[rank - 1] if rank == 1 else "captured", dtype=object
        )
        prev_at = np.full(len(at), np.nan)
        for lower in STAGE_ORDER[1:rank]:
            e = entries[lower]
            later = e <= at  # the highest stage reached before the entry
            prev_stage = np.where(later, lower, prev_stage)
            prev_at = np.where(later, e, prev_at)
        ok = ~np.isnan(at) & ~skipped
        rows.append(
            pd.DataFrame(
                {
                    "person_id": leads["person_id"].astype(str).to_numpy()[ok],
                    "stage": stage,
                    "from_stage": prev_stage[ok],
                    "ts_us": at[ok].astype(np.int64),
                    "after_us": pd.array(
                        np.where(np.isnan(prev_at[ok]), 0, prev_at[ok]).astype(
                            np.int64
                        ),
                        dtype="Int64",
                    ),
                }
            )
        )
        rows[-1].loc[np.isnan(prev_at[ok]), "after_us"] = pd.NA
    return pd.concat(rows, ignore_index=True)


def win_rates(leads: pd.DataFrame) -> pd.Series:
    """P(win | stage): share of leads that reached each stage and became customers."""
    customer = ~np.isnan(_entry_us(leads, "customer"))
    rates = {"awareness": customer.mean() if len(leads) else np.nan}
    for stage in STAGE_ORDER[1:]:
        reached = ~np.isnan(_entry_us(leads, stage))
        if stage == "captured" and "identified" in leads:
            reached |= leads["identified"].fillna(False).to_numpy(bool)
        rates[stage] = customer[reached].mean() if reached.any() else np.nan
    rates["customer"] = 1.0
    return pd.Series(rates, dtype=float)


def expected_order_value(leads: pd.DataFrame, dataset: Dataset) -> float:
    """Average first-order value (the stand-in for a lead's predicted value)."""
    if "first_order_value" in leads and leads["first_order_value"].notna().any():
        return float(leads["first_order_value"].mean())
    purchases = dataset.purchases().sort_values("ts")
    first = purchases.dropna(subset=["person_id"]).drop_duplicates("person_id")
    return float(first["net_value"].mean()) if len(first) else 0.0


def transition_journeys(
    dataset: Dataset,
    leads: pd.DataFrame,
    settings: JourneySettings | None = None,
    weighted: bool = False,
) -> Journeys:
    """Journeys whose conversions are stage transitions.

    With ``weighted``, each transition's value is its pipeline worth (module notes);
    otherwise 1.
    """
    moves = transitions(leads)
    value = np.ones(len(moves))
    if weighted:
        rates = win_rates(leads)
        order_value = expected_order_value(leads, dataset)
        gain = (
            rates.reindex(moves["stage"]).to_numpy()
            - rates.reindex(moves["from_stage"]).to_numpy()
        )
        value = np.nan_to_num(gain) * order_value
    conversions = pd.DataFrame(
        {
            "conv_id": moves["person_id"] + "→" + moves["stage"],
            "person_id": moves["person_id"],
            "ts_us": moves["ts_us"],
            "value": value,
            "after_us": moves["after_us"],
        }
    )
    return build_journeys(dataset, settings, conversions)


def touch_credit(
    paths: PathSet, model: str, settings: ModelSettings | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each touch's share of conversions and revenue under ``model``.

    Rule-based models give touch shares directly; for Markov and Shapley each
    channel's credit is spread over its touches in proportion to their linear share.
    """
    settings = settings or ModelSettings()
    tp = paths.touch_path
    if model in HEURISTICS:
        shares = touch_shares(
            paths,
            model,
            half_life_days=settings.half_life_days,
            first_share=settings.first_share,
            last_share=settings.last_share,
        )
        return shares * paths.conversions[tp], shares * paths.value[tp]
    conv, rev, names = model_arrays(paths, model, settings)
    linear = touch_shares(paths, "linear")
    code = paths.touch_channel
    if tuple(names) != tuple(paths.channels):  # Shapley grouped rare channels
        index = {n: i for i, n in enumerate(names)}
        other = index.get("Other", -1)
        code = np.array([index.get(c, other) for c in paths.channels])[code]
    out = []
    for per_channel, weight in ((conv, paths.conversions), (rev, paths.value)):
        base = linear * weight[tp]
        total = np.bincount(code, base, len(names))
        scale = np.divide(per_channel, total, out=np.zeros(len(names)), where=total > 0)
        out.append(base * scale[code])
    return out[0], out[1]


def transition_credit(
    dataset: Dataset,
    leads: pd.DataFrame,
    model: str = "markov",
    journey_settings: JourneySettings | None = None,
    settings: ModelSettings | None = None,
    weighted: bool = False,
    journeys: Journeys | None = None,
) -> pd.DataFrame:
    """Transitions (or, with ``weighted``, pipeline worth) credited per channel.

    Returns one row per channel and one column per transition (labels in
    :data:`TRANSITION_LABELS`) plus ``total``.
    """
    journeys = journeys or transition_journeys(
        dataset, leads, journey_settings, weighted
    )
    conv, value = touch_credit(journeys.paths, model, settings)
    amount = value if weighted else conv
    touches = _touch_frame(journeys, amount)
    table = touches.pivot_table(
        index="channel",
        columns="transition",
        values="credit",
        aggfunc="sum",
        fill_value=0.0,
    )
    untouched = _untouched(journeys, weighted)
    if untouched is not None:
        table.loc["(unattributed)"] = untouched
    table = table.reindex(columns=[c for c in TRANSITION_LABELS.values() if c in table])
    table["total"] = table.sum(axis=1)
    return table.fillna(0.0)


def _touch_frame(journeys: Journeys, amount: np.ndarray) -> pd.DataFrame:
    paths = journeys.paths
    key = paths.path_key[paths.touch_path].astype(str)
    stage = pd.Series(key).str.rsplit("→", n=1).str[-1]
    return pd.DataFrame(
        {
            "channel": np.array(paths.channels, dtype=object)[paths.touch_channel],
            "campaign": paths.touch_campaign,
            "person_id": pd.Series(key).str.rsplit("→", n=1).str[0].to_numpy(),
            "transition": stage.map(TRANSITION_LABELS).to_numpy(),
            "credit": amount,
        }
    )


def _untouched(journeys: Journeys, weighted: bool) -> pd.Series | None:
    paths = journeys.paths
    empty = (paths.lengths == 0) & (paths.conversions > 0)
    if not empty.any():
        return None
    stage = pd.Series(paths.path_key[empty].astype(str)).str.rsplit("→", n=1).str[-1]
    amount = (paths.value if weighted else paths.conversions)[empty]
    return pd.Series(amount, index=stage.map(TRANSITION_LABELS)).groupby(level=0).sum()


def outbound_effectiveness(
    dataset: Dataset,
    leads: pd.DataFrame,
    model: str = "linear",
    journey_settings: JourneySettings | None = None,
    settings: ModelSettings | None = None,
    purchases: Journeys | None = None,
    moves: Journeys | None = None,
) -> pd.DataFrame:
    """Per email/SMS campaign or flow: leads it moved to a later stage, and orders.

    Columns: ``campaign, channel, leads_advanced`` (distinct leads with the campaign
    among the touches before an advance), ``advances_credited`` (by ``model``), one
    column per transition, ``orders_credited`` and ``revenue_credited``.
    ``purchases`` (purchase journeys) and ``moves`` (from
    :func:`transition_journeys`) are reused when given.
    """
    moves = moves or transition_journeys(dataset, leads, journey_settings)
    conv, _ = touch_credit(moves.paths, model, settings)
    touches = _touch_frame(moves, conv)
    touches = touches[
        touches["channel"].isin(["Email", "SMS"]) & touches["campaign"].notna()
    ]
    if touches.empty:
        return pd.DataFrame()
    grouped = touches.groupby(["campaign", "channel"])
    table = grouped.agg(
        leads_advanced=("person_id", "nunique"), advances_credited=("credit", "sum")
    )
    by_stage = touches.pivot_table(
        index=["campaign", "channel"],
        columns="transition",
        values="person_id",
        aggfunc="nunique",
        fill_value=0,
    )
    table = table.join(by_stage)
    purchases = purchases or build_journeys(dataset, journey_settings)
    conv, value = touch_credit(purchases.paths, model, settings)
    p = purchases.paths
    orders = (
        pd.DataFrame(
            {
                "campaign": p.touch_campaign,
                "channel": np.array(p.channels, dtype=object)[p.touch_channel],
                "orders_credited": conv,
                "revenue_credited": value,
            }
        )
        .dropna(subset=["campaign"])
        .groupby(["campaign", "channel"])
        .sum()
    )
    table = table.join(orders, how="left").fillna(0.0)
    return table.sort_values("advances_credited", ascending=False).reset_index()


def spend_metrics(
    dataset: Dataset,
    leads: pd.DataFrame,
    model: str = "markov",
    journey_settings: JourneySettings | None = None,
    settings: ModelSettings | None = None,
    clv: float | None = None,
    credit: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cost per captured lead, per stage advance, CAC and CLV:CAC by channel.

    Parameters
    ----------
    clv
        Customer lifetime value; default the average revenue per customer so far
        (a floor: it ignores future orders).
    credit
        A :func:`transition_credit` table to reuse.

    Returns
    -------
    pandas.DataFrame
        One row per channel with spend: ``spend, captured, advances, customers,
        cost_per_captured, cost_per_advance, cac, clv, clv_to_cac``.
    """
    spend = dataset.spend.groupby("channel")["spend"].sum()
    if spend.empty:
        return pd.DataFrame()
    if credit is None:
        credit = transition_credit(dataset, leads, model, journey_settings, settings)
    if clv is None:
        purchases = dataset.purchases()
        buyers = purchases["person_id"].nunique()
        clv = float(purchases["net_value"].sum() / buyers) if buyers else np.nan
    pick = credit.reindex(spend.index).fillna(0.0)
    captured = pick.get(TRANSITION_LABELS["captured"], 0.0)
    customers = pick.get(TRANSITION_LABELS["customer"], 0.0)
    advances = pick["total"] - captured if "total" in pick else 0.0
    out = pd.DataFrame(
        {
            "spend": spend,
            "captured": captured,
            "advances": advances,
            "customers": customers,
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_per_captured"] = out["spend"] / out["captured"].replace(0, np.nan)
        out["cost_per_advance"] = out["spend"] / out["advances"].replace(0, np.nan)
        out["cac"] = out["spend"] / out["customers"].replace(0, np.nan)
    out["clv"] = clv
    out["clv_to_cac"] = out["clv"] / out["cac"]
    return out


def pipeline_tables(
    dataset: Dataset,
    leads: pd.DataFrame,
    model: str = "linear",
    journey_settings: JourneySettings | None = None,
    settings: ModelSettings | None = None,
    purchases: Journeys | None = None,
) -> dict[str, pd.DataFrame]:
    """Every pipeline view at once, building the transition journeys only once.

    Returns ``{"transitions", "weighted", "outbound", "spend"}`` (see
    :func:`transition_credit`, :func:`outbound_effectiveness`, :func:`spend_metrics`;
    ``spend`` is empty without ad spend).
    """
    moves = transition_journeys(dataset, leads, journey_settings, weighted=True)
    args = (dataset, leads, model, journey_settings, settings)
    counts = transition_credit(*args, journeys=moves)
    return {
        "transitions": counts,
        "weighted": transition_credit(*args, weighted=True, journeys=moves),
        "outbound": outbound_effectiveness(*args, purchases=purchases, moves=moves),
        "spend": spend_metrics(*args, credit=counts),
    }
