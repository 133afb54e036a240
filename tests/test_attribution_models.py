"""Attribution models on hand-computed journeys, and properties every model keeps."""

from itertools import permutations
from math import factorial

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.attribution.intervals import bootstrap
from pipeline.attribution.markov import removal_effects
from pipeline.attribution.models import MODEL_NAMES, ModelSettings, attribute
from pipeline.attribution.paths import (
    UNATTRIBUTED,
    collapse_repeats,
    path_set_from_lists,
)
from pipeline.attribution.shapley import shapley_credit, shapley_from_worth


@pytest.fixture(scope="module")
def hand_paths():
    """Four journeys and an untouched conversion; ages are days before the order.

    J1 A > B > C (1 conversion, 100), J2 B (1, 50), J3 Direct > A > Direct (1, 30),
    J4 C > C (never converts), J5 no touch (1, 20).
    """
    return path_set_from_lists(
        [["A", "B", "C"], ["B"], ["Direct", "A", "Direct"], ["C", "C"], []],
        conversions=[1, 1, 1, 0, 1],
        value=[100.0, 50.0, 30.0, 0.0, 20.0],
        nulls=[0, 0, 0, 1, 0],
        ages=[[14, 7, 0], [1], [14, 7, 0], [3, 1], []],
    )


# Expected credit, worked out by hand from the rules (see each model's docstring).
HAND_CONVERSIONS = {
    "first_click": {"A": 1, "B": 1, "C": 0, "Direct": 1},
    "last_click": {"A": 0, "B": 1, "C": 1, "Direct": 1},
    "last_non_direct": {"A": 1, "B": 1, "C": 1, "Direct": 0},
    # J1 splits in thirds, J2 goes to B, J3 gives Direct 2/3 and A 1/3.
    "linear": {"A": 2 / 3, "B": 4 / 3, "C": 1 / 3, "Direct": 2 / 3},
    # Half-life 7 days: ages 14, 7, 0 weigh 1/4, 1/2, 1, i.e. 1/7, 2/7, 4/7.
    "time_decay": {"A": 3 / 7, "B": 9 / 7, "C": 4 / 7, "Direct": 5 / 7},
    # 40/20/40 on three touches; J3's Direct is first and last: 0.8.
    "position_based": {"A": 0.6, "B": 1.2, "C": 0.4, "Direct": 0.8},
}
HAND_REVENUE = {
    "first_click": {"A": 100, "B": 50, "C": 0, "Direct": 30},
    "last_click": {"A": 0, "B": 50, "C": 100, "Direct": 30},
    "last_non_direct": {"A": 30, "B": 50, "C": 100, "Direct": 0},
    "linear": {"A": 130 / 3, "B": 100 / 3 + 50, "C": 100 / 3, "Direct": 20},
    "time_decay": {
        "A": 100 / 7 + 60 / 7,
        "B": 200 / 7 + 50,
        "C": 400 / 7,
        "Direct": 150 / 7,
    },
    "position_based": {"A": 40 + 6, "B": 20 + 50, "C": 40, "Direct": 24},
}


@pytest.mark.parametrize("model", list(HAND_CONVERSIONS))
def test_heuristic_matches_hand_computation(hand_paths, model):
    """Test each rule-based model against hand-computed conversions and revenue."""
    result = attribute(hand_paths, (model,))
    conv, rev = result.conversions[model], result.revenue[model]
    for channel, expected in HAND_CONVERSIONS[model].items():
        assert conv[channel] == pytest.approx(expected)
        assert rev[channel] == pytest.approx(HAND_REVENUE[model][channel])
    assert conv[UNATTRIBUTED] == 1.0 and rev[UNATTRIBUTED] == 20.0
    assert conv.sum() == pytest.approx(4.0) and rev.sum() == pytest.approx(200.0)


