"""AppTest runs of the two deep-dive head pages: the honest coreference numbers against an
independent loop, deep links clamped to the model, and every other model shape."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
FINDER = str(REPO / "pages" / "head_finder.py")
ACCURACY = str(REPO / "pages" / "head_accuracy.py")


def run(page: str, **params) -> AppTest:
    at = AppTest.from_file(page, default_timeout=600)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def no_exceptions(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def both_twins_by_loop(loaded) -> np.ndarray:
    """layers x heads: pairs where the head gives the true antecedent more weight in both twins;
    word maps by hand (keys summed, queries averaged over a word's pieces)."""
    from lessonkit.analysis import analyse_sentence
    from lessonkit.probes import load_coreference_items

    items = load_coreference_items()
    right = {}
    for item in items:
        s = analyse_sentence(loaded, item.text)
        words, pieces = [], []
        for position, (token, word) in enumerate(zip(s.tokens, s.word_ids)):
            if word is not None and pieces and s.word_ids[pieces[-1][-1]] == word:
                pieces[-1].append(position)
                words[-1] += token[2:] if token.startswith("##") else token
            else:
                pieces.append([position])
                words.append(token)
        first = [words.index(c) for c in item.candidates]
        pronoun = words.index(item.pronoun, max(first) + 1)

        def weight(target: int) -> np.ndarray:
            rows = s.attn[:, :, pieces[pronoun], :][..., pieces[target]].sum(axis=-1)
            return rows.mean(axis=-1)

        truth = first[item.candidates.index(item.antecedent)]
        other = first[1 - item.candidates.index(item.antecedent)]
        right.setdefault(item.pair, []).append(weight(truth) > weight(other))
    return np.mean([a & b for a, b in right.values()], axis=0)


def test_accuracy_page_states_the_measured_result_beside_chance(loaded_model):
    at = run(ACCURACY)
    no_exceptions(at)
    both = both_twins_by_loop(loaded_model)
    best = both.max()
    metric = at.metric[0]
    assert metric.value == f"{best:.0%}"
    n_pairs = 42
    assert f"{int(round(best * n_pairs))} of {n_pairs} pairs" in metric.delta
    l, h = np.unravel_index(np.argmax(both), both.shape)
    assert f"L{l + 1}-H{h + 1}" in metric.label
    assert at.metric[1].value == "25%"
    text = " ".join(m.value for m in at.markdown)
    assert "BERT-base" in text and "no layer 8" in text
    coref = at.dataframe[0].value
    assert coref[coref["who"] == "head 5-4"].iloc[0]["accuracy"] == pytest.approx(0.65)
    # the pair shown by default is the animal twins with the best head, both right
    assert at.number_input(key="ha_layer").value == l + 1 and at.number_input(key="ha_head").value == h + 1


def test_accuracy_deep_link_is_clamped_and_restored():
    at = run(ACCURACY, pair="999", layer="99", head="-4", relation="<script>")
    no_exceptions(at)
    assert at.selectbox(key="ha_pair").value == 42
    assert at.number_input(key="ha_layer").value == 6 and at.number_input(key="ha_head").value == 1
    assert at.selectbox(key="ha_relation").value == "det"
    at = run(ACCURACY, pair="5", layer="3", head="7", relation="pobj-back")
    no_exceptions(at)
    assert (at.selectbox(key="ha_pair").value, at.number_input(key="ha_layer").value,
            at.number_input(key="ha_head").value) == (5, 3, 7)
    assert at.selectbox(key="ha_relation").value == "pobj-back"
    assert at.query_params["relation"] == "pobj-back" and at.query_params["layer"] == "3"


def test_finder_deep_link_restores_pattern_and_words(loaded_model):
    from lessonkit.analysis import analyse_sentence

    text = "The cat sat on the mat because it was warm."
    at = run(FINDER, text=text, pattern="next", words="0")
    no_exceptions(at)
    assert at.radio(key="hf_pattern").value == "next"
    attn = analyse_sentence(loaded_model, text).attn
    n = attn.shape[-1]
    nxt = np.array([[sum(attn[l, h, i, i + 1] for i in range(n - 1)) / (n - 1) for h in range(12)] for l in range(6)])
    l, h = np.unravel_index(np.argmax(nxt), nxt.shape)
    assert at.dataframe[1].value.iloc[0]["head"] == f"L{l + 1}-H{h + 1}"
    assert at.query_params["pattern"] == "next"
    at = run(FINDER, text="", pattern="bogus")
    no_exceptions(at)
    assert at.radio(key="hf_pattern").value == "previous"


def test_both_pages_run_on_other_models(other_model_dir, monkeypatch):
    import ui.head_pages
    import ui.models
    from lessonkit.model import load_model

    facts = load_model(str(other_model_dir)).facts
    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    ui.models._load_cached_model.clear()
    try:
        at = run(ACCURACY, layer="99", head="99")
        no_exceptions(at)
        assert at.number_input(key="ha_layer").value == facts.n_layers
        assert at.number_input(key="ha_head").value == facts.n_heads
        assert at.metric[0].label.startswith("Both twins right")
        at = run(FINDER, text="A short test sentence.", pattern="sep", words="1")
        no_exceptions(at)
        assert len(at.dataframe[1].value) == facts.n_layers * facts.n_heads
        assert at.radio(key="hf_pattern").value == "sep"
    finally:
        ui.models._load_cached_model.clear()
        ui.head_pages._store.clear()
