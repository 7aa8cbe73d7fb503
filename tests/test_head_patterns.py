"""Pattern scores on hand-built attention maps whose answers are known by construction."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy

from lessonkit.head_patterns import (
    PATTERNS,
    average_scores,
    head_label,
    heads_using,
    is_punctuation,
    pattern_scores,
    rank_heads,
    ranking_rows,
    token_kinds,
)

TOKENS = ["[CLS]", "the", "cat", ",", "sat", ".", "[SEP]"]
N = len(TOKENS)


def previous_token_map(n: int) -> np.ndarray:
    a = np.zeros((n, n))
    a[0, 0] = 1.0
    for i in range(1, n):
        a[i, i - 1] = 1.0
    return a


def next_token_map(n: int) -> np.ndarray:
    a = np.zeros((n, n))
    a[n - 1, n - 1] = 1.0
    for i in range(n - 1):
        a[i, i + 1] = 1.0
    return a


def column_map(n: int, columns: list[int]) -> np.ndarray:
    a = np.zeros((n, n))
    a[:, columns] = 1.0 / len(columns)
    return a


@pytest.fixture
def scores():
    maps = [
        previous_token_map(N),
        next_token_map(N),
        column_map(N, [0]),  # all on [CLS]
        column_map(N, [6]),  # all on [SEP]
        column_map(N, [3, 5]),  # all on punctuation
        np.full((N, N), 1.0 / N),  # uniform
        np.eye(N),  # self
    ]
    attn = np.stack(maps).reshape(1, len(maps), N, N)  # 1 layer x 7 heads
    return pattern_scores(attn, token_kinds(TOKENS))


def test_each_built_head_wins_its_own_pattern(scores):
    expected_head = {"previous": 0, "next": 1, "cls": 2, "sep": 3, "punctuation": 4, "broad": 5, "self": 6}
    for name, head in expected_head.items():
        assert scores[name].shape == (1, 7)
        assert int(np.argmax(scores[name][0])) == head, name


def test_exact_values_by_hand(scores):
    # previous-token head: every query from 1 on puts all weight one to the left
    assert scores["previous"][0, 0] == pytest.approx(1.0)
    # ... and only row 0 (on itself) counts for 'self': 1 of N rows
    assert scores["self"][0, 0] == pytest.approx(1.0 / N)
    # next-token head: nothing goes to the previous token
    assert scores["previous"][0, 1] == pytest.approx(0.0)
    assert scores["next"][0, 1] == pytest.approx(1.0)
    # uniform head: 1/N on each neighbour, 1/N on [CLS], 1/N on [SEP], 2/N on the two punctuation marks
    assert scores["previous"][0, 5] == pytest.approx(1.0 / N)
    assert scores["cls"][0, 5] == pytest.approx(1.0 / N)
    assert scores["sep"][0, 5] == pytest.approx(1.0 / N)
    assert scores["punctuation"][0, 5] == pytest.approx(2.0 / N)
    assert scores["broad"][0, 5] == pytest.approx(1.0)
    # one-hot rows have zero entropy
    for head in (0, 1, 2, 3, 6):
        assert scores["broad"][0, head] == pytest.approx(0.0, abs=1e-12)
    # punctuation head splits between ',' and '.': entropy log 2 / log N
    assert scores["broad"][0, 4] == pytest.approx(np.log(2) / np.log(N))


def test_entropy_matches_scipy_on_random_rows():
    rng = np.random.default_rng(3)
    attn = rng.dirichlet(np.ones(9) * 0.4, size=(2, 3, 9))  # 2 layers x 3 heads x 9 x 9
    got = pattern_scores(attn, token_kinds(["[CLS]"] + ["w"] * 7 + ["[SEP]"]))["broad"]
    for l in range(2):
        for h in range(3):
            want = np.mean([entropy(attn[l, h, i]) for i in range(9)]) / np.log(9)
            assert got[l, h] == pytest.approx(want, rel=1e-9)


def test_offsets_match_a_plain_loop_on_random_maps():
    rng = np.random.default_rng(5)
    attn = rng.dirichlet(np.ones(6), size=(2, 2, 6))
    s = pattern_scores(attn, token_kinds(["a"] * 6))
    for l in range(2):
        for h in range(2):
            prev = sum(attn[l, h, i, i - 1] for i in range(1, 6)) / 5
            nxt = sum(attn[l, h, i, i + 1] for i in range(5)) / 5
            own = sum(attn[l, h, i, i] for i in range(6)) / 6
            assert s["previous"][l, h] == pytest.approx(prev)
            assert s["next"][l, h] == pytest.approx(nxt)
            assert s["self"][l, h] == pytest.approx(own)
    # no [CLS], [SEP] or punctuation in these tokens: those scores are zero
    assert np.all(s["cls"] == 0) and np.all(s["sep"] == 0) and np.all(s["punctuation"] == 0)


def test_token_kinds_and_punctuation():
    kinds = token_kinds(["[CLS]", "hello", ",", "'", "##.", "world", "<", "[SEP]", "?!"])
    assert kinds.cls.tolist() == [True] + [False] * 8
    assert kinds.sep.tolist() == [False] * 7 + [True, False]
    assert kinds.punctuation.tolist() == [False, False, True, True, True, False, False, False, True]
    assert not is_punctuation("<")  # a math symbol (Sm), not punctuation
    assert not is_punctuation("")


def test_ranking_and_labels():
    scores = np.array([[0.1, 0.9, 0.3], [0.9, 0.2, 0.6]])
    assert rank_heads(scores, top=3) == [(0, 1, 0.9), (1, 0, 0.9), (1, 2, 0.6)]
    assert [(l, h) for l, h, _ in heads_using(scores, 0.5)] == [(0, 1), (1, 0), (1, 2)]
    assert head_label(0, 0) == "L1-H1" and head_label(2, 4) == "L3-H5"


def test_ranking_rows_name_the_strongest_pattern(scores):
    rows = ranking_rows(scores)
    assert len(rows) == 7
    assert [r["strongest"] for r in rows] == [
        PATTERNS["previous"], PATTERNS["next"], PATTERNS["cls"], PATTERNS["sep"],
        PATTERNS["punctuation"], PATTERNS["broad"], PATTERNS["self"],
    ]
    assert rows[3]["head"] == "L1-H4" and rows[3]["head_index"] == 3


def test_average_scores():
    a = {"x": np.array([[1.0, 3.0]])}
    b = {"x": np.array([[3.0, 5.0]])}
    assert average_scores([a, b])["x"].tolist() == [[2.0, 4.0]]
