"""How much each token matters to a prediction, measured three ways, and how well they agree.

- attention: the weight the model puts on the token;
- gradient: |(dp/de_t) . e_t|, the gradient of P(positive) with respect to the token's input
  embedding times that embedding (the component of the gradient with respect to the one-hot
  input that belongs to the actual token). For the BiLSTM the attention weights are held fixed
  while differentiating, as Jain & Wallace did;
- leave-one-out: |p - p without token t|.
The gradient and leave-one-out scores come from lessonkit.attribution (one shape for every method).
Agreement is Kendall's tau (lessonkit.statistics) between two importance vectors over a sentence's tokens.
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


# ---------------------------------------------------------------------------- the three importances
def bilstm_importances(model, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, np.ndarray]:
    """T each: attention, |grad . embedding| (attention held fixed, as J&W) and leave-one-out of P(positive)."""
    from lessonkit.attribution import InputXGradient, LeaveOneOut, TokenInputs, bilstm_function

    function = bilstm_function(model, detach_attention=True)
    inputs = TokenInputs(ids, mask)
    with torch.no_grad():
        attention = model.attention(model.encode(ids, mask), mask)[0].double().numpy()
    return {
        "attention": attention,
        "gradient": InputXGradient(function).attribute(inputs, target=1),
        "leave_one_out": LeaveOneOut(function).attribute(inputs, target=1),
    }


def transformer_importances(loaded, head, encoded, received: np.ndarray, positions: list[int]) -> dict[str, np.ndarray]:
    """len(positions) each: attention received (given), |grad . embedding| and leave-one-out of P(positive)."""
    from lessonkit.attribution import InputXGradient, LeaveOneOut, TokenInputs, transformer_function

    function = transformer_function(loaded, head)
    inputs = TokenInputs.from_encoded(encoded)
    loo = LeaveOneOut(function, positions=tuple(positions)).attribute(inputs, target=1)
    return {
        "attention": np.asarray(received)[positions],
        "gradient": InputXGradient(function).attribute(inputs, target=1)[positions],
        "leave_one_out": loo[positions],
    }


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
    importances = bilstm_importances(model, s.ids, s.mask)
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
    importances = transformer_importances(loaded, head, encoded, received, real)
    # no time budget here: the saved statistics should not depend on how busy the machine was
    adversary = jw.adversarial_attention(probe, **jw.TRANSFORMER_ADVERSARY)
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
    progress: Callable[[float, str], object] | None = None,
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
