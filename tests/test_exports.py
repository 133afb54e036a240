"""Tests for the lead sheet and the Klaviyo, Meta and Google upload files."""

import io

import pandas as pd
import pytest

from pipeline import exports
from pipeline.exports import (
    GOOGLE_COLUMNS,
    KLAVIYO_COLUMNS,
    LEAD_CSV_COLUMNS,
    META_COLUMNS,
    escape_cell,
    google_customer_match_csv,
    klaviyo_profiles_csv,
    lead_table,
    leads_csv,
    meta_audience_csv,
    segment,
)


def read_back(data: bytes) -> pd.DataFrame:
    """A CSV export read as text, as a platform or a spreadsheet would see it."""
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)


@pytest.fixture
def table() -> pd.DataFrame:
    """Six leads: consent by email, by SMS, none, unknown; a hostile email and note."""
    leads = pd.DataFrame(
        {
            "person_id": ["a@x.com", "tel:+14155550100", "c@x.com", "d@x.com",
                          "=cmd@x.com", "ga4:123"],
            "stage": ["purchase_intent", "engaged", "customer", "captured",
                      "customer", "awareness"],
            "customer_kind": [pd.NA, pd.NA, "repeat", pd.NA, "first", pd.NA],
            "rule": ["intent_cart", "engaged_opens", "-2+3", "@SUM(A1)", "=1+1", pd.NA],
            "identified": [True, True, True, True, True, False],
            "orders": [0, 0, 3, 0, 1, 0],
            "first_order_value": [None, None, 80.0, None, -5.0, None],
        }
    )
    people = pd.DataFrame(
        {
            "person_id": leads["person_id"],
            "email": ["A@X.com ", pd.NA, "c@x.com", "d@x.com", "=cmd@x.com", pd.NA],
            "phone": ["+442071838750", "+14155550100", pd.NA, "+33612345678",
                      pd.NA, pd.NA],
            "signup_source": ["quiz", "popup", "=HYPERLINK(\"http://e\")", "newsletter",
                              "newsletter", pd.NA],
            "consent_email": pd.array([True, False, True, pd.NA, True, pd.NA],
                                      dtype="boolean"),
            "consent_sms": pd.array([False, True, False, False, False, pd.NA],
                                    dtype="boolean"),
        }
    )
    scores = pd.DataFrame(
        {
            "person_id": ["a@x.com", "tel:+14155550100", "d@x.com"],
            "p_win": [0.5, 0.2, 0.1],
            "lead_score": [90, 60, 30],
        }
    )
    clv = pd.Series({"a@x.com": 200.0, "tel:+14155550100": 100.0, "c@x.com": 300.0,
                     "d@x.com": 50.0})
    return lead_table(leads, people, scores, clv)


def test_lead_table_joins_scores_and_values_identified_only(table):
    """Test that the lead table keeps identified leads and computes expected value."""
    assert len(table) == 5
    assert "ga4:123" not in set(table["person_id"])
    first = table.iloc[0]
    # Highest expected value first: 0.5 × 200 = 100 > 0.2 × 100 = 20 > 0.1 × 50 = 5.
    assert first["person_id"] == "a@x.com"
    assert first["expected_value"] == pytest.approx(100.0)
    assert list(table["expected_value"].head(3)) == pytest.approx([100.0, 20.0, 5.0])


def test_leads_csv_reads_back_with_its_columns_and_escapes_formulas(table):
    """Test the per-lead sheet: columns, escaped formulas, numbers and phones kept."""
    export = leads_csv(table)
    back = read_back(export.data)
    assert tuple(back.columns) == LEAD_CSV_COLUMNS
    assert export.rows == 5 == len(back)
    row = back.set_index("person_id")
    # Text formulas get a leading quote; the person id of the hostile lead too.
    assert "'=cmd@x.com" in set(back["person_id"])
    assert row.loc["d@x.com", "rule"] == "'@SUM(A1)"
    assert row.loc["c@x.com", "signup_source"] == "'=HYPERLINK(\"http://e\")"
    # "-2+3" is not a number: it is a formula, so it is escaped.
    assert row.loc["c@x.com", "rule"] == "'-2+3"
    # E.164 phones and negative numbers stay as they are.
    assert row.loc["a@x.com", "phone"] == "+442071838750"
    assert "tel:+14155550100" in row.index
    assert row.loc["'=cmd@x.com", "first_order_value"] == "-5.0"
    assert row.loc["a@x.com", "p_win"] == "0.5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-A1", "'-A1"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("+14155550100", "+14155550100"),  # E.164 phone: kept
        ("+1 415 555 0100", "'+1 415 555 0100"),  # not E.164: text, escaped
        ("-12.5", "-12.5"),  # a negative number written as text: kept
        ("1e-3", "1e-3"),
        ("plain", "plain"),
        ("", ""),
        (-3.5, -3.5),
        (None, None),
    ],
)
def test_escape_cell(value, expected):
    """Test formula escaping of one cell (OWASP CSV injection triggers)."""
    assert escape_cell(value) == expected