def test_position_based_two_touches_split_by_shares():
    """Test that two touches split in the ratio of the first and last shares (30:50)."""
    paths = path_set_from_lists([["A", "B"]], [1], [80.0])
    result = attribute(
        paths, ("position_based",), ModelSettings(first_share=0.3, last_share=0.5)
    )
    assert result.conversions.loc["A", "position_based"] == pytest.approx(0.375)
    assert result.revenue.loc["B", "position_based"] == pytest.approx(50.0)


def test_markov_matches_hand_solved_chain():
    """Test removal effects on a chain solved by hand.

    A > B (1 conversion, value 10), B (1 conversion and 1 null, value 30), A (1 null).
    P(start->A) = P(start->B) = 1/2, P(A->B) = 1/2, P(B->conv) = 2/3, so
    P(conv) = 1/2; without A it is 1/3 (effect 1/3), without B it is 0 (effect 1).
    """
    paths = path_set_from_lists(
        [["A", "B"], ["B"], ["A"]], [1, 1, 0], [10.0, 30.0, 0.0], [0, 1, 1]
    )
    effect_conv, effect_value, p_conv = removal_effects(paths)
    assert p_conv == pytest.approx(0.5)
    np.testing.assert_allclose(effect_conv, [1 / 3, 1.0])
    np.testing.assert_allclose(effect_value, [1 / 3, 1.0])
    result = attribute(paths, ("markov",))
    assert result.conversions["markov"].tolist() == pytest.approx([0.5, 1.5])
    assert result.revenue["markov"].tolist() == pytest.approx([10.0, 30.0])


def test_shapley_three_channels_by_hand():
    """Test Shapley on three channels against marginal contributions worked by hand.

    Channel sets: {A} 2 conversions, {A,B} 1, {A,B,C} 3, {C} 1. {A} is A's alone;
    {A,B} is shared by A and B (1/2 each); {A,B,C} by all three (1 each); {C} is C's:
    A = 2 + 0.5 + 1, B = 0.5 + 1, C = 1 + 1.
    """
    paths = path_set_from_lists(
        [["A"], ["B", "A"], ["C", "A", "B", "A"], ["C"]],
        [2, 1, 3, 1],
        [20.0, 10.0, 60.0, 5.0],
    )
    conv, rev, names = shapley_credit(paths)
    assert names == ("A", "B", "C")
    np.testing.assert_allclose(conv, [3.5, 1.5, 2.0])
    np.testing.assert_allclose(rev, [20 + 5 + 20, 5 + 20, 20 + 5])


def test_shapley_from_worth_equals_permutation_definition():
    """Test the bitmask formula against averaging marginal gains over all orderings."""
    rng = np.random.default_rng(3)
    n = 4
    worth = rng.random(1 << n)
    worth[0] = 0.0
    brute = np.zeros(n)
    for order in permutations(range(n)):
        mask = 0
        for player in order:
            brute[player] += worth[mask | 1 << player] - worth[mask]
            mask |= 1 << player
    np.testing.assert_allclose(shapley_from_worth(worth, n), brute / factorial(n))


def test_shapley_groups_rarest_channels_as_other():
    """Test that beyond ``max_channels`` the rarest channels become Other, sums kept."""
    names = [f"c{i}" for i in range(6)]
    paths = path_set_from_lists(
        [[n] for n in names] + [["c0", "c1"]], [6, 5, 4, 3, 2, 1, 1]
    )
    conv, _, grouped = shapley_credit(paths, max_channels=4)
    assert grouped == ("c0", "c1", "c2", "Other")
    np.testing.assert_allclose(conv, [6.5, 5.5, 4.0, 6.0])


def test_collapse_repeats_merges_runs():
    """Test that runs of one channel become one touch, and journeys stay apart."""
    paths = path_set_from_lists(
        [["A", "A", "B", "A"], ["A"], [], ["B", "B"]], [1, 1, 1, 0]
    )
    collapsed = collapse_repeats(paths)
    assert collapsed.lengths.tolist() == [3, 1, 0, 1]
    names = np.array(collapsed.channels)[collapsed.touch_channel].tolist()
    assert names == ["A", "B", "A", "A", "B"]


