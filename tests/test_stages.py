"""Tests of the stage engine: each rule at its boundary, lapses, entry times, time
zones, and the engine against a slow reference and the sample brand's ground truth.

Expected values are hand-computed from the rules in issue 2, section 6: "the last 14
days" as of day D are days D-13 ... D in the store's time zone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pipeline.model import EVENT_COLUMNS, PEOPLE_COLUMNS, STAGES, Dataset, conform
from pipeline.rules import RULE_NAMES, StageRules
from pipeline.stages import LEAD_COLUMNS, StageEngine, stage_counts

ANN = "ann@example.com"


def dataset(rows, people=None, timezone: str = "UTC") -> Dataset:
    """A dataset from (person, ISO time, event[, product[, order id[, value]]])."""
    records = []
    for row in rows:
        person, ts, event, *rest = row
        rest = list(rest) + [None] * (3 - len(rest))
        records.append(
            {
                "person_id": person,
                "ts": pd.Timestamp(ts),
                "event": event,
                "product": rest[0],
                "order_id": rest[1],
                "value": rest[2],
            }
        )
    events = pd.DataFrame(records, columns=["person_id", "ts", "event", "product",
                                            "order_id", "value"])
    frame = Dataset(events=conform(events, EVENT_COLUMNS), timezone=timezone)
    if people is not None:
        frame.people = conform(pd.DataFrame(people), PEOPLE_COLUMNS)
    return frame


def lead(engine: StageEngine, person: str, as_of, rules=None) -> pd.Series:
    """The row of one person."""
    leads = engine.leads(rules or StageRules(), as_of)
    return leads.set_index("person_id").loc[person]


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# -- each rule at its boundary ---------------------------------------------------


def test_three_opens_inside_fourteen_days_make_engaged():
    """Test that opens on days 1, 7 and 14 are engaged as of day 14 (days 1..14)."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-01T09:00Z", "email_open"),
        (ANN, "2024-01-07T09:00Z", "email_open"),
        (ANN, "2024-01-14T09:00Z", "email_open"),
    ]))
    row = lead(engine, ANN, dt.date(2024, 1, 14))
    assert row["stage"] == "engaged"
    assert row["rule"] == "engaged_opens"
    assert row["entered_engaged"] == utc("2024-01-14T09:00")


