"""Shopify exports: orders, abandoned checkouts and customers.

Orders and abandoned checkouts share one column family (``Name``, ``Email``,
``Financial Status``, ``Lineitem ...``, ``Total``, ``Created at``, ...) with one row
per line item and the order's fields only on its first row. They are told apart by
their values: an abandoned checkout never has a financial status nor a ``Paid at``
(and newer exports carry an ``Abandoned Checkout URL`` column).

Orders
    Net value = ``Total`` − ``Refunded Amount``. Status, first that applies: *test*
    (the payment method is Shopify's ``Bogus Gateway``), *voided* (financial status),
    *cancelled* (``Cancelled at`` set), *refunded* (financial status ``refunded``:
    fully), else *purchase* (``partially_refunded`` is a purchase with its net).
    Only purchases become ``order`` events; one without email or phone keeps
    ``person_id`` empty (revenue with no lead: the stage engine leaves it out).
    Orders are keyed by ``Id``; an export without ``Id`` keys them by file and
    ``Name``. UTM values written into ``Note Attributes`` (``UTM source: facebook``,
    ``utm_medium=paid``) become the order event's source, medium and campaign.
Abandoned checkouts
    One ``checkout_started`` event per checkout, products from its line items.
Customers
    People with email, phone, consent (``Accepts Email Marketing``, ``Accepts SMS
    Marketing``); ``first_seen`` from a created date when the export has one, else
    undated. Customers with 0 orders are captured leads.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.ingest import raw
from pipeline.ingest.base import ReadContext, ReadResult, SourceFile, register
from pipeline.ingest.checks import (
    flag_unlikely_dates,
    flag_unreadable_emails,
    plural,
    rows_left_out,
    sort_problems,
)
from pipeline.ingest.identity import person_key, platform_ids
from pipeline.ingest.phones import unread_phone
from pipeline.ingest.values import (
    normalise_email,
    normalise_phone,
    parse_amounts,
    parse_booleans,
    parse_numbers,
    parse_timestamps,
)
from pipeline.model import FileReport, InputError, Problem

logger = logging.getLogger(__name__)

ORDER_SIGNATURE = (
    "name",
    "email",
    "financial status",
    "lineitem name",
    "lineitem quantity",
    "total",
    "created at",
)
CUSTOMER_SIGNATURE = ("email", "total spent", "total orders")
CUSTOMER_HINTS = (
    "first name",
    "last name",
    "accepts email marketing",
    "accepts marketing",
    "accepts sms marketing",
    "tax exempt",
)
TEST_GATEWAY = "bogus gateway"
FINANCIAL_STATUSES = frozenset(
    {
        "paid",
        "pending",
        "authorized",
        "partially_paid",
        "partially_refunded",
        "refunded",
        "voided",
        "expired",
        "unpaid",
    }
)
"""Shopify's financial statuses; any other is counted as a purchase, and said."""
NEEDED = {"name": "Name", "created at": "Created at"}
"""Columns no order or checkout can be read without, as Shopify writes them."""
OFFSET_RE = r"([+-])(\d{2}):?(\d{2})\s*$"


def _columns(frame: pd.DataFrame) -> dict[str, str]:
    """Lower-case header name -> the file's own name."""
    return {str(c).strip().lower(): c for c in frame.columns}


def _family_score(frame: pd.DataFrame) -> float:
    """How much of the orders/checkouts column family the header has."""
    cols = _columns(frame)
    return sum(c in cols for c in ORDER_SIGNATURE) / len(ORDER_SIGNATURE)


def _is_checkouts(frame: pd.DataFrame) -> bool:
    """Whether a family table is abandoned checkouts (never paid, never a status)."""
    cols = _columns(frame)
    if any("abandoned checkout" in c for c in cols):
        return True
    status = frame[cols["financial status"]] if "financial status" in cols else None
    paid = frame[cols["paid at"]] if "paid at" in cols else None
    no_status = status is None or status.isna().all()
    no_paid = paid is None or paid.isna().all()
    return bool(no_status and no_paid and len(frame))