def test_bootstrap_is_seeded_and_brackets_the_estimate(hand_paths):
    """Test that the same seed gives the same intervals, bracketing linear credit."""
    first = bootstrap(hand_paths, ("linear", "markov"), n_boot=50, seed=7)
    second = bootstrap(hand_paths, ("linear", "markov"), n_boot=50, seed=7)
    pd.testing.assert_frame_equal(
        first.conversions["markov"], second.conversions["markov"]
    )
    linear = first.conversions["linear"]
    assert (linear["low"] <= linear["high"]).all()
    assert linear.loc["B", "low"] <= 4 / 3 <= linear.loc["B", "high"]


# --- properties ------------------------------------------------------------------

CHANNELS = ["Email", "SMS", "Paid Search", "Direct", "Organic Social"]
RENAMABLE = [c for c in CHANNELS if c != "Direct"]

journeys = st.lists(
    st.tuples(
        st.lists(st.sampled_from(CHANNELS), min_size=0, max_size=6),
        st.integers(0, 3),
        st.integers(0, 3),
        st.floats(0, 500, allow_nan=False),
    ),
    min_size=1,
    max_size=25,
)


def _paths(rows, rename=None):
    rename = rename or {}
    lists = [[rename.get(c, c) for c in row[0]] for row in rows]
    ages = [[float(len(r) - i) for i in range(len(r))] for r in lists]
    conv = [row[1] for row in rows]
    return path_set_from_lists(
        lists,
        conv,
        [row[3] * (row[1] > 0) for row in rows],
        [row[2] for row in rows],
        ages,
    )


@settings(max_examples=60, deadline=None)
@given(journeys)
def test_every_model_sums_to_all_conversions_and_revenue(rows):
    """Test that each model's credit sums to all conversions and all revenue."""
    paths = _paths(rows)
    result = attribute(paths)
    total = sum(row[1] for row in rows)
    revenue = sum(row[3] for row in rows if row[1] > 0)
    for model in MODEL_NAMES:
        assert result.conversions[model].sum() == pytest.approx(total, abs=1e-9)
        assert result.revenue[model].sum() == pytest.approx(revenue, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(journeys, st.permutations(RENAMABLE))
def test_renaming_channels_permutes_credit(rows, new_names):
    """Test that renaming channels moves each channel's credit with its name.

    ``Direct`` keeps its name: the last non-direct model treats it specially.
    """
    rename = dict(zip(RENAMABLE, new_names, strict=True))
    before = attribute(_paths(rows))
    after = attribute(_paths(rows, rename))
    for model in MODEL_NAMES:
        moved = before.conversions[model].rename(index=rename)
        for channel, credit in moved.items():
            assert after.conversions.loc[channel, model] == pytest.approx(
                credit, abs=1e-9
            )


@settings(max_examples=40, deadline=None)
@given(journeys)
def test_channel_only_on_non_converting_journeys_gets_zero(rows):
    """Test that a channel on no converting journey gets no credit in any model."""
    rows = [*rows, (["Ghost", "Ghost"], 0, 2, 0.0)]
    result = attribute(_paths(rows))
    for model in MODEL_NAMES:
        assert result.conversions.loc["Ghost", model] == pytest.approx(0.0, abs=1e-12)
        assert result.revenue.loc["Ghost", model] == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(journeys)
def test_shapley_equals_zhao_closed_form(rows):
    """Test the coalition computation against Zhao et al. (2018): phi_i = sum R(T)/|T|.

    R(T) is the conversions of journeys whose channel set is exactly T.
    """
    paths = _paths(rows)
    conv, _, names = shapley_credit(paths)
    expected = dict.fromkeys(names, 0.0)
    for row in rows:
        channels = set(row[0])
        for channel in channels:
            expected[channel] += row[1] / len(channels)
    assert conv.tolist() == pytest.approx([expected[n] for n in names], abs=1e-9)
