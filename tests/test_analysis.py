"""Attention extraction against the model, and the by-hand recomputation against both."""
import numpy as np
import pytest
import torch

from lessonkit.analysis import MAX_INPUT_CHARACTERS, InputError, analyse_sentence
from lessonkit.formula import recomputation_errors, recompute_head

SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "The trophy didn't fit in the bag because it was too big.",
    "The keys to the cabinet are on the table.",
    "Transformers mix information between tokens; attention decides how much!",
]


@pytest.mark.parametrize("sentence", SENTENCES)
def test_by_hand_recomputation_matches_every_head(loaded_model, sentence):
    result = analyse_sentence(loaded_model, sentence)
    errors = recomputation_errors(loaded_model, result.hidden_states, result.attn)
    assert errors.shape == (6, 12)
    assert errors.max() < 1e-5


def test_hand_recomputation_from_raw_state_dict(loaded_model):
    """An independent path: slice the raw state dict by hand, in torch float64."""
    result = analyse_sentence(loaded_model, SENTENCES[2])
    state = loaded_model.model.state_dict()
    layer, head, d_k = 4, 7, 32
    x = torch.tensor(result.hidden_states[layer], dtype=torch.float64)
    prefix = f"encoder.layer.{layer}.attention.self."
    cols = slice(head * d_k, (head + 1) * d_k)
    q = x @ state[prefix + "query.weight"].double()[cols].T + state[prefix + "query.bias"].double()[cols]
    k = x @ state[prefix + "key.weight"].double()[cols].T + state[prefix + "key.bias"].double()[cols]
    expected = torch.softmax(q @ k.T / d_k**0.5, dim=-1).numpy()
    np.testing.assert_allclose(recompute_head(loaded_model, result.hidden_states[layer], layer, head).weights,
                               expected, atol=1e-12)
    np.testing.assert_allclose(result.attn[layer, head], expected, atol=1e-5)


def test_shapes_tokens_and_rows_on_the_simplex(loaded_model):
    result = analyse_sentence(loaded_model, SENTENCES[0])
    tokens = loaded_model.tokenizer.tokenize(SENTENCES[0])
    assert result.tokens == ["[CLS]", *tokens, "[SEP]"]
    n = len(tokens) + 2
    assert result.attn.shape == (6, 12, n, n)
    assert result.hidden_states.shape == (7, n, 384)
    assert (result.attn >= 0).all()
    np.testing.assert_allclose(result.attn.sum(-1), 1.0, atol=1e-5)
    assert not result.truncated and result.n_tokens_before_truncation == n
    assert result.word_ids[0] is None and result.word_ids[-1] is None


def test_attention_equals_a_direct_forward(loaded_model):
    encoded = loaded_model.tokenizer(SENTENCES[1], return_tensors="pt")
    with torch.no_grad():
        outputs = loaded_model.model(**encoded, output_attentions=True)
    result = analyse_sentence(loaded_model, SENTENCES[1])
    for layer, layer_attention in enumerate(outputs.attentions):
        np.testing.assert_array_equal(result.attn[layer], layer_attention[0].numpy())


def test_long_input_is_truncated_with_a_flag(loaded_model):
    text = "attention " * 700
    result = analyse_sentence(loaded_model, text)
    assert result.truncated
    assert result.n_tokens == 512
    assert result.n_tokens_before_truncation == 702
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(result.attn.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("text", ["", "   \n\t ", None])
def test_empty_input_is_refused_clearly(loaded_model, text):
    with pytest.raises(InputError, match="empty"):
        analyse_sentence(loaded_model, text)


def test_oversized_input_is_refused_before_tokenizing(loaded_model):
    with pytest.raises(InputError, match="characters"):
        analyse_sentence(loaded_model, "a" * (MAX_INPUT_CHARACTERS + 1))


def test_html_and_emoji_are_just_text(loaded_model):
    result = analyse_sentence(loaded_model, '<script>alert("x")</script> & 😀 fine')
    assert "<" in result.tokens and "script" in result.tokens
    assert "[UNK]" in result.tokens  # the emoji is outside the uncased WordPiece vocabulary


def test_sentence_pair_segments(loaded_model):
    result = analyse_sentence(loaded_model, "The cat sat.", "It was tired.")
    first_sep = result.tokens.index("[SEP]")
    assert result.segment_ids == [0] * (first_sep + 1) + [1] * (result.n_tokens - first_sep - 1)
    assert result.tokens.count("[SEP]") == 2


def test_shapes_in_the_type_hints_are_checked_when_tests_run():
    """The result object refuses arrays whose shapes disagree with each other (jaxtyping + beartype)."""
    import numpy as np
    import pytest
    from jaxtyping import TypeCheckError

    from lessonkit.analysis import SentenceAnalysis

    def build(attn, hidden):
        return SentenceAnalysis("t", None, ["a"], [1], [None], [0], attn, hidden, False, 1)

    build(np.zeros((2, 3, 4, 4), np.float32), np.zeros((3, 4, 8), np.float32))
    with pytest.raises(TypeCheckError):
        build(np.zeros((2, 3, 4), np.float32), np.zeros((3, 4, 8), np.float32))  # a map without its key axis