def score_orders(source: SourceFile) -> float:
    """Score for the Shopify orders export."""
    head = raw.peek(source)
    family = _family_score(head)
    if family < 0.85:
        return 0.0
    return 0.0 if _is_checkouts(raw.read_table(source)) else 0.95 * family


def score_checkouts(source: SourceFile) -> float:
    """Score for the Shopify abandoned checkouts export."""
    head = raw.peek(source)
    family = _family_score(head)
    if family < 0.85:
        return 0.0
    return 0.95 * family if _is_checkouts(raw.read_table(source)) else 0.0


def score_customers(source: SourceFile) -> float:
    """Score for the Shopify customers export."""
    cols = _columns(raw.peek(source))
    if not all(c in cols for c in CUSTOMER_SIGNATURE):
        return 0.0
    if "lineitem name" in cols:
        return 0.0
    hints = sum(c in cols for c in CUSTOMER_HINTS)
    return 0.7 + 0.25 * min(hints, 4) / 4


# ----------------------------------------------------------------------------- orders


def _order_groups(frame: pd.DataFrame, name_col: str) -> pd.Series:
    """Group number of each row: a new order starts where ``Name`` changes."""
    names = frame[name_col].ffill()
    changed = (names != names.shift()).fillna(True).astype(bool)
    return pd.Series(changed.to_numpy().cumsum(), index=frame.index)


def _offsets(text: pd.Series) -> dict[int, int]:
    """Minutes east of UTC of each written offset, and how often each appears."""
    found = text.dropna().str.extract(OFFSET_RE).dropna()
    if found.empty:
        return {}
    sign = found[0].map({"+": 1, "-": -1}).astype(int)
    minutes = sign * (found[1].astype(int) * 60 + found[2].astype(int))
    return {int(k): int(v) for k, v in minutes.value_counts().items()}


def _utm(notes: pd.Series) -> pd.DataFrame:
    """UTM source, medium and campaign found in note attributes (``NA`` if none)."""
    out = pd.DataFrame(index=notes.index, columns=["source", "medium", "campaign"])
    out = out.astype("string")
    text = notes.dropna()
    if text.empty:
        return out
    for key in ("source", "medium", "campaign"):
        pattern = rf"(?i)utm[ _\-]?{key}\s*[:=]\s*([^\r\n&;]+)"
        found = text.str.extract(pattern, expand=False).str.strip()
        out.loc[found.index, key] = found.replace("", pd.NA)
    return out


def _require_columns(cols: dict[str, str], what: str, file: str) -> None:
    """Raise when the export lacks a column every row needs (one message, not one
    per row)."""
    missing = [title for name, title in NEEDED.items() if name not in cols]
    if missing:
        names = " and ".join(f"'{title}'" for title in missing)
        raise InputError(
            f"the Shopify {what} export has no {names} column, which every row needs: "
            f"export the {what} again from Shopify with all columns, or map the "
            "file's columns yourself",
            file=file,
            column=missing[0],
        )


def _first_rows(
    frame: pd.DataFrame, cols: dict[str, str]
) -> tuple[pd.DataFrame, pd.Series]:
    """Each order's first row (with its line-item count), and each row's group."""
    groups = _order_groups(frame, cols["name"])
    first = frame.loc[~groups.duplicated()].copy()
    first["_group"] = groups[~groups.duplicated()].to_numpy()
    first["_rows"] = groups.value_counts().reindex(first["_group"]).to_numpy()
    return first, groups


def _named_rows(
    frame: pd.DataFrame, cols: dict[str, str], report: FileReport, what: str
) -> pd.DataFrame:
    """Rows that belong to an order; rows before the first name are rejected."""
    orphan = frame[cols["name"]].ffill().isna()
    for row in frame.index[orphan]:
        report.problems.append(
            Problem(int(row), cols["name"], f"the row has no {what} name: fill it in")
        )
    report.rows_rejected += int(orphan.sum())
    return frame.loc[~orphan]


