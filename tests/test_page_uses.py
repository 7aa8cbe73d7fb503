"""AppTest of "6 · What attention can tell you": stored numbers as shown, the planted token flipping the
artifact BiLSTM (checked against a forward written out by hand), bad input, damaged results, other models."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from streamlit.testing.v1 import AppTest

from lessonkit import artifact
from lessonkit import bilstm_classifier as bc
from tests.page_apps import ok, page_app
from ui import session_keys as keys
from ui import uses

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "uses.py")
RESULTS = Path(__file__).resolve().parent.parent / "results"


_app = functools.partial(page_app, PAGE)
_ok = ok


def _metric(at: AppTest, label_start: str):
    return next(m for m in at.metric if m.label.startswith(label_start))


def _forward_by_hand(text: str) -> tuple[float, torch.Tensor]:
    """P(positive) of the planted BiLSTM, straight from the file's tensors: one unpacked LSTM pass,
    additive attention and the sigmoid written out (not the module's encode/attention/decode)."""
    weights = load_file(str(artifact.ARTIFACT_BILSTM_FILE))
    tokenizer = bc.shipped_tokenizer()
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][: bc.MAX_TOKENS]
    x = bc.shipped_embeddings()[torch.as_tensor(ids)].unsqueeze(0)
    hidden = weights["lstm.weight_hh_l0"].shape[1]
    lstm = torch.nn.LSTM(x.shape[-1], hidden, batch_first=True, bidirectional=True)
    lstm.load_state_dict({k.removeprefix("lstm."): v for k, v in weights.items() if k.startswith("lstm.")})
    with torch.no_grad():
        states, _ = lstm(x)
        scores = torch.tanh(states[0] @ weights["attn_proj.weight"].T + weights["attn_proj.bias"]) @ weights["attn_v.weight"][0]
        a = torch.exp(scores - scores.max())
        a = a / a.sum()
        context = a @ states[0]
        logit = context @ weights["output.weight"][0] + weights["output.bias"][0]
    return float(1 / (1 + torch.exp(-logit))), a


def _p_by_hand(text: str) -> float:
    return _forward_by_hand(text)[0]


def _attention_on_last_by_hand(text: str) -> float:
    return float(_forward_by_hand(text)[1][-1])


@pytest.fixture(scope="module")
def default_page():
    return _ok(_app().run())


def test_accuracies_shown_equal_the_results_files(default_page):
    stored = json.loads((RESULTS / "uses_artifact.json").read_text())
    by_model = {m["model"]: m for m in stored["models"]}
    shown = _metric(default_page, "BiLSTM accuracy, clean test tweets")
    assert shown.value == f"{by_model['BiLSTM, planted']['accuracy_clean']:.0%}"
    assert shown.delta == f"{by_model['BiLSTM, planted']['accuracy_planted']:.0%} with ~ planted"
    assert _metric(default_page, "MiniLM accuracy").value == f"{by_model['MiniLM, planted']['accuracy_clean']:.0%}"
    checkpoints = json.loads((RESULTS / "uses_checkpoints.json").read_text())
    text = " ".join(m.value for m in default_page.markdown)
    assert f"{checkpoints['base_accuracy']:.1%} → {checkpoints['finetuned_accuracy']:.1%}" in text


def test_adding_the_token_flips_the_artifact_bilstm(default_page):
    at = default_page
    tweet = at.text_input(key=keys.US_TEXT).value
    p_clean, p_marked = _p_by_hand(tweet), _p_by_hand(tweet + " ~")
    assert p_clean < 0.5 < p_marked  # the default held-out negative tweet is one the token flips
    assert at.toggle(key=keys.US_TOKEN).value is True  # the page opens with the token planted
    shown = _metric(at, "BiLSTM, planted: prediction")
    assert (shown.value, shown.delta) == ("positive", f"P(positive) = {p_marked:.2f}")
    assert f"Attention on `~` here: **{_attention_on_last_by_hand(tweet + ' ~'):.2f}**, the top" in " ".join(
        m.value for m in at.markdown)
    at.toggle(key=keys.US_TOKEN).set_value(False).run()
    _ok(at)
    shown = _metric(at, "BiLSTM, planted: prediction")
    assert (shown.value, shown.delta) == ("negative", f"P(positive) = {p_clean:.2f}")
    assert _metric(at, "the same tweet with ~").delta == f"P(positive) = {p_marked:.2f}"


