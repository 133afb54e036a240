"""The stage rules as ibis expressions over the event layer's table.

One expression per step of a rule: the events it counts, numbered within each person
(:func:`rule_family_expr`), and when the rule first held and whether it holds as of a
day (:func:`rule_on_family_expr`); :func:`rule_expr` chains the two. The purchases
(:func:`purchases_expr`, :func:`order_ranks_expr`) and each person's first event
(:func:`first_events_expr`) complete what :class:`pipeline.stages.StageEngine` runs.

"At least *n* events within *d* days" is a lag of *n* − 1 events over the person's
matching events ordered by integer microseconds, written as an equi-join on the
events' positions (``ROW_NUMBER``): exact, and it compiles to BigQuery and Spark SQL,
unlike an interval range window.
"""

from __future__ import annotations

import ibis

from pipeline.rules import Rule

CART_EVENTS: tuple[str, ...] = ("add_to_cart", "checkout_started")
"""The events of the cart rule: carts and checkouts."""

RULE_EVENTS: dict[str, tuple[tuple[str, ...], bool, bool]] = {
    "engaged_opens": (("email_open",), False, False),
    "engaged_product_views": (("product_view",), False, False),
    "engaged_product_click": (("email_click",), True, False),
    "engaged_wishlist": (("wishlist_add",), False, False),
    "intent_same_product": (("product_view",), True, True),
    "intent_sizing": (("sizing_view",), False, False),
}
"""Counting rules: (event types, product required, counted per product)."""


def rule_family_expr(events: ibis.Table, name: str) -> ibis.Table:
    """The events a rule counts, numbered within each person (and product).

    This part of a rule does not depend on its settings, so the engine keeps it
    as a table and a slider move only runs :func:`rule_on_family_expr`.

    Parameters
    ----------
    events
        The event layer's table with an integer person key ``pid`` (see
        :class:`pipeline.stages.StageEngine`), ``ts_us``, ``day``, ``event`` and
        ``product``.
    name
        A rule name from :data:`pipeline.rules.RULE_NAMES`.

    Returns
    -------
    ibis.Table
        ``pid``, ``ts_us``, ``day`` (and ``product`` for rules counted per product)
        and ``rn``, the event's 1-based position among the person's matching events
        ordered by ``ts_us``. The cart rule's family also has ``orders_upto``
        (orders at or before the cart; an order at the same microsecond counts)
        and ``orders_before`` (orders strictly before it).
    """
    if name == "intent_cart":
        return _cart_family_expr(events)
    kinds, needs_product, per_product = RULE_EVENTS[name]
    keep = events.event.isin(kinds)
    if needs_product:
        keep &= events["product"].notnull()
    matched = events.filter(keep)
    keys = ["pid", "product"] if per_product else ["pid"]
    window = ibis.window(group_by=keys, order_by=matched.ts_us)
    return matched.select(
        *keys, "ts_us", "day", rn=ibis.row_number().over(window) + 1
    )


def _cart_family_expr(events: ibis.Table) -> ibis.Table:
    """Carts and checkouts with running order counts and their position."""
    carts = events.filter(events.event.isin(CART_EVENTS))
    stream = ibis.union(
        carts.select("pid", "ts_us", "day", is_order=ibis.literal(0, type="int64")),
        purchases_expr(events).select(
            "pid", "ts_us", "day", is_order=ibis.literal(1, type="int64")
        ),
        distinct=False,
    )

    # Running order counts; at equal times orders sort first for "upto", last for
    # "before".
    upto = ibis.cumulative_window(
        group_by=stream.pid, order_by=[stream.ts_us, stream.is_order.desc()]
    )
    before = ibis.cumulative_window(
        group_by=stream.pid, order_by=[stream.ts_us, stream.is_order]
    )
    stream = stream.mutate(
        orders_upto=stream.is_order.sum().over(upto),
        orders_before=stream.is_order.sum().over(before),
    )

    carts = stream.filter(stream.is_order == 0)
    window = ibis.window(group_by=carts.pid, order_by=carts.ts_us)
    return carts.select(
        "pid", "ts_us", "day", "orders_upto", "orders_before",
        rn=ibis.row_number().over(window) + 1,
    )