def test_third_open_on_day_fifteen_is_not_engaged():
    """Test that opens on days 1, 7 and 15 are not engaged: day 1 left the window."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-01T09:00Z", "email_open"),
        (ANN, "2024-01-07T09:00Z", "email_open"),
        (ANN, "2024-01-15T09:00Z", "email_open"),
    ]))
    row = lead(engine, ANN, dt.date(2024, 1, 15))
    assert row["stage"] == "captured"
    assert pd.isna(row["entered_engaged"])
    assert row["entered_captured"] == utc("2024-01-01T09:00")


def test_five_product_views_make_engaged_four_do_not():
    """Test the 5-views-in-30-days rule at 4 and 5 views, and its window edge."""
    views = [(ANN, f"2024-03-{d:02d}T12:00Z", "product_view", f"p{d}")
             for d in (1, 5, 10, 20)]
    engine = StageEngine(dataset(views))
    assert lead(engine, ANN, dt.date(2024, 3, 30))["stage"] == "captured"

    engine = StageEngine(dataset(views + [(ANN, "2024-03-30T12:00Z", "product_view",
                                           "p30")]))
    row = lead(engine, ANN, dt.date(2024, 3, 30))
    assert row["stage"] == "engaged"
    assert row["rule"] == "engaged_product_views"
    # As of 31 March the window is 2..31 March: the view of 1 March ages out.
    assert lead(engine, ANN, dt.date(2024, 3, 31))["stage"] == "captured"


def test_same_product_three_times_is_intent_three_products_are_not():
    """Test that three views of one product are intent, of three products not."""
    same = [(ANN, f"2024-05-0{d}T10:00Z", "product_view", "boot") for d in (1, 2, 3)]
    row = lead(StageEngine(dataset(same)), ANN, dt.date(2024, 5, 3))
    assert row["stage"] == "purchase_intent"
    assert row["rule"] == "intent_same_product"
    assert row["entered_purchase_intent"] == utc("2024-05-03T10:00")

    spread = [(ANN, f"2024-05-0{d}T10:00Z", "product_view", f"p{d}") for d in (1, 2, 3)]
    row = lead(StageEngine(dataset(spread)), ANN, dt.date(2024, 5, 3))
    assert row["stage"] == "captured"
    assert pd.isna(row["entered_purchase_intent"])


def test_cart_then_order_is_not_intent_order_then_cart_is():
    """Test "a cart with no order after it", with customers needing two orders."""
    rules = StageRules(customer_min_orders=2)
    cart_first = dataset([
        (ANN, "2024-06-01T10:00Z", "add_to_cart", "boot"),
        (ANN, "2024-06-01T10:05Z", "order", None, "1001", 80.0),
    ])
    row = lead(StageEngine(cart_first), ANN, dt.date(2024, 6, 10), rules)
    assert row["stage"] == "captured"
    assert row["orders"] == 1
    # The cart held from 10:00 until the order: it entered intent then.
    assert row["entered_purchase_intent"] == utc("2024-06-01T10:00")

    order_first = dataset([
        (ANN, "2024-06-01T10:05Z", "order", None, "1001", 80.0),
        (ANN, "2024-06-02T08:00Z", "checkout_started"),
    ])
    row = lead(StageEngine(order_first), ANN, dt.date(2024, 6, 10), rules)
    assert row["stage"] == "purchase_intent"
    assert row["rule"] == "intent_cart"
    # The same day, before the checkout, the lead was only captured.
    assert lead(StageEngine(order_first), ANN, dt.date(2024, 6, 1), rules)["stage"] == (
        "captured"
    )


def test_order_at_the_same_moment_as_checkout_closes_it():
    """Test that an order at the checkout's microsecond counts as after it."""
    rules = StageRules(customer_min_orders=2)
    same_time = dataset([
        (ANN, "2024-06-01T10:00Z", "checkout_started"),
        (ANN, "2024-06-01T10:00Z", "order", None, "1001", 80.0),
    ])
    row = lead(StageEngine(same_time), ANN, dt.date(2024, 6, 1), rules)
    assert row["stage"] == "captured"
    assert pd.isna(row["entered_purchase_intent"])


def test_sizing_view_is_intent_for_thirty_days():
    """Test that a sizing view on 1 July is intent through 30 July, not 31 July."""
    engine = StageEngine(dataset([(ANN, "2024-07-01T10:00Z", "sizing_view")]))
    assert lead(engine, ANN, dt.date(2024, 7, 30))["rule"] == "intent_sizing"
    assert lead(engine, ANN, dt.date(2024, 7, 31))["stage"] == "captured"


def test_email_click_needs_a_product_and_wishlist_counts():
    """Test the click-on-a-product and wishlist rules."""
    engine = StageEngine(dataset([
        (ANN, "2024-02-01T10:00Z", "email_click"),
        ("bo@example.com", "2024-02-01T10:00Z", "email_click", "scarf"),
        ("cy@example.com", "2024-02-01T10:00Z", "wishlist_add", "scarf"),
    ]))
    leads = engine.leads(StageRules(), dt.date(2024, 2, 5)).set_index("person_id")
    assert leads.loc[ANN, "stage"] == "captured"
    assert leads.loc["bo@example.com", "rule"] == "engaged_product_click"
    assert leads.loc["cy@example.com", "rule"] == "engaged_wishlist"


# -- lapses, customers, switches, sliders -----------------------------------------


