"""Which attention view is faithful? Token importance from several methods, compared by rank.

For one sentence and the sentiment classifier (encoder + mean pooling + linear head), each method
gives one score per token (``seq``), through ``lessonkit.attribution``. The classifier reads the
average of all token states, so "the output position" of attention, rollout and flow is every
position averaged: their token score is the mean over rows (queries) of the matrix's column.

- ``raw_L{l}``: attention of layer l, heads averaged;
- ``rollout_L{l}``: rollout up to layer l (mean of heads, (A + I)/2, rows renormalised);
- ``flow_L{l}``: attention flow up to layer l (max-flow to every position, then averaged);
- ``grad_x_attention``: sum over layers, heads and queries of A * |dL/dA|;
- ``input_gradient``: L2 norm of the gradient of the predicted class's probability with respect
  to the token's word embedding (the same ranking as the norm of dL/d embedding: the two differ by
  the factor -1/p, the same for every token);
- ``blank_out``: |change of the predicted class probability| when the token is masked out with
  the attention mask (no position attends to it and mean pooling skips it).

Correlations are Spearman's (lessonkit.statistics), over the tokens without [CLS] and [SEP].
The saved measurement (results/faithfulness.json, written by scripts/compute_faithfulness.py) is
validated on load (``load_results``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jaxtyping import Float
from pydantic import BaseModel, ConfigDict, ValidationError

from lessonkit import attribution as at
from lessonkit.gradient_attention import attention_gradients, unsigned_gradient_attention
from lessonkit.model import LoadedModel
from lessonkit.references import ABNAR_ZUIDEMA_2020_DISTILBERT_SST2, ABNAR_ZUIDEMA_2020_SVA
from lessonkit.statistics import spearman
from lessonkit.transformer_classifier import SentimentHead

Scores = Float[np.ndarray, " seq"]
REFERENCES = ("blank_out", "input_gradient")
REFERENCE_NAMES = {"blank_out": "blank-out", "input_gradient": "input gradient"}
RESULT_FILE = Path(__file__).resolve().parent.parent / "results" / "faithfulness.json"
REBUILD_COMMAND = "python -m scripts.compute_faithfulness"
FAMILIES = ("raw attention", "rollout", "flow")
PUBLISHED_SVA_EXAMPLES = 2000  # the size of Abnar & Zuidema's subject-verb agreement test set

@dataclass(frozen=True)
class TokenImportance:
    tokens: list[str]
    scores: dict[str, Scores]  # method -> one score per token
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
    """seq: |p_target(full) - p_target(token j masked out)| for every position j (attribution.BlankOut)."""
    inputs = at.TokenInputs.from_encoded(encoded)
    return at.BlankOut(at.transformer_function(loaded, head), batch_size=max(1, inputs.n_tokens)).attribute(
        inputs, target
    )


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
    n_layers = gradients.attn.shape[0]
    function = at.with_known_attention(at.transformer_function(loaded, head), gradients.attn)
    inputs = at.TokenInputs.from_encoded(encoded)
    target = gradients.predicted
    scores: dict[str, np.ndarray] = {}
    for layer in range(1, n_layers + 1):
        scores[f"raw_L{layer}"] = at.Attention(function, layer).attribute(inputs, target)
    for layer in range(1, n_layers + 1):
        scores[f"rollout_L{layer}"] = at.Rollout(function, layer).attribute(inputs, target)
    for layer in flow_layers if flow_layers is not None else [n_layers]:
        scores[f"flow_L{layer}"] = at.Flow(function, layer).attribute(inputs, target)
    scores["grad_x_attention"] = unsigned_gradient_attention(gradients.attn, gradients.grad).sum(axis=(0, 1, 2))
    scores["input_gradient"] = at.Gradient(function).attribute(inputs, target)
    scores["blank_out"] = at.BlankOut(function, batch_size=max(1, inputs.n_tokens)).attribute(inputs, target)
    special = set(getattr(loaded.tokenizer, "all_special_tokens", []) or ["[CLS]", "[SEP]", "[PAD]"])
    content = np.array([token not in special for token in tokens])
    return TokenImportance(tokens, scores, content, gradients.probabilities, gradients.predicted)


def method_family(method: str) -> str:
    """'raw_L3' -> 'raw attention', 'rollout_L6' -> 'rollout', 'flow_L6' -> 'flow', others unchanged."""
    prefix = method.split("_L")[0]
    return {"raw": "raw attention", "rollout": "rollout", "flow": "flow"}.get(prefix, method)


def layer_of(method: str) -> int | None:
    """'flow_L5' -> 5; methods without a layer -> None."""
    return int(method.split("_L")[1]) if "_L" in method else None


def method_name(method: str) -> str:
    """What a learner reads: 'raw_L6' -> 'raw attention, layer 6', 'grad_x_attention' -> 'gradient × attention'."""
    layer = layer_of(method)
    if layer is not None:
        return f"{method_family(method)}, layer {layer}"
    return {"grad_x_attention": "gradient × attention", **REFERENCE_NAMES}.get(method, method.replace("_", " "))


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


# ---------------------------------------------------------------------------- the saved measurement
class Cell(BaseModel):
    mean: float | None
    std: float | None
    median: float | None
    n: int


class FaithfulnessResult(BaseModel):
    """results/faithfulness.json as scripts/compute_faithfulness.py writes it."""

    model_config = ConfigDict(extra="ignore", protected_namespaces=())
    description: str
    model: str
    data: str
    n_sentences: int
    accuracy_on_sample: float
    references: list[str]
    summary: dict[str, dict[str, Cell]]
    seconds: float


class ResultsFileError(RuntimeError):
    """The saved measurement is missing or unreadable; the message names the file and the command."""


def load_results(path: Path | None = None) -> FaithfulnessResult:
    """The validated measurement (default results/faithfulness.json); ResultsFileError naming the file
    and the rebuild command otherwise."""
    path = RESULT_FILE if path is None else path
    rebuild = f"Rebuild it with `{REBUILD_COMMAND}` (about ten minutes on 2 cores)."
    name = f"results/{Path(path).name}"
    if not Path(path).is_file():
        raise ResultsFileError(f"The saved measurement {name} is missing. {rebuild}")
    try:
        result = FaithfulnessResult.model_validate(json.loads(Path(path).read_text()))
    except (ValueError, ValidationError) as error:  # truncated JSON, or fields missing / of the wrong type
        raise ResultsFileError(
            f"The saved measurement {name} is damaged or incomplete ({type(error).__name__}). {rebuild}"
        ) from error
    missing = [r for r in REFERENCES if any(r not in cells for cells in result.summary.values())]
    if result.n_sentences < 1 or not result.summary or missing:
        raise ResultsFileError(f"The saved measurement {name} holds no complete summary. {rebuild}")
    return result


def last_layer(result: FaithfulnessResult) -> int:
    """The deepest layer the measurement covers (the model it was made on may not be the one loaded)."""
    return max((layer for m in result.summary if (layer := layer_of(m)) is not None), default=0)


def agreement_by_layer(result: FaithfulnessResult, reference: str) -> list[dict]:
    """Rows (family, layer, spearman, std, sentences, source) of ours and, for blank-out, Abnar & Zuidema's."""
    rows = []
    for method, cells in result.summary.items():
        layer, cell = layer_of(method), cells[reference]
        if layer is not None and cell.mean is not None:
            rows.append({"family": method_family(method), "layer": layer, "spearman": cell.mean, "std": cell.std,
                         "sentences": cell.n, "source": "ours"})
    if reference == "blank_out":
        rows += [
            {"family": family, "layer": layer, "spearman": value, "std": None, "sentences": PUBLISHED_SVA_EXAMPLES,
             "source": "Abnar & Zuidema"}
            for family, by_layer in ABNAR_ZUIDEMA_2020_SVA.items()
            for layer, value in by_layer.items()
        ]
    return rows


