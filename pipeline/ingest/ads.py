"""Ad spend exports: Meta Ads Manager and Google Ads, daily or per campaign.

``meta_ads``
    Ads Manager's "Export table data" CSV: ``Reporting starts``, ``Reporting
    ends`` (or ``Day``), ``Campaign name``, ``Ad set name``, ``Ad name``, ``Amount
    spent (USD)`` (the currency is in the column name), ``Purchases``, ``Purchases
    conversion value``... Every row is one spend row (channel Paid Social); the
    purchases and conversion values Meta reports go to ``claims`` (tool ``meta``);
    an export with only ``Purchase ROAS`` gets its value claim as ROAS x spend.
``google_ads``
    A Google Ads report downloaded as CSV: a title line and a date-range line above
    the header, then ``Day``, ``Campaign``, ``Campaign type``, ``Currency code``,
    ``Cost``, ``Impr.``, ``Clicks``, ``Conversions``, ``Conv. value``, and "Total:"
    rows at the bottom, which repeat the other rows' sums and are counted as
    excluded. The channel comes from the campaign type (Search -> Paid Search,
    Shopping -> Paid Shopping, Display -> Display, Video -> Paid Video, Performance
    Max and Demand Gen -> Cross-network), else from the campaign name. Conversions
    go to ``claims`` (tool ``google_ads``).
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from pipeline.channels import AD_PLATFORM_CHANNELS, GOOGLE_ADS_CHANNELS
from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.values import parse_amounts, parse_numbers, parse_timestamps
from pipeline.ingest.vendor_common import column_getter, safe_score, table_of
from pipeline.model import (
    CLAIM_COLUMNS,
    SPEND_COLUMNS,
    FileReport,
    InputError,
    Problem,
    conform,
    empty_frame,
)

logger = logging.getLogger(__name__)

_CURRENCY_IN_NAME = re.compile(r"\(([A-Z]{3})\)\s*$")
_TOTAL_ROW = re.compile(r"^\s*total\b", re.IGNORECASE)

META_CLAIMS = ("purchases", "purchases conversion value", "purchase conversion value",
               "website purchases", "meta leads", "leads")
"""Meta columns kept as claims (``Results`` mixes result types, so it is not one)."""

META_DATES = ("reporting starts", "day", "date", "reporting ends")
"""Date columns of a Meta export, the first found taken."""
META_ONLY = ("reporting starts", "reporting ends", "ad set name", "ad delivery")
"""Columns only Meta's Ads Manager writes (never a Google Ads report)."""
PURCHASE_VALUE_FROM_ROAS = "Purchases conversion value (ROAS x spend)"
"""Meta's claimed purchase value when the export has only ``Purchase ROAS``."""
GOOGLE_CLAIMS = ("conversions", "conv. value", "all conv.", "all conv. value",
                 "conversion value")


def _norm(name: str) -> str:
    return " ".join(str(name).strip().lower().split())


def _find(columns: list[str], *names: str, prefix: bool = False) -> str | None:
    """The first column whose normalised name is one of ``names`` (or starts so)."""
    normed = {_norm(c): c for c in columns}
    for name in names:
        if name in normed:
            return normed[name]
    if prefix:
        for name in names:
            for key, column in normed.items():
                if key.startswith(name):
                    return column
    return None


# ----------------------------------------------------------------------- detection


def score_meta(source: SourceFile) -> float:
    """How sure we are that ``source`` is a Meta Ads Manager export."""
    if source.head is None:
        return 0.0
    columns = list(raw.peek(source, rows=20).columns)
    spent = _find(columns, "amount spent", prefix=True)
    named = _find(columns, "campaign name", "ad set name", "ad name")
    dated = _find(columns, *META_DATES)
    if spent and named and dated:
        return 0.95
    if _find(columns, *META_ONLY) and named:
        return 0.5  # Meta's own columns, without spend: read_meta says what to do
    return 0.0


def _google_header_line(text: str) -> int | None:
    """The 0-based line of a Google Ads header (after its title lines), or ``None``."""
    for number, line in enumerate(text.splitlines()[:10]):
        low = line.lower()
        has_cost = re.search(r"(^|[,;\t\"])cost([,;\t\"( ]|$)", low) is not None
        if "campaign" in low and has_cost and ("impr" in low or "clicks" in low):
            return number
    return None