def test_engaged_lead_lapses_back_to_captured():
    """Test that an engaged lead falls back to captured as its opens age out."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-01T09:00Z", "email_open"),
        (ANN, "2024-01-02T09:00Z", "email_open"),
        (ANN, "2024-01-03T09:00Z", "email_open"),
    ]))
    stages = {
        day: lead(engine, ANN, dt.date(2024, 1, day))["stage"] for day in (2, 3, 14, 15)
    }
    # Days 3 and 14 have all three opens in their window (1..14); day 15 loses day 1.
    assert stages == {2: "captured", 3: "engaged", 14: "engaged", 15: "captured"}
    # The entry time stays the first moment the rule held.
    assert lead(engine, ANN, dt.date(2024, 1, 15))["entered_engaged"] == utc(
        "2024-01-03T09:00"
    )


def test_customer_first_and_repeat():
    """Test first-time and repeat customers, entry times and first order value."""
    engine = StageEngine(dataset([
        (ANN, "2024-04-01T10:00Z", "order", None, "1", 40.0),
        (ANN, "2024-04-20T10:00Z", "order", None, "2", 60.0),
        ("bo@example.com", "2024-04-05T10:00Z", "order", None, "3", 25.0),
    ]))
    leads = engine.leads(StageRules(), dt.date(2024, 4, 30)).set_index("person_id")
    assert leads.loc[ANN, "customer_kind"] == "repeat"
    assert leads.loc[ANN, "entered_customer"] == utc("2024-04-01T10:00")
    assert leads.loc[ANN, "entered_repeat"] == utc("2024-04-20T10:00")
    assert leads.loc[ANN, "first_order_value"] == 40.0
    assert leads.loc["bo@example.com", "customer_kind"] == "first"
    assert stage_counts(leads.reset_index())["customer_repeat"] == 1

    # Before the second order Ann was a first-time customer; before any, not one.
    assert lead(engine, ANN, dt.date(2024, 4, 19))["customer_kind"] == "first"
    assert lead(engine, ANN, dt.date(2024, 4, 19))["orders"] == 1
    assert "bo@example.com" not in engine.leads(StageRules(), dt.date(2024, 4, 4))[
        "person_id"
    ].tolist()


def test_rule_switched_off_never_holds():
    """Test that switching the opens rule off leaves the lead captured."""
    engine = StageEngine(dataset([
        (ANN, f"2024-01-0{d}T09:00Z", "email_open") for d in (1, 2, 3)
    ]))
    rules = StageRules().with_rule("engaged_opens", enabled=False)
    row = lead(engine, ANN, dt.date(2024, 1, 3), rules)
    assert row["stage"] == "captured"
    assert pd.isna(row["entered_engaged"])


def test_slider_change_moves_exactly_the_expected_leads():
    """Test that opens 3 -> 4 moves only the lead with exactly 3 opens."""
    rows = []
    for person, opens in (("three@x.com", 3), ("four@x.com", 4), ("two@x.com", 2)):
        rows += [(person, f"2024-01-{d + 1:02d}T09:00Z", "email_open")
                 for d in range(opens)]
    rows.append(("ga4:77", "2024-01-01T09:00Z", "email_open"))
    engine = StageEngine(dataset(rows))
    before = stage_counts(engine.leads(StageRules(), dt.date(2024, 1, 10)))
    after = stage_counts(
        engine.leads(StageRules().with_rule("engaged_opens", min_count=4),
                     dt.date(2024, 1, 10))
    )
    assert before["engaged"] == 2 and before["captured"] == 1
    assert after["engaged"] == 1 and after["captured"] == 2
    assert before["awareness"] == after["awareness"] == 1

    # A window of 3 days as of 10 January (days 8..10) holds no opens at all.
    narrow = StageRules().with_rule("engaged_opens", window_days=3)
    assert stage_counts(engine.leads(narrow, dt.date(2024, 1, 10)))["engaged"] == 0


def test_entry_time_is_the_event_completing_the_count_in_its_window():
    """Test entry at 30 Jan: opens 1, 20, 25, 30 Jan; only (20, 25, 30) fit 14 days."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-01T10:00Z", "email_open"),
        (ANN, "2024-01-20T10:00Z", "email_open"),
        (ANN, "2024-01-25T10:00Z", "email_open"),
        (ANN, "2024-01-30T10:00Z", "email_open"),
    ]))
    assert lead(engine, ANN, dt.date(2024, 1, 30))["stage"] == "engaged"
    row = lead(engine, ANN, dt.date(2024, 2, 5))
    assert row["entered_engaged"] == utc("2024-01-30T10:00")
    # 23 Jan .. 5 Feb holds the opens of 25 and 30 Jan only: the lead has lapsed.
    assert row["stage"] == "captured"


def test_one_order_id_twice_is_one_purchase():
    """Test that an order seen in two exports is one purchase: first-time buyer."""
    engine = StageEngine(dataset([
        (ANN, "2024-04-01T10:00Z", "order", None, "1001", 40.0),
        (ANN, "2024-04-01T10:00:30Z", "order", None, "1001", 40.0),
        (ANN, "2024-04-02T10:00Z", "checkout_started"),
    ]))
    row = lead(engine, ANN, dt.date(2024, 4, 3), StageRules(customer_min_orders=2))
    assert row["orders"] == 1
    assert row["stage"] == "purchase_intent"  # the checkout after the one order
    assert lead(engine, ANN, dt.date(2024, 4, 3))["customer_kind"] == "first"


