"""Tests of the sample brand generator and the synthetic benchmark events."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.model import (
    EVENT_COLUMNS,
    EVENT_TYPES,
    ORDER_COLUMNS,
    PEOPLE_COLUMNS,
    conform,
)
from pipeline.samplegen import FILE_NAMES, generate, synthetic_events
from pipeline.samplegen.exports import CUSTOMER_HEADER
from tests.conftest import REAL, ROOT

SAMPLE = ROOT / "sample_data"
NON_PURCHASE = ("voided", "refunded")


@pytest.fixture(scope="module")
def brand():
    """The default brand, as committed in sample_data/."""
    return generate()


def read(brand, name: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(brand.files[name]), dtype=str, keep_default_na=False)


def events(brand) -> pd.DataFrame:
    frame = pd.concat(
        [read(brand, "klaviyo_events.csv"), read(brand, "ga4_sessions.csv")]
    )
    frame["ts"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.reset_index(drop=True)


def header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle))


def orders_first_rows(brand) -> pd.DataFrame:
    rows = read(brand, "shopify_orders.csv")
    return rows[rows["Id"] != ""]


# ---- determinism and the committed demo ----------------------------------------------
def test_same_seed_gives_the_same_bytes():
    """Test that a seed fixes every byte of every file and the truth."""
    one, two = generate(400, seed=3), generate(400, seed=3)
    assert one.files == two.files
    pd.testing.assert_frame_equal(one.truth, two.truth)
    pd.testing.assert_frame_equal(one.klaviyo_claims, two.klaviyo_claims)
    assert (
        generate(400, seed=4).files["klaviyo_events.csv"]
        != one.files["klaviyo_events.csv"]
    )


def test_committed_sample_data_is_the_default_brand(brand):
    """Test that sample_data/ holds exactly what generate() makes, under 5 MB."""
    for name, data in brand.files.items():
        assert (SAMPLE / name).read_bytes() == data, f"regenerate sample_data: {name}"
    truth = pd.read_csv(
        SAMPLE / "truth" / "stages.csv", dtype={"customer_kind": "string"}
    )
    assert truth["stage"].tolist() == brand.truth["stage"].tolist()
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total < 5_000_000


# ---- layouts -------------------------------------------------------------------------
def test_shopify_headers_are_the_real_ones(brand, tmp_path):
    """Test that the three Shopify files carry the real exports' headers exactly."""
    brand.write(tmp_path)
    shopify = REAL / "shopify"
    assert header(tmp_path / "shopify_orders.csv") == header(
        shopify / "apparel_orders_2020_2023.csv"
    )
    assert header(tmp_path / "shopify_abandoned_checkouts.csv") == header(
        shopify / "apparel_abandoned_checkouts_2023_2026.csv"
    )
    assert (
        header(tmp_path / "shopify_customers.csv")
        == header(shopify / "customers_export_small_store.csv")
        == CUSTOMER_HEADER
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == sorted(
        FILE_NAMES
    )
    assert {p.name for p in (tmp_path / "truth").iterdir()} == {
        "stages.csv",
        "klaviyo_claims.csv",
        "channel_effects.csv",
    }


def test_orders_have_order_fields_on_first_rows_only(brand):
    """Test the line-item layout: later rows of an order leave order fields empty."""
    rows = read(brand, "shopify_orders.csv")
    rest = rows[rows["Id"] == ""]
    assert len(rest) > 0
    for column in ("Financial Status", "Total", "Currency", "Payment Method"):
        assert (rest[column] == "").all(), column
    assert rest["Name"].isin(rows.loc[rows["Id"] != "", "Name"]).all()
    first = rows[rows["Id"] != ""]
    assert first["Id"].is_unique and first["Name"].is_unique
    created = pd.to_datetime(
        first["Created at"], format="%Y-%m-%d %H:%M:%S %z", utc=True
    )
    assert created.is_monotonic_decreasing  # newest first, like the real export
    raw = brand.files["shopify_orders.csv"].decode()
    assert ',"",' in raw and "'" + "1" in raw  # quoted empties, ZIPs written '11201


def test_orders_include_every_kind_the_readers_must_handle(brand):
    """Test that the orders hold test, voided, cancelled, refunded and guest orders."""
    first = orders_first_rows(brand)
    assert (first["Payment Method"] == "(for testing) Bogus Gateway").sum() == 5
    status = first["Financial Status"].value_counts()
    for kind in ("paid", "voided", "refunded", "partially_refunded"):
        assert status.get(kind, 0) > 0, kind
    assert (first["Cancelled at"] != "").sum() > 0
    assert 3 <= (first["Email"] == "").sum() < 0.05 * len(first)
    offsets = first["Created at"].str[-5:].value_counts()
    assert set(offsets.index) == {"-0500", "-0400"}  # New York, with daylight saving
    partial = first[first["Financial Status"] == "partially_refunded"]
    assert (
        partial["Refunded Amount"].astype(float) < partial["Total"].astype(float)
    ).all()


def test_abandoned_checkouts_look_like_orders_without_payment(brand):
    """Test that checkouts have an empty Financial Status and a recovery URL."""
    rows = read(brand, "shopify_abandoned_checkouts.csv")
    assert len(rows) > 50
    assert (rows["Financial Status"] == "").all()
    assert rows["Note Attributes"].str.contains("/recover").all()
    assert rows["Email"].str.contains("@").all()


def test_customers_export_counts_purchases_and_signups(brand):
    """Test that buyers' Total Orders equal their purchases and sign-ups show 0."""
    customers = read(brand, "shopify_customers.csv")
    signups = customers[customers["Total Orders"] == "0"]
    assert len(signups) > 100 and (signups["Tags"] == "newsletter").all()
    assert set(customers["Accepts Email Marketing"]) == {"yes", "no"}
    truth = brand.truth.set_index("person_id")
    buyers = customers[customers["Total Orders"] != "0"].set_index("Email")
    assert (
        buyers["Total Orders"].astype(int) == truth.loc[buyers.index, "purchases"]
    ).all()


def test_events_files_use_the_generic_layout(brand):
    """Test the generic events CSV columns and that every event type is canonical."""
    klaviyo, ga4 = read(brand, "klaviyo_events.csv"), read(brand, "ga4_sessions.csv")
    base = [
        "person",
        "timestamp",
        "event",
        "channel",
        "campaign",
        "product",
        "order_id",
        "value",
    ]
    assert list(klaviyo.columns) == base
    assert list(ga4.columns) == [*base, "source", "medium"]
    seen = set(klaviyo["event"]) | set(ga4["event"])
    assert seen <= set(EVENT_TYPES)
    assert seen >= {
        "session",
        "page_view",
        "product_view",
        "sizing_view",
        "wishlist_add",
        "add_to_cart",
        "checkout_started",
        "order",
        "signup",
        "email_open",
        "email_click",
        "sms_click",
        "ad_click",
        "email_delivered",
    }
    clicks = klaviyo[klaviyo["event"] == "email_click"]
    assert (clicks["product"] != "").mean() > 0.5
    anonymous = ga4[ga4["person"].str.startswith("ga4:")]
    assert len(anonymous) > 0
    assert set(anonymous["event"]) <= {
        "session",
        "page_view",
        "product_view",
        "sizing_view",
        "wishlist_add",
        "add_to_cart",
        "checkout_started",
        "ad_click",
    }
    sessions = ga4[ga4["event"] == "session"]
    assert (sessions["source"] != "").all() and (sessions["medium"] != "").all()


def test_profiles_cover_every_identified_person(brand):
    """Test that every email in any file has a Klaviyo profile with consent fields."""
    profiles = read(brand, "klaviyo_profiles.csv")
    assert {
        "Email",
        "Phone Number",
        "First Name",
        "Profile Created On",
        "Source",
        "Email Marketing Consent",
        "SMS Marketing Consent",
    } <= set(profiles.columns)
    emails = set(profiles["Email"])
    for name in (
        "shopify_orders.csv",
        "shopify_customers.csv",
        "shopify_abandoned_checkouts.csv",
    ):
        found = set(read(brand, name)["Email"].str.lower()) - {""}
        assert found <= emails, name
    people = set(events(brand)["person"])
    assert {p for p in people if not p.startswith("ga4:")} == emails


# ---- coherence between files ---------------------------------------------------------
def test_klaviyo_orders_are_the_shopify_purchases_with_the_same_value(brand):
    """Test that each Klaviyo order is one Shopify purchase: same id, time, value."""
    first = orders_first_rows(brand).set_index("Id")
    placed = read(brand, "klaviyo_events.csv")
    placed = placed[placed["event"] == "order"].set_index("order_id")
    assert placed.index.is_unique
    shop = first.loc[placed.index]
    net = shop["Total"].astype(float) - shop["Refunded Amount"].astype(float)
    np.testing.assert_allclose(placed["value"].astype(float), net.round(2), atol=0.005)
    assert (shop["Email"].str.lower() == placed["person"]).all()
    created = pd.to_datetime(
        shop["Created at"], format="%Y-%m-%d %H:%M:%S %z", utc=True
    )
    assert (created == pd.to_datetime(placed["timestamp"], utc=True)).all()

    # every Shopify purchase with an email is there, and nothing else
    purchase = (
        first["Financial Status"].isin(["paid", "partially_refunded"])
        & (first["Cancelled at"] == "")
        & (first["Payment Method"] != "(for testing) Bogus Gateway")
        & (first["Email"] != "")
    )
    assert set(first.index[purchase]) == set(placed.index)


def test_truth_purchases_match_the_orders(brand):
    """Test that the truth's purchase counts reconcile with the exported orders."""
    placed = read(brand, "klaviyo_events.csv")
    counts = placed[placed["event"] == "order"].groupby("person").size()
    truth = brand.truth.set_index("person_id")["purchases"]
    assert (truth.loc[counts.index] == counts).all()
    assert truth.sum() == counts.sum()


# ---- the truth -----------------------------------------------------------------------
def test_truth_has_every_stage(brand):
    """Test that the truth holds every stage, lapsed leads and repeat customers."""
    truth = brand.truth
    stages = truth["stage"].value_counts()
    for stage in ("awareness", "captured", "engaged", "purchase_intent", "customer"):
        assert stages.get(stage, 0) >= 50, stage
    kinds = truth["customer_kind"].value_counts()
    assert kinds["first"] >= 100 and kinds["repeat"] >= 50
    assert (truth["customer_kind"].notna() == (truth["stage"] == "customer")).all()
    lapsed = truth[truth["lapsed"]]
    assert len(lapsed) >= 50 and (lapsed["stage"] == "captured").all()
    anonymous = truth["person_id"].str.startswith("ga4:")
    assert (truth.loc[anonymous, "stage"] == "awareness").all()
    assert (truth.loc[~anonymous, "stage"] != "awareness").all()


def independent_stages(brand) -> pd.Series:
    """Stages on the end date, recomputed with plain pandas from the exported events."""
    ev = events(brand)
    ev["day"] = (
        ev["ts"].dt.tz_convert(brand.timezone).dt.tz_localize(None).dt.normalize()
    )
    end = pd.Timestamp(brand.end_date)
    ev = ev[ev["day"] <= end]
    age = (end - ev["day"]).dt.days
    kind = ev["event"]
    people = pd.Index(sorted(set(ev["person"])))

    def count(mask, days):
        return (
            ev[mask & (age < days)]
            .groupby("person")
            .size()
            .reindex(people, fill_value=0)
        )

    views = (
        ev[(kind == "product_view") & (age < 30)].groupby(["person", "product"]).size()
    )
    same = views[views >= 3].groupby(level=0).size().reindex(people, fill_value=0)
    carts = (
        ev[kind.isin(["add_to_cart", "checkout_started"])].groupby("person")["ts"].max()
    )
    last_order = ev[kind == "order"].groupby("person")["ts"].max()
    cart_age = (
        end
        - ev[kind.isin(["add_to_cart", "checkout_started"])]
        .groupby("person")["day"]
        .max()
    ).dt.days
    open_cart = (cart_age.reindex(people) < 30) & (
        carts.reindex(people)
        > last_order.reindex(people).fillna(pd.Timestamp(0, tz="UTC"))
    )
    engaged = (
        (count(kind == "email_open", 14) >= 3)
        | (count(kind == "product_view", 30) >= 5)
        | (count((kind == "email_click") & (ev["product"] != ""), 30) >= 1)
        | (count(kind == "wishlist_add", 30) >= 1)
    )
    intent = (
        open_cart.fillna(False).astype(bool)
        | (same >= 1)
        | (count(kind == "sizing_view", 30) >= 1)
    )
    bought = count(kind == "order", 100_000)
    stage = pd.Series(
        np.select(
            [bought >= 1, intent, engaged],
            ["customer", "purchase_intent", "engaged"],
            "captured",
        ),
        index=people,
    )
    stage[people.str.startswith("ga4:")] = "awareness"
    return stage


def test_truth_equals_an_independent_reading_of_the_files(brand):
    """Test that the simulation's bookkeeping agrees, person by person, with the rules
    applied afresh in pandas to the exported events (local days in New York)."""
    truth = brand.truth.set_index("person_id")["stage"]
    fresh = independent_stages(brand)
    assert set(fresh.index) == set(truth.index)
    assert (fresh.loc[truth.index] == truth).all()


@pytest.mark.parametrize(
    ("timezone", "end_date"),
    [("Australia/Adelaide", "2026-04-05"), ("UTC", "2025-03-31")],
)
def test_truth_holds_in_other_zones_and_on_other_end_dates(timezone, end_date):
    """Test the bookkeeping in a half-hour zone whose daylight saving ends on the end
    date, and in UTC, against the independent reading of the files."""
    small = generate(500, seed=5, end_date=end_date, timezone=timezone)
    truth = small.truth.set_index("person_id")["stage"]
    fresh = independent_stages(small)
    assert (fresh.loc[truth.index] == truth).all()
    last = pd.to_datetime(read(small, "ga4_sessions.csv")["timestamp"], utc=True).max()
    assert last.tz_convert(timezone).date() <= pd.Timestamp(end_date).date()
    offsets = orders_first_rows(small)["Created at"].str[-5:]
    expected = {"UTC": {"+0000"}, "Australia/Adelaide": {"+1030", "+0930"}}[timezone]
    assert set(offsets) <= expected


def test_events_sit_on_both_sides_of_local_midnight(brand):
    """Test that the data exercise day boundaries: near local midnight, UTC vs local."""
    ev = events(brand)
    local = ev["ts"].dt.tz_convert(brand.timezone)
    seconds = local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second
    assert (seconds >= 86_400 - 60).sum() > 10  # the last minute of a local day
    assert (seconds < 60).sum() > 0 or (seconds >= 86_400 - 5).sum() > 0
    assert (local.dt.date != ev["ts"].dt.date).mean() > 0.1  # evening = next UTC day


# ---- Klaviyo's claims and channel effects -----------------------------------------
def replay_klaviyo(brand) -> pd.DataFrame:
    """Klaviyo's rule replayed with pandas on the exported Klaviyo events."""
    ev = read(brand, "klaviyo_events.csv")
    ev["ts"] = pd.to_datetime(ev["timestamp"], utc=True)
    touches = ev[ev["event"].isin(["email_open", "email_click", "sms_click"])]
    orders = ev[ev["event"] == "order"].sort_values("ts")
    touches = touches.sort_values("ts").rename(columns={"ts": "touch_ts"})
    merged = pd.merge_asof(
        orders,
        touches[["person", "touch_ts", "campaign", "event"]],
        left_on="ts",
        right_on="touch_ts",
        by="person",
        direction="backward",
        allow_exact_matches=False,
        suffixes=("", "_touch"),
    )
    merged["claimed"] = (merged["ts"] - merged["touch_ts"]) <= pd.Timedelta(days=5)
    return merged.set_index("order_id")


def test_klaviyo_claims_equal_a_replay_of_its_rule(brand):
    """Test the generator's claims against an independent replay, order by order."""
    claims = brand.klaviyo_claims.set_index("order_id")
    replay = replay_klaviyo(brand)
    with_person = claims[claims["person_id"].notna()]
    assert set(with_person.index) == set(replay.index)
    assert (with_person["claimed"] == replay.loc[with_person.index, "claimed"]).all()
    won = replay[replay["claimed"]]
    assert (claims.loc[won.index, "message"] == won["campaign_touch"]).all()
    via = won["event_touch"].map(
        {"email_open": "open", "email_click": "click", "sms_click": "click"}
    )
    assert (claims.loc[won.index, "via"] == via).all()
    assert not claims.loc[claims["person_id"].isna(), "claimed"].any()
    assert 0.1 < claims["claimed"].mean() < 0.7
    assert set(claims.loc[claims["claimed"], "channel"]) == {"Email", "SMS"}


def test_a_claim_by_hand(brand):
    """Test one claimed and one unclaimed order by reading the events directly."""
    claims = brand.klaviyo_claims
    ev = read(brand, "klaviyo_events.csv")
    ev["ts"] = pd.to_datetime(ev["timestamp"], utc=True)
    for _, claim in claims[claims["person_id"].notna()].head(40).iterrows():
        mine = ev[ev["person"] == claim["person_id"]]
        order_ts = mine.loc[mine["order_id"] == claim["order_id"], "ts"].iloc[0]
        before = mine[
            mine["event"].isin(["email_open", "email_click", "sms_click"])
            & (mine["ts"] < order_ts)
        ]
        if claim["claimed"]:
            last = before.iloc[-1]
            assert order_ts - last["ts"] <= pd.Timedelta(days=5)
            assert last["campaign"] == claim["message"]
        else:
            assert before.empty or order_ts - before["ts"].max() > pd.Timedelta(days=5)


def test_paid_social_has_the_largest_true_effect(brand):
    """Test that one channel's true effect and caused purchases clearly lead."""
    effects = brand.channel_effects.set_index("channel")
    assert effects["true_effect"].idxmax() == "Paid Social"
    top, second = effects["true_effect"].nlargest(2)
    assert top >= 1.5 * second
    caused = effects["caused_purchases"].nlargest(2)
    assert caused.index[0] == "Paid Social" and caused.iloc[0] >= 2 * caused.iloc[1]
    assert set(effects.index) == {
        "Email",
        "SMS",
        "Paid Social",
        "Paid Search",
        "Organic Search",
        "Direct",
        "Referral",
    }


# ---- synthetic benchmark events ------------------------------------------------------
def test_synthetic_events_conform_to_the_model():
    """Test shape and dtypes of the benchmark tables against the model's columns."""
    data = synthetic_events(n_leads=2_000, n_events=50_000, seed=1)
    ev = data.events
    assert len(ev) == 50_000 and len(data.people) == 2_000
    assert list(ev.columns) == list(EVENT_COLUMNS)
    conformed = conform(ev, EVENT_COLUMNS)
    assert (conformed.dtypes == ev.dtypes).all()
    assert list(data.people.columns) == list(PEOPLE_COLUMNS)
    assert (conform(data.people, PEOPLE_COLUMNS).dtypes == data.people.dtypes).all()
    assert (conform(data.orders, ORDER_COLUMNS).dtypes == data.orders.dtypes).all()
    assert set(ev["event"].unique()) <= set(EVENT_TYPES)
    orders = ev[ev["event"] == "order"]
    assert len(orders) == len(data.orders) and orders["value"].notna().all()
    assert orders["order_id"].is_unique
    assert ev.loc[ev["event"] != "order", "value"].isna().all()
    assert ev["person_id"].isin(data.people["person_id"]).all()
    assert ev["ts"].min() >= pd.Timestamp("2025-12-01", tz="UTC")
    first = ev.groupby("person_id")["ts"].min()
    seen = data.people.set_index("person_id")["first_seen"]
    assert (seen.loc[first.index] == first).all()
    assert seen.drop(first.index).isna().all()
    assert (
        data.people["email"].isna() == data.people["person_id"].str.startswith("ga4:")
    ).all()
    again = synthetic_events(n_leads=2_000, n_events=50_000, seed=1).events
    pd.testing.assert_frame_equal(ev, again)


# ---- command line --------------------------------------------------------------------
def test_cli_writes_a_brand_and_an_events_file(tmp_path):
    """Test ``python -m pipeline sample`` in both modes."""
    run = [sys.executable, "-m", "pipeline", "sample", "--out"]
    done = subprocess.run(
        [*run, str(tmp_path / "brand"), "--leads", "200", "--seed", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "brand" / "shopify_orders.csv").read_bytes() == generate(
        200, seed=2
    ).files["shopify_orders.csv"]
    done = subprocess.run(
        [*run, str(tmp_path / "bench"), "--leads", "100", "--events", "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_csv(tmp_path / "bench" / "synthetic_events.csv")
    assert len(frame) == 1000 and frame.columns[0] == "person"
    bad = subprocess.run(
        [*run, str(tmp_path / "x"), "--leads", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "n_leads" in bad.stderr
