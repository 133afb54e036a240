"""Test that a cell with text but no email is flagged, never dropped in silence."""

from pathlib import Path

import pandas as pd

from pipeline.ingest import load_files

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
FORMULA = "=cmd|'/c calc'!A1"


def test_shopify_order_with_a_formula_for_an_email_is_flagged_with_row_and_column():
    """Test that the order loads and the bad email cell is named by row and column."""
    lines = (SAMPLE / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()
    header = next(iter(pd.read_csv(SAMPLE / "shopify_orders.csv", nrows=0).columns))
    first = lines[1].split(",")
    email = first[1]
    assert "@" in email and header == "Name"
    lines[1] = lines[1].replace(email, FORMULA.replace(",", ""), 1)
    data = ("\n".join(lines) + "\n").encode("utf-8")

    dataset = load_files([("orders.csv", data)])

    report = dataset.reports[0]
    flagged = [p for p in report.problems if "is not an email" in p.message]
    assert [(p.row, p.column) for p in flagged] == [(2, "Email")]
    assert FORMULA[:10] in flagged[0].message
    report.check()
    assert report.rows_rejected == 0


def test_klaviyo_profile_with_text_that_is_not_an_email_is_flagged():
    """Test that a profile row keeps its phone and the bad email cell is named."""
    data = (
        b"Email,Phone Number,Source,Profile Created On\n"
        b"ann@example.com,,Footer form,2024-05-01T10:00:00Z\n"
        b"not an address,+14155550123,Quiz,2024-05-02T10:00:00Z\n"
    )

    dataset = load_files([("profiles.csv", data)])

    report = dataset.reports[0]
    assert report.kind == "klaviyo_profiles"
    flagged = [p for p in report.problems if "is not an email" in p.message]
    assert [(p.row, p.column) for p in flagged] == [(3, "Email")]
    assert set(dataset.people["person_id"]) == {"ann@example.com", "tel:+14155550123"}