def test_klaviyo_file_layout_and_consent(table):
    """Test Klaviyo's layout (Email first, custom properties) and consent filter."""
    export = klaviyo_profiles_csv(table)
    back = read_back(export.data)
    assert tuple(back.columns) == KLAVIYO_COLUMNS
    assert back.columns[0] == "Email"  # Klaviyo requires the identifier first
    # Consent: a (email), tel (sms), c (email), =cmd (email but unusable address);
    # d has unknown email consent and no SMS consent: left out.
    assert export.excluded_no_consent == 1
    assert export.excluded_no_identifier == 1
    assert export.rows == 3 == len(back)
    rows = back.set_index("Phone Number", drop=False)
    a = back[back["Email"] == "a@x.com"].iloc[0]  # trimmed and lower-cased
    assert a["pipeline_stage"] == "purchase_intent"
    assert a["lead_score"] == "90"
    assert a["predicted_clv"] == "200.0"
    assert rows.loc["+14155550100", "Email"] == ""
    c = back[back["Email"] == "c@x.com"].iloc[0]
    assert c["pipeline_stage"] == "customer_repeat"
    assert c["lead_score"] == ""  # no score: empty, never "nan"
    assert "nan" not in export.data.decode()
    assert "=cmd" not in export.data.decode()


def test_meta_file_layout(table):
    """Test Meta's customer-list headers and normalised identifiers."""
    export = meta_audience_csv(table)
    back = read_back(export.data)
    assert tuple(back.columns) == META_COLUMNS
    assert list(back.columns[:4]) == ["email", "phone", "fn", "ln"]
    assert export.rows == 3
    assert export.excluded_no_consent == 1
    by_email = back.set_index("email")
    assert by_email.loc["a@x.com", "phone"] == "+442071838750"
    assert by_email.loc["a@x.com", "country"] == "gb"
    assert set(back["phone"]) == {"+442071838750", "+14155550100", ""}
    assert back.loc[back["phone"] == "+14155550100", "country"].item() == "us"


def test_google_file_layout(table):
    """Test Google Customer Match's exact English headers and consent filter."""
    export = google_customer_match_csv(table)
    text = export.data.decode()
    assert text.splitlines()[0] == "Email,Phone,First Name,Last Name,Country,Zip"
    back = read_back(export.data)
    assert tuple(back.columns) == GOOGLE_COLUMNS
    assert sorted(back["Email"]) == ["", "a@x.com", "c@x.com"]
    assert export.excluded_no_consent == 1
    # Nobody without consent: d@x.com never appears in any platform file.
    assert "d@x.com" not in text


def test_segments(table):
    """Test that segments pick the right stages and high value ranks by value."""
    assert list(segment(table, "purchase_intent")["person_id"]) == ["a@x.com"]
    assert len(segment(table, "open_leads")) == 3
    assert list(segment(table, "customer_repeat")["person_id"]) == ["c@x.com"]
    assert len(segment(table, "customers")) == 2
    assert list(segment(table, "high_value")["person_id"]) == ["a@x.com"]
    with pytest.raises(ValueError, match="unknown segment"):
        segment(table, "nope")


def test_consent_counts(table):
    """Test the consent counts shown on the page (hand-counted from the fixture)."""
    assert exports.consent_counts(table) == {
        "leads": 5, "email": 3, "sms": 1, "either": 4, "neither": 1,
    }


def test_phone_normalisation():
    """Test E.164 phones: kept, parsed from punctuation, rejected without a country."""
    assert exports.e164_phone("+1 (415) 555-0100") == "+14155550100"
    assert exports.e164_phone("'+49 30 901820") == "+4930901820"
    assert exports.e164_phone("415 555 0100") is None
    assert exports.normalised_email(" Ann@Example.COM ") == "ann@example.com"
    assert exports.normalised_email("not-an-email") is None