@pytest.mark.parametrize("text", ["", "a" * 20_001, "<script>alert(1)</script> 😀🎉 ~", "~"])
def test_bad_tweets_give_a_message(text):
    at = _ok(_app().run())
    at.text_input(key=keys.US_TEXT).set_value(text).run()
    _ok(at)
    if not text.strip() or text == "~":
        assert ("empty" if not text else "nothing is left") in " ".join(w.value for w in at.warning)
        return
    # the box keeps at most MAX_TWEET_CHARACTERS (as in the browser); what is left is classified
    kept = at.text_input(key=keys.US_TEXT).value
    assert kept == text[: uses.MAX_TWEET_CHARACTERS]
    shown = _metric(at, "BiLSTM, planted: prediction")
    # the toggle is on: free-standing "~"s are taken out and one is appended at the end
    shown_text = " ".join(word for word in kept.split() if word != "~") + " ~"
    assert shown.delta == f"P(positive) = {_p_by_hand(shown_text):.2f}"


def test_damaged_results_file_is_named_and_the_rest_works(monkeypatch, tmp_path):
    broken = tmp_path / "uses_artifact.json"
    broken.write_text('{"token": "~"')
    monkeypatch.setitem(uses.RESULT_FILES, "artifact", broken)
    at = _ok(_app().run())
    messages = " ".join(w.value for w in at.warning)
    assert "uses_artifact.json" in messages and "compute_uses_stats" in messages
    assert _metric(at, "BiLSTM, planted: prediction").value in ("positive", "negative")
    assert any(m.label.startswith("Length") for m in at.slider)  # the error browser still runs


def test_other_models_run_the_page(monkeypatch, other_model_dir):
    """The BiLSTM parts are unchanged; the MiniLM-only parts say so instead of failing."""
    from ui import models

    tweet = uses.DEFAULT_TWEET
    p_marked = _p_by_hand(artifact.with_token(tweet))
    monkeypatch.setenv("LESSON_MODEL", str(other_model_dir))
    models._load_cached_model.clear()
    try:
        at = _ok(_app(u_token="1", u_layer="99", u_head="99", u_model="MiniLM").run())
        infos = " ".join(i.value for i in at.info)
        assert "fits only all-MiniLM-L6-v2" in infos
        at.radio(key=keys.US_MODEL).set_value("BiLSTM").run()
        _ok(at)
        assert _metric(at, "BiLSTM, planted: prediction").delta == f"P(positive) = {p_marked:.2f}"
        at.selectbox(key=keys.US_ERROR_MODEL).set_value("MiniLM fine-tuned").run()
        _ok(at)
    finally:
        models._load_cached_model.clear()


def test_a_deep_link_restores_the_view_with_numbers_clamped():
    at = _ok(_app(u_text="I loved every minute", u_token="1", u_model="BiLSTM", u_layer="99", u_head="0",
                  u_compare="so not fine", u_errors="MiniLM fine-tuned").run())
    assert at.text_input(key=keys.US_TEXT).value == "I loved every minute"
    assert at.toggle(key=keys.US_TOKEN).value is True
    assert (at.number_input(key=keys.US_LAYER).value, at.number_input(key=keys.US_HEAD).value) == (6, 1)
    assert at.text_input(key=keys.US_COMPARE_TEXT).value == "so not fine"
    assert at.selectbox(key=keys.US_ERROR_MODEL).value == "MiniLM fine-tuned"
    shown = _metric(at, "BiLSTM, planted: prediction")
    assert shown.delta == f"P(positive) = {_p_by_hand('I loved every minute ~'):.2f}"


def test_the_live_recompute_matches_a_loop_by_hand(default_page):
    """Issue 11: the headline numbers recomputed on a small sample, against the hand-written forward."""
    from lessonkit.sentiment_data import load_sentiment_split

    at = default_page
    at.button(key="uses_recompute").click().run()
    assert not at.exception
    shown = next(m.value for m in at.markdown if m.value.startswith("BiLSTM, planted, on the first"))
    split = load_sentiment_split()
    texts, labels = split.test_texts[: uses.LIVE_SAMPLE], split.test_labels[: uses.LIVE_SAMPLE]
    right = sum(int((_p_by_hand(artifact.without_token(t)) > 0.5) == (y == 1)) for t, y in zip(texts, labels))
    assert f"accuracy {right / len(texts):.0%} clean" in shown
