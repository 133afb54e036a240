"""Test the Shopify readers against the real exports' facts (shared/real/README.md)."""

import pandas as pd
import pytest

from pipeline.ingest import load_files, match_matrix, match_rates
from pipeline.ingest.base import ReadContext
from pipeline.ingest.containers import unpack
from pipeline.ingest.shopify import read_orders
from pipeline.model import InputError
from tests.conftest import real_bytes

ORDERS_A = "shopify/apparel_orders_2020_2023.csv"
ORDERS_B = "shopify/apparel_orders_2023_2024.csv"
CHECKOUTS = "shopify/apparel_abandoned_checkouts_2023_2026.csv"


@pytest.fixture(scope="module")
def apparel(real_dir):
    """The brand's two order files and its abandoned checkouts, loaded together."""
    return load_files(
        [real_bytes(ORDERS_A), real_bytes(ORDERS_B), real_bytes(CHECKOUTS)]
    )


def test_order_files_reconcile_with_readme_facts(apparel):
    """Test that both order files give 11,029 distinct orders and 9,959 purchases."""
    orders = apparel.orders[
        apparel.orders["source_file"].str.startswith("apparel_orders")
    ]
    assert len(orders) == 11_029
    purchases = apparel.purchases()
    assert len(purchases) == 9_959
    with_email = purchases["person_id"].str.contains("@", na=False)
    assert with_email.sum() == 9_887
    assert purchases.loc[with_email, "person_id"].nunique() == 5_331


def test_per_file_counts_and_boundary_duplicates(apparel, real_dir):
    """Test rows and orders per file; the 7 boundary orders count once (README)."""
    a, b, _ = apparel.reports
    assert (a.rows_read, a.meta["orders"]) == (7_921, 4_936)
    assert (b.rows_read, b.meta["orders"]) == (11_336, 6_100)
    assert 4_936 + 6_100 - 11_029 == 7
    assert a.rows_duplicate == 0
    assert apparel.orders["order_id"].is_unique
    # the 7 duplicated orders' line-item rows are the later file's duplicates,
    # counted independently here with pandas' own reader
    first = pd.read_csv(real_dir / ORDERS_A, dtype=str)
    second = pd.read_csv(real_dir / ORDERS_B, dtype=str)
    shared = set(first["Id"].dropna()) & set(second["Id"].dropna())
    assert len(shared) == 7
    second["order"] = second["Name"]
    shared_names = set(second.loc[second["Id"].isin(shared), "Name"])
    assert b.rows_duplicate == second["Name"].isin(shared_names).sum()
    for report in apparel.reports:
        report.check()
        assert sum(report.excluded_by.values()) == report.rows_excluded


def test_exclusion_groups_overlap_as_in_readme(real_dir):
    """Test test 5, voided 160, cancelled 411, fully refunded 857 distinct orders."""
    frames = []
    for name in (ORDERS_A, ORDERS_B):
        source = unpack(*real_bytes(name))[0]
        frames.append(read_orders(source, ReadContext()).orders)
    orders = pd.concat(frames).drop_duplicates("order_id")
    flags = orders["_flags"].fillna("")
    counts = {
        k: int(flags.str.contains(k).sum())
        for k in ("test", "voided", "cancelled", "refunded")
    }
    assert counts == {"test": 5, "voided": 160, "cancelled": 411, "refunded": 857}


def test_first_file_statuses_and_missing_emails(real_dir):
    """Test the first file's financial statuses: 88 orders without an email."""
    source = unpack(*real_bytes(ORDERS_A))[0]
    result = read_orders(source, ReadContext())
    orders = result.orders
    assert result.report.meta["order_flags"] == {
        "test": 5,
        "voided": 152,
        "cancelled": 171,
        "refunded": 450,
    }
    no_email = ~orders["person_id"].str.contains("@", na=False)
    assert no_email.sum() == 88
    # partially refunded orders are purchases at their net value
    assert (orders["net_value"] == orders["total"] - orders["refunded"]).all()
    assert (orders["refunded"] > 0).sum() >= 355


