"""Live questions: the answer lessonkit computes matches an independent loop over the model's attention."""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from lessonkit import live_questions, quiz

ROOT = Path(__file__).resolve().parents[1]


def loop_positional_best(attn: np.ndarray, offset: int) -> tuple[int, int]:
    best, best_value = None, -1.0
    layers, heads, n, _ = attn.shape
    for layer in range(layers):
        for head in range(heads):
            values = [float(attn[layer, head, i, i + offset]) for i in range(n) if 0 <= i + offset < n]
            value = sum(values) / len(values)
            if value > best_value:
                best, best_value = (layer, head), value
    return best


def loop_delimiter_best(attn: np.ndarray, tokens: list[str]) -> tuple[int, int]:
    best, best_value = None, -1.0
    layers, heads, n, _ = attn.shape
    for layer in range(layers):
        for head in range(heads):
            total = 0.0
            for i in range(n):
                total += sum(float(attn[layer, head, i, j]) for j in range(n) if tokens[j] in ("[CLS]", "[SEP]"))
            if total / n > best_value:
                best, best_value = (layer, head), total / n
    return best


def random_attention(rng, layers=3, heads=4, n=7):
    logits = rng.normal(size=(layers, heads, n, n))
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)


def test_planted_previous_token_head_is_found():
    rng = np.random.default_rng(0)
    attn = random_attention(rng)
    n = attn.shape[-1]
    planted = np.full((n, n), 0.02)
    for i in range(1, n):
        planted[i, i - 1] = 0.9
    attn[2, 1] = planted / planted.sum(axis=1, keepdims=True)
    scores = live_questions.positional_scores(attn, -1)
    assert live_questions.best_head(scores) == (2, 1) == loop_positional_best(attn, -1)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("offset", [-1, 1])
def test_positional_scores_match_a_loop_on_random_maps(seed, offset):
    attn = random_attention(np.random.default_rng(seed))
    scores = live_questions.positional_scores(attn, offset)
    layers, heads, n, _ = attn.shape
    for layer in range(layers):
        for head in range(heads):
            values = [attn[layer, head, i, i + offset] for i in range(n) if 0 <= i + offset < n]
            assert scores[layer, head] == pytest.approx(np.mean(values))
    assert live_questions.best_head(scores) == loop_positional_best(attn, offset)


def test_options_hold_the_best_head_and_three_clearly_weaker_ones():
    attn = random_attention(np.random.default_rng(3), layers=6, heads=12, n=9)
    built = live_questions.build("positional_head", {"sentence": "x", "offset": -1}, "In {model}: {sentence}?",
                                 attn, ["t"] * 9, "TinyModel")
    best = loop_positional_best(attn, -1)
    assert built.answer == f"L{best[0]}H{best[1]}"
    keys = [option.key for option in built.options]
    assert len(keys) == len(set(keys)) == 4 and built.answer in keys
    scores = live_questions.positional_scores(attn, -1)
    for option in built.options:
        layer, head = (int(x) for x in option.key[1:].split("H"))
        assert f"{scores[layer, head]:.2f}" in option.explanation
        if option.key != built.answer:
            assert scores[best] - scores[layer, head] >= 0.05 - 1e-12
    assert built.prompt == "In TinyModel: x?"


@pytest.fixture(scope="module")
def model_attention(loaded_model):
    from lessonkit.analysis import analyse_sentence

    loaded = loaded_model
    raw = tomllib.loads((ROOT / "quizzes" / "section_2_heads.toml").read_text(encoding="utf-8"))
    live = [q for q in raw["questions"] if q["type"] == "live"]
    assert len(live) >= 2
    return loaded, {q["id"]: (q, analyse_sentence(loaded, q["params"]["sentence"])) for q in live}


def test_live_questions_of_the_bank_agree_with_the_loop_on_the_real_model(model_attention):
    loaded, live = model_attention
    bank = quiz.load_bank(ROOT / "quizzes")
    for question_id, (raw, result) in live.items():
        question = bank.question(question_id)
        built = quiz.build_live(question, result.attn, result.tokens, loaded.facts.name)
        if raw["generator"] == "positional_head":
            expected = loop_positional_best(result.attn, raw["params"].get("offset", -1))
        else:
            expected = loop_delimiter_best(result.attn, result.tokens)
        assert built.answer == f"L{expected[0]}H{expected[1]}"
        # the learner sees layers and heads counted from 1, as everywhere in the app
        answer_label = next(o.text for o in built.options if o.key == built.answer)
        assert answer_label == f"layer {expected[0] + 1}, head {expected[1] + 1}"
        assert quiz.grade(built, built.answer).correct
        wrong = next(o.key for o in built.options if o.key != built.answer)
        assert not quiz.grade(built, wrong).correct
        assert loaded.facts.name in built.prompt and raw["params"]["sentence"] in built.prompt
        for option in built.options:
            layer, head = (int(x) for x in option.key[1:].split("H"))
            assert 0 <= layer < loaded.facts.n_layers and 0 <= head < loaded.facts.n_heads


def test_bad_live_params_are_reported(tmp_path):
    folder = tmp_path / "q"
    folder.mkdir()
    (folder / "s.toml").write_text(
        'section = 2\ntitle = "T"\npage = "pages/x.py"\n[[questions]]\nid = "live-x"\ntype = "live"\n'
        'generator = "positional_head"\nprompt = "Which head of {modle}?"\nparams = { sentence = "", offset = 3 }\n',
        encoding="utf-8",
    )
    bank = quiz.load_bank(folder)
    fields = {problem.field for problem in bank.problems if problem.question_id == "live-x"}
    assert fields == {"prompt", "params.sentence", "params.offset"}


def test_live_prompts_count_layers_and_heads_as_their_options_do():
    """The prompts said "counted from 0" while the options count from 1 (issue 10)."""
    import re

    rng = np.random.default_rng(7)
    bank = quiz.load_bank(ROOT / "quizzes")
    live = [question for question in bank.questions if question.is_live]
    assert len(live) >= 2
    tokens = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    for question in live:
        attn = random_attention(rng, layers=6, heads=12, n=len(tokens))
        built = quiz.build_live(question, attn, tokens, "a test model")
        if question.generator == "positional_head":
            layer, head = loop_positional_best(attn, question.params_dict.get("offset", -1))
        else:
            layer, head = loop_delimiter_best(attn, tokens)
        answer_label = next(o.text for o in built.options if o.key == built.answer)
        assert answer_label == f"layer {layer + 1}, head {head + 1}"
        stated = re.findall(r"counted from (\d)", built.prompt)
        assert stated == ["1"], (question.id, built.prompt)