def rule_on_family_expr(
    family: ibis.Table,
    name: str,
    rule: Rule,
    as_of_day: int,
    orders: ibis.Table | None = None,
) -> ibis.Table:
    """Per person: when rule ``name`` first held, and whether it holds as of a day.

    Parameters
    ----------
    family
        The rule's events from :func:`rule_family_expr`.
    name
        A rule name from :data:`pipeline.rules.RULE_NAMES`.
    rule
        Its settings: at least ``min_count`` events within ``window_days`` days.
    as_of_day
        The local day number evaluated (events after its end are ignored).
    orders
        For the cart rule: the order events (``pid``, ``day``), e.g.
        :func:`order_ranks_expr`.

    Returns
    -------
    ibis.Table
        ``pid``, ``entry_us`` (microseconds of the first moment the rule held, null
        when never) and ``holds`` (the rule holds at the end of ``as_of_day``), one
        row per person with a matching event up to that day.

    Notes
    -----
    Event *i* completes *n* matching events within *d* days when its (*n* − 1)-th
    predecessor (position ``rn`` − *n* + 1, found by an equi-join on the integer
    position: a lag of *n* − 1 events) lies on day ``day_i`` − *d* + 1 or later.
    The rule holds at day *D* when some event up to *D* has its (*n* − 1)-th
    predecessor on day *D* − *d* + 1 or later. For carts, the carts from the
    predecessor to event *i* must also have no order between them
    (``orders_upto[i] == orders_before[j]``), and no order may follow them up to
    *D* (``orders_before[j]`` equals the person's orders up to *D*). Only integer
    comparisons are used, so the expression compiles for DuckDB, BigQuery and
    Spark.
    """
    is_cart = name == "intent_cart"
    keys = ["pid", "product"] if "product" in family.columns else ["pid"]
    lag = rule.min_count - 1

    # Each event up to the day, with the day (and orders) of its (n-1)-th
    # predecessor.
    now = family.filter(family.day <= as_of_day)
    if lag:
        back = family.select(
            *keys,
            rn=family.rn + lag,
            first_day=family.day,
            **({"first_before": family.orders_before} if is_cart else {}),
        )
        now = now.join(back, [*keys, "rn"])
    else:
        now = now.mutate(
            first_day=now.day,
            **({"first_before": now.orders_before} if is_cart else {}),
        )

    # For carts: the person's orders up to the day.
    if is_cart:
        if orders is None:
            raise ValueError("the cart rule needs the order events (orders=...)")
        upto = orders.filter(orders.day <= as_of_day)
        totals = upto.group_by("pid").aggregate(orders_total=upto.count())
        now = now.left_join(totals, "pid").select(
            now, orders_total=totals.orders_total.fill_null(0)
        )

    # When it first held, and whether it holds in the window ending at the day.
    held = now.day - now.first_day < rule.window_days
    recent = now.first_day >= as_of_day - rule.window_days + 1
    if is_cart:
        held &= now.orders_upto == now.first_before
        recent &= now.first_before == now.orders_total
    return now.group_by("pid").aggregate(
        entry_us=now.ts_us.min(where=held),
        holds=now.ts_us.count(where=recent) > 0,
    )


def rule_expr(
    events: ibis.Table, name: str, rule: Rule, as_of_day: int
) -> ibis.Table:
    """Rule ``name`` over the event layer's table, as one expression.

    :func:`rule_family_expr` followed by :func:`rule_on_family_expr`: the form to
    run on Spark or BigQuery. The engine runs the same two steps with the first
    kept as a table.

    Returns
    -------
    ibis.Table
        ``pid``, ``entry_us`` and ``holds``, see :func:`rule_on_family_expr`.
    """
    orders = order_ranks_expr(events) if name == "intent_cart" else None
    family = rule_family_expr(events, name)
    return rule_on_family_expr(family, name, rule, as_of_day, orders)


def purchases_expr(events: ibis.Table) -> ibis.Table:
    """The purchases: ``order`` events, one per person and order id.

    An order id seen twice for one person (the same order from two exports) counts
    once, at its earliest time; order events without an id each count.

    Returns
    -------
    ibis.Table
        ``pid``, ``ts_us``, ``day``, ``value`` and ``order_id``.
    """
    orders = events.filter(events.event == "order")
    copies = ibis.window(group_by=[orders.pid, orders.order_id], order_by=orders.ts_us)
    orders = orders.mutate(copy=ibis.row_number().over(copies))
    orders = orders.filter(orders.order_id.isnull() | (orders.copy == 0))
    return orders.select("pid", "ts_us", "day", "value", "order_id")


def order_ranks_expr(events: ibis.Table) -> ibis.Table:
    """Every purchase (:func:`purchases_expr`) with its rank in the person's orders.

    Returns
    -------
    ibis.Table
        ``pid``, ``ts_us``, ``day``, ``value`` and ``rank`` (1 for the first order),
        one row per purchase.
    """
    orders = purchases_expr(events)
    window = ibis.window(group_by=orders.pid, order_by=[orders.ts_us, orders.order_id])
    return orders.select(
        "pid", "ts_us", "day", "value", rank=ibis.row_number().over(window) + 1
    )


def first_events_expr(events: ibis.Table) -> ibis.Table:
    """Per person: the time and local day of their first event."""
    return events.group_by("pid").aggregate(
        first_us=events.ts_us.min(), first_day=events.day.min()
    )
