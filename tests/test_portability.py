"""Tests that the stage engine's expressions compile for BigQuery and Spark SQL.

No connection is needed: ``ibis.to_sql`` compiles an expression for a dialect. The
issue names two things that break portability: a range window over a timestamp
interval (not translated for BigQuery or Spark) and anything but integer time.
"""

from __future__ import annotations

import datetime as dt
import re

import ibis
import pandas as pd
import pytest

from pipeline.model import EVENT_COLUMNS, Dataset, conform
from pipeline.rules import RULE_NAMES, StageRules
from pipeline.stage_exprs import first_events_expr, order_ranks_expr, rule_expr
from pipeline.stages import StageEngine

DIALECTS = ("bigquery", "pyspark")
DAY = 19_800  # 18 March 2024

SCHEMA = {
    "pid": "int64",
    "person_id": "string",
    "ts_us": "int64",
    "day": "int32",
    "event": "string",
    "channel": "string",
    "campaign": "string",
    "product": "string",
    "order_id": "string",
    "value": "float64",
}


@pytest.fixture(autouse=True)
def spark_options(monkeypatch):
    """Give the Spark compiler the option only the pyspark backend registers.

    ``ibis.to_sql(..., dialect="pyspark")`` reads ``ibis.options.pyspark``, which
    importing pyspark itself would set; without pyspark installed it is ``None``.
    Its default (NaN is not NULL) is what the backend would use.
    """
    if ibis.options.pyspark is None:

        class SparkOptions(ibis.config.Config):
            treat_nan_as_null: bool = False

        monkeypatch.setattr(ibis.options, "pyspark", SparkOptions())


def unbound() -> ibis.Table:
    """The event layer's table with no backend behind it."""
    return ibis.table(SCHEMA, name="events")


def expressions(events: ibis.Table) -> dict[str, ibis.Expr]:
    """Every expression the engine runs, with counts of 1 and above 1."""
    rules = StageRules()
    out = {"order_ranks": order_ranks_expr(events),
           "first_events": first_events_expr(events)}
    for name in RULE_NAMES:
        rule = rules.rules[name]
        out[name] = rule_expr(events, name, rule, DAY)
        out[f"{name}_n4"] = rule_expr(events, name, rule.__class__(
            rule.stage, rule.label, True, 4, 21), DAY)
    return out


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_stage_expression_compiles(dialect):
    """Test that each rule, order-rank and first-event expression compiles."""
    for name, expr in expressions(unbound()).items():
        sql = ibis.to_sql(expr, dialect=dialect)
        assert "SELECT" in sql, name
        # No interval range windows, no timestamp arithmetic.
        assert not re.search(r"\bRANGE\b", sql), (name, sql)
        assert "INTERVAL" not in sql.upper(), (name, sql)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_count_rules_use_a_lag_of_n_minus_one(dialect):
    """Test that "4 events within 21 days" pairs each event with the one 3 back.

    Positions come from ROW_NUMBER() ordered by the integer ``ts_us``; the lag of
    n - 1 = 3 events is an equi-join on position + 3.
    """
    sql = ibis.to_sql(expressions(unbound())["engaged_opens_n4"], dialect=dialect)
    assert re.search(r"ROW_NUMBER\(\) OVER \(PARTITION BY `\w+`\.`pid` ORDER BY "
                     r"`\w+`\.`ts_us`", sql), sql
    assert re.search(r"`rn` \+ 3 AS `rn`", sql), sql
    # The window of 21 days ending at day D starts at D - 20.
    assert f">= {DAY - 20}" in sql and "< 21" in sql


def test_engine_expressions_on_its_backend_compile_too():
    """Test that expressions bound to the engine's DuckDB table compile elsewhere."""
    events = pd.DataFrame({
        "person_id": ["ann@example.com"] * 2,
        "ts": pd.to_datetime(["2024-03-01T10:00Z", "2024-03-02T10:00Z"]),
        "event": ["add_to_cart", "order"],
        "value": [None, 30.0],
    })
    engine = StageEngine(Dataset(events=conform(events, EVENT_COLUMNS)))
    for dialect in DIALECTS:
        for expr in expressions(engine.events).values():
            assert "SELECT" in ibis.to_sql(expr, dialect=dialect)
    # And they run: the cart closed by the order does not hold as of 2 March.
    cart = rule_expr(engine.events, "intent_cart", StageRules().rules["intent_cart"],
                     (dt.date(2024, 3, 2) - dt.date(1970, 1, 1)).days)
    result = engine.con.to_pyarrow(cart).to_pylist()
    assert result == [{"pid": 0, "entry_us": 1709287200000000, "holds": False}]