def test_people_only_and_empty_datasets():
    """Test a customers export alone (no events) and no data at all."""
    people = {"person_id": ["a@x.com", "ga4:9"], "email": ["a@x.com", None],
              "first_seen": [pd.Timestamp("2024-02-01T00:00Z"), None]}
    engine = StageEngine(dataset([], people=people))
    assert engine.default_as_of == dt.date(2024, 2, 1)
    assert stage_counts(engine.leads(StageRules()))["captured"] == 1

    empty = StageEngine(Dataset())
    leads = empty.leads(StageRules())
    assert len(leads) == 0 and tuple(leads.columns) == LEAD_COLUMNS
    assert isinstance(empty.default_as_of, dt.date)


# -- identity, time zones, shape -----------------------------------------------


def test_time_zone_sets_the_day_boundary():
    """Test that 23:30 local counts on its local day, 00:30 on the next."""
    opens = [(ANN, "2024-01-02T15:00Z", "email_open"), (ANN, "2024-01-10T15:00Z",
                                                         "email_open")]
    # 15 Jan 23:30 in New York is 16 Jan 04:30 UTC.
    late = dataset(opens + [(ANN, "2024-01-16T04:30Z", "email_open")],
                   timezone="America/New_York")
    assert lead(StageEngine(late), ANN, dt.date(2024, 1, 15))["stage"] == "engaged"
    # In UTC the same open falls on 16 Jan, after the day evaluated.
    late_utc = dataset(opens + [(ANN, "2024-01-16T04:30Z", "email_open")])
    assert lead(StageEngine(late_utc), ANN, dt.date(2024, 1, 15))["stage"] == "captured"

    # 16 Jan 00:30 in New York (05:30 UTC): not yet on the 15th; on the 16th the
    # window (3..16 Jan) has lost the open of 2 Jan.
    early = StageEngine(dataset(opens + [(ANN, "2024-01-16T05:30Z", "email_open")],
                                timezone="America/New_York"))
    assert lead(early, ANN, dt.date(2024, 1, 15))["stage"] == "captured"
    assert lead(early, ANN, dt.date(2024, 1, 16))["stage"] == "captured"


def test_anonymous_platform_id_is_awareness_whatever_it_did():
    """Test that a ga4: pseudo id with opens, a cart and an order stays awareness."""
    anon = "ga4:1234567.89"
    engine = StageEngine(dataset([
        (anon, "2024-01-01T09:00Z", "email_open"),
        (anon, "2024-01-02T09:00Z", "email_open"),
        (anon, "2024-01-03T09:00Z", "email_open"),
        (anon, "2024-01-03T10:00Z", "add_to_cart"),
        (anon, "2024-01-04T10:00Z", "order", None, "9", 10.0),
    ]))
    row = lead(engine, anon, dt.date(2024, 1, 4))
    assert (row["stage"], row["rule"], bool(row["identified"])) == (
        "awareness", "awareness", False
    )
    assert pd.isna(row["entered_captured"]) and pd.isna(row["customer_kind"])


def test_a_store_customer_id_that_bought_is_a_customer():
    """Test QA's transaction log (customer ids, no emails): buyers known by a store's
    id (``id:``, ``shopify:``, a GA4 ``user_id``) are customers, first-time or repeat,
    though never captured; one who has not bought stays awareness."""
    engine = StageEngine(dataset([
        ("id:17", "2024-01-01T09:00Z", "order", None, "A", 10.0),
        ("id:17", "2024-01-03T09:00Z", "order", None, "B", 20.0),
        ("shopify:5", "2024-01-02T09:00Z", "order", None, "C", 30.0),
        ("ga4_user:u1", "2024-01-02T10:00Z", "order", None, "D", 40.0),
        ("id:99", "2024-01-02T09:00Z", "product_view"),
    ]))
    leads = engine.leads(StageRules(), dt.date(2024, 1, 4)).set_index("person_id")
    assert leads["stage"].astype(str).to_dict() == {
        "id:17": "customer", "shopify:5": "customer", "ga4_user:u1": "customer",
        "id:99": "awareness",
    }
    assert leads.loc["id:17", "customer_kind"] == "repeat"
    assert leads.loc["shopify:5", "customer_kind"] == "first"
    assert leads.loc["id:17", "entered_repeat"] == utc("2024-01-03T09:00")
    assert leads.loc["shopify:5", "first_order_value"] == 30.0
    assert not leads["identified"].any()
    assert pd.isna(leads.loc["id:17", "entered_captured"])
    counts = stage_counts(leads.reset_index())
    assert (counts["customer"], counts["awareness"]) == (3, 1)


