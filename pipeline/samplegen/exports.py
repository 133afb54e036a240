"""Write the simulation as the files a store would export.

Layouts copy the real exports in ``../shared/real/shopify`` (headers, one row per
line item with order fields on the first row only, ``-0500``/``-0400`` offsets,
ZIPs written ``'11201``, quoted empty fields, newest first) and the generic events
CSV documented in the README (``person,timestamp,event,channel,campaign,product,
order_id,value``; GA4 sessions add ``source,medium``).
"""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from pipeline.samplegen import catalogue as cat
from pipeline.samplegen.simulate import PURCHASE_STATUSES, Simulation

ORDER_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,"
    "Accepts Marketing,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,"
    "Discount Amount,Shipping Method,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem compare at price,Lineitem sku,Lineitem requires shipping,"
    "Lineitem taxable,Lineitem fulfillment status,Billing Name,Billing Street,"
    "Billing Address1,Billing Address2,Billing Company,Billing City,Billing Zip,"
    "Billing Province,Billing Country,Billing Phone,Shipping Name,Shipping Street,"
    "Shipping Address1,Shipping Address2,Shipping Company,Shipping City,Shipping Zip,"
    "Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,"
    "Outstanding Balance,Employee,Location,Device ID,Id,Tags,Risk Level,Source,"
    "Lineitem discount,Tax 1 Name,Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,"
    "Tax 3 Value,Tax 4 Name,Tax 4 Value,Tax 5 Name,Tax 5 Value,Phone,Receipt Number,"
    "Duties,Billing Province Name,Shipping Province Name,Payment ID,Payment Terms Name,"
    "Next Payment Due At,Payment References"
).split(",")
CHECKOUT_HEADER = [
    c
    for c in ORDER_HEADER
    if c
    not in (
        "Outstanding Balance",
        "Employee",
        "Location",
        "Device ID",
        "Duties",
        "Payment ID",
        "Payment Terms Name",
        "Next Payment Due At",
        "Payment References",
    )
]
CUSTOMER_HEADER = (
    "First Name,Last Name,Email,Accepts Email Marketing,Company,Address1,Address2,City,"
    "Province,Province Code,Country,Country Code,Zip,Phone,Accepts SMS Marketing,"
    "Total Spent,Total Orders,Tags,Note,Tax Exempt"
).split(",")
PROFILE_HEADER = [
    "Email",
    "Phone Number",
    "First Name",
    "Last Name",
    "City",
    "State / Region",
    "Country",
    "Zip Code",
    "Source",
    "Email Marketing Consent",
    "SMS Marketing Consent",
    "Profile Created On",
]
EVENT_HEADER = [
    "person",
    "timestamp",
    "event",
    "channel",
    "campaign",
    "product",
    "order_id",
    "value",
]
SESSION_HEADER = [*EVENT_HEADER, "source", "medium"]
KLAVIYO_TYPES = (
    cat.SIGNUP,
    cat.EMAIL_DELIVERED,
    cat.EMAIL_OPEN,
    cat.EMAIL_CLICK,
    cat.SMS_CLICK,
    cat.ORDER,
)
# Shopify writes these as "" when empty on an order's first row.
QUOTED_EMPTY = {"Discount Code", "Note Attributes", "Tags"}
STORE_URL = "https://northfold.example"


def _cell(value: str, quote_empty: bool = False) -> str:
    if value == "":
        return '""' if quote_empty else ""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv(
    header: list[str],
    rows: list[list[str]],
    quoted: set[str] = frozenset(),
    first: list[bool] | None = None,
) -> bytes:
    """CSV text with LF line endings; ``quoted`` columns are written ``""`` when empty
    on the rows flagged in ``first`` (Shopify does so on an order's first row)."""
    flags = [name in quoted for name in header]
    first = first or [True] * len(rows)
    lines = [",".join(header)]
    for row, head in zip(rows, first, strict=True):
        cells = (_cell(v, f and head) for v, f in zip(row, flags, strict=True))
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _money(x: float) -> str:
    return f"{x:.2f}"


def local_text(ts_us: np.ndarray, timezone: str) -> list[str]:
    """Shopify's ``2026-03-08 14:22:10 -0500`` form of UTC microseconds."""
    stamps = pd.to_datetime(ts_us, unit="us", utc=True).tz_convert(ZoneInfo(timezone))
    return [s.strftime("%Y-%m-%d %H:%M:%S %z") for s in stamps]