def test_net_value_is_total_minus_refunded(real_dir):
    """Test one partially refunded order's net by hand from its row."""
    source = unpack(*real_bytes(ORDERS_A))[0]
    orders = read_orders(source, ReadContext()).orders
    partial = orders[(orders["refunded"] > 0) & orders["is_purchase"]].iloc[0]
    assert partial["net_value"] == pytest.approx(partial["total"] - partial["refunded"])
    assert partial["status"] == "purchase"


def test_checkouts_are_intent_not_orders(apparel):
    """Test 252 checkouts from 368 rows, 209 emails, 109 of them buyers (README)."""
    report = apparel.reports[2]
    assert report.kind == "shopify_checkouts"
    assert (report.rows_read, report.rows_loaded) == (368, 368)
    events = apparel.events
    checkouts = events[events["event"] == "checkout_started"]
    assert len(checkouts) == 252
    emails = set(checkouts["person_id"].dropna()) - {
        p for p in checkouts["person_id"].dropna() if "@" not in p
    }
    assert len(emails) == 209
    buyers = set(apparel.orders["person_id"].dropna())
    assert len(emails & buyers) == 109
    assert not apparel.orders["source_file"].eq(CHECKOUTS.split("/")[1]).any()


def test_timezone_and_coverage_note(apparel):
    """Test -0700/-0800 offsets give Los Angeles and the checkout gap is noted."""
    assert apparel.timezone == "America/Los_Angeles"
    gap = [n for n in apparel.notes if "no order after it" in n]
    assert gap and "2024-12-31" in gap[0]
    # a -0700 order time is read to the right UTC instant
    first = apparel.orders.sort_values("ts").iloc[-1]
    assert first["ts"].tzinfo is not None


def test_match_rates_between_checkouts_and_orders(apparel):
    """Test the checkout->orders match counts the 109 shared emails at least."""
    rates = {(m["from"], m["to"]): m for m in match_rates(apparel)}
    pair = rates[("shopify_checkouts", "shopify_orders")]
    assert pair["matched"] >= 109
    assert pair["people"] >= 209


def test_match_matrix_holds_each_pair_once_each_way():
    """Test the square table against a hand-made pair list: A's 4 people, 3 found
    in B (75 %); B's 10 people, 3 found in A (30 %); nothing on the diagonal."""
    rates = [
        {"from": "a", "to": "b", "people": 4, "matched": 3},
        {"from": "b", "to": "a", "people": 10, "matched": 3},
    ]
    table = match_matrix(rates, str.upper)
    assert list(table.index) == ["A", "B"]
    assert list(table.columns) == ["People", "A", "B"]
    assert table["People"].tolist() == [4, 10]
    assert table.loc["A", "B"] == 0.75 and table.loc["B", "A"] == 0.3
    assert pd.isna(table.loc["A", "A"]) and pd.isna(table.loc["B", "B"])
    assert match_matrix([]).empty


def test_cod_store_crlf_offsets_and_no_emails(real_dir):
    """Test the COD store: 50 orders, no emails, +0500 gives Etc/GMT-5."""
    data = load_files([real_bytes("shopify/cod_store_a_orders.csv")])
    assert len(data.orders) == 50
    assert not data.orders["person_id"].str.contains("@", na=False).any()
    assert data.timezone == "Etc/GMT-5"
    # the note writes the offset the way people read it, not POSIX's reversed sign
    assert any(
        note.startswith("Store time zone taken as UTC+05:00 (fixed offset)")
        for note in data.notes
    )
    assert data.orders["currency"].eq("BDT").all()
    # CRLF inside quoted notes does not split rows
    assert data.reports[0].rows_read == 50


