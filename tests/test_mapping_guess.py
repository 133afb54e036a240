"""Tests for the column mapping's first guesses (:mod:`pipeline.mapping_guess`)."""

import pytest

from pipeline.mapping_guess import guessed_mapping, header_words


@pytest.mark.parametrize(
    "columns, expected",
    [
        (
            ["Email", "Joined", "Source", "Amount"],
            {
                "person": "Email",
                "timestamp": "Joined",
                "event": None,
                "channel": "Source",
                "value": "Amount",
            },
        ),
        (
            ["customer_id", "order_date", "event_type", "utm_source", "order_total"],
            {
                "person": "customer_id",
                "timestamp": "order_date",
                "event": "event_type",
                "channel": "utm_source",
                "value": "order_total",
            },
        ),
        (
            ["Order ID", "Customer Email", "Paid at", "Total"],
            {
                "person": "Customer Email",
                "timestamp": "Paid at",
                "event": None,
                "channel": None,
                "value": "Total",
            },
        ),
        (
            ["id", "createdAt", "Type", "price"],
            {
                "person": "id",
                "timestamp": "createdAt",
                "event": "Type",
                "channel": None,
                "value": "price",
            },
        ),
        (
            ["foo", "bar", "baz"],
            {
                "person": None,
                "timestamp": None,
                "event": None,
                "channel": None,
                "value": None,
            },
        ),
    ],
)
def test_guesses_follow_the_headers_and_leave_the_rest_empty(columns, expected):
    """Test that a field is guessed from its header's words, never from the column
    order: unknown headers leave every field empty (before, every select started at
    the first column, so Time and Event read "Email")."""
    assert guessed_mapping(columns) == expected


def test_header_words_split_case_and_punctuation():
    """Test camelCase, underscores and spaces all split into lower-case words."""
    assert header_words("createdAt") == ("created", "at")
    assert header_words("Order_Date (UTC)") == ("order", "date", "utc")
