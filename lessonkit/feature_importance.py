"""How much each token matters to a prediction, measured three ways, and how well they agree.

- attention: the weight the model puts on the token;
- gradient: |(dp/de_t) . e_t|, the gradient of P(positive) with respect to the token's input
  embedding times that embedding (the component of the gradient with respect to the one-hot
  input that belongs to the actual token). For the BiLSTM the attention weights are held fixed
  while differentiating, as Jain & Wallace did;
- leave-one-out: |p - p without token t|.
Agreement is Kendall's tau (scipy) between two importance vectors over a sentence's tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SIGNIFICANCE = 0.05


# ---------------------------------------------------------------------------- agreement
def kendall_tau(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(tau-b, two-sided p-value) from scipy; (nan, nan) for fewer than 2 tokens or a constant vector."""
    from scipy.stats import kendalltau

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return float("nan"), float("nan")
    result = kendalltau(x, y)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class TauSummary:
    mean: float
    std: float
    fraction_significant: float  # share of sentences with p <= 0.05
    n: int  # sentences with a defined tau

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std, "fraction_significant": self.fraction_significant, "n": self.n}


def summarise_taus(taus: list[float], pvalues: list[float], alpha: float = SIGNIFICANCE) -> TauSummary:
    taus_a, p_a = np.asarray(taus, dtype=np.float64), np.asarray(pvalues, dtype=np.float64)
    keep = ~np.isnan(taus_a)
    if not keep.any():
        return TauSummary(float("nan"), float("nan"), float("nan"), 0)
    return TauSummary(float(taus_a[keep].mean()), float(taus_a[keep].std()), float((p_a[keep] <= alpha).mean()),
                      int(keep.sum()))


# ---------------------------------------------------------------------------- BiLSTM
def bilstm_gradient_importance(model, ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """T: |grad . embedding| per token, attention detached (J&W)."""
    embedded = model.embedding(ids).detach().requires_grad_(True)
    states = model.encode(ids, mask, embedded=embedded)
    attention = model.attention(states, mask).detach()
    prob = model.decode(states, attention)[0]
    (grad,) = torch.autograd.grad(prob, embedded)
    return (grad[0] * embedded[0]).sum(-1).abs().detach().double().numpy()


def bilstm_leave_one_out(model, ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    """T: |p - p with token t removed from the input|, all T variants in one batch."""
    n = int(mask[0].sum())
    real = ids[0, :n]
    if n < 2:
        return np.zeros(n)
    variants = torch.stack([torch.cat([real[:t], real[t + 1 :]]) for t in range(n)])  # n x (n-1)
    with torch.no_grad():
        base = model(ids[:, :n], mask[:, :n])[0][0]
        dropped = model(variants, torch.ones_like(variants))[0]
    return (dropped - base).abs().double().numpy()


# ---------------------------------------------------------------------------- transformer
def _transformer_prob(loaded, head, **inputs) -> torch.Tensor:
    from lessonkit.transformer_classifier import head_logits, mean_pool

    out = loaded.model(**inputs)
    pooled = mean_pool(out.last_hidden_state, inputs["attention_mask"])
    return torch.softmax(head_logits(head, pooled), -1)[:, 1]


def transformer_gradient_importance(loaded, head, encoded) -> np.ndarray:
    """T (all positions, [CLS]/[SEP] included): |grad . word embedding| of P(positive)."""
    ids = encoded["input_ids"]
    embedded = loaded.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    inputs = {k: v for k, v in encoded.items() if k != "input_ids"}
    prob = _transformer_prob(loaded, head, inputs_embeds=embedded, **inputs)[0]
    (grad,) = torch.autograd.grad(prob, embedded)
    return (grad[0] * embedded[0]).sum(-1).abs().detach().double().numpy()


def transformer_leave_one_out(loaded, head, encoded, positions: list[int]) -> np.ndarray:
    """len(positions): |p - p with that token removed| ([CLS]/[SEP] kept), one padded batch."""
    ids = encoded["input_ids"][0]
    variants = [torch.cat([ids[:t], ids[t + 1 :]]) for t in positions]
    if not variants:
        return np.zeros(0)
    batch = torch.stack(variants)
    inputs = {"input_ids": batch, "attention_mask": torch.ones_like(batch)}
    if "token_type_ids" in encoded:
        inputs["token_type_ids"] = torch.zeros_like(batch)
    with torch.no_grad():
        base = _transformer_prob(loaded, head, **{k: v for k, v in encoded.items()})[0]
        dropped = _transformer_prob(loaded, head, **inputs)
    return (dropped - base).abs().double().numpy()