def score_google(source: SourceFile) -> float:
    """How sure we are that ``source`` is a Google Ads report."""
    if source.head is None:
        return 0.0
    head = source.head[:20000].lstrip("\ufeff")
    if any(name in head.lower() for name in ("amount spent", *META_ONLY)):
        return 0.0
    return 0.9 if _google_header_line(head) is not None else 0.0


# ------------------------------------------------------------------------- reading


def read_meta(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Meta Ads export into ``spend`` (Paid Social) and Meta's ``claims``."""
    report = FileReport(file=source.name, kind="meta_ads")
    table = table_of(source, report, skip_lines=0, header=True)
    columns = list(table.columns)
    spent = _find(columns, "amount spent", prefix=True)
    if spent is None:
        raise InputError(
            "this Meta Ads export has no 'Amount spent' column: export the report "
            "again from Ads Manager with the Amount spent column",
            file=source.name,
            column="Amount spent",
        )
    cols = {
        "date": _find(columns, "day", "date", "reporting starts", "reporting ends"),
        "campaign": _find(columns, "campaign name", "campaign"),
        "ad": _find(columns, "ad name"),
        "currency": _find(columns, "currency"),
    }
    currency = _currency(spent, table, cols["currency"])
    claims_cols = [c for c in columns if _norm(c) in META_CLAIMS]
    starts = _find(columns, "reporting starts")
    ends = _find(columns, "reporting ends")
    if cols["date"] == starts and ends is not None:
        longer = (table[starts].astype("string") != table[ends].astype("string"))
        if longer.fillna(False).any():
            report.notes.append(
                f"{int(longer.sum())} row(s) cover more than one day and are dated at "
                "their first day: export with a daily breakdown (Breakdown > Day)"
            )
    return _finish(source, table, report, spent, cols, currency,
                   pd.Series(AD_PLATFORM_CHANNELS["meta"], index=table.index,
                             dtype="string"),
                   "meta", claims_cols, context)


def read_google(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Google Ads report into ``spend`` and Google's ``claims``."""
    report = FileReport(file=source.name, kind="google_ads")
    text = (source.text or "").lstrip("\ufeff")
    header = _google_header_line(text)
    if header is None:
        raise InputError("no Google Ads header (Campaign, Cost, Clicks) in the first "
                         "10 lines", file=source.name)
    title = [ln.strip().strip('"') for ln in text.splitlines()[:header] if ln.strip()]
    report.meta["title"] = title
    table = table_of(source, report, skip_lines=header, header=True)
    columns = list(table.columns)
    cols = {
        "date": _find(columns, "day", "date", "week", "month"),
        "campaign": _find(columns, "campaign"),
        "currency": _find(columns, "currency code", "currency"),
        "type": _find(columns, "campaign type", "advertising channel type"),
    }
    spent = _find(columns, "cost", prefix=True)
    currency = _currency(spent, table, cols["currency"])

    # "Total: ..." rows repeat the sums of the rows above: excluded, never loaded
    first = table[columns[0]].astype("string").fillna("")
    total = first.str.match(_TOTAL_ROW)
    if cols["campaign"]:
        total |= table[cols["campaign"]].astype("string").fillna("").str.match(
            _TOTAL_ROW)
    report.rows_excluded += int(total.sum())
    if total.any():
        report.excluded_by["total row"] = int(total.sum())
    table = table[~total]

    get = column_getter(table, {k: v for k, v in cols.items() if v})
    kind = get("type").str.lower().str.strip()
    channel = kind.map(GOOGLE_ADS_CHANNELS).astype("string")
    name = get("campaign").str.lower().fillna("")
    by_name = pd.Series(pd.NA, index=table.index, dtype="string")
    for pattern, group in ((r"pmax|performance max", "Cross-network"),
                           (r"shopping", "Paid Shopping"),
                           (r"display|gdn", "Display"),
                           (r"youtube|video", "Paid Video")):
        by_name = by_name.mask(by_name.isna() & name.str.contains(pattern), group)
    channel = channel.fillna(by_name).fillna(AD_PLATFORM_CHANNELS["google_ads"])
    claims_cols = [c for c in columns if _norm(c) in GOOGLE_CLAIMS]
    return _finish(source, table, report, spent, cols, currency.loc[table.index],
                   channel, "google_ads", claims_cols, context)


def _currency(spent: str, table: pd.DataFrame, column: str | None) -> pd.Series:
    """Each row's currency: its currency column, else the code in the spend name."""
    from_name = _CURRENCY_IN_NAME.search(spent)
    default = from_name.group(1) if from_name else pd.NA
    out = pd.Series(default, index=table.index, dtype="string")
    if column:
        out = table[column].astype("string").str.strip().str.upper().fillna(out)
    return out


def _finish(
    source: SourceFile,
    table: pd.DataFrame,
    report: FileReport,
    spent: str,
    cols: dict,
    currency: pd.Series,
    channel: pd.Series,
    platform: str,
    claims_cols: list[str],
    context: ReadContext,
) -> ReadResult:
    """Spend and claims from a table of ad rows; every row accounted for."""
    if cols["date"] is None:
        raise InputError(
            "no date column (Day, Date, Reporting starts or ends): export the "
            "report broken down by day",
            file=source.name,
        )
    date, bad_date = parse_timestamps(table[cols["date"]], dayfirst=context.dayfirst)
    spend, bad_spend = parse_amounts(table[spent])
    rejected = pd.Series(False, index=table.index)
    for mask, column, message in (
        (bad_date | date.isna(), cols["date"], "no readable date"),
        (bad_spend, spent, "spend is not a number"),
    ):
        new = mask & ~rejected
        for row in new[new].index[:500]:
            report.problems.append(Problem(int(row), column,
                                           f"{table.at[row, column]!r}: {message}"))
        rejected |= new
    report.rows_rejected += int(rejected.sum())
    keep = ~rejected
    report.rows_loaded += int(keep.sum())
    if currency[keep].isna().any():
        report.notes.append("currency unknown: name it in the spend column, e.g. "
                            "'Amount spent (USD)'")

    campaign = (table[cols["campaign"]].astype("string") if cols["campaign"]
                else pd.Series(pd.NA, index=table.index, dtype="string"))
    day = date.dt.normalize()
    spend_frame = conform(pd.DataFrame({
        "date": day, "platform": platform, "channel": channel, "campaign": campaign,
        "spend": spend.fillna(0.0), "currency": currency, "source_file": source.name,
    })[keep], SPEND_COLUMNS)

    pieces = []
    message = (table[cols["ad"]].astype("string") if cols.get("ad")
               else pd.Series(pd.NA, index=table.index, dtype="string"))
    claimed = {column: parse_numbers(table[column])[0] for column in claims_cols}
    roas = _find(list(table.columns), "purchase roas", prefix=True)
    has_value = any("value" in _norm(c) for c in claims_cols)
    if platform == "meta" and roas is not None and not has_value:
        # Meta's own purchase value, recovered as ROAS x spend on each row
        claimed[PURCHASE_VALUE_FROM_ROAS] = parse_numbers(table[roas])[0] * spend
    for metric, values in claimed.items():
        pieces.append(pd.DataFrame({
            "tool": platform, "period_start": day, "period_end": day,
            "group": campaign, "message": message, "channel": channel,
            "metric": metric, "value": values,
        })[keep & values.notna()])
    pieces = [p for p in pieces if len(p)]
    claims = (
        pd.concat(pieces, ignore_index=True) if pieces else empty_frame(CLAIM_COLUMNS)
    )
    claims["source_file"] = source.name
    claims = conform(claims, CLAIM_COLUMNS)

    report.meta["currency"] = sorted(spend_frame["currency"].dropna().unique().tolist())
    report.meta["spend"] = {
        str(cur): round(float(total), 2)
        for cur, total in spend_frame.groupby("currency")["spend"].sum().items()
    }
    if len(spend_frame):
        report.calendar_days = True
        report.date_min = spend_frame["date"].min()
        report.date_max = spend_frame["date"].max()
    report.check()
    return ReadResult(report=report, spend=spend_frame, claims=claims)


register("meta_ads", safe_score(score_meta), read_meta,
         "Meta Ads Manager export: spend by day and campaign (Paid Social)")
register("google_ads", safe_score(score_google), read_google,
         "Google Ads report: spend by day and campaign")
