"""Write the GA4 BigQuery export fixtures (NDJSON and Parquet) from one event list.

The records follow Google's "[GA4] BigQuery Export schema": nested ``event_params``
key/value structs, ``user_properties``, ``items``, ``traffic_source``,
``collected_traffic_source``, ``session_traffic_source_last_click`` and
``ecommerce``. BigQuery writes INT64 values as JSON strings in NDJSON exports and as
integers in Parquet; both files hold the same 14 events. Run from this folder:
``python make_ga4_bigquery.py``.
"""

import json

import pyarrow as pa
import pyarrow.parquet as pq

BASE = 1717243200_000000  # 2024-06-01 12:00:00 UTC in microseconds


def param(key, value):
    """One event_params entry with the value in its typed field."""
    field = "int_value" if isinstance(value, int) else (
        "double_value" if isinstance(value, float) else "string_value")
    return {"key": key, "value": {"string_value": None, "int_value": None,
                                  "float_value": None, "double_value": None,
                                  field: value}}


def event(name, seconds, pseudo, session, params=(), user_id=None, items=None,
          ecommerce=None, collected=None, last_click=None):
    return {
        "event_date": "20240601",
        "event_timestamp": BASE + int(seconds * 1_000_000),
        "event_name": name,
        "event_params": [param("ga_session_id", session), *params],
        "user_id": user_id,
        "user_pseudo_id": pseudo,
        "user_properties": [],
        "traffic_source": {"name": "(direct)", "medium": "(none)",
                           "source": "(direct)"},
        "collected_traffic_source": collected,
        "session_traffic_source_last_click": last_click,
        "items": items or [],
        "ecommerce": ecommerce,
    }


A, B, C = "1111111111.1717243200", "2222222222.1717243300", "3333333333.1717243400"
google_cpc = {"manual_source": "google", "manual_medium": "cpc",
              "manual_campaign_name": "brand", "gclid": "abc"}
paid_search = {"manual_campaign": {"source": "google", "medium": "cpc",
                                   "campaign_name": "brand"},
               "cross_channel_campaign": {"source": "google", "medium": "cpc",
                                          "campaign_name": "brand",
                                          "default_channel_group": "Paid Search"}}
tee = [{"item_id": "SKU-1", "item_name": "Tee", "price": 59.5, "quantity": 1}]
order = {"transaction_id": "T1001", "purchase_revenue": 59.5, "total_item_quantity": 1}

EVENTS = [
    event("session_start", 0, A, 1717243200, collected=google_cpc,
          last_click=paid_search),
    event("page_view", 1, A, 1717243200,
          [param("page_location", "https://shop.example/pages/size-guide"),
           param("page_title", "Size guide")], last_click=paid_search),
    event("view_item", 20, A, 1717243200, items=tee, last_click=paid_search),
    event("add_to_cart", 40, A, 1717243200, items=tee, last_click=paid_search),
    event("begin_checkout", 60, A, 1717243200, items=tee, last_click=paid_search),
    event("purchase", 90, A, 1717243200, items=tee, ecommerce=order,
          last_click=paid_search),
    event("purchase", 95, A, 1717243200, items=tee, ecommerce=order,
          last_click=paid_search),
    event("scroll", 96, A, 1717243200, last_click=paid_search),
    event("session_start", 300, B, 1717243500,
          [param("source", "facebook"), param("medium", "paid"),
           param("campaign", "summer")], user_id="Ann@Example.com"),
    event("add_to_wishlist", 320, B, 1717243500, items=tee, user_id="Ann@Example.com"),
    event("page_view", 330, B, 1717243500,
          [param("page_location", "https://shop.example/products/tee")],
          user_id="Ann@Example.com"),
    event("session_start", 600, C, 1717243800),
    event("page_view", 610, C, 1717243800, [param("page_title", "Pricing")]),
    event("page_view", 620, None, 1717243800),
]


def ndjson_record(record):
    """INT64 fields as JSON strings, as BigQuery's NDJSON export writes them."""
    out = json.loads(json.dumps(record))
    out["event_timestamp"] = str(out["event_timestamp"])
    for p in out["event_params"]:
        if p["value"]["int_value"] is not None:
            p["value"]["int_value"] = str(p["value"]["int_value"])
    for item in out["items"]:
        item["quantity"] = str(item["quantity"])
    if out["ecommerce"]:
        out["ecommerce"]["total_item_quantity"] = str(
            out["ecommerce"]["total_item_quantity"])
    return out


if __name__ == "__main__":
    with open("ga4_bigquery_events.ndjson", "w", encoding="utf-8") as fh:
        for record in EVENTS:
            fh.write(json.dumps(ndjson_record(record)) + "\n")
    pq.write_table(pa.Table.from_pylist(EVENTS), "ga4_bigquery_events.parquet")
