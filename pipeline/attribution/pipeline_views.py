"""Pipeline movement attributed: stage transitions, their worth, campaigns, spend.

A *transition* is a lead's entry into a stage (captured, engaged, purchase intent,
customer) from the highest stage it had reached before; entries into a stage below
one already reached are not advances. Each transition is treated as a conversion:
its journey is the lead's touches in the lookback window before the entry and after
the entry into the stage it left, credited by the chosen model.

Pipeline-weighted attribution gives each transition a worth,
``(P(win | new stage) - P(win | old stage)) x the lead's predicted value``, and the
chosen model shares that worth like revenue (:class:`TransitionWorth`). With
:func:`transition_worth`, P(win | stage) is the Kaplan-Meier probability of becoming
a customer within a horizon of entering the stage
(:func:`pipeline.survival.win_probability_by_stage`; 0 for anonymous awareness,
which has no entry time, and 1 for customer), and the predicted value is the
expected value of a new customer from BG/NBD and Gamma-Gamma, or, for a lead who is
a customer by now, that customer's purchases so far plus predicted future value.
Without it (:func:`empirical_worth`), the empirical win rates (the share of leads
that ever reached a stage and became customers) and the average first-order value
are used. A KM probability may fall from one stage to the next (leads entering the
later stage convert no faster within the horizon): that advance then has a negative
worth, and its touches negative credit.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pipeline import survival
from pipeline.attribution.heuristics import HEURISTICS, touch_shares
from pipeline.attribution.journeys import Journeys, JourneySettings, build_journeys
from pipeline.attribution.models import ModelSettings, model_arrays
from pipeline.attribution.paths import PathSet
from pipeline.funnel import STAGE_LABELS
from pipeline.model import Dataset
from pipeline.survival import win_probability_by_stage

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


@dataclass
class TransitionWorth:
    """What a lead's advance is worth: P(win | stage) and the lead's predicted value.

    Attributes
    ----------
    win
        P(win | stage) for every stage of :data:`STAGE_ORDER` (customer 1).
    value
        Predicted value of a lead who is not a customer yet (a new customer's).
    lead_values
        Predicted value of leads who are customers already, by ``person_id``.
    how
        One sentence for the page on where the figures come from.
    from_models
        Whether the values come from the customer-value models (else averages).
    """

    win: pd.Series
    value: float
    lead_values: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    how: str = ""
    from_models: bool = False

    def values_of(self, person_id: pd.Series) -> np.ndarray:
        """Each lead's predicted value (``value`` unless it is a known customer)."""
        known = pd.Series(person_id).astype(str).map(self.lead_values)
        return known.fillna(self.value).to_numpy(float)


def empirical_worth(leads: pd.DataFrame, dataset: Dataset) -> TransitionWorth:
    """Worth from empirical win rates and the average first-order value."""
    return TransitionWorth(
        win_rates(leads),
        expected_order_value(leads, dataset),
        how="empirical win rates (share of leads reaching a stage who bought) × "
        "average first-order value",
    )


def transition_worth(
    leads: pd.DataFrame,
    as_of: dt.date,
    new_customer_value: float,
    customer_values: pd.Series | None = None,
    horizon_days: float = 90.0,
    timezone: str = "UTC",
    from_models: bool = True,
) -> TransitionWorth:
    """Worth from Kaplan-Meier win probabilities and predicted customer value.

    Parameters
    ----------
    leads
        The stage engine's leads as of ``as_of``.
    as_of
        The local day of the leads; open leads are censored at its end.
    new_customer_value
        Expected value of a new customer (for example
        :func:`pipeline.clv_pricing.expected_new_customer_value`).
    customer_values
        Predicted value of existing customers by ``person_id`` (for example
        :func:`pipeline.clv_pricing.customer_values`); others get
        ``new_customer_value``.
    horizon_days
        Win horizon of P(win | stage).
    timezone
        The store's time zone.
    from_models
        Whether the values came from the customer-value models (for the label).
    """
    table = win_probability_by_stage(leads, as_of, horizon_days, timezone=timezone)
    win = pd.Series(0.0, index=list(STAGE_ORDER))
    win.update(table.set_index("stage")["win_probability"])
    win["customer"] = 1.0
    value_text = (
        "predicted value (a new customer's from BG/NBD and Gamma-Gamma; a customer's "
        "own purchases so far plus predicted future value)"
        if from_models
        else "average first purchase (customer models not usable)"
    )
    few = [
        STAGE_LABELS.get(stage, stage).lower()
        for stage, note in table.set_index("stage")["note"].items()
        if note
    ]
    caveat = (
        f". Too few leads entered {', '.join(few)} for a win probability (fewer than "
        f"{survival.MIN_LEADS}): taken as 0, so the worth of reaching "
        f"{'it' if len(few) == 1 else 'them'} goes to the later steps"
        if few
        else ""
    )
    return TransitionWorth(
        win,
        float(new_customer_value),
        customer_values if customer_values is not None else pd.Series(dtype=float),
        f"Kaplan-Meier P(customer within {horizon_days:,.0f} days | stage) × the "
        f"lead's {value_text}{caveat}",
        from_models,
    )


def transition_worths(leads: pd.DataFrame, worth: TransitionWorth) -> pd.DataFrame:
    """Every advance with its worth: ``person_id, stage, from_stage, gain, value,
    worth`` (``gain`` = P(win | stage) - P(win | from_stage), NaN read as 0)."""
    moves = transitions(leads)
    gain = np.nan_to_num(
        worth.win.reindex(moves["stage"]).to_numpy(float)
        - worth.win.reindex(moves["from_stage"]).to_numpy(float)
    )
    value = worth.values_of(moves["person_id"])
    return moves[["person_id", "stage", "from_stage"]].assign(
        gain=gain, value=value, worth=gain * value
    )


def worth_by_transition(leads: pd.DataFrame, worth: TransitionWorth) -> pd.DataFrame:
    """Advances and their total worth per transition, for the page.

    Returns
    -------
    pandas.DataFrame
        Indexed by transition label: ``advances``, ``mean_gain`` (mean change in
        P(win)), ``mean_value`` (mean predicted value of the leads) and ``worth``
        (total); the ``worth`` column sums to the weighted credit's total.
    """
    moves = transition_worths(leads, worth)
    table = moves.groupby("stage").agg(
        advances=("worth", "size"), mean_gain=("gain", "mean"),
        mean_value=("value", "mean"), worth=("worth", "sum"),
    )
    order = [s for s in TRANSITION_LABELS if s in table.index]
    return table.loc[order].rename(index=TRANSITION_LABELS)


def transition_journeys(
    dataset: Dataset,
    leads: pd.DataFrame,
    settings: JourneySettings | None = None,
    weighted: bool = False,
    worth: TransitionWorth | None = None,
) -> Journeys:
    """Journeys whose conversions are stage transitions.

    With ``weighted``, each transition's value is its pipeline worth under
    ``worth`` (default :func:`empirical_worth`); otherwise 1.
    """
    moves = transitions(leads)
    value = np.ones(len(moves))
    if weighted:
        worth = worth or empirical_worth(leads, dataset)
        value = transition_worths(leads, worth)["worth"].to_numpy(float)
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
    worth: TransitionWorth | None = None,
) -> pd.DataFrame:
    """Transitions (or, with ``weighted``, pipeline worth) credited per channel.

    Returns one row per channel and one column per transition (labels in
    :data:`TRANSITION_LABELS`) plus ``total``. ``worth`` prices the transitions
    when ``weighted`` (see :func:`transition_journeys`).
    """
    journeys = journeys or transition_journeys(
        dataset, leads, journey_settings, weighted, worth
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


def customer_value_by_channel(
    journeys: Journeys, conversions: np.ndarray, worth: TransitionWorth
) -> pd.Series:
    """Mean predicted value of the customers each channel is credited with winning.

    Over the touches before each purchase-intent → customer (or any → customer)
    transition: Σ credit × the lead's predicted value ÷ Σ credit, per channel.

    Parameters
    ----------
    journeys
        Transition journeys (:func:`transition_journeys`).
    conversions
        Each touch's share of conversions (:func:`touch_credit`).
    worth
        The leads' predicted values.
    """
    touches = _touch_frame(journeys, conversions)
    won = touches[touches["transition"] == TRANSITION_LABELS["customer"]]
    if won.empty:
        return pd.Series(dtype=float)
    weighted = won["credit"] * worth.values_of(won["person_id"])
    sums = pd.DataFrame({"channel": won["channel"], "credit": won["credit"],
                         "value": weighted}).groupby("channel").sum()
    return (sums["value"] / sums["credit"].where(sums["credit"] > 0)).dropna()


def spend_metrics(
    dataset: Dataset,
    leads: pd.DataFrame,
    model: str = "markov",
    journey_settings: JourneySettings | None = None,
    settings: ModelSettings | None = None,
    clv: float | pd.Series | None = None,
    credit: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Cost per captured lead, per stage advance, CAC and CLV:CAC by channel.

    Parameters
    ----------
    clv
        Customer lifetime value, one figure or one per channel (channels missing
        from the series get its mean); default the average revenue per customer so
        far (a floor: it ignores future orders).
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
    if isinstance(clv, pd.Series):
        fill = float(clv.mean()) if len(clv) else np.nan
        clv = clv.reindex(out.index).fillna(fill)
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
    worth: TransitionWorth | None = None,
) -> dict[str, pd.DataFrame]:
    """Every pipeline view at once, building the transition journeys only once.

    Parameters
    ----------
    worth
        Prices the transitions for the weighted view (default
        :func:`empirical_worth`). When it comes from the customer-value models
        (``from_models``), CLV in ``spend`` is the mean predicted value of the
        customers each channel is credited with (:func:`customer_value_by_channel`);
        otherwise the average revenue per customer so far.

    Returns
    -------
    dict
        ``{"transitions", "weighted", "outbound", "spend"}`` (see
        :func:`transition_credit`, :func:`outbound_effectiveness`,
        :func:`spend_metrics`; ``spend`` is empty without ad spend).
    """
    worth = worth or empirical_worth(leads, dataset)
    moves = transition_journeys(dataset, leads, journey_settings, True, worth)
    args = (dataset, leads, model, journey_settings, settings)
    counts = transition_credit(*args, journeys=moves)
    clv = None
    if worth.from_models and not dataset.spend.empty:
        conv, _ = touch_credit(moves.paths, model, settings)
        channels = dataset.spend["channel"].dropna().unique()
        clv = customer_value_by_channel(moves, conv, worth)
        clv = clv.reindex(channels).fillna(worth.value)
    return {
        "transitions": counts,
        "weighted": transition_credit(*args, weighted=True, journeys=moves),
        "outbound": outbound_effectiveness(*args, purchases=purchases, moves=moves),
        "spend": spend_metrics(*args, clv=clv, credit=counts),
    }