def _get(frame: pd.DataFrame, cols: dict[str, str], name: str) -> pd.Series:
    """A column by lower-case name, or an all-``NA`` text column."""
    if name in cols:
        return frame[cols[name]]
    return pd.Series(pd.NA, index=frame.index, dtype="string")


def checked_email(
    report: FileReport, written: pd.Series, cols: dict[str, str]
) -> pd.Series:
    """Normalised emails; cells with text but no email are flagged in ``report``."""
    email = normalise_email(written)
    flag_unreadable_emails(report, written, email, cols.get("email", "Email"))
    return email


def _phones(frame: pd.DataFrame, cols: dict[str, str]) -> pd.Series:
    """The buyer's phone: ``Phone``, else ``Billing Phone``."""
    phone = _get(frame, cols, "phone")
    return phone.fillna(_get(frame, cols, "billing phone"))


def _products(
    frame: pd.DataFrame, cols: dict[str, str], groups: pd.Series
) -> pd.Series:
    """Line-item names of each order joined by ``"; "``, by group number."""
    names = _get(frame, cols, "lineitem name").to_numpy(dtype=object, na_value=None)
    joined: dict[int, list[str]] = {}
    for group, name in zip(groups.to_numpy(), names, strict=True):
        if name:
            joined.setdefault(int(group), []).append(str(name))
    text = {group: "; ".join(items) for group, items in joined.items()}
    return pd.Series(text, dtype="string").reindex(groups.unique())


