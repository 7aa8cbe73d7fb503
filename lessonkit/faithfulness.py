"""Which attention view is faithful? Token importance from several methods, compared by rank.

For one sentence and the sentiment classifier (MiniLM + mean pooling + linear head), each method
gives one score per token (``seq``). The classifier reads the average of all token states, so
"the output position" of attention, rollout and flow is every position averaged: their token
score is the mean over rows (queries) of the matrix's column.

- ``raw_L{l}``: attention of layer l, heads averaged;
- ``rollout_L{l}``: rollout up to layer l (mean of heads, (A + I)/2, rows renormalised);
- ``flow_L{l}``: attention flow up to layer l (max-flow to every position, then averaged);
- ``grad_x_attention``: sum over layers, heads and queries of A * |dL/dA|;
- ``input_gradient``: L2 norm of dL/d(word embedding of the token);
- ``blank_out``: |change of the predicted class probability| when the token is masked out with
  the attention mask (no position attends to it and mean pooling skips it).

Correlations are Spearman's, over the tokens of the sentence without [CLS] and [SEP].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessonkit.attention_flow import attention_flow
from lessonkit.gradient_attention import attention_gradients
from lessonkit.statistics import spearman
from lessonkit.model import LoadedModel
from lessonkit.rollout import fuse_heads, residual_matrices, rollout_from_matrices
from lessonkit.transformer_classifier import SentimentHead, classifier_forward

REFERENCES = ("blank_out", "input_gradient")

# Abnar & Zuidema (2020), Spearman correlation with blank-out importance, as summarised in LESSON.md section 8.
PUBLISHED_SVA = {  # their subject-verb agreement model, 2,000 examples; by layer L1 / L3 / L5 / L6
    "raw attention": {1: 0.69, 3: -0.11, 5: 0.20, 6: 0.29},
    "rollout": {1: 0.32, 3: 0.51, 5: 0.70, 6: 0.71},
    "flow": {1: 0.32, 3: 0.70, 5: 0.71, 6: 0.70},
}
PUBLISHED_DISTILBERT_SST2 = {  # DistilBERT fine-tuned on SST-2, 100 examples: (low, high) over what they report
    "raw attention": (0.08, 0.12),
    "rollout": (0.11, 0.13),
    "flow": (0.11, 0.14),
}


@dataclass(frozen=True)
class TokenImportance:
    tokens: list[str]
    scores: dict[str, np.ndarray]  # method -> seq
    content: np.ndarray  # seq bool: the positions correlations use (not [CLS] / [SEP])
    probabilities: np.ndarray  # n_classes
    predicted: int

    def correlations(self) -> dict[str, dict[str, float]]:
        """method -> {reference: Spearman rho over content tokens} for each reference method."""
        out = {}
        for method, values in self.scores.items():
            out[method] = {
                reference: (float("nan") if method == reference else spearman(values[self.content], self.scores[reference][self.content]))
                for reference in REFERENCES
            }
        return out


def blank_out_importance(loaded: LoadedModel, head: SentimentHead, encoded: dict, target: int) -> np.ndarray:
    """seq: |p_target(full) - p_target(token j masked out)| for every position j (one batched forward)."""
    import torch

    n = encoded["input_ids"].shape[1]
    with torch.inference_mode():
        logits, _ = classifier_forward(loaded, head, encoded)
        base = torch.softmax(logits.double(), -1)[0, target]
        batch = {key: value.expand(n, *value.shape[1:]).clone() for key, value in encoded.items()}
        batch["attention_mask"][torch.arange(n), torch.arange(n)] = 0
        masked_logits, _ = classifier_forward(loaded, head, batch)
        masked = torch.softmax(masked_logits.double(), -1)[:, target]
    return (base - masked).abs().numpy()


def pooled_columns(matrices: np.ndarray) -> np.ndarray:
    """... x q x k -> ... x k: the mean over query rows (what mean pooling reads)."""
    return np.asarray(matrices).mean(axis=-2)


def token_importance(
    loaded: LoadedModel,
    head: SentimentHead,
    encoded: dict,
    tokens: list[str],
    flow_layers: list[int] | None = None,
) -> TokenImportance:
    """Every method's token scores for one encoded sentence (batch of one), for the predicted class.

    ``flow_layers``: which layers (1..L) get a flow score (n^2 max-flows each); None = the last only.
    """
    gradients = attention_gradients(loaded, head, encoded)
    attn = gradients.attn  # layers x heads x q x k
    n_layers = attn.shape[0]
    per_layer = residual_matrices(fuse_heads(attn, "mean"))
    rollout = rollout_from_matrices(per_layer)
    raw = pooled_columns(fuse_heads(attn, "mean"))  # layers x k
    rolled = pooled_columns(rollout)
    scores: dict[str, np.ndarray] = {}
    for layer in range(1, n_layers + 1):
        scores[f"raw_L{layer}"] = raw[layer - 1]
    for layer in range(1, n_layers + 1):
        scores[f"rollout_L{layer}"] = rolled[layer - 1]
    for layer in flow_layers if flow_layers is not None else [n_layers]:
        # one layer: every flow is its single edge's capacity (tests/test_attention_flow.py checks this)
        flow = per_layer[0] if layer == 1 else attention_flow(per_layer[:layer])
        scores[f"flow_L{layer}"] = pooled_columns(flow)
    scores["grad_x_attention"] = (attn * np.abs(gradients.grad)).sum(axis=(0, 1, 2))
    scores["input_gradient"] = np.linalg.norm(gradients.input_grad, axis=-1)
    scores["blank_out"] = blank_out_importance(loaded, head, encoded, gradients.predicted)
    special = set(getattr(loaded.tokenizer, "all_special_tokens", []) or ["[CLS]", "[SEP]", "[PAD]"])
    content = np.array([token not in special for token in tokens])
    return TokenImportance(tokens, scores, content, gradients.probabilities, gradients.predicted)


def method_family(method: str) -> str:
    """'raw_L3' -> 'raw attention', 'rollout_L6' -> 'rollout', 'flow_L6' -> 'flow', others unchanged."""
    prefix = method.split("_L")[0]
    return {"raw": "raw attention", "rollout": "rollout", "flow": "flow"}.get(prefix, method)


def summarise(per_sentence: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """method -> reference -> {mean, std, median, n} over sentences (NaN correlations skipped)."""
    methods = sorted({m for row in per_sentence for m in row})
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in methods:
        out[method] = {}
        for reference in REFERENCES:
            values = np.array([row[method][reference] for row in per_sentence if method in row], dtype=float)
            values = values[~np.isnan(values)]
            out[method][reference] = {
                "mean": float(values.mean()) if values.size else float("nan"),
                "std": float(values.std()) if values.size else float("nan"),
                "median": float(np.median(values)) if values.size else float("nan"),
                "n": int(values.size),
            }
    return out
