"""Both sentiment classifiers behind one interface: batched P(positive), and per-token scores.

The "uses of attention" experiments (planted artifact, checkpoint comparison, error analysis) ask
the same three questions of either classifier, so they go through a ``Scorer``:

- ``probabilities(texts)``: P(positive) per text, batched;
- ``token_scores(text)``: the text's own tokens (no [CLS]/[SEP]) with three scores each:
  * ``attention``  BiLSTM: its additive attention. MiniLM (mean-pooled head): the last layer's
    attention, heads averaged, then averaged over all query rows - the rows mean pooling reads -
    i.e. the attention each token receives;
  * ``grad_x_attention``  BiLSTM: a_t * |dP(positive)/da_t|. MiniLM: the app's A * |dL/dA|
    summed over layers, heads and queries (L = cross-entropy of the predicted class);
  * ``removal``  |P(positive) - P(positive) with the token taken out|: BiLSTM, token deleted
    from the input (leave-one-out); MiniLM, token masked out (no position attends to it and
    pooling skips it: the app's blank-out).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from lessonkit.model import LoadedModel
from lessonkit.transformer_classifier import SentimentHead, classifier_forward

MINILM_MAX_TOKENS = 128  # the length the MiniLM heads were trained with (scripts/train_classifiers.py)
SCORE_MAX_TOKENS = 64  # per-token scores: the BiLSTM's own limit, and keeps one tweet's gradients cheap


@dataclass(frozen=True)
class TokenScores:
    tokens: list[str]
    attention: np.ndarray  # T
    grad_x_attention: np.ndarray  # T
    removal: np.ndarray  # T
    probability: float  # P(positive) for the whole text
    attention_by_layer: np.ndarray | None = None  # MiniLM only: layers x T, each layer like ``attention``

    def top(self, method: str) -> int:
        """Index of the token with the largest score (the first one on ties)."""
        return int(np.argmax(getattr(self, method)))


class Scorer(Protocol):
    name: str

    def probabilities(self, texts: list[str]) -> np.ndarray: ...

    def token_scores(self, text: str) -> TokenScores: ...


class BiLSTMScorer:
    def __init__(self, name: str, model, tokenizer):
        self.name, self.model, self.tokenizer = name, model, tokenizer

    def probabilities(self, texts: list[str]) -> np.ndarray:
        from lessonkit.bilstm_classifier import predict

        return predict(self.model, self.tokenizer, list(texts)).astype(np.float64)

    def attentions(self, texts: list[str]) -> list[np.ndarray]:
        """Each text's attention over its own tokens (one batched forward)."""
        from lessonkit.bilstm_classifier import encode_texts

        ids, mask = encode_texts(self.tokenizer, list(texts))
        with torch.inference_mode():
            attention = self.model(ids, mask)[1].double().numpy()
        return [row[: int(m.sum())] for row, m in zip(attention, mask.numpy())]

    def token_scores(self, text: str) -> TokenScores:
        from lessonkit.attribution import LeaveOneOut, TokenInputs, bilstm_function
        from lessonkit.bilstm_classifier import encode_sentence

        s = encode_sentence(self.tokenizer, text)
        with torch.enable_grad():
            states = self.model.encode(s.ids, s.mask)
            attention = self.model.attention(states, s.mask).detach().requires_grad_(True)
            prob = self.model.decode(states, attention)[0]
            (grad,) = torch.autograd.grad(prob, attention)
        a = attention.detach()[0].double().numpy()
        return TokenScores(
            tokens=s.tokens, attention=a, grad_x_attention=a * np.abs(grad[0].double().numpy()),
            removal=LeaveOneOut(bilstm_function(self.model)).attribute(TokenInputs(s.ids, s.mask), target=1),
            probability=float(prob.detach()),
        )


class MiniLMScorer:
    def __init__(self, name: str, loaded: LoadedModel, head: SentimentHead):
        self.name, self.loaded, self.head = name, loaded, head

    def probabilities(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
        out = np.zeros(len(texts))
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                index = order[start : start + batch_size]
                encoded = self.loaded.tokenizer([texts[i] for i in index], padding=True, truncation=True,
                                                max_length=MINILM_MAX_TOKENS, return_tensors="pt")
                logits, _ = classifier_forward(self.loaded, self.head, encoded)
                out[index] = torch.softmax(logits.double(), -1)[:, 1].numpy()
        return out

    def encode(self, text: str) -> dict:
        return dict(self.loaded.tokenizer(text, return_tensors="pt", truncation=True, max_length=SCORE_MAX_TOKENS))

    def last_layer_received(self, encoded: dict) -> np.ndarray:
        """Attention each position receives in the last layer (heads and query rows averaged)."""
        with torch.inference_mode():
            _, attentions = classifier_forward(self.loaded, self.head, encoded, output_attentions=True)
        return attentions[-1][0].double().mean(0).mean(0).numpy()

    def token_scores(self, text: str) -> TokenScores:
        from lessonkit.faithfulness import blank_out_importance
        from lessonkit.gradient_attention import attention_gradients

        encoded = self.encode(text)
        gradients = attention_gradients(self.loaded, self.head, encoded)
        attn = gradients.attn  # layers x heads x q x k
        by_layer = attn.mean(1).mean(1)  # layers x k: heads averaged, then query rows
        gxa = (attn * np.abs(gradients.grad)).sum(axis=(0, 1, 2))
        removal = blank_out_importance(self.loaded, self.head, encoded, gradients.predicted)
        tokens = self.loaded.tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
        real = slice(1, len(tokens) - 1)  # without [CLS] and [SEP]
        return TokenScores(
            tokens=tokens[real], attention=by_layer[-1, real], grad_x_attention=gxa[real], removal=removal[real],
            probability=float(gradients.probabilities[1]), attention_by_layer=by_layer[:, real],
        )


def accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    return float(((np.asarray(probabilities) > 0.5) == (np.asarray(labels) == 1)).mean())