def test_people_with_contact_are_captured_and_undated_stay_undated():
    """Test identity from the people table, first_seen as captured entry, undated."""
    people = {
        "person_id": ["shopify:1", "tel:+15550100", "shopify:2", "zed@example.com"],
        "email": ["one@example.com", None, None, "zed@example.com"],
        "phone": [None, None, None, None],
        "first_seen": [pd.Timestamp("2024-01-05T08:00Z"), None, None, None],
    }
    engine = StageEngine(
        dataset([("zed@example.com", "2024-01-09T08:00Z", "page_view")], people=people)
    )
    leads = engine.leads(StageRules(), dt.date(2024, 1, 10)).set_index("person_id")
    assert leads["stage"].to_dict() == {
        "shopify:1": "captured",
        "tel:+15550100": "captured",
        "shopify:2": "awareness",
        "zed@example.com": "captured",
    }
    assert leads.loc["shopify:1", "entered_captured"] == utc("2024-01-05T08:00")
    assert pd.isna(leads.loc["tel:+15550100", "entered_captured"])
    assert leads.loc["zed@example.com", "entered_captured"] == utc("2024-01-09T08:00")
    assert engine.default_as_of == dt.date(2024, 1, 9)
    # As of 4 January, shopify:1 (first seen the 5th) and zed did not exist yet.
    early = engine.leads(StageRules(), dt.date(2024, 1, 4))
    assert sorted(early["person_id"]) == ["shopify:2", "tel:+15550100"]


