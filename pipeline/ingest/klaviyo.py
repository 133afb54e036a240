"""Klaviyo exports: profiles (list/segment exports), events, and performance reports.

Three kinds, each matched by column synonyms (case, spaces and ``$`` ignored):

``klaviyo_profiles``
    A list or segment export: ``Email``, ``Phone Number``, consent columns
    (``Email Marketing Consent``: ``SUBSCRIBED``/``NEVER_SUBSCRIBED``/
    ``UNSUBSCRIBED``; ``SMS Marketing Consent``), ``Profile Created On`` (older
    exports: ``Date Added``), ``Source``/``Initial Source``, and predictive fields
    (``Predicted Customer Lifetime Value``, ``Historic Customer Lifetime Value``,
    ``Churn Probability``). A row needs an email or a phone; every other column is
    optional. Each profile becomes a person (``first_seen`` = created,
    ``signup_source``, consent) and a ``signup`` event at its creation time.
``klaviyo_events``
    An event (metric) export: a metric column (``Opened Email``, ``Clicked Email``,
    ``Clicked SMS``, ``Received Email``, ``Received SMS``, ``Viewed Product``,
    ``Added to Cart``, ``Started Checkout``, ``Placed Order``, ...), a time, the
    person, and optionally campaign or flow names, message ids, value, order id and
    product. Email events get channel ``Email``, SMS events ``SMS``.
``klaviyo_report``
    Campaign and flow performance reports and custom reports (rows per campaign,
    flow message, or list/segment and channel). Their figures are Klaviyo's claims
    about itself and go to the ``claims`` table as reported, never to revenue:
    rows per overlapping segment, and Email and SMS rows of one group, count the
    same orders several times (:func:`claims_overlap`).

People are keyed by normalised email, else ``tel:+E164``, else ``klaviyo:<profile
id>`` (:func:`pipeline.ingest.identity.person_key`); a profile id seen beside an
email is the person row's ``alias``. Times written without an offset are read in
the store's time zone when one is set (``ReadContext.timezone``), else as UTC.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from pipeline.channels import EVENT_CHANNELS
from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.checks import flag_unreadable_emails
from pipeline.ingest.identity import person_key, platform_ids
from pipeline.ingest.phones import phones_in_country, unread_phone
from pipeline.ingest.values import (
    normalise_email,
    normalise_phone,
    parse_numbers,
    parse_percent,
    parse_timestamps,
)
from pipeline.ingest.vendor_common import column_getter, safe_score, table_of
from pipeline.model import (
    CLAIM_COLUMNS,
    EVENT_COLUMNS,
    PEOPLE_COLUMNS,
    FileReport,
    InputError,
    Problem,
    conform,
    empty_frame,
)

logger = logging.getLogger(__name__)

METRIC_EVENTS: dict[str, str] = {
    "opened email": "email_open",
    "clicked email": "email_click",
    "clicked sms": "sms_click",
    "received email": "email_delivered",
    "received sms": "sms_delivered",
    "viewed product": "product_view",
    "added to cart": "add_to_cart",
    "started checkout": "checkout_started",
    "checkout started": "checkout_started",
    "placed order": "order",
    "subscribed to list": "signup",
    "subscribed to email marketing": "signup",
    "subscribed to sms marketing": "signup",
}
"""Klaviyo metric names (lower case) -> canonical event types."""

SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "email address", "e-mail", "email_address", "profile email"),
    "phone": ("phone number", "phone", "phone_number", "sms phone number", "mobile"),
    "profile_id": ("klaviyo id", "kalviyo id", "profile id", "klaviyo profile id",
                   "id", "person id"),
    "created": ("profile created on", "created", "date added", "created at",
                "first active", "created on"),
    "source": ("initial source", "source", "list source", "signup source",
               "consent method"),
    "consent_email": ("email marketing consent", "email consent",
                      "accepts email marketing", "email subscription status"),
    "consent_sms": ("sms marketing consent", "sms consent", "accepts sms marketing",
                    "sms subscription status"),
    "predicted_clv": ("predicted customer lifetime value", "predicted clv"),
    "historic_clv": ("historic customer lifetime value", "historic clv"),
    "metric": ("metric", "metric name", "event", "event name", "activity"),
    "time": ("timestamp", "datetime", "time", "event time", "date", "event date",
             "event timestamp"),
    "campaign": ("campaign name", "campaign", "message name", "campaign_name"),
    "flow": ("flow name", "flow", "flow_name"),
    "message_id": ("message id", "message", "campaign id", "flow message id"),
    "value": ("value", "revenue", "order total", "total", "amount"),
    "order_id": ("order id", "orderid", "order_id", "order number", "event id",
                 "event_id"),
    "product": ("product name", "productname", "item name", "product id", "productid",
                "product", "item"),
    "group": ("list/segment", "list / segment", "list", "segment", "list or segment",
              "audience"),
    "group_id": ("group id", "list id", "segment id", "list/segment id"),
    "channel": ("campaign message channel", "channel", "message channel",
                "campaign channel"),
    "period": ("date", "month", "week", "day", "send time", "send date", "period",
               "year"),
    "report_name": ("campaign name", "flow name"),
    "message_name": ("message name", "subject", "email subject"),
}
"""Our field -> Klaviyo column names (normalised: lower case, ``$`` and ``_`` kept)."""

_PROFILE_MARKERS = ("consent_email", "consent_sms", "profile_id", "predicted_clv",
                    "historic_clv", "created")
_CLAIM_WORDS = re.compile(
    r"placed order|revenue|open rate|click rate|recipients|opens|clicks|"
    r"unsubscribe|bounce|deliver|conversion|orders?\b", re.IGNORECASE
)
_PROFILE_FIELDS = ("email", "phone", "profile_id", "created", "source", "consent_email",
                   "consent_sms", "predicted_clv", "historic_clv")
_PROFILE_EXTRA = frozenset({
    "first name", "last name", "organization", "title", "address", "address 2",
    "city", "state / region", "region", "country", "zip code", "latitude",
    "longitude", "ip address", "timezone", "last active", "last open", "last click",
    "expected date of next order", "average order value", "total customer lifetime "
    "value", "churn probability", "average days between orders", "predicted number "
    "of orders", "gender", "birthday", "locale", "external id",
})
_REPORT_FIELDS = ("period", "group_id", "group", "channel", "report_name",
                  "message_name", "message_id")
_NOT_METRICS = _REPORT_FIELDS


def _norm(name: str) -> str:
    return " ".join(str(name).strip().lower().lstrip("$").replace("_", " ").split())


def match_columns(columns: list[str], fields: tuple[str, ...] | None = None) -> dict:
    """Our field -> the file's column, first synonym that is present.

    Parameters
    ----------
    columns
        The file's column names.
    fields
        Only these of our fields (all of :data:`SYNONYMS` when ``None``).

    Returns
    -------
    dict
        ``{field: column}``; a column is used for one field only.
    """
    by_norm = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    found: dict[str, str] = {}
    used: set[str] = set()
    for field_name in fields or tuple(SYNONYMS):
        for synonym in SYNONYMS[field_name]:
            column = by_norm.get(_norm(synonym))
            if column is not None and column not in used:
                found[field_name] = column
                used.add(column)
                break
    return found


# ----------------------------------------------------------------------- detection


def _peek(source: SourceFile) -> pd.DataFrame:
    if source.extension == ".parquet" or source.head is None:
        return pd.DataFrame()
    return raw.peek(source, rows=200)


def score_profiles(source: SourceFile) -> float:
    """How sure we are that ``source`` is a Klaviyo list/segment export."""
    frame = _peek(source)
    cols = match_columns(list(frame.columns))
    if not ({"email", "phone"} & set(cols)) or "metric" in cols:
        return 0.0
    markers = [f for f in _PROFILE_MARKERS if f in cols]
    names = " ".join(_norm(c) for c in frame.columns)
    klaviyo_words = sum(w in names for w in ("klaviyo", "marketing consent",
                                             "predicted", "churn probability",
                                             "profile created", "initial source"))
    if klaviyo_words >= 1 and markers:
        return 0.85
    known = {_norm(s) for f in _PROFILE_FIELDS for s in SYNONYMS[f]} | _PROFILE_EXTRA
    share = sum(_norm(c) in known for c in frame.columns) / max(len(frame.columns), 1)
    if markers and share >= 0.8:
        return 0.6
    return 0.0


def score_events(source: SourceFile) -> float:
    """How sure we are that ``source`` is a Klaviyo event export."""
    frame = _peek(source)
    cols = match_columns(list(frame.columns))
    if "metric" not in cols or "time" not in cols:
        return 0.0
    metric = frame[cols["metric"]].dropna().str.strip().str.lower()
    if metric.empty:
        return 0.0
    known = metric.isin(list(METRIC_EVENTS) + ["active on site", "ordered product",
                                               "unsubscribed", "bounced email"])
    if known.mean() >= 0.5 and ({"email", "phone", "profile_id"} & set(cols)):
        return 0.9
    return 0.0


def score_report(source: SourceFile) -> float:
    """How sure we are that ``source`` is a Klaviyo campaign/flow/custom report."""
    frame = _peek(source)
    cols = match_columns(list(frame.columns))
    if {"email", "phone"} & set(cols) or "metric" in cols:
        return 0.0
    claims = [c for c in frame.columns if _CLAIM_WORDS.search(str(c))]
    keyed = {"group", "group_id", "report_name", "flow"} & set(cols)
    has_channel = "channel" in cols
    if claims and keyed and (has_channel or len(claims) >= 2):
        return 0.85
    return 0.0


# ------------------------------------------------------------------------ profiles


def _consent(values: pd.Series) -> pd.Series:
    """Klaviyo consent text (``SUBSCRIBED``, ``NEVER_SUBSCRIBED``...) as booleans."""
    text = values.astype("string").str.strip().str.lower().str.replace(" ", "_")
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    yes = text.isin(["subscribed", "true", "yes", "1", "opted_in", "confirmed"])
    no = text.str.contains("unsubscribed|never|not_subscribed|suppressed", na=False)
    no |= text.isin(["false", "no", "0"])
    out[yes.fillna(False)] = True
    out[no.fillna(False) & ~yes.fillna(False)] = False
    return out


def _country_column(table: pd.DataFrame) -> pd.Series | None:
    """A profile export's ``Country`` column (two-letter codes read phones written
    without a country code), or ``None``."""
    for column in table.columns:
        if str(column).strip().lower() in ("country", "country code"):
            return table[column]
    return None


def read_profiles(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Klaviyo list/segment export into people and ``signup`` events."""
    report = FileReport(file=source.name, kind="klaviyo_profiles")
    table = table_of(source, report)
    cols = match_columns(list(table.columns))
    if not ({"email", "phone"} & set(cols)):
        raise InputError("a Klaviyo profile export needs an Email or Phone Number "
                         "column", file=source.name)
    get = column_getter(table, cols)
    email = normalise_email(get("email"))
    flag_unreadable_emails(report, get("email"), email, cols.get("email", "Email"))
    phone = phones_in_country(get("phone"), _country_column(table))
    person = person_key(email, phone, index=table.index)

    missing = person.isna()
    for row in missing[missing].index:
        why = unread_phone(get("phone")[row]) if "phone" in cols else None
        column = cols["phone"] if why else cols.get("email") or cols.get("phone")
        report.problems.append(Problem(
            int(row), column,
            why or "no email or phone: a profile needs one of them to be a person"))
    report.rows_rejected += int(missing.sum())

    created, bad_created = parse_timestamps(
        get("created"), dayfirst=context.dayfirst, assume_tz=context.timezone or "UTC"
    )
    for row in bad_created[bad_created & ~missing].index:
        report.problems.append(Problem(
            int(row), cols.get("created"),
            f"{get('created')[row]!r} is not a date: the profile is kept undated"))
    keep = ~missing
    report.rows_loaded += int(keep.sum())

    people = pd.DataFrame({
        "person_id": person, "email": email, "phone": phone, "first_seen": created,
        "signup_source": get("source"), "consent_email": _consent(get("consent_email")),
        "consent_sms": _consent(get("consent_sms")), "source_file": source.name,
    })[keep]
    extras = {
        f: parse_numbers(get(f))[0][keep] for f in ("predicted_clv", "historic_clv")
    }
    alias = platform_ids(get("profile_id"), "klaviyo")[keep]
    people = conform(people, PEOPLE_COLUMNS)
    for name, values in extras.items():
        people[name] = values.to_numpy()
    people["alias"] = pd.Series(alias.to_numpy(), dtype="string")

    dated = keep & created.notna()
    events = conform(pd.DataFrame({
        "person_id": person, "ts": created, "event": "signup",
        "source": get("source"), "value": np.nan, "source_file": source.name,
    })[dated], EVENT_COLUMNS)
    undated = int((keep & created.isna()).sum())
    report.meta["undated_profiles"] = undated
    if undated:
        report.notes.append(f"{undated} profile(s) without a creation date: captured, "
                            "but left out of timing metrics")
    if dated.any():
        report.date_min, report.date_max = created[dated].min(), created[dated].max()
    report.check()
    return ReadResult(report=report, people=people, events=events)


