"""The Attribution page's tables, formatted for reading.

:func:`readable` words a frame's headers and formats money with its currency,
shares as percents and missing values as a dash, keeping numbers sortable;
:func:`credit_table` shows every model's credit per channel with its bootstrap
interval; the Klaviyo tables set the claim against the orders and the models.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from pandas.io.formats.style import Styler

from pipeline.attribution.klaviyo import Overstatement
from pipeline.attribution.models import MODEL_LABELS
from pipeline.formatting import MISSING, fmt_int, fmt_money, fmt_number, fmt_pct

WORDS = {
    "cac": "CAC",
    "clv": "CLV",
    "clv_to_cac": "CLV ÷ CAC",
    "person_id": "person",
    "sms_rows": "SMS rows",
    "naive_sum": "sum of all rows",
    "naive_share": "sum of all rows ÷ Shopify revenue",
    "largest_share": "largest row ÷ Shopify revenue",
}
MONEY_HINTS = (
    "revenue",
    "spend",
    "cost_per",
    "cac",
    "clv",
    "worth",
    "naive_sum",
    "largest_row",
    "value",
)


def words(name: object) -> str:
    """A column or index name for people: ``leads_advanced`` → ``Leads advanced``."""
    text = WORDS.get(str(name), str(name).replace("_", " "))
    return text[:1].upper() + text[1:]


def readable(
    frame: pd.DataFrame,
    currency: str | None = None,
    digits: int = 1,
    money: tuple[str, ...] = (),
    shares: tuple[str, ...] = (),
) -> Styler:
    """``frame`` for display: worded headers, money with its currency, shares as
    percents, missing values as a dash (never "None"); numbers stay sortable."""
    frame = frame.copy()
    money = tuple(money) or tuple(
        c
        for c in frame.columns
        if any(h in str(c) for h in MONEY_HINTS)
        and not str(c).endswith("_to_cac")
        and pd.api.types.is_numeric_dtype(frame[c])
    )
    shares = tuple(shares) or tuple(
        c
        for c in frame.columns
        if ("share" in str(c) or "rate" in str(c))
        and pd.api.types.is_numeric_dtype(frame[c])
    )
    formats = {}
    for column in frame.columns:
        if column in money:
            formats[words(column)] = lambda v: fmt_money(v, currency)
        elif column in shares:
            formats[words(column)] = fmt_pct
        elif pd.api.types.is_bool_dtype(frame[column]):
            formats[words(column)] = lambda v: "yes" if v else "no"
        elif pd.api.types.is_numeric_dtype(frame[column]):
            values = frame[column].dropna().astype(float)
            whole = len(values) and (values == values.round()).all()
            formats[words(column)] = (
                fmt_int if whole else (lambda v: fmt_number(v, digits))
            )
    frame.columns = [words(c) for c in frame.columns]
    if frame.index.name:
        frame.index.name = words(frame.index.name)
    return frame.style.format(formats, na_rep=MISSING)


def credit_table(
    table: pd.DataFrame,
    intervals: object | None,
    metric: str,
    money: Callable[[object], str],
) -> pd.DataFrame | Styler:
    """Every model's credit per channel, with its bootstrap interval when computed.

    Parameters
    ----------
    table
        The models' conversions or revenue per channel (one column per model).
    intervals
        :func:`pipeline.attribution.intervals.bootstrap`, or ``None``.
    metric
        ``conversions`` or ``revenue``.
    money
        Formats an amount in the analysed currency.
    """
    conversions = metric == "conversions"
    fmt = fmt_number if conversions else money
    shown = table.rename(columns=MODEL_LABELS).round(1 if conversions else 2)
    if intervals is not None:
        bounds = intervals.conversions if conversions else intervals.revenue
        for model, frame in bounds.items():
            label = MODEL_LABELS[model]
            shown[f"{label} 90% interval"] = [
                f"{fmt(frame.at[c, 'low'])} – {fmt(frame.at[c, 'high'])}"
                if c in frame.index
                else "–"
                for c in shown.index
            ]
    shown.index.name = "Channel"
    if conversions:
        return shown
    order = [MODEL_LABELS[m] for m in table.columns]
    return shown.style.format(
        {label: money for label in shown.columns if label in order}, na_rep=MISSING
    )


def claim_gap_table(klaviyo: Overstatement, money: Callable[[object], str]) -> Styler:
    """Claimed revenue that an ad click or earlier purchase intent could explain."""
    gap = pd.DataFrame(
        {
            "Revenue": [
                klaviyo.claimed_with_ad_click_revenue,
                klaviyo.claimed_already_intent_revenue,
            ],
        },
        index=[
            "claimed orders with an ad click in the window",
            "claimed orders of leads already in purchase intent",
        ],
    )
    return gap.style.format(money, na_rep=MISSING)


def claim_ratio_table(ratios: pd.DataFrame, money: Callable[[object], str]) -> Styler:
    """Each model's email and SMS revenue and Klaviyo's claim as a multiple of it.

    ``ratios`` is :func:`pipeline.attribution.page_figures.claim_ratios`.
    """
    by_model = ratios.rename(
        columns={
            "email_sms_revenue": "Email + SMS revenue",
            "claim_ratio": "Klaviyo's claim ÷ this",
        },
        index=MODEL_LABELS,
    )
    by_model.index.name = "Model"
    return by_model.style.format(
        {
            "Email + SMS revenue": money,
            "Klaviyo's claim ÷ this": lambda v: f"×{fmt_number(v, 2)}",
        },
        na_rep=MISSING,
    )


def worth_table(worths: pd.DataFrame, money: Callable[[object], str]) -> pd.DataFrame:
    """What the advances into each stage are worth.

    ``worths`` is :func:`pipeline.attribution.pipeline_views.worth_by_transition`.
    """
    return pd.DataFrame(
        {
            "Advances": worths["advances"].round().astype("Int64"),
            "Mean change in P(win)": worths["mean_gain"].map(fmt_pct),
            "Mean predicted value": worths["mean_value"].map(money),
            "Total worth": worths["worth"].map(money),
        }
    ).rename_axis(index="Stage")