def test_stores_with_colliding_names_stay_apart(real_dir):
    """Test two stores' orders named #1111.. are kept apart by their Id."""
    data = load_files(
        [
            real_bytes("shopify/cod_store_a_orders.csv"),
            real_bytes("shopify/cod_store_orders_utm_in_notes.csv"),
        ]
    )
    assert len(data.orders) == 55
    assert data.reports[1].rows_duplicate == 0


def test_utm_values_from_note_attributes(real_dir):
    """Test UTM source/medium/campaign parsed from multi-line Note Attributes."""
    data = load_files([real_bytes("shopify/cod_store_orders_utm_in_notes.csv")])
    orders = data.events[data.events["event"] == "order"]
    assert len(orders) == 5
    assert set(orders["source"]) == {"facebook"}
    assert set(orders["medium"]) == {"paid"}
    assert "120243641616090734" in set(orders["campaign"])
    assert data.reports[0].rows_read == 6


def test_customers_export(real_dir):
    """Test 321 customers, 209 with 0 orders, 10 blank emails, undated (README)."""
    data = load_files([real_bytes("shopify/customers_export_small_store.csv")])
    report = data.reports[0]
    assert report.kind == "shopify_customers"
    assert report.rows_read == 321
    assert report.meta["zero_orders"] == 209
    assert report.rows_loaded + report.rows_rejected == 321
    assert data.people["email"].notna().sum() == 311
    assert data.people["first_seen"].isna().all()
    # one note, one number: every loaded customer is undated (QA saw two notes,
    # "315 people" and "321 customers", on the same upload)
    undated = [n for n in data.notes if "no date" in n or "sign-up date" in n]
    assert len(undated) == 1
    assert undated[0].startswith(f"{len(data.people):,} people have no date at all")
    # '+49 ... phones typed with Excel's apostrophe become E.164
    phones = data.people["phone"].dropna()
    assert phones.str.fullmatch(r"\+\d{8,15}").all() and len(phones)


def _orders_csv(rows: list[tuple[str, ...]]) -> bytes:
    """A small Shopify orders export: (name, email, financial status, total, created
    [, refunded amount])."""
    header = (
        "Name,Email,Financial Status,Paid at,Total,Refunded Amount,Created at,"
        "Lineitem quantity,Lineitem name,Id\n"
    )
    body = "".join(
        f"{name},{email},{status},{created},{total},{refund[0] if refund else '0.00'},"
        f"{created},1,Tee,{i}\n"
        for i, (name, email, status, total, created, *refund) in enumerate(
            rows, start=1
        )
    )
    return (header + body).encode()


def test_negative_total_is_rejected_not_a_purchase():
    """Test that a paid order with Total -99.50 is rejected with row and column.

    QA's ``neg_paid.csv`` loaded it as a purchase with net -99.5; the two other
    orders (40.00 and 10.00) stay, so purchases sum to 50.00 by hand.
    """
    data = load_files([("neg.csv", _orders_csv([
        ("#1", "a@x.com", "paid", "40.00", "2024-05-01 10:00:00 -0700"),
        ("#2", "b@x.com", "paid", "-99.50", "2024-05-02 10:00:00 -0700"),
        ("#3", "c@x.com", "paid", "10.00", "2024-05-03 10:00:00 -0700"),
        # refunds above the total (shipping refunded too): refunded, not -5.00
        ("#4", "d@x.com", "partially_refunded", "20.00", "2024-05-04 10:00:00 -0700",
         "25.00"),
    ]))])
    report = data.reports[0]
    report.check()
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 2, 1)
    assert report.excluded_by == {"refunded": 1}
    assert [(p.row, p.column) for p in report.problems] == [(3, "Total")]
    assert "negative (-99.50)" in report.problems[0].message
    assert "Refunded Amount" in report.problems[0].message
    assert data.purchases()["net_value"].sum() == pytest.approx(50.0)
    assert (data.events.loc[data.events["event"] == "order", "value"] >= 0).all()


