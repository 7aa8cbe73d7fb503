"""The one forward pass over a sentence, and the one result object every page indexes into.

Like TransformerLens's activation cache: ``result.attn[layer, head]`` is a query x key map
(entry [i, j] is how much query position i attends to key position j; each row sums to 1),
``result.hidden_states[l]`` is the input of layer l (the last entry is the encoder's output),
and ``result.tokens`` labels the positions.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from jaxtyping import Float

from lessonkit.model import LoadedModel

MAX_INPUT_CHARACTERS = 20_000  # beyond this we refuse before tokenizing; truncation covers the rest


class InputError(ValueError):
    """The text cannot be analysed; the message is meant for the learner."""


@dataclass(frozen=True)
class SentenceAnalysis:
    text: str
    text_pair: str | None
    tokens: list[str]
    token_ids: list[int]
    word_ids: list[int | None]  # which word each token belongs to (None for special tokens)
    segment_ids: list[int]  # 0 for the first sentence, 1 for the second of a pair
    attn: Float[np.ndarray, "layers heads query key"]  # float32
    hidden_states: Float[np.ndarray, "layers_plus_1 seq d_model"]  # input of layer l is hidden_states[l]
    truncated: bool
    n_tokens_before_truncation: int

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (what a byte-bounded cache counts)."""
        return int(self.attn.nbytes + self.hidden_states.nbytes)


def check_text(text: str | None, what: str = "sentence") -> str:
    """Strip and validate user text, raising InputError with a readable message."""
    if text is None or not text.strip():
        raise InputError(f"The {what} is empty: type a few words to see their attention.")
    if len(text) > MAX_INPUT_CHARACTERS:
        raise InputError(
            f"The {what} has {len(text):,} characters; the limit is {MAX_INPUT_CHARACTERS:,}. "
            "Paste a shorter passage."
        )
    return text.strip()


def tokenize(loaded: LoadedModel, text: str, text_pair: str | None = None) -> tuple[Mapping[str, Any], bool, int]:
    """Tokenizer output truncated to the model's maximum, whether it was cut, and the uncut length."""
    tokenizer = loaded.tokenizer
    encoded = tokenizer(text, text_pair, return_tensors="pt", truncation=False)
    n_full = encoded["input_ids"].shape[1]
    max_length = loaded.facts.max_length
    if n_full <= max_length:
        return encoded, False, n_full
    strategy = "longest_first" if text_pair else True
    encoded = tokenizer(text, text_pair, return_tensors="pt", truncation=strategy, max_length=max_length)
    return encoded, True, n_full


def analyse_sentence(loaded: LoadedModel, text: str | None, text_pair: str | None = None) -> SentenceAnalysis:
    """One forward pass: tokens, every layer's and head's attention map, and hidden states."""
    import torch

    text = check_text(text)
    text_pair = check_text(text_pair, "second sentence") if text_pair is not None and text_pair.strip() else None
    encoded, truncated, n_full = tokenize(loaded, text, text_pair)
    with torch.inference_mode():
        outputs = loaded.model(**encoded, output_attentions=True, output_hidden_states=True)
    attn = torch.stack(outputs.attentions)[:, 0].float().numpy()
    hidden = torch.stack(outputs.hidden_states)[:, 0].float().numpy()
    ids = encoded["input_ids"][0].tolist()
    segments = (encoded["token_type_ids"][0].tolist() if "token_type_ids" in encoded
                else segments_from_sep(ids, loaded.tokenizer.sep_token_id))
    return SentenceAnalysis(
        text=text,
        text_pair=text_pair,
        tokens=loaded.tokenizer.convert_ids_to_tokens(ids),
        token_ids=ids,
        word_ids=list(encoded.word_ids(0)),  # type: ignore[attr-defined]  # a BatchEncoding
        segment_ids=segments,
        attn=attn,
        hidden_states=hidden,
        truncated=truncated,
        n_tokens_before_truncation=n_full,
    )


def segments_from_sep(ids: list[int], sep_id: int | None) -> list[int]:
    """Segment ids for tokenizers without token_type_ids: 1 after the first separator."""
    segments, current = [], 0
    for token_id in ids:
        segments.append(current)
        if token_id == sep_id:
            current = 1
    return segments
