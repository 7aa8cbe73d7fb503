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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lessonkit.statistics import jensen_shannon_divergence, kendall_tau

SIGNIFICANCE = 0.05


# ---------------------------------------------------------------------------- agreement
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
def _p_positive(loaded, head, encoded) -> torch.Tensor:
    from lessonkit.transformer_classifier import class_probabilities

    return class_probabilities(loaded, head, encoded)[:, 1]


def transformer_gradient_importance(loaded, head, encoded) -> np.ndarray:
    """T (all positions, [CLS]/[SEP] included): |grad . word embedding| of P(positive)."""
    ids = encoded["input_ids"]
    embedded = loaded.model.get_input_embeddings()(ids).detach().requires_grad_(True)
    inputs = {k: v for k, v in encoded.items() if k != "input_ids"}
    prob = _p_positive(loaded, head, {"inputs_embeds": embedded, **inputs})[0]
    (grad,) = torch.autograd.grad(prob, embedded)
    return (grad[0] * embedded[0]).sum(-1).abs().detach().double().numpy()


def transformer_leave_one_out(loaded, head, encoded, positions: list[int]) -> np.ndarray:
    """len(positions): |p - p with that token removed| ([CLS]/[SEP] kept), one batch."""
    ids = encoded["input_ids"][0]
    variants = [torch.cat([ids[:t], ids[t + 1 :]]) for t in positions]
    if not variants:
        return np.zeros(0)
    batch = torch.stack(variants)
    inputs = {"input_ids": batch, "attention_mask": torch.ones_like(batch)}
    if "token_type_ids" in encoded:
        inputs["token_type_ids"] = torch.zeros_like(batch)
    with torch.no_grad():
        base = _p_positive(loaded, head, encoded)[0]
        dropped = _p_positive(loaded, head, inputs)
    return (dropped - base).abs().double().numpy()


# ---------------------------------------------------------------------------- per-sentence statistics
PAIRS = (("attention", "gradient"), ("attention", "leave_one_out"), ("gradient", "leave_one_out"))


def _taus(importances: dict[str, np.ndarray]) -> dict[str, list[float]]:
    out = {}
    for a, b in PAIRS:
        tau, p = kendall_tau(importances[a], importances[b])
        out[f"{a}~{b}"] = [tau, p]
    return out


def bilstm_sentence_stats(model, seed2_model, tokenizer, text: str, label: int | None = None) -> dict:
    """Everything the test-set section needs about one sentence, for the BiLSTM (J&W's setting)."""
    from lessonkit import jain_wallace as jw
    from lessonkit.bilstm_classifier import encode_sentence

    s = encode_sentence(tokenizer, text)
    probe = jw.bilstm_probe(model, s.ids, s.mask)
    attention = probe.attention[0]
    importances = {
        "attention": attention,
        "gradient": bilstm_gradient_importance(model, s.ids, s.mask),
        "leave_one_out": bilstm_leave_one_out(model, s.ids, s.mask),
    }
    with torch.no_grad():
        seed2_attention = seed2_model(s.ids, s.mask)[1][0].double().numpy()
    adversary = jw.adversarial_attention(probe, **jw.BILSTM_ADVERSARY)
    return {
        "n_tokens": int(s.ids.shape[1]),
        "label": label,
        "output": probe.base_output,
        "max_attention": float(attention.max()),
        "taus": _taus(importances),
        "permutation_median_change": jw.permutation_test(probe).median_change,
        "adversarial_jsd": adversary.jsd,
        "adversarial_change": adversary.change,
        "seed_jsd": float(jensen_shannon_divergence(attention, seed2_attention)),
    }


def transformer_sentence_stats(loaded, head, text: str, layer: int, heads: list[int], label: int | None = None,
                               max_tokens: int = 64) -> dict:
    """The same for the transformer: attention = what each real token receives in the chosen heads (rows averaged)."""
    from lessonkit import jain_wallace as jw

    sentence = jw.encode_for_transformer(loaded, text, max_tokens)
    encoded = sentence.encoded
    probe, received = jw.transformer_probe(loaded, head, encoded, layer, heads)
    real = [int(i) for i in np.flatnonzero(sentence.removable)]  # without [CLS] and [SEP]
    importances = {
        "attention": received[real],
        "gradient": transformer_gradient_importance(loaded, head, encoded)[real],
        "leave_one_out": transformer_leave_one_out(loaded, head, encoded, real),
    }
    # no time budget here: the saved statistics should not depend on how busy the machine was
    adversary = jw.adversarial_attention(probe, **{**jw.TRANSFORMER_ADVERSARY, "time_budget": None})
    return {
        "n_tokens": len(sentence.tokens),
        "label": label,
        "output": probe.base_output,
        "max_attention": float(received.max()),
        "taus": _taus(importances),
        "permutation_median_change": jw.permutation_test(probe).median_change,
        "adversarial_jsd": adversary.jsd,
        "adversarial_change": adversary.change,
    }


def summarise_sentences(rows: list[dict]) -> dict:
    """Kendall tau summaries per pair, medians of the perturbation results, accuracy on these sentences."""
    out: dict = {"n_sentences": len(rows), "taus": {}}
    for a, b in PAIRS:
        key = f"{a}~{b}"
        out["taus"][key] = summarise_taus([r["taus"][key][0] for r in rows], [r["taus"][key][1] for r in rows]).as_dict()
    for field in ("permutation_median_change", "adversarial_jsd", "seed_jsd"):
        values = [r[field] for r in rows if field in r]
        if values:
            out[f"median_{field}"] = float(np.median(values))
    labelled = [r for r in rows if r.get("label") is not None]
    if labelled:
        out["accuracy_on_sample"] = float(np.mean([(r["output"] > 0.5) == (r["label"] == 1) for r in labelled]))
    return out


def sample_summaries(
    bilstm, seed2_bilstm, tokenizer, loaded, head, texts: list[str], labels: list[int],
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, dict]:
    """{"bilstm": summary, "transformer": summary} over a few sentences (the transformer's last layer,
    all heads, as the saved statistics); either model may be None (left out)."""
    rows: dict[str, list[dict]] = {"bilstm": [], "transformer": []}
    for i, (text, label) in enumerate(zip(texts, labels)):
        if bilstm is not None and seed2_bilstm is not None:
            rows["bilstm"].append(bilstm_sentence_stats(bilstm, seed2_bilstm, tokenizer, text, label))
        if loaded is not None and head is not None:
            rows["transformer"].append(transformer_sentence_stats(
                loaded, head, text, loaded.facts.n_layers - 1, list(range(loaded.facts.n_heads)), label))
        if progress is not None:
            progress((i + 1) / len(texts), f"{i + 1} of {len(texts)} sentences")
    return {name: summarise_sentences(r) for name, r in rows.items() if r}
