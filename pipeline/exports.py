"""Files that take the pipeline back into its tools: lead sheet, Klaviyo, Meta, Google.

Four exports are made from one *lead table* (:func:`lead_table`: a row per lead with
stage, score, win probability and predicted value, joined to the person's contact
details and consent):

- :func:`leads_csv`, a sheet for people: every lead of the chosen segment, with text
  cells that a spreadsheet would run as a formula escaped (see :func:`escape_cell`);
- :func:`klaviyo_profiles_csv`, Klaviyo's list-upload layout: ``Email`` first, then
  ``Phone Number``, then the custom properties ``pipeline_stage``, ``lead_score`` and
  ``predicted_clv`` (Klaviyo help centre, "Create and add contacts to a new list":
  the first column is ``Email``, ``Email Address`` or ``Phone Number``; any other
  column named for a custom property becomes that property);
- :func:`meta_audience_csv`, a Meta customer-list custom audience file with Meta's
  identifier headers ``email, phone, fn, ln, zip, ct, st, country`` (Meta Business
  Help Centre, "How to format a customer list");
- :func:`google_customer_match_csv`, a Google Ads Customer Match file with the
  English headers ``Email, Phone, First Name, Last Name, Country, Zip`` (Google Ads
  Help, "Format your customer data file").

Only leads with marketing consent (email or SMS) go into the Klaviyo and audience
files; the rest are counted in :attr:`Export.excluded_no_consent` so the page can say
how many were left out. A consent that the data does not record counts as no consent.
Platform files carry only normalised identifiers (lower-case emails starting with a
letter or digit, E.164 phones, ISO country codes) and numbers, so no cell of theirs
can start a spreadsheet formula; they are written exactly in the platform's layout,
without the ``'`` escape that would corrupt an identifier.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

import pandas as pd
import phonenumbers

log = logging.getLogger(__name__)

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a text cell as a formula (OWASP)."""

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
EMAIL = re.compile(r"^[a-z0-9][^@\s]*@[^@\s]+\.[^@\s]+$")

LEAD_CSV_COLUMNS: tuple[str, ...] = (
    "person_id",
    "email",
    "phone",
    "stage",
    "customer_kind",
    "rule",
    "signup_source",
    "lead_score",
    "p_win",
    "predicted_clv",
    "expected_value",
    "orders",
    "first_order_value",
    "consent_email",
    "consent_sms",
)
"""Columns of the per-lead sheet, in order."""

KLAVIYO_COLUMNS: tuple[str, ...] = (
    "Email",
    "Phone Number",
    "pipeline_stage",
    "lead_score",
    "predicted_clv",
)
META_COLUMNS: tuple[str, ...] = (
    "email", "phone", "fn", "ln", "zip", "ct", "st", "country"
)
GOOGLE_COLUMNS: tuple[str, ...] = (
    "Email",
    "Phone",
    "First Name",
    "Last Name",
    "Country",
    "Zip",
)

SEGMENTS: dict[str, str] = {
    "open_leads": "Open leads (captured, engaged, purchase intent)",
    "purchase_intent": "Purchase intent",
    "engaged": "Engaged",
    "captured": "Captured",
    "high_value": "High value: purchase intent, top expected value",
    "customer_first": "First-time customers",
    "customer_repeat": "Repeat customers",
    "customers": "All customers",
    "all": "Everyone with an email or phone",
}
"""Segment names and their labels, in the order the page offers them."""


@dataclass(frozen=True)
class Export:
    """One export file and what went into it.

    Attributes
    ----------
    data
        The file's bytes (UTF-8 CSV).
    file_name, mime
        For the download.
    rows
        People written.
    excluded_no_consent
        People of the segment left out because no marketing consent is recorded.
    excluded_no_identifier
        People with consent left out because they have no usable email or phone.
    """

    data: bytes
    file_name: str
    mime: str
    rows: int
    excluded_no_consent: int = 0
    excluded_no_identifier: int = 0


def normalised_email(value: object) -> str | None:
    """A trimmed, lower-case email, or ``None`` when it is not a usable address."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email if EMAIL.match(email) else None


def e164_phone(value: object) -> str | None:
    """A phone number in E.164 (``+15551234567``), or ``None`` when it has no country.

    Numbers already in E.164 are kept; others are parsed with ``phonenumbers`` and
    kept only when they carry a country code and are valid.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lstrip("'")
    if E164.match(text):
        return text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_country(phone: str | None) -> str | None:
    """The ISO 3166 two-letter country (lower case) of an E.164 phone number."""
    if not phone:
        return None
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None
    return region.lower() if region and region != "ZZ" else None