# -------------------------------------------------------------------------- events


def read_events(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Klaviyo event export into canonical events (and the people in it)."""
    report = FileReport(file=source.name, kind="klaviyo_events")
    table = table_of(source, report)
    cols = match_columns(list(table.columns))
    if "metric" not in cols or "time" not in cols:
        raise InputError("a Klaviyo event export needs a metric (event name) and a "
                         "time column", file=source.name)
    get = column_getter(table, cols)
    email = normalise_email(get("email"))
    flag_unreadable_emails(report, get("email"), email, cols.get("email", "Email"))
    phone = normalise_phone(get("phone"))
    person = person_key(email, phone, get("profile_id") if "profile_id" in cols
                        else None, platform="klaviyo", index=table.index)
    ts, bad_ts = parse_timestamps(
        get("time"), dayfirst=context.dayfirst, assume_tz=context.timezone or "UTC"
    )
    metric = get("metric").str.strip()
    event = metric.str.lower().map(METRIC_EVENTS).astype("string")

    rejected = pd.Series(False, index=table.index)
    for mask, column, message in (
        (person.isna(), cols.get("email"), "no email, phone or profile id"),
        (bad_ts, cols["time"], "not a date or time"),
        (ts.isna() & ~bad_ts, cols["time"], "no time"),
        (metric.isna(), cols["metric"], "no metric name"),
    ):
        new = mask & ~rejected
        for row in new[new].index[:500]:
            report.problems.append(Problem(int(row), column, message))
        rejected |= new
    report.rows_rejected += int(rejected.sum())
    unused = event.isna() & ~rejected
    if unused.any():
        counts = metric[unused].value_counts()
        for name, count in counts.items():
            report.excluded_by[f"Klaviyo metric not used: {name}"] = int(count)
    report.rows_excluded += int(unused.sum())

    value, _ = parse_numbers(get("value"))
    is_order = event == "order"
    campaign = get("campaign").fillna(get("flow")).fillna(get("message_id"))
    use = event.notna() & ~rejected
    frame = pd.DataFrame({
        "person_id": person, "ts": ts, "event": event,
        "channel": event.map(EVENT_CHANNELS).astype("string"),
        "campaign": campaign, "product": get("product"),
        "order_id": get("order_id").where(is_order),
        "value": value.where(is_order), "source_file": source.name,
    })[use]
    report.rows_loaded += int(use.sum())
    events = conform(frame, EVENT_COLUMNS)
    events["message_id"] = get("message_id")[use].to_numpy()
    if len(events):
        report.date_min, report.date_max = events["ts"].min(), events["ts"].max()

    named = pd.DataFrame({
        "person_id": person, "email": email, "phone": phone,
        "alias": platform_ids(get("profile_id"), "klaviyo"),
        "source_file": source.name,
    })[~person.isna()].drop_duplicates(["person_id", "alias"])
    people = conform(named, PEOPLE_COLUMNS)
    people["alias"] = pd.Series(named["alias"].to_numpy(), dtype="string")
    report.check()
    return ReadResult(report=report, events=events, people=people)


# ------------------------------------------------------------------------- reports


def read_report(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Klaviyo campaign, flow or custom report into ``claims``, as reported."""
    report = FileReport(file=source.name, kind="klaviyo_report")
    table = table_of(source, report)
    cols = match_columns(list(table.columns), _REPORT_FIELDS)
    get = column_getter(table, cols)

    start, end, bad_period = _periods(get("period"), context)
    group = get("group")
    if "group_id" in cols:
        group = (group.fillna("") + " (" + get("group_id") + ")").str.strip()
    message = get("report_name")
    name = get("message_name")
    message = (message + ": " + name).fillna(message).fillna(name)
    message_id = get("message_id")
    message = (message + " (" + message_id + ")").fillna(message).fillna(message_id)
    channel = get("channel").str.strip()

    metric_columns = [
        c for c in table.columns
        if c not in {cols.get(f) for f in _NOT_METRICS} and _CLAIM_WORDS.search(str(c))
    ]
    pieces = []
    bad = bad_period.copy()
    for column in metric_columns:
        if "rate" in column.lower():
            values, bad_cells = parse_percent(table[column])
        else:
            values, bad_cells = parse_numbers(table[column])
        for row in bad_cells[bad_cells & ~bad].index:
            report.problems.append(Problem(
                int(row), column, f"{table.at[row, column]!r} is not a number"))
        bad |= bad_cells
        pieces.append(pd.DataFrame({
            "tool": "klaviyo", "period_start": start, "period_end": end,
            "group": group, "message": message, "channel": channel,
            "metric": column, "value": values, "line": table.index,
        }))
    for row in bad_period[bad_period].index:
        report.problems.append(Problem(
            int(row), cols.get("period"), f"{get('period')[row]!r} is not a date"))
    report.rows_rejected += int(bad.sum())
    report.rows_loaded += int((~bad).sum())
    pieces = [p for p in pieces if len(p)]
    claims = (
        pd.concat(pieces, ignore_index=True) if pieces else empty_frame(CLAIM_COLUMNS)
    )
    if len(claims):
        claims = claims[~claims["line"].isin(bad[bad].index) & claims["value"].notna()]
    claims["source_file"] = source.name
    claims = conform(claims, CLAIM_COLUMNS)
    report.meta["metrics"] = metric_columns
    report.notes.append(
        "Klaviyo's own attributed figures, kept as claims: rows per list/segment and "
        "channel overlap, so they are never added up as revenue"
    )
    if len(claims):
        report.calendar_days = True
        report.date_min = claims["period_start"].min()
        report.date_max = claims["period_end"].max()
    report.check()
    return ReadResult(report=report, claims=claims)


def _periods(
    period: pd.Series, context: ReadContext
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Each row's period from a year (``2024``), month (``2024-03``) or date."""
    text = period.astype("string").str.strip()
    start = pd.Series(pd.NaT, index=period.index, dtype="datetime64[us, UTC]")
    end = start.copy()
    year = text.str.fullmatch(r"\d{4}").fillna(False)
    if year.any():
        start[year] = pd.to_datetime(text[year] + "-01-01", utc=True)
        end[year] = pd.to_datetime(text[year] + "-12-31", utc=True)
    month = text.str.fullmatch(r"\d{4}-\d{2}").fillna(False)
    if month.any():
        first = pd.to_datetime(text[month] + "-01", utc=True)
        start[month] = first
        end[month] = first + pd.offsets.MonthEnd(0)
    rest = ~year & ~month & text.notna()
    bad = pd.Series(False, index=period.index)
    if rest.any():
        ts, bad_ts = parse_timestamps(text[rest], dayfirst=context.dayfirst)
        day = ts.dt.normalize()
        start[rest] = day
        end[rest] = day
        bad[rest] = bad_ts
    return start, end, bad


def claims_overlap(claims: pd.DataFrame) -> pd.DataFrame:
    """Per tool, period and metric: the naive sum, the largest row, and a flag.

    Parameters
    ----------
    claims
        The ``claims`` table (:data:`~pipeline.model.CLAIM_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        One row per ``tool, period_start, period_end, metric`` with ``rows``,
        ``naive_sum`` (every row added up), ``largest_row`` (the biggest single
        row), ``largest_group`` (its group and channel) and ``double_counting``:
        ``True`` when rows break one figure down by overlapping audiences (more than
        one list/segment, or one list/segment on several channels), so that the
        naive sum counts the same orders more than once. Rows per campaign or flow
        message (no list/segment) are not flagged: Klaviyo credits each order to one
        message. Rates are left out: they are not additive.
    """
    columns = ["tool", "period_start", "period_end", "metric", "rows", "naive_sum",
               "largest_row", "largest_group", "double_counting"]
    if claims.empty:
        return pd.DataFrame(columns=columns)
    c = claims[~claims["metric"].str.contains("rate", case=False, na=False)].copy()
    c = c[c["value"].notna()]
    keys = ["tool", "period_start", "period_end", "metric"]
    c["_label"] = (
        c["group"].fillna(c["message"]).fillna("") + " / " + c["channel"].fillna("")
    )
    grouped = c.groupby(keys, dropna=False, sort=True)
    out = grouped.agg(rows=("value", "size"), naive_sum=("value", "sum"),
                      largest_row=("value", "max"),
                      groups=("group", "nunique"))
    by_size = c.sort_values("value", ascending=False, kind="stable")
    out["largest_group"] = by_size.groupby(keys, dropna=False, sort=True)[
        "_label"].first()

    # one list/segment on several channels, or several overlapping lists/segments
    grouped_rows = c[c["group"].notna()]
    cross_channel = (
        grouped_rows.groupby(keys + ["group"], dropna=False)["channel"].nunique()
        .gt(1).groupby(level=list(range(len(keys))), dropna=False).any()
    )
    out["double_counting"] = (out["groups"] > 1) | cross_channel.reindex(
        out.index, fill_value=False).astype(bool)
    return out.reset_index()[columns]


register("klaviyo_profiles", safe_score(score_profiles), read_profiles,
         "Klaviyo list/segment export: people, consent and signups")
register("klaviyo_events", safe_score(score_events), read_events,
         "Klaviyo event export: opens, clicks, deliveries, site events, orders")
register("klaviyo_report", safe_score(score_report), read_report,
         "Klaviyo campaign/flow/custom report: Klaviyo's claims, never revenue")
