"""The client report: one self-contained HTML file for the current view.

The report has four sections, funnel, velocity, customer value and attribution, each
built from the analysis modules when they can run on the data and otherwise saying
why not (:func:`safe_section`). The funnel and velocity sections
(:mod:`pipeline.report_funnel`) agree with the Funnel page for the same view;
customer value and attribution (:mod:`pipeline.report_money`) run on one currency and
name what they left out. :func:`view_report` renders them with
:func:`pipeline.report_html.render_report` into one HTML file that needs no script,
font or network.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import pandas as pd

from pipeline.data_coverage import unmeasured_stages
from pipeline.model import Dataset
from pipeline.report_funnel import funnel_section, velocity_section
from pipeline.report_html import Section, render_report
from pipeline.report_money import attribution_section, customer_value_section
from pipeline.rules import StageRules

log = logging.getLogger(__name__)


def dataset_currency(dataset: Dataset) -> str | None:
    """The most common order currency of the data; ``None`` when no order states
    one, so that amounts carry no currency rather than a guessed one.

    Kept for the Leads page; the report's money sections use
    :func:`pipeline.clv_currency.in_one_currency` instead.
    """
    currencies = dataset.orders["currency"].dropna().astype("string")
    return str(currencies.mode().iloc[0]) if len(currencies) else None


SectionBuilder = Callable[[], Section]


def safe_section(title: str, build: SectionBuilder) -> Section:
    """Run one section's builder; an unexpected error becomes the section's note."""
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - one failing section must not sink all
        log.exception("report section %s failed", title)
        reason = f"could not be built: {type(exc).__name__}: {exc}"
        return Section(title, missing=reason)


def view_sections(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    currency: str | None = None,
    rules: StageRules | None = None,
) -> list[Section]:
    """The report's four sections for one view, each built if it can be.

    ``currency`` chooses the currency of the customer-value and attribution
    sections (default: the one with the most purchases); velocity follows the
    Funnel page, which counts expected customers when orders mix currencies. With
    ``rules``, a stage whose rules are all off reads "not measured", as on the page.
    """
    gaps = unmeasured_stages(dataset, rules)
    return [
        safe_section("Funnel", lambda: funnel_section(leads, gaps)),
        safe_section(
            "Velocity", lambda: velocity_section(dataset, leads, as_of, gaps=gaps)
        ),
        safe_section(
            "Customer value", lambda: customer_value_section(dataset, currency)
        ),
        safe_section("Attribution", lambda: attribution_section(dataset, currency)),
    ]


def view_report(
    dataset: Dataset,
    leads: pd.DataFrame,
    as_of: dt.date,
    file_names: tuple[str, ...] = (),
    rules_text: str = "",
    currency: str | None = None,
    rules: StageRules | None = None,
) -> str:
    """The client report of one view: its sections rendered to self-contained HTML.

    Parameters
    ----------
    dataset, leads, as_of
        The view: the loaded data, its leads under the stage rules, and the day.
    file_names
        The files the data came from (the subtitle says "the demo brand" without).
    rules_text
        The stage rules in words, for the subtitle.
    currency
        The currency of the customer-value and attribution sections (default: the
        one with the most purchases); other currencies are named and left out.
    rules
        The stage rules of the view: a stage whose rules are all off reads "not
        measured (rules switched off)", as on the Funnel page.

    Returns
    -------
    str
        One HTML document, every chart an inline SVG, nothing fetched.
    """
    sources = ", ".join(file_names) if file_names else "the demo brand"
    subtitle = f"As of {as_of:%Y-%m-%d}. Data: {sources}."
    if rules_text:
        subtitle += f" Stage rules: {rules_text}."
    sections = view_sections(dataset, leads, as_of, currency, rules)
    return render_report(sections, "Pipeline report", subtitle)