def escape_cell(value: object) -> object:
    """Escape a text cell a spreadsheet would run as a formula; leave the rest alone.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading ``'``, except numbers written as text (``"-12.5"``) and E.164 phone
    numbers (``"+15551234567"``), which spreadsheets read as values. Numbers, booleans
    and missing values are returned unchanged.
    """
    if not isinstance(value, str) or not value or value[0] not in FORMULA_TRIGGERS:
        return value
    if E164.match(value) or NUMBER.match(value):
        return value
    return "'" + value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`escape_cell` applied to its text columns."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            out[name] = column.map(escape_cell, na_action="ignore")
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV bytes with a header, ``\\n`` line ends and no index."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _bool(series: pd.Series) -> pd.Series:
    """A boolean column with missing values read as ``False``."""
    return series.astype("boolean").fillna(False).astype(bool)


def lead_table(
    leads: pd.DataFrame,
    people: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    predicted_clv: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per identified lead: stage, score, P(win), value, contact and consent.

    Parameters
    ----------
    leads
        The stage engine's leads (``person_id, stage, customer_kind, rule,
        identified, orders, first_order_value, ...``).
    people
        The data model's people table (email, phone, consent, signup source).
    scores
        ``person_id, p_win, lead_score`` from :func:`pipeline.scoring.score_leads`;
        missing scores stay empty.
    predicted_clv
        Predicted customer lifetime value per ``person_id``; missing stays empty.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`LEAD_CSV_COLUMNS`, identified leads only, highest
        expected value (``p_win × predicted_clv``) first.
    """
    table = leads.copy()
    if "identified" in table:
        table = table[_bool(table["identified"])]
    contact = people[
        ["person_id", "email", "phone", "signup_source", "consent_email", "consent_sms"]
    ].drop_duplicates("person_id")
    table = table.merge(contact, on="person_id", how="left")

    if scores is not None and len(scores):
        table = table.merge(
            scores[["person_id", "p_win", "lead_score"]], on="person_id", how="left"
        )
    if predicted_clv is not None and len(predicted_clv):
        values = predicted_clv.rename("predicted_clv").rename_axis("person_id")
        table = table.merge(values.reset_index(), on="person_id", how="left")

    for name in LEAD_CSV_COLUMNS:
        if name not in table:
            table[name] = pd.NA
    for name in ("p_win", "predicted_clv", "first_order_value"):
        table[name] = pd.to_numeric(table[name], errors="coerce").astype("float64")
    table["lead_score"] = pd.to_numeric(table["lead_score"], errors="coerce").astype(
        "Int64"
    )
    table["expected_value"] = table["p_win"] * table["predicted_clv"]
    table["consent_email"] = table["consent_email"].astype("boolean")
    table["consent_sms"] = table["consent_sms"].astype("boolean")

    table = table.sort_values(
        ["expected_value", "p_win", "person_id"],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
    )
    return table[list(LEAD_CSV_COLUMNS)].reset_index(drop=True)


def segment(table: pd.DataFrame, name: str, high_value_top: int = 100) -> pd.DataFrame:
    """The rows of a lead table in segment ``name`` (a key of :data:`SEGMENTS`).

    ``high_value`` is the ``high_value_top`` purchase-intent leads with the highest
    expected value (P(win) × predicted CLV), for one-to-one outreach.
    """
    stage = table["stage"].astype("string")
    kind = table["customer_kind"].astype("string")
    if name == "all":
        mask = pd.Series(True, index=table.index)
    elif name == "open_leads":
        mask = stage.isin(["captured", "engaged", "purchase_intent"])
    elif name in ("captured", "engaged", "purchase_intent"):
        mask = stage == name
    elif name == "customers":
        mask = stage == "customer"
    elif name in ("customer_first", "customer_repeat"):
        mask = (stage == "customer") & (kind == name.removeprefix("customer_"))
    elif name == "high_value":
        intent = table[(stage == "purchase_intent").fillna(False)]
        return high_value_list(intent, high_value_top)
    else:
        raise ValueError(f"unknown segment {name!r}; use one of {', '.join(SEGMENTS)}")
    return table[mask.fillna(False)].reset_index(drop=True)


def high_value_list(table: pd.DataFrame, top: int = 100) -> pd.DataFrame:
    """The ``top`` leads by expected value (P(win) × predicted CLV), highest first."""
    ranked = table.sort_values(
        ["expected_value", "p_win", "person_id"],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
    )
    return ranked.head(top).reset_index(drop=True)


def leads_csv(table: pd.DataFrame, file_name: str = "pipeline_leads.csv") -> Export:
    """The per-lead sheet: every row of ``table``, formula-escaped for spreadsheets."""
    frame = table[list(LEAD_CSV_COLUMNS)]
    return Export(csv_bytes(escape_frame(frame)), file_name, "text/csv", len(frame))


def _consented_contacts(table: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Consenting leads with a usable identifier, and the two counts left out."""
    consent = _bool(table["consent_email"]) | _bool(table["consent_sms"])
    kept = table[consent].copy()
    kept["email_norm"] = kept["email"].map(normalised_email, na_action="ignore")
    kept["phone_norm"] = kept["phone"].map(e164_phone, na_action="ignore")
    usable = kept["email_norm"].notna() | kept["phone_norm"].notna()
    excluded_no_consent = int((~consent).sum())
    excluded_no_identifier = int((~usable).sum())
    if excluded_no_consent:
        log.info("%d leads without consent left out", excluded_no_consent)
    kept = kept[usable].reset_index(drop=True)
    return kept, excluded_no_consent, excluded_no_identifier