def test_future_dated_order_is_flagged_kept_and_noted():
    """Test that a 2031 order (QA's ``shopify_weird.csv``) is kept but flagged.

    It stays a purchase (nothing silently dropped), gets a "dated in the future"
    problem on its row and ``Created at``, a note naming the file and the count,
    and the stage engine's default "as of" stays on the last real order day.
    """
    from pipeline.stages import StageEngine

    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=2000)).strftime(
        "%Y-%m-%d 12:00:00 -0700"
    )
    data = load_files([("weird.csv", _orders_csv([
        ("#1", "a@x.com", "paid", "40.00", "2024-05-01 10:00:00 -0700"),
        ("#2", "b@x.com", "paid", "20.00", future),
    ]))])
    report = data.reports[0]
    assert (report.rows_loaded, report.rows_rejected) == (2, 0)
    assert len(data.purchases()) == 2
    assert [(p.row, p.column) for p in report.problems] == [(3, "Created at")]
    assert report.problems[0].message.startswith("dated in the future")
    assert any(n.startswith("weird.csv: 1 order dated after") for n in data.notes)
    assert str(StageEngine(data).default_as_of) == "2024-05-01"


@pytest.mark.parametrize("missing", ["Created at", "Name"])
def test_a_missing_needed_column_is_one_message_for_the_file(real_dir, missing):
    """Test the COD store's orders without ``Created at`` (or ``Name``): one problem
    naming the column and what to do, all 50 rows rejected; before, 50 identical
    per-row messages (or a KeyError for ``Name``)."""
    frame = pd.read_csv(real_dir / "shopify/cod_store_a_orders.csv", dtype=str)
    data = frame.drop(columns=[missing]).to_csv(index=False).encode()
    with pytest.raises(InputError, match=f"has no '{missing}' column") as info:
        load_files([("orders.csv", data)])
    report = info.value.reports[0]
    assert (report.kind, report.rows_read, report.rows_rejected) == (
        "shopify_orders",
        50,
        50,
    )
    [problem] = report.problems
    assert (problem.row, problem.column) == (None, missing)
    assert f"has no '{missing}' column" in problem.message
    assert "export the orders again" in problem.message


def test_orders_without_total_or_with_unknown_status_are_said(real_dir):
    """Test a missing ``Total`` and a status Shopify never writes each get a note:
    the 49 purchases load, without a value, and 'PAYÉ' counts as a purchase."""
    frame = pd.read_csv(real_dir / "shopify/cod_store_a_orders.csv", dtype=str)
    frame.loc[frame.index[:3], "Financial Status"] = "PAYÉ"
    data = load_files(
        [("orders.csv", frame.drop(columns=["Total"]).to_csv(index=False).encode())]
    )
    report = data.reports[0]
    assert (report.rows_read, report.rows_loaded, report.rows_excluded) == (50, 49, 1)
    assert data.orders["net_value"].isna().all()
    assert report.notes == [
        "the export has no Total column: its 50 orders are loaded without a value, "
        "so revenue, order value and customer value leave them out; export the "
        "orders again with the Total column",
        "3 orders with a financial status Shopify does not write ('PAYÉ' (3)) "
        "counted as purchases; check the Financial Status column, and exclude any "
        "that were not paid",
    ]


def test_customer_phone_without_country_code_says_so():
    """Test a customers-export row with only ``4155550103`` as its phone: the
    reason is the missing country code, not "no email or phone"."""
    header = (
        "First Name,Last Name,Email,Accepts Email Marketing,Country Code,Phone,"
        "Accepts SMS Marketing,Total Spent,Total Orders"
    )
    text = f"{header}\nCat,C,,yes,,4155550103,no,0.00,0\n"
    data = load_files([("customers.csv", text.encode())])
    (problem,) = data.reports[0].problems
    assert (problem.row, problem.column) == (2, "Phone")
    assert problem.message.startswith(
        "phone '4155550103' has no country code: write it in international form "
        "(+1 415 555 0103 for a US number)"
    )