def read_orders(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Shopify orders export.

    Parameters
    ----------
    source
        The decoded file.
    context
        Reading settings (``dayfirst`` is not needed: Shopify writes ISO times).

    Returns
    -------
    ReadResult
        ``orders`` (every order, with its status; private ``_rows`` and ``_flags``
        columns for the merge), ``events`` (one ``order`` event per purchase) and
        ``people`` (buyers with an email or phone).
    """
    frame = raw.read_table(source)
    cols = _columns(frame)
    _require_columns(cols, "orders", source.name)
    report = FileReport(file=source.name, kind="shopify_orders")
    report.rows_read = raw.rows_read(frame)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)

    frame = _named_rows(frame, cols, report, "order")
    if frame.empty:
        return ReadResult(report)

    first, groups = _first_rows(frame, cols)

    created = _get(first, cols, "created at")
    ts, bad_ts = parse_timestamps(created, dayfirst=context.dayfirst)
    total, bad_total = parse_amounts(_get(first, cols, "total"))
    refunded, bad_refund = parse_amounts(_get(first, cols, "refunded amount"))
    reject = bad_ts | ts.isna() | bad_total | bad_refund
    for mask, col, message in (
        (bad_ts | ts.isna(), "created at", "no readable order time"),
        (bad_total, "total", "the total is not a number"),
        (bad_refund, "refunded amount", "the refunded amount is not a number"),
    ):
        for row in first.index[mask]:
            report.problems.append(
                Problem(
                    int(row),
                    cols.get(col, col),
                    f"{message}: {rows_left_out(int(first.at[row, '_rows']))}; fix "
                    "the cell and upload again",
                )
            )
    report.rows_rejected += int(first.loc[reject, "_rows"].sum())

    # a negative total is not an order: reject it and say what to do
    negative = total.lt(0).fillna(False).astype(bool) & ~reject
    for row in first.index[negative]:
        report.problems.append(
            Problem(
                int(row),
                cols.get("total", "Total"),
                f"the order total is negative ({total.at[row]:,.2f}): "
                f"{rows_left_out(int(first.at[row, '_rows']))}; write the order's "
                "full total and any refund in Refunded Amount, then upload again",
            )
        )
    report.rows_rejected += int(first.loc[negative, "_rows"].sum())
    reject = reject | negative

    keep = ~reject
    first, ts, total, refunded = first[keep], ts[keep], total[keep], refunded[keep]
    refunded = refunded.fillna(0.0)

    # status: test, voided, cancelled, refunded, else purchase
    financial = _get(first, cols, "financial status").str.strip().str.lower()
    gateway = _get(first, cols, "payment method").fillna("")
    gateway = gateway.fillna("").str.cat(
        _get(first, cols, "gateway").fillna(""), sep=" "
    )
    flags = pd.DataFrame(
        {
            "test": gateway.str.lower().str.contains(TEST_GATEWAY, regex=False),
            "voided": financial.eq("voided").fillna(False),
            "cancelled": _get(first, cols, "cancelled at").notna(),
            # refunds above the total (shipping, duties refunded too) leave no
            # purchase: counted as refunded, never as a negative purchase
            "refunded": financial.eq("refunded").fillna(False)
            | (total - refunded).lt(0).fillna(False),
        },
        index=first.index,
    ).astype(bool)
    status = pd.Series("purchase", index=first.index, dtype="string")
    for name in reversed(flags.columns):
        status = status.mask(flags[name], name)
    flag_text = pd.Series("", index=first.index, dtype="string")
    for name in flags.columns:
        flag_text = flag_text + flags[name].map({True: name + ",", False: ""})
    flag_text = flag_text.str.rstrip(",")

    # who bought it
    email = _get(first, cols, "email")
    phone = _phones(first, cols)
    person = person_key(email, phone, None)

    # which order it is
    order_name = first[cols["name"]].astype("string").str.strip()
    if "id" in cols:
        ids = platform_ids(first[cols["id"]], "shopify").str.replace(
            "shopify:", "", regex=False
        )
        order_id = ids.fillna(source.name + ":" + order_name)
    else:
        order_id = source.name + ":" + order_name
        report.notes.append(
            "the export has no Id column: orders are keyed by file and order name, "
            "so the same order in two files is not recognised as one"
        )
    store = pd.Series(source.name, index=first.index, dtype="string")

    orders = pd.DataFrame(
        {
            "order_id": order_id.astype("string"),
            "order_name": order_name,
            "store": store,
            "person_id": person,
            "ts": ts,
            "total": total,
            "refunded": refunded,
            "net_value": total - refunded,
            "currency": _get(first, cols, "currency").str.strip().str.upper(),
            "status": status,
            "is_purchase": status.eq("purchase"),
            "source_file": source.name,
            "_rows": first["_rows"].astype(int),
            "_flags": flag_text.astype("string"),
        }
    )

    # accounting: line-item rows go with their order
    purchase = orders["is_purchase"].astype(bool)
    report.rows_loaded += int(orders.loc[purchase, "_rows"].sum())
    excluded = orders.loc[~purchase].groupby("status")["_rows"].sum()
    report.excluded_by = {str(k): int(v) for k, v in excluded.items()}
    report.rows_excluded += int(excluded.sum())
    report.meta["utc_offsets"] = _offsets(created[keep])
    report.meta["order_flags"] = {k: int(v) for k, v in flags.sum().items()}
    report.meta["orders"] = len(orders)
    written = _get(first, cols, "financial status").str.strip()
    report.notes.extend(_value_notes(cols, written, len(orders)))
    flag_unlikely_dates(report, ts, cols.get("created at", "Created at"), "order")
    sort_problems(report)
    if len(ts):
        report.date_min, report.date_max = ts.min(), ts.max()

    # purchases as events, with UTM values from the notes
    utm = _utm(_get(first, cols, "note attributes"))
    products = _products(frame, cols, groups).reindex(first["_group"]).to_numpy()
    events = pd.DataFrame(
        {
            "person_id": person,
            "ts": ts,
            "event": "order",
            "source": utm["source"],
            "medium": utm["medium"],
            "campaign": utm["campaign"],
            "product": pd.array(products, dtype="string"),
            "order_id": orders["order_id"],
            "value": orders["net_value"],
            "source_file": source.name,
        }
    )[purchase.to_numpy()]

    people = _buyers(first, cols, person, ts, source.name)
    checked_email(report, _get(first, cols, "email"), cols)
    no_person = int((purchase & person.isna()).sum())
    if no_person:
        report.meta["orders_without_person"] = no_person
    return ReadResult(report, people=people, events=events, orders=orders)


def _value_notes(cols: dict[str, str], financial: pd.Series, orders: int) -> list[str]:
    """What the user should know about the orders' values and statuses.

    ``financial`` is the ``Financial Status`` as written (trimmed) on each order.
    """
    notes = []
    if "total" not in cols and orders:
        notes.append(
            f"the export has no Total column: its {plural(orders, 'order')} are "
            "loaded without a value, so revenue, order value and customer value "
            "leave them out; export the orders again with the Total column"
        )
    known = financial.str.lower().isin(FINANCIAL_STATUSES).fillna(False)
    unknown = financial[financial.notna() & ~known.astype(bool)]
    if len(unknown):
        counts = unknown.value_counts()
        listed = ", ".join(f"'{k}' ({v})" for k, v in counts.head(5).items())
        notes.append(
            f"{plural(len(unknown), 'order')} with a financial status Shopify does not "
            f"write ({listed}) counted as purchases; check the Financial Status "
            "column, and exclude any that were not paid"
        )
    return notes


def _buyers(
    first: pd.DataFrame,
    cols: dict[str, str],
    person: pd.Series,
    ts: pd.Series,
    file: str,
) -> pd.DataFrame:
    """People rows for everyone who placed an order (any status)."""
    email = normalise_email(_get(first, cols, "email"))
    phone = normalise_phone(_phones(first, cols))
    consent = parse_booleans(_get(first, cols, "accepts marketing"))
    people = pd.DataFrame(
        {
            "person_id": person,
            "email": email,
            "phone": phone,
            "first_seen": ts,
            "signup_source": pd.Series("shopify order", index=first.index),
            "consent_email": consent,
            "source_file": file,
        }
    )
    return people.dropna(subset=["person_id"])


# -------------------------------------------------------------------------- checkouts


def read_checkouts(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Shopify abandoned checkouts export into ``checkout_started`` events.

    Every checkout's rows are loaded (or rejected when it has no readable time);
    none becomes an order.
    """
    frame = raw.read_table(source)
    cols = _columns(frame)
    _require_columns(cols, "abandoned checkouts", source.name)
    report = FileReport(file=source.name, kind="shopify_checkouts")
    report.rows_read = raw.rows_read(frame)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)

    frame = _named_rows(frame, cols, report, "checkout")
    if frame.empty:
        return ReadResult(report)

    first, groups = _first_rows(frame, cols)
    created = _get(first, cols, "created at")
    ts, bad = parse_timestamps(created, dayfirst=context.dayfirst)
    reject = bad | ts.isna()
    for row in first.index[reject]:
        report.problems.append(
            Problem(int(row), cols.get("created at", "Created at"), "no readable time")
        )
    report.rows_rejected += int(first.loc[reject, "_rows"].sum())
    first, ts = first[~reject], ts[~reject]
    report.rows_loaded += int(first["_rows"].sum())

    email = _get(first, cols, "email")
    phone = _phones(first, cols)
    person = person_key(email, phone, None)
    total, _ = parse_numbers(_get(first, cols, "total"))
    checkout_id = (
        _get(first, cols, "id").fillna(first[cols["name"]])
        if "id" in cols
        else first[cols["name"]]
    )
    products = _products(frame, cols, groups).reindex(first["_group"]).to_numpy()
    utm = _utm(_get(first, cols, "note attributes"))
    events = pd.DataFrame(
        {
            "person_id": person,
            "ts": ts,
            "event": "checkout_started",
            "source": utm["source"],
            "medium": utm["medium"],
            "campaign": utm["campaign"],
            "product": pd.array(products, dtype="string"),
            "order_id": ("checkout:" + checkout_id.astype("string")),
            "value": total,
            "source_file": source.name,
        }
    )
    consent = parse_booleans(_get(first, cols, "accepts marketing"))
    people = pd.DataFrame(
        {
            "person_id": person,
            "email": checked_email(report, email, cols),
            "phone": normalise_phone(phone),
            "first_seen": ts,
            "signup_source": pd.Series("shopify checkout", index=first.index),
            "consent_email": consent,
            "source_file": source.name,
        }
    ).dropna(subset=["person_id"])
    report.meta["utc_offsets"] = _offsets(created[~reject])
    report.meta["checkouts"] = len(first)
    flag_unlikely_dates(report, ts, cols.get("created at", "Created at"), "checkout")
    sort_problems(report)
    if len(ts):
        report.date_min, report.date_max = ts.min(), ts.max()
    return ReadResult(report, people=people, events=events)