def _platform_export(
    frame: pd.DataFrame, file_name: str, no_consent: int, no_identifier: int
) -> Export:
    frame = frame.astype(object).where(frame.notna(), None)
    return Export(
        csv_bytes(frame), file_name, "text/csv", len(frame), no_consent, no_identifier
    )


def klaviyo_profiles_csv(
    table: pd.DataFrame, file_name: str = "klaviyo_profiles.csv"
) -> Export:
    """Klaviyo's list-upload CSV for the consenting leads of ``table``.

    Columns :data:`KLAVIYO_COLUMNS`: ``Email`` and ``Phone Number`` (E.164), then the
    custom properties ``pipeline_stage`` (the stage, ``customer_first`` or
    ``customer_repeat`` for customers), ``lead_score`` (1-100) and
    ``predicted_clv`` (2 decimals), so segments can be rebuilt in Klaviyo.
    """
    kept, no_consent, no_identifier = _consented_contacts(table)
    stage = kept["stage"].astype("string")
    kind = kept["customer_kind"].astype("string")
    customer_stage = "customer_" + kind.fillna("first")
    pipeline_stage = stage.where(stage != "customer", customer_stage)
    frame = pd.DataFrame(
        {
            "Email": kept["email_norm"],
            "Phone Number": kept["phone_norm"],
            "pipeline_stage": pipeline_stage,
            "lead_score": kept["lead_score"].astype("Int64"),
            "predicted_clv": pd.to_numeric(kept["predicted_clv"]).round(2),
        },
        columns=list(KLAVIYO_COLUMNS),
    )
    return _platform_export(frame, file_name, no_consent, no_identifier)


def meta_audience_csv(
    table: pd.DataFrame, file_name: str = "meta_custom_audience.csv"
) -> Export:
    """A Meta customer-list custom audience file for the consenting leads of ``table``.

    Columns :data:`META_COLUMNS`. Emails lower case, phones in E.164, ``country`` the
    two-letter code of the phone's country; names, ZIP, city and state are left
    empty because the data model does not carry them.
    """
    kept, no_consent, no_identifier = _consented_contacts(table)
    frame = pd.DataFrame(
        {
            "email": kept["email_norm"],
            "phone": kept["phone_norm"],
            "country": kept["phone_norm"].map(phone_country, na_action="ignore"),
        },
        columns=list(META_COLUMNS),
    )
    return _platform_export(frame, file_name, no_consent, no_identifier)


def google_customer_match_csv(
    table: pd.DataFrame, file_name: str = "google_customer_match.csv"
) -> Export:
    """A Google Ads Customer Match file for the consenting leads of ``table``.

    Columns :data:`GOOGLE_COLUMNS` in Google's English header names. ``Phone`` in
    E.164 (with its country code, as Google requires), ``Country`` the two-letter
    code of the phone's country; name and ZIP left empty (not in the data model).
    """
    kept, no_consent, no_identifier = _consented_contacts(table)
    frame = pd.DataFrame(
        {
            "Email": kept["email_norm"],
            "Phone": kept["phone_norm"],
            "Country": kept["phone_norm"].map(phone_country, na_action="ignore"),
        },
        columns=list(GOOGLE_COLUMNS),
    )
    return _platform_export(frame, file_name, no_consent, no_identifier)


def consent_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many leads of ``table`` have email consent, SMS consent, either, neither."""
    email = _bool(table["consent_email"])
    sms = _bool(table["consent_sms"])
    return {
        "leads": len(table),
        "email": int(email.sum()),
        "sms": int(sms.sum()),
        "either": int((email | sms).sum()),
        "neither": int((~(email | sms)).sum()),
    }