def overall_agreement(result: FaithfulnessResult, reference: str, last_layer: int) -> list[dict]:
    """Rows (method, spearman, std, sentences) for the last layer's views and the gradient methods."""
    chosen = [f"raw_L{last_layer}", f"rollout_L{last_layer}", f"flow_L{last_layer}", "grad_x_attention", *REFERENCES]
    return [
        {"method": method_name(m), "spearman": result.summary[m][reference].mean,
         "std": result.summary[m][reference].std, "sentences": result.summary[m][reference].n}
        for m in chosen
        if m in result.summary and m != reference and result.summary[m][reference].mean is not None
    ]


def best_attention_view(result: FaithfulnessResult, reference: str) -> tuple[str, Cell] | None:
    """The layer-wise attention view (raw, rollout or flow) with the highest mean agreement."""
    cells = [(m, c[reference]) for m, c in result.summary.items() if layer_of(m) is not None and c[reference].mean is not None]
    return max(cells, key=lambda item: float(item[1].mean or 0.0)) if cells else None


def published_table() -> list[dict[str, str]]:
    """Abnar & Zuidema's Spearman correlations with blank-out, for a table beside ours."""
    return [
        {"model": "their subject-verb agreement model", "method": family,
         "layers 1 / 3 / 5 / 6": " / ".join(f"{values[l]:+.2f}" for l in (1, 3, 5, 6))}
        for family, values in ABNAR_ZUIDEMA_2020_SVA.items()
    ] + [
        {"model": "DistilBERT on SST-2", "method": family, "layers 1 / 3 / 5 / 6": f"{low:.2f} to {high:.2f}"}
        for family, (low, high) in ABNAR_ZUIDEMA_2020_DISTILBERT_SST2.items()
    ]


# ---------------------------------------------------------------------------- one sentence, for the page
def sentence_methods(n_layers: int) -> list[str]:
    return [f"raw_L{n_layers}", f"rollout_L{n_layers}", f"flow_L{n_layers}", "grad_x_attention", *REFERENCES]


def token_shares(importance: TokenImportance, methods: list[str], labels: list[str]) -> list[dict]:
    """Rows (method, position, label, share): each method's scores over the content tokens, scaled to sum 1."""
    rows = []
    content = np.flatnonzero(importance.content)
    for method in methods:
        values = np.asarray(importance.scores[method], dtype=np.float64)[content]
        total = values.sum()
        rows += [
            {"method": method_name(method), "position": int(p), "label": labels[p],
             "share": float(v / total) if total > 0 else 0.0}
            for p, v in zip(content, values)
        ]
    return rows


def sentence_correlations(importance: TokenImportance, methods: list[str]) -> list[dict]:
    """Rows (method, yardstick, spearman) for this sentence; undefined correlations left out."""
    correlations = importance.correlations()
    return [
        {"method": method_name(m), "yardstick": REFERENCE_NAMES[r], "spearman": correlations[m][r]}
        for m in methods
        for r in REFERENCES
        if m != r and not np.isnan(correlations[m][r])
    ]


def relative_spread(importance: TokenImportance, method: str) -> float:
    """(max - min) / mean of a method's scores over the content tokens: near 0 = every token about equal."""
    values = np.asarray(importance.scores[method], dtype=np.float64)[importance.content]
    if values.size == 0 or values.mean() <= 0:
        return float("nan")
    return float(np.ptp(values) / values.mean())