def test_leads_columns_and_counts_reconcile():
    """Test the output's columns, categories and that stage counts add up."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-01T09:00Z", "order", None, "1", 10.0),
        ("ga4:1", "2024-01-01T09:00Z", "session"),
        ("bo@example.com", "2024-01-01T09:00Z", "sizing_view"),
    ]))
    leads = engine.leads(StageRules())
    assert tuple(leads.columns) == LEAD_COLUMNS
    assert set(leads["stage"].astype(str)) <= set(STAGES)
    counts = stage_counts(leads)
    assert list(counts) == [*STAGES, "customer_first", "customer_repeat"]
    assert sum(counts[s] for s in STAGES) == len(leads) == 3
    assert counts["customer"] == 1
    assert counts["customer"] == counts["customer_first"] + counts["customer_repeat"]
    assert str(leads["entered_customer"].dtype) == "datetime64[us, UTC]"


# -- against a slow reference -------------------------------------------------------


def reference_leads(events: pd.DataFrame, people_ids: list[str], rules: StageRules,
                    as_of_day: int) -> dict[str, dict]:
    """Stages and entry times by brute force: every rule judged at every moment.

    ``events`` has person_id, ts_us, day, event, product. People here are all
    identified (emails) except ids starting with ``ga4:``.
    """
    spec = {
        "engaged_opens": ({"email_open"}, False, False),
        "engaged_product_views": ({"product_view"}, False, False),
        "engaged_product_click": ({"email_click"}, True, False),
        "engaged_wishlist": ({"wishlist_add"}, False, False),
        "intent_same_product": ({"product_view"}, True, True),
        "intent_sizing": ({"sizing_view"}, False, False),
    }
    rank = {s: i for i, s in enumerate(STAGES)}
    out = {}
    for person in people_ids:
        mine = [r for r in events.itertuples() if r.person_id == person]
        mine = [r for r in mine if r.day <= as_of_day]
        if not mine:
            continue
        identified = not person.startswith("ga4:")
        orders = sorted(r.ts_us for r in mine if r.event == "order")

        def holds(name, rule, t_us, t_day, mine=mine, orders=orders):
            """Whether the rule holds at moment t over the window ending t_day."""
            seen = [r for r in mine if r.ts_us <= t_us
                    and t_day - rule.window_days + 1 <= r.day <= t_day]
            if name == "intent_cart":
                carts = [r for r in seen
                         if r.event in ("add_to_cart", "checkout_started")
                         and not any(r.ts_us <= o <= t_us for o in orders)]
                return len(carts) >= rule.min_count
            kinds, needs_product, per_product = spec[name]
            hits = [r for r in seen if r.event in kinds
                    and (not needs_product or r.product is not None)]
            if per_product:
                products = [r.product for r in hits]
                return any(products.count(p) >= rule.min_count for p in set(products))
            return len(hits) >= rule.min_count

        end_us = max(r.ts_us for r in mine)
        stage, rule_name = ("captured", "captured") if identified else (
            "awareness", "awareness")
        entered = {"engaged": None, "purchase_intent": None}
        for name in RULE_NAMES:
            rule = rules.rules[name]
            if not rule.enabled or not identified:
                continue
            moments = sorted(r.ts_us for r in mine)
            first = next((t for t in moments
                          if holds(name, rule, t, next(r.day for r in mine
                                                       if r.ts_us == t))), None)
            if first is not None and (entered[rule.stage] is None
                                      or first < entered[rule.stage]):
                entered[rule.stage] = first
            higher = rank[rule.stage] > rank[stage]
            if higher and holds(name, rule, end_us + 10**12, as_of_day):
                stage, rule_name = rule.stage, name
        n_orders = len(orders)
        kind = None
        if identified and n_orders >= rules.customer_min_orders:
            stage, rule_name = "customer", "customer"
            kind = "repeat" if n_orders >= 2 else "first"
        out[person] = {
            "stage": stage,
            "rule": rule_name,
            "customer_kind": kind,
            "orders": n_orders if identified else 0,
            "entered_engaged": entered["engaged"],
            "entered_purchase_intent": entered["purchase_intent"],
            "entered_customer": orders[rules.customer_min_orders - 1]
            if identified and n_orders >= rules.customer_min_orders else None,
        }
    return out


def random_events(seed: int) -> pd.DataFrame:
    """A small random event set: 12 persons, 60 days, ties and same-day events."""
    rng = np.random.default_rng(seed)
    n = 240
    kinds = ["email_open", "product_view", "email_click", "wishlist_add", "add_to_cart",
             "checkout_started", "order", "sizing_view", "page_view"]
    weights = np.array([6, 8, 2, 1, 3, 2, 1.5, 1, 2])
    persons = [f"p{i}@x.com" for i in range(11)] + ["ga4:anon"]
    day = rng.integers(0, 60, n)
    hour = rng.integers(0, 2, n)  # two distinct hours a day: many ties
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(day, "D") + \
        pd.to_timedelta(hour * 8, "h")
    events = pd.DataFrame({
        "person_id": rng.choice(persons, n),
        "ts": ts,
        "event": rng.choice(kinds, n, p=weights / weights.sum()),
        "product": rng.choice(["a", "b", None], n, p=[0.45, 0.35, 0.2]),
    })
    events["order_id"] = [f"o{i}" if e == "order" else None
                          for i, e in enumerate(events["event"])]
    events["value"] = np.where(events["event"] == "order", 10.0, np.nan)
    return events


@pytest.mark.parametrize("seed", range(5))
def test_engine_equals_brute_force_reference(seed):
    """Test that the vectorised engine equals the reference on random events."""
    raw = random_events(seed)
    engine = StageEngine(Dataset(events=conform(raw, EVENT_COLUMNS)))
    flat = raw.assign(
        ts_us=raw["ts"].astype("datetime64[us, UTC]").astype("int64"),
        day=(raw["ts"].dt.tz_localize(None) - pd.Timestamp("1970-01-01")).dt.days,
    )
    product = flat["product"].astype(object)
    flat["product"] = product.where(product.notna(), None)
    rng = np.random.default_rng(100 + seed)
    rule_sets = [
        StageRules(),
        StageRules(customer_min_orders=2)
        .with_rule("intent_cart", min_count=2, window_days=10)
        .with_rule("engaged_opens", min_count=2, window_days=5)
        .with_rule("intent_same_product", min_count=2, window_days=7),
        StageRules().with_rule("engaged_product_views", min_count=3, window_days=9)
        .with_rule("intent_sizing", enabled=False),
        # Carts alone decide intent: orders between and at the same time matter.
        StageRules(customer_min_orders=4)
        .with_rule("intent_same_product", enabled=False)
        .with_rule("intent_sizing", enabled=False)
        .with_rule("intent_cart", min_count=2, window_days=12),
        StageRules(customer_min_orders=4)
        .with_rule("intent_same_product", enabled=False)
        .with_rule("intent_sizing", enabled=False),
    ]
    for as_of in sorted(rng.choice(np.arange(19725, 19795), 4, replace=False)):
        for rules in rule_sets:
            want = reference_leads(flat, sorted(flat["person_id"].unique()), rules,
                                   int(as_of))
            got = engine.leads(rules, pd.Timestamp("1970-01-01") + pd.Timedelta(
                days=int(as_of)))
            got = got.set_index("person_id")
            assert sorted(got.index) == sorted(want)
            for person, expected in want.items():
                row = got.loc[person]
                actual = {
                    "stage": row["stage"],
                    "rule": row["rule"],
                    "customer_kind": None if pd.isna(row["customer_kind"])
                    else row["customer_kind"],
                    "orders": int(row["orders"]),
                    **{col: None if pd.isna(row[col]) else row[col].value // 1000
                       for col in ("entered_engaged", "entered_purchase_intent",
                                   "entered_customer")},
                }
                assert actual == expected, (seed, as_of, person, rules)


# -- against the sample brand's ground truth ------------------------------------------


def test_engine_matches_sample_brand_ground_truth_for_every_lead():
    """Test every lead's stage and customer kind against the generator's truth."""
    from pipeline.ingest import load_files
    from pipeline.samplegen import generate

    brand = generate(n_leads=3000, seed=7, end_date="2026-11-30")
    data = load_files(list(brand.files.items()))
    leads = StageEngine(data).leads(StageRules(), dt.date(2026, 11, 30))
    truth = brand.truth.set_index("person_id")
    got = leads.set_index("person_id").reindex(truth.index)
    assert got["stage"].notna().all(), "persons of the truth missing from the leads"
    mismatched = truth.index[
        (got["stage"].astype(str) != truth["stage"].astype(str))
        | (got["customer_kind"].astype("string").fillna("")
           != truth["customer_kind"].astype("string").fillna(""))
    ]
    assert len(mismatched) == 0, (
        f"{len(mismatched)} of {len(truth)} leads differ, e.g. "
        f"{got.loc[mismatched[:5], ['stage', 'customer_kind']].to_dict('index')} vs "
        f"{truth.loc[mismatched[:5], ['stage', 'customer_kind']].to_dict('index')}"
    )


def test_default_as_of_ignores_rows_dated_after_today():
    """Test that one future-dated event (a typo year) does not move "as of" ahead.

    The QA file ``events_bad.csv`` had one product view dated 2031-06-01 and the app's
    "As of" jumped there; the latest day not after today is the right default.
    """
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3 * 365)).isoformat()
    engine = StageEngine(dataset([
        (ANN, "2024-03-05T10:00Z", "product_view"),
        (ANN, "2024-03-09T23:30Z", "order", None, "1", 10.0),
        ("bob@example.com", future, "product_view"),
    ]))
    assert engine.default_as_of == dt.date(2024, 3, 9)

    # a first sighting after today is left out the same way
    people = {"person_id": ["a@x.com", "b@x.com"], "email": ["a@x.com", "b@x.com"],
              "first_seen": [pd.Timestamp("2024-02-01T00:00Z"), pd.Timestamp(future)]}
    assert StageEngine(dataset([], people=people)).default_as_of == dt.date(2024, 2, 1)


def test_default_as_of_runs_to_records_that_name_nobody():
    """Test QA's COD orders (no email or phone, months after the other file): the
    default "as of" is their last day too, though they are no lead's."""
    engine = StageEngine(dataset([
        (ANN, "2024-01-02T09:00Z", "email_open"),
        (None, "2024-01-09T10:00Z", "order", None, "Z", 5.0),
    ]))
    assert engine.default_as_of == dt.date(2024, 1, 9)
    assert list(engine.leads(StageRules())["person_id"]) == [ANN]
