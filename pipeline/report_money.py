"""The report's money sections: customer value and attribution, one currency at a time.

Both run on the purchases of one currency
(:func:`pipeline.clv_currency.in_one_currency`) and name what they left out
(:func:`currency_notes`): amounts in different currencies are never added. Customer
value is BG/NBD and Gamma-Gamma CLV (:mod:`pipeline.clv_fit`); attribution puts every
model's credit per channel side by side (:mod:`pipeline.attribution.models`).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from pipeline import clv, clv_fit
from pipeline.attribution.journeys import build_journeys
from pipeline.attribution.models import MODEL_LABELS, attribute
from pipeline.clv_currency import CurrencyChoice, in_one_currency
from pipeline.formatting import fmt_int, fmt_money, fmt_number, fmt_pct
from pipeline.model import Dataset
from pipeline.report_html import Section


def histogram_chart(
    values: np.ndarray, title: str, x_title: str, y_title: str, bins: int = 30
) -> alt.Chart:
    """A histogram binned in numpy, so the chart carries ``bins`` rows, not the data."""
    counts, edges = np.histogram(values[np.isfinite(values)], bins=bins)
    frame = pd.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "count": counts, "zero": 0}
    )
    return (
        alt.Chart(frame, title=title)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("low:Q", title=x_title),
            x2="high:Q",
            y=alt.Y("count:Q", title=y_title),
            y2="zero:Q",
            tooltip=[
                alt.Tooltip("low:Q", title="From", format=",.1f"),
                alt.Tooltip("high:Q", title="To", format=",.1f"),
                alt.Tooltip("count:Q", title=y_title, format=","),
            ],
        )
        .properties(width=560, height=200)
    )


def currency_notes(choice: CurrencyChoice) -> list[str]:
    """Which currency a money section uses and which purchases it left out."""
    if choice.currency is None:
        return []
    used = choice.code or "no stated currency"
    notes = [f"Amounts in {used}: {choice.counts.get(choice.currency, 0):,} purchases"
             + (" (currencies are never added together)." if choice.left_out else ".")]
    notes += [
        line + "."
        for line in choice.warnings("not converted, and not in the figures here")
    ]
    return notes


def customer_value_section(dataset: Dataset, currency: str | None = None) -> Section:
    """BG/NBD and Gamma-Gamma CLV in one currency: distribution and population.

    The purchases of ``currency`` (default: the currency with the most purchases)
    are analysed (:func:`pipeline.clv_currency.in_one_currency`); the others are
    left out and the section says so, since amounts in different currencies are
    never added.
    """
    one, choice = in_one_currency(dataset, currency)
    notes = currency_notes(choice)
    try:
        summary = clv.purchase_summary(one)
        fits = clv_fit.fit_models(summary)
    except ValueError as exc:
        return Section("Customer value", notes, missing=str(exc))
    if not fits.usable:
        return Section("Customer value", notes, missing=" ".join(fits.status()))

    customers = clv_fit.customer_table(summary, fits)
    currency = choice.code
    unit = currency or "no stated currency"
    values = customers["clv"].replace([np.inf, -np.inf], np.nan).dropna()
    cap = float(values.quantile(0.99)) if len(values) else 0.0
    chart = histogram_chart(
        values.clip(upper=cap).to_numpy(),
        f"Predicted 12-month CLV per customer ({unit})",
        f"CLV ({unit})",
        "Customers",
    )
    figures = clv_fit.population_figures(summary, fits)
    table = pd.DataFrame(
        {
            "Figure": figures.get("figure", pd.Series(dtype=str)),
            "Value": [fmt_number(v, 2) for v in figures.get("value", [])],
            "95 % interval": [
                f"{fmt_number(lo, 2)} – {fmt_number(hi, 2)}"
                for lo, hi in zip(figures.get("low", []), figures.get("high", []),
                                  strict=True)
            ],
            "Unit": figures.get("unit", pd.Series(dtype=str)).astype(str).str.replace(
                "currency", unit, regex=False),
        }
    )
    summary_lines = notes + fits.status() + [
        f"{fmt_int(len(customers))} customers; mean predicted 12-month CLV "
        f"{fmt_money(values.mean() if len(values) else None, currency)} "
        f"(histogram capped at the 99th percentile, {fmt_money(cap, currency)})."
    ]
    return Section(
        "Customer value", summary_lines, [("CLV", chart)], [("Population", table)]
    )


def attribution_section(dataset: Dataset, currency: str | None = None) -> Section:
    """Credit per channel under every attribution model, side by side.

    Runs on the purchases of one currency (:func:`pipeline.clv_currency.
    in_one_currency`), so revenue is never summed across currencies; models are
    named in words (:data:`pipeline.attribution.models.MODEL_LABELS`).
    ``currency`` as in :func:`customer_value_section`.
    """
    one, choice = in_one_currency(dataset, currency)
    notes = currency_notes(choice)
    try:
        journeys = build_journeys(one)
        result = attribute(journeys.paths)
    except ValueError as exc:
        return Section("Attribution", notes, missing=str(exc))
    coverage = journeys.coverage
    no_touch = not np.isfinite(coverage) or coverage == 0
    if result.conversions.empty or result.total_conversions == 0 or no_touch:
        return Section(
            "Attribution", notes,
            missing="no conversions with touches: upload GA4 sessions, Klaviyo "
            "events or ad clicks alongside the orders",
        )
    credit = result.conversions.rename(
        columns=lambda m: MODEL_LABELS.get(m, str(m).replace("_", " ").capitalize())
    )
    long = (
        credit.rename_axis("channel")
        .reset_index()
        .melt(id_vars="channel", var_name="model", value_name="conversions")
    )
    chart = (
        alt.Chart(long, title="Conversions credited per channel, by model")
        .mark_bar()
        .encode(
            y=alt.Y("channel:N", title=None),
            x=alt.X("conversions:Q", title="Conversions credited"),
            color=alt.Color("model:N", title="Model", sort=list(credit.columns)),
            yOffset=alt.YOffset("model:N", sort=list(credit.columns)),
            tooltip=["channel", "model", alt.Tooltip("conversions:Q", format=",.1f")],
        )
        .properties(width=520, height=max(160, 14 * len(long)))
    )
    table = credit.map(lambda v: fmt_number(v, 1))
    table = table.rename_axis("Channel").reset_index()
    tables = [("Conversions credited, by model", table)]
    revenue = getattr(result, "revenue", None)
    if isinstance(revenue, pd.DataFrame) and len(revenue):
        code = choice.code
        money = revenue.rename(
            columns=lambda m: MODEL_LABELS.get(m, str(m).replace("_", " ").capitalize())
        ).map(lambda v: fmt_money(v, code, 0))
        tables.append((
            f"Revenue credited ({code or 'no stated currency'}), by model",
            money.rename_axis("Channel").reset_index(),
        ))
    summary = notes + [
        f"{fmt_int(result.total_conversions)} conversions, "
        f"{fmt_money(result.total_revenue, choice.code)} revenue; "
        f"{fmt_pct(journeys.coverage)} of conversions had a touch in the lookback "
        "window. Credit is not incrementality: it says which touches came before a "
        "purchase, not which caused it."
    ]
    return Section("Attribution", summary, [("Attribution", chart)], tables)
