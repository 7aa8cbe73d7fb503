"""Interventions refuse a model whose attention they cannot reach, instead of silently changing nothing."""
from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel

from lessonkit.intervention import NotEditableError, ablate_heads, editing_attention, register_editable_attention
from lessonkit.model import LoadedModel, ModelFacts


def _tiny(attn_implementation: str) -> LoadedModel:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32)
    model = BertModel._from_config(config, attn_implementation=attn_implementation, add_pooling_layer=False).eval()
    facts = ModelFacts("tiny", "tiny", "bert", 2, 2, 16, 8, 0, 32, 50)
    return LoadedModel(tokenizer=None, model=model, facts=facts)


def test_an_eager_model_is_refused_by_every_intervention():
    eager = _tiny("eager")
    with pytest.raises(NotEditableError, match="silently"), editing_attention(eager, ablate_heads([(0, 0)])):
        pass


def test_the_editable_model_reproduces_eager_and_its_edits_take_effect():
    editable, eager = _tiny(register_editable_attention()), _tiny("eager")
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.no_grad():
        plain = eager.model(input_ids=ids).last_hidden_state
        same = editable.model(input_ids=ids).last_hidden_state
        with editing_attention(editable, ablate_heads([(1, 0), (1, 1)])):
            ablated = editable.model(input_ids=ids).last_hidden_state
    assert torch.allclose(plain, same, atol=1e-6)
    assert not torch.allclose(plain, ablated, atol=1e-3)


def test_padding_is_masked_in_a_batch_exactly_as_eager_masks_it(loaded_model):
    """The editable attention needs eager's mask function too: without it transformers hands it no mask
    and padded positions are attended to (a batched tweet then differed from the same tweet alone)."""
    texts = ["it was too tired", "the trophy didn't fit in the brown suitcase because it was too big"]
    tokenizer, model = loaded_model.tokenizer, loaded_model.model
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        together = model(**batch).last_hidden_state
        for row, text in enumerate(texts):
            alone = model(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
            n = alone.shape[0]
            assert torch.allclose(together[row, :n], alone, atol=1e-5)