# -------------------------------------------------------------------------- customers


def read_customers(source: SourceFile, context: ReadContext) -> ReadResult:
    """Read a Shopify customers export into people (captured leads and customers).

    A row needs an email or a phone; others are rejected with their row number.
    ``first_seen`` comes from ``Created at`` when the export has it, else stays
    empty (an undated capture).
    """
    frame = raw.read_table(source)
    cols = _columns(frame)
    report = FileReport(file=source.name, kind="shopify_customers")
    report.rows_read = raw.rows_read(frame)
    report.problems.extend(raw.table_problems(frame))
    report.rows_rejected += len(report.problems)

    email = _get(frame, cols, "email")
    phone = _get(frame, cols, "phone")
    customer_id = _get(frame, cols, "customer id").fillna(_get(frame, cols, "id"))
    person = person_key(email, phone, None)
    nobody = person.isna()
    for row in frame.index[nobody]:
        why = unread_phone(phone[row])
        report.problems.append(
            Problem(
                int(row),
                cols.get("phone", "Phone") if why else cols.get("email", "Email"),
                why or "no email or phone: the customer cannot be matched to anything",
            )
        )
    report.rows_rejected += int(nobody.sum())

    created_col = next(
        (
            cols[c]
            for c in ("created at", "customer created at", "created")
            if c in cols
        ),
        None,
    )
    if created_col is not None:
        first_seen, _ = parse_timestamps(frame[created_col], dayfirst=context.dayfirst)
    else:
        first_seen = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us, UTC]")
    orders, _ = parse_numbers(_get(frame, cols, "total orders"))
    consent_email = parse_booleans(
        _get(frame, cols, "accepts email marketing").fillna(
            _get(frame, cols, "accepts marketing")
        )
    )
    people = pd.DataFrame(
        {
            "person_id": person,
            "email": checked_email(report, email, cols),
            "phone": normalise_phone(phone),
            "first_seen": first_seen,
            "signup_source": _get(frame, cols, "tags").fillna("shopify customer"),
            "consent_email": consent_email,
            "consent_sms": parse_booleans(_get(frame, cols, "accepts sms marketing")),
            "source_file": source.name,
            "alias": platform_ids(customer_id, "shopify"),
        }
    )[~nobody]
    report.rows_loaded += len(people)
    report.meta["customers"] = len(people)
    report.meta["zero_orders"] = int((orders[~nobody] == 0).sum())
    report.meta["undated"] = int(people["first_seen"].isna().sum())
    if created_col is not None:
        flag_unlikely_dates(report, people["first_seen"], created_col, "customer")
    sort_problems(report)
    if people["first_seen"].notna().any():
        report.date_min = people["first_seen"].min()
        report.date_max = people["first_seen"].max()
    # the undated count is said once, for the merged people, in the coverage notes
    return ReadResult(report, people=people)


register(
    "shopify_orders",
    score_orders,
    read_orders,
    "Shopify orders export (one row per line item)",
)
register(
    "shopify_checkouts",
    score_checkouts,
    read_checkouts,
    "Shopify abandoned checkouts export",
)
register(
    "shopify_customers",
    score_customers,
    read_customers,
    "Shopify customers export",
)