def utc_text(ts_us: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC text such as ``2026-03-08T19:22:10Z``."""
    stamps = pd.to_datetime(ts_us, unit="us", utc=True)
    return stamps.strftime("%Y-%m-%dT%H:%M:%SZ").to_numpy()


class Exporter:
    """Builds every file of the sample brand from one :class:`Simulation`."""

    def __init__(self, sim: Simulation, timezone: str, seed: int) -> None:
        self.sim = sim
        self.tz = timezone
        self.rng = np.random.default_rng(seed + 1)
        leads = sim.leads
        self.emails = leads["email"].tolist()
        anon_ids = self.rng.integers(100_000_000, 2_000_000_000, sim.n_anon)
        first_seen = self.rng.integers(1_700_000_000, 1_760_000_000, sim.n_anon)
        self.person_ids = self.emails + [
            f"ga4:{a}.{f}" for a, f in zip(anon_ids, first_seen, strict=True)
        ]
        self.orders = self._order_table()

    def ts_us(self, day, sec) -> np.ndarray:
        day = np.asarray(day, dtype=np.int64)
        return self.sim.day_start_us[day] + np.asarray(sec, dtype=np.int64) * 1_000_000

    # ---- orders ----------------------------------------------------------------
    def _order_table(self) -> pd.DataFrame:
        """Order money, ids and names, in time order (numbers are given by time)."""
        o = self.sim.orders.copy()
        o["ts_us"] = self.ts_us(o["day"], o["sec"])
        o = o.sort_values(["ts_us", "sim_order"], kind="stable").reset_index(drop=True)
        rng = self.rng
        n = len(o)
        o["name"] = [f"#{1001 + i}" for i in range(n)]
        o["order_id"] = [
            str(6_120_000_000_000 + i * 3_187 + int(j))
            for i, j in enumerate(rng.integers(0, 3_000, n))
        ]
        gross = np.array(
            [sum(cat.PRODUCTS[p][1] for p in items) for items in o["items"]]
        )
        o["discount_amount"] = np.round(gross * o["discount"].to_numpy(), 2)
        o["subtotal"] = np.round(gross - o["discount_amount"], 2)
        o["shipping"] = np.where(o["subtotal"] >= 100, 0.0, 8.0)
        taxed = rng.random(n) < 0.5
        o["taxes"] = np.where(taxed, np.round(o["subtotal"] * 0.06, 2), 0.0)
        o["total"] = np.round(o["subtotal"] + o["shipping"] + o["taxes"], 2)
        status = o["status"].to_numpy()
        partial = np.round(o["total"] * rng.uniform(0.2, 0.6, n), 2)
        o["refunded"] = np.select(
            [
                status == "partially_refunded",
                np.isin(status, ("refunded", "cancelled")),
            ],
            [partial, o["total"]],
            0.0,
        )
        o["net_value"] = np.round(o["total"] - o["refunded"], 2)
        o["is_purchase"] = np.isin(status, PURCHASE_STATUSES)
        lead = o["lead"].to_numpy()
        o["person_id"] = [self.emails[i] if i >= 0 else None for i in lead]
        o["upper_email"] = rng.random(n) < 0.03
        o["payment"] = np.where(
            status == "test",
            "(for testing) Bogus Gateway",
            np.where(
                rng.random(n) < 0.8, "Shopify Payments", "PayPal Express Checkout"
            ),
        )
        return o

    def shopify_orders(self) -> bytes:
        """The orders export: one row per line item, newest order first."""
        o = self.orders
        leads = self.sim.leads
        created = local_text(o["ts_us"].to_numpy(), self.tz)
        paid_at = local_text(o["ts_us"].to_numpy() + 20_000_000, self.tz)
        fulfilled_at = local_text(o["ts_us"].to_numpy() + 2 * 86_400_000_000, self.tz)
        cancelled_at = local_text(o["ts_us"].to_numpy() + 86_400_000_000, self.tz)
        end_us = self.sim.day_start_us[-1]
        rows: list[list[str]] = []
        heads: list[bool] = []
        for k in range(len(o) - 1, -1, -1):
            r = o.iloc[k]
            lead = int(r["lead"])
            status = r["status"]
            email = ""
            if lead >= 0:
                email = self.emails[lead]
                if r["upper_email"]:
                    email = email[0].upper() + email[1:]
            financial = {"cancelled": "refunded", "test": "paid"}.get(status, status)
            shipped = (
                status not in ("voided", "cancelled")
                and r["ts_us"] + 2 * 86_400_000_000 < end_us
            )
            if lead >= 0:
                person = leads.iloc[lead]
                name = f"{person['first_name']} {person['last_name']}"
                city = cat.CITIES[int(person["city"])]
                phone = person["phone"]
                accepts = "yes" if person["consent_email"] else "no"
            else:
                name, city, phone, accepts = "Guest Shopper", cat.CITIES[0], "", "no"
            street = f"{10 + k % 890} Maple Ave"
            zip_ = f"'{city[3]}{k % 100:02d}"
            ref = f"c{27_000_000_000 + k * 17}.1"
            taxes = float(r["taxes"])
            items = list(r["items"])
            for j, p in enumerate(items):
                prod = cat.PRODUCTS[p]
                size = prod[5][(k + j) % len(prod[5])]
                line = [
                    f"{prod[0]} / {size}",
                    _money(prod[1]),
                    _money(prod[2]),
                    f"{prod[4]}_{size}",
                    "true",
                    "true",
                    "fulfilled" if shipped else "pending",
                ]
                row = [r["name"], email] + [""] * 13 + [created[k], "1"] + line
                row += [""] * (len(ORDER_HEADER) - len(row))
                row[ORDER_HEADER.index("Vendor")] = prod[3]
                row[ORDER_HEADER.index("Lineitem discount")] = "0.00"
                if j == 0:
                    self._order_fields(
                        row,
                        r,
                        financial,
                        paid_at[k],
                        shipped,
                        fulfilled_at[k],
                        accepts,
                        name,
                        street,
                        city,
                        zip_,
                        phone,
                        ref,
                        taxes,
                        cancelled_at[k] if status == "cancelled" else "",
                    )
                rows.append(row)
                heads.append(j == 0)
        return _csv(ORDER_HEADER, rows, QUOTED_EMPTY, heads)

    @staticmethod
    def _order_fields(
        row,
        r,
        financial,
        paid_at,
        shipped,
        fulfilled_at,
        accepts,
        name,
        street,
        city,
        zip_,
        phone,
        ref,
        taxes,
        cancelled_at,
    ) -> None:
        h = ORDER_HEADER.index
        values = {
            "Financial Status": financial,
            "Paid at": "" if financial == "voided" else paid_at,
            "Fulfillment Status": "fulfilled" if shipped else "unfulfilled",
            "Fulfilled at": fulfilled_at if shipped else "",
            "Accepts Marketing": accepts,
            "Currency": "USD",
            "Subtotal": _money(r["subtotal"]),
            "Shipping": _money(r["shipping"]),
            "Taxes": _money(taxes),
            "Total": _money(r["total"]),
            "Discount Code": "WELCOME10" if r["discount"] > 0 else "",
            "Discount Amount": _money(r["discount_amount"]),
            "Shipping Method": "Standard" if r["shipping"] > 0 else "Free Ground",
            "Cancelled at": cancelled_at,
            "Payment Method": r["payment"],
            "Payment Reference": ref,
            "Refunded Amount": _money(r["refunded"]),
            "Outstanding Balance": _money(r["total"])
            if financial == "voided"
            else "0.00",
            "Id": r["order_id"],
            "Risk Level": "Low",
            "Source": "web",
            "Phone": phone,
            "Payment ID": ref,
            "Payment References": ref,
        }
        for side in ("Billing", "Shipping"):
            values |= {
                f"{side} Name": name,
                f"{side} Street": street,
                f"{side} Address1": street,
                f"{side} City": city[0],
                f"{side} Zip": zip_,
                f"{side} Province": city[1],
                f"{side} Country": "US",
                f"{side} Phone": phone,
                f"{side} Province Name": city[2],
            }
        if taxes > 0:
            values |= {
                "Tax 1 Name": f"{city[1]} State Tax 6%",
                "Tax 1 Value": _money(taxes),
            }
        for key, value in values.items():
            row[h(key)] = str(value)

    # ---- abandoned checkouts ---------------------------------------------------
    def shopify_checkouts(self) -> bytes:
        """Abandoned checkouts: the orders layout, Financial Status always empty."""
        c = self.sim.checkouts.copy()
        c["ts_us"] = self.ts_us(c["day"], c["sec"])
        c = c.sort_values("ts_us", ascending=False, kind="stable").reset_index(
            drop=True
        )
        created = local_text(c["ts_us"].to_numpy(), self.tz)
        h = CHECKOUT_HEADER.index
        rows = []
        for k, r in c.iterrows():
            checkout_id = str(38_500_000_000_000 + (len(c) - k) * 7_919)
            lead = int(r["lead"])
            prod = cat.PRODUCTS[r["items"][0]]
            size = prod[5][k % len(prod[5])]
            row = [""] * len(CHECKOUT_HEADER)
            token = f"{(lead * 2_654_435_761 + k) % 16**12:012x}"
            values = {
                "Name": f"#{checkout_id}",
                "Email": self.emails[lead],
                "Fulfillment Status": "unfulfilled",
                "Accepts Marketing": "yes"
                if self.sim.leads["consent_email"].iat[lead]
                else "no",
                "Currency": "USD",
                "Subtotal": _money(prod[1]),
                "Shipping": "0.00",
                "Taxes": "0.00",
                "Total": _money(prod[1]),
                "Discount Amount": "0.00",
                "Created at": created[k],
                "Lineitem quantity": "1",
                "Lineitem name": f"{prod[0]} / {size}",
                "Lineitem price": _money(prod[1]),
                "Lineitem compare at price": _money(prod[2]),
                "Lineitem sku": f"{prod[4]}_{size}",
                "Lineitem requires shipping": "true",
                "Lineitem taxable": "true",
                "Lineitem fulfillment status": "pending",
                "Note Attributes": f"abandoned_checkout_url: {STORE_URL}/checkouts/"
                f"{token}/recover\nlanding_page: /products/"
                f"{prod[4].lower()}",
                "Vendor": prod[3],
                "Id": checkout_id,
                "Source": "web",
                "Lineitem discount": "0.00",
            }
            for key, value in values.items():
                row[h(key)] = value
            rows.append(row)
        quoted = {
            "Discount Code",
            "Shipping Method",
            "Billing Street",
            "Payment Reference",
            "Payment Method",
        }
        return _csv(CHECKOUT_HEADER, rows, quoted)

    # ---- customers and profiles ------------------------------------------------
    def shopify_customers(self) -> bytes:
        """Customers export: buyers, and newsletter sign-ups with 0 orders."""
        leads = self.sim.leads
        o = self.orders[self.orders["is_purchase"] & (self.orders["lead"] >= 0)]
        spent = o.groupby("lead")["net_value"].sum()
        count = o.groupby("lead").size()
        footer = cat.SIGNUP_FORMS.index("Footer Newsletter")
        listed = sorted(set(count.index) | set(np.flatnonzero(leads["form"] == footer)))
        rows = []
        for i in listed:
            p = leads.iloc[i]
            n_orders = int(count.get(i, 0))
            city = cat.CITIES[int(p["city"])]
            buyer = n_orders > 0
            rows.append(
                [
                    p["first_name"] if buyer else "",
                    p["last_name"] if buyer else "",
                    p["email"],
                    "yes" if p["consent_email_end"] else "no",
                    "",
                    f"{10 + i % 890} Maple Ave" if buyer else "",
                    "",
                    city[0] if buyer else "",
                    city[2] if buyer else "",
                    city[1] if buyer else "",
                    "United States" if buyer else "",
                    "US" if buyer else "",
                    f"'{city[3]}{i % 100:02d}" if buyer else "",
                    f"'{p['phone']}" if p["phone"] else "",
                    "yes" if p["consent_sms_end"] else "no",
                    _money(float(spent.get(i, 0.0))),
                    str(n_orders),
                    "" if buyer else "newsletter",
                    "",
                    "no",
                ]
            )
        return _csv(CUSTOMER_HEADER, rows)

    def klaviyo_profiles(self) -> bytes:
        """Every identified lead as a Klaviyo profile."""
        leads = self.sim.leads
        created = utc_text(self.ts_us(leads["signup_day"], leads["signup_sec"]))
        email_state = np.where(
            leads["consent_email_end"],
            "SUBSCRIBED",
            np.where(leads["consent_email"], "UNSUBSCRIBED", "NEVER_SUBSCRIBED"),
        )
        sms_state = np.where(
            leads["consent_sms_end"],
            "SUBSCRIBED",
            np.where(leads["consent_sms"], "UNSUBSCRIBED", ""),
        )
        frame = pd.DataFrame(
            {
                "Email": leads["email"],
                "Phone Number": leads["phone"],
                "First Name": leads["first_name"],
                "Last Name": leads["last_name"],
                "City": [cat.CITIES[c][0] for c in leads["city"]],
                "State / Region": [cat.CITIES[c][2] for c in leads["city"]],
                "Country": "United States",
                "Zip Code": [
                    f"{cat.CITIES[c][3]}{i % 100:02d}"
                    for i, c in enumerate(leads["city"])
                ],
                "Source": [cat.SIGNUP_FORMS[f] for f in leads["form"]],
                "Email Marketing Consent": email_state,
                "SMS Marketing Consent": sms_state,
                "Profile Created On": created,
            }
        )
        return _frame_csv(frame)

    # ---- events ----------------------------------------------------------------
    def _event_frame(self, klaviyo: bool) -> pd.DataFrame:
        ev = self.sim.events
        is_klaviyo = ev["etype"].isin(KLAVIYO_TYPES).to_numpy()
        ev = ev[is_klaviyo if klaviyo else ~is_klaviyo]
        if klaviyo:  # orders that are purchases only, with their exported id and value
            purchase = self.orders.set_index("sim_order")
            keep = (ev["etype"] != cat.ORDER) | ev["order"].map(
                purchase["is_purchase"]
            ).fillna(False).astype(bool)
            ev = ev[keep.to_numpy()]
        etype, chan, msg = (ev[c].to_numpy() for c in ("etype", "channel", "message"))
        touch = np.isin(
            etype,
            (
                cat.SESSION,
                cat.AD_CLICK,
                cat.EMAIL_OPEN,
                cat.EMAIL_CLICK,
                cat.SMS_CLICK,
                cat.EMAIL_DELIVERED,
            ),
        )
        channel = np.where(
            touch & (chan >= 0),
            np.array(cat.CHANNELS, dtype=object)[np.maximum(chan, 0)],
            "",
        )
        frame = pd.DataFrame(
            {
                "person": np.array(self.person_ids, dtype=object)[
                    ev["lead"].to_numpy()
                ],
                "timestamp": utc_text(self.ts_us(ev["day"], ev["sec"])),
                "event": np.array(cat.EVENT_NAMES, dtype=object)[etype],
                "channel": channel,
                "campaign": [self._campaign(m) for m in msg],
                "product": [
                    cat.PRODUCTS[p][0] if p >= 0 else "" for p in ev["product"]
                ],
                "order_id": "",
                "value": "",
            }
        )
        if klaviyo:
            orders = self.orders.set_index("sim_order")
            is_order = etype == cat.ORDER
            sim_order = ev["order"].to_numpy()[is_order]
            frame.loc[is_order, "order_id"] = orders.loc[
                sim_order, "order_id"
            ].to_numpy()
            frame.loc[is_order, "value"] = [
                _money(v) for v in orders.loc[sim_order, "net_value"]
            ]
        else:
            source = {c: sm[0] for c, sm in cat.SOURCE_MEDIUM.items()}
            medium = {c: sm[1] for c, sm in cat.SOURCE_MEDIUM.items()}
            on = (etype == cat.SESSION) & (chan >= 0)
            frame["source"] = np.where(on, [source.get(c, "") for c in chan], "")
            frame["medium"] = np.where(on, [medium.get(c, "") for c in chan], "")
        return frame

    def _campaign(self, m: int) -> str:
        if m >= 0:
            return self.sim.messages[m]
        if m <= -100:
            return cat.AD_CAMPAIGNS[-100 - m][0]
        if m <= -2:
            return cat.SIGNUP_FORMS[-2 - m]
        return ""

    def klaviyo_events(self) -> bytes:
        """Klaviyo metrics as the generic events CSV (orders: purchases only)."""
        return _frame_csv(self._event_frame(klaviyo=True))

    def ga4_sessions(self) -> bytes:
        """Web events as the generic events CSV, with source and medium."""
        return _frame_csv(self._event_frame(klaviyo=False))


def _frame_csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")
