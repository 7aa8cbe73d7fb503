"""The J&W lab as it was before issue 13 (lessonkit/perturbation.py at commit b059377), kept only as
the benchmark's "before" column: its transformer probe re-runs the whole edited layer through the
attention edit hook, and its adversary has no time budget. The app uses lessonkit.jain_wallace.

Jain & Wallace's attention perturbations, for any model that exposes an "attention probe".

A probe fixes everything about one sentence except the attention under study:

    probe.attention        R x T  the learned attention (R rows, each a distribution over T keys)
    probe.key_mask         T      True where a key may receive weight
    probe.base_output      float  probability of "positive" with the learned attention
    probe.outputs(A)       K x R x T attentions -> K probabilities (torch, differentiable)

For the BiLSTM, R = 1: the additive attention over the sentence's tokens. For the transformer,
R = (chosen heads) x T: every query row of the chosen heads in one layer (see TransformerProbe).
The output change between two predictions is their total variation distance; with two classes
that is |p - p'|.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

OUTPUT_TOLERANCE = 0.01  # J&W: the adversary may move the output by at most this much
ADVERSARY_STEPS = 300
ADVERSARY_RESTARTS = 12
ADVERSARY_LR = 0.05
ADVERSARY_PENALTY = 1000.0
N_PERMUTATIONS = 100


# ---------------------------------------------------------------------------- divergences
def jsd(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Jensen-Shannon divergence in nats (0 .. ln 2) along ``axis`` (NOT its square root)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log(a / np.where(b > 0, b, 1.0)), 0.0)
        return terms.sum(axis=axis)

    return np.clip(0.5 * kl(p, m) + 0.5 * kl(q, m), 0.0, math.log(2.0))


def jsd_torch(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Differentiable JSD in nats along the last axis."""
    m = 0.5 * (p + q)
    kl_pm = (p * (torch.log(p + eps) - torch.log(m + eps))).sum(-1)
    kl_qm = (q * (torch.log(q + eps) - torch.log(m + eps))).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def tvd(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total variation distance: half the L1 distance between two distributions."""
    return 0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum(axis=axis)


def output_change(p_positive: np.ndarray | float, q_positive: np.ndarray | float) -> np.ndarray:
    """TVD between two-class predictions given as P(positive): equals |p - q|."""
    return np.abs(np.asarray(p_positive, dtype=np.float64) - np.asarray(q_positive, dtype=np.float64))


# ---------------------------------------------------------------------------- probes
@dataclass
class AttentionProbe:
    attention: np.ndarray  # R x T, rows sum to 1 over key_mask
    key_mask: np.ndarray  # T, bool
    base_output: float
    outputs: Callable[[torch.Tensor], torch.Tensor]  # K x R x T -> K

    @property
    def n_rows(self) -> int:
        return self.attention.shape[0]

    def predict(self, attentions: np.ndarray | torch.Tensor, batch_size: int = 128) -> np.ndarray:
        """P(positive) for K x R x T attentions, without gradients, in batches."""
        attentions = torch.as_tensor(np.asarray(attentions), dtype=torch.float32)
        out = []
        with torch.no_grad():
            for start in range(0, attentions.shape[0], batch_size):
                out.append(self.outputs(attentions[start : start + batch_size]).double().numpy())
        return np.concatenate(out)


def bilstm_probe(model, ids: torch.Tensor, mask: torch.Tensor) -> AttentionProbe:
    """Probe over the BiLSTM's additive attention for one sentence (ids, mask: 1 x T)."""
    with torch.no_grad():
        states = model.encode(ids, mask)
        attention = model.attention(states, mask)
        base = float(model.decode(states, attention)[0])

    def outputs(attentions: torch.Tensor) -> torch.Tensor:
        return model.decode(states, attentions[:, 0, :])

    return AttentionProbe(attention.double().numpy(), mask[0].numpy().astype(bool), base, outputs)


# ---------------------------------------------------------------------------- perturbations
def permute_attention(attention: np.ndarray, key_mask: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n x R x T: each row's weights on the allowed keys shuffled independently (same multiset)."""
    rng = np.random.default_rng(seed)
    keys = np.flatnonzero(key_mask)
    out = np.zeros((n,) + attention.shape, dtype=np.float64)
    values = attention[:, keys]  # R x T_real
    # argsort of random numbers = one independent permutation per (sample, row), vectorised.
    order = np.argsort(rng.random((n,) + values.shape), axis=-1)
    out[..., keys] = np.take_along_axis(np.broadcast_to(values, order.shape), order, axis=-1)
    return out


@dataclass(frozen=True)
class PermutationResult:
    outputs: np.ndarray  # n, P(positive) under each permutation
    changes: np.ndarray  # n, |change| from the learned attention's output
    median_change: float
    base_output: float


def permutation_test(probe: AttentionProbe, n: int = N_PERMUTATIONS, seed: int = 0) -> PermutationResult:
    """J&W's permutation test, all n permutations in one batched pass."""
    outputs = probe.predict(permute_attention(probe.attention, probe.key_mask, n, seed))
    changes = output_change(outputs, probe.base_output)
    return PermutationResult(outputs, changes, float(np.median(changes)), probe.base_output)


def uniform_attention(attention: np.ndarray, key_mask: np.ndarray) -> np.ndarray:
    """R x T: every row spread evenly over the allowed keys."""
    out = np.zeros_like(attention, dtype=np.float64)
    out[:, key_mask] = 1.0 / key_mask.sum()
    return out


def most_attended_key(attention: np.ndarray, key_mask: np.ndarray, candidates: np.ndarray | None = None) -> int:
    """Key with the largest attention received (mean over rows), among ``candidates`` (default: allowed keys)."""
    allowed = key_mask if candidates is None else (key_mask & candidates)
    received = np.where(allowed, attention.mean(0), -np.inf)
    return int(np.argmax(received))


def remove_key(attention: np.ndarray, key: int) -> np.ndarray:
    """R x T: weight on ``key`` set to 0 and every row renormalised (rows that lose everything become uniform)."""
    out = np.array(attention, dtype=np.float64)
    if out.shape[1] < 2:
        return out  # a single token: nothing else could take its weight
    out[:, key] = 0.0
    sums = out.sum(1, keepdims=True)
    empty = sums[:, 0] <= 0
    out[~empty] /= sums[~empty]
    if empty.any():
        out[empty] = 1.0 / (out.shape[1] - 1)
        out[empty, key] = 0.0
    return out


@dataclass(frozen=True)
class AdversarialResult:
    attention: np.ndarray  # R x T, the adversarial attention found (the learned one if nothing qualified)
    jsd: float  # mean over rows of JSD(adversarial row, learned row), nats
    output: float  # P(positive) with the adversarial attention
    change: float  # |output - base_output| <= tolerance
    base_output: float
    restart_jsds: np.ndarray  # best qualifying JSD per restart (0 where a restart found none)
    initial_jsds: np.ndarray  # JSD of each restart's random starting point


def adversarial_attention(
    probe: AttentionProbe,
    tolerance: float = OUTPUT_TOLERANCE,
    restarts: int = ADVERSARY_RESTARTS,
    steps: int = ADVERSARY_STEPS,
    lr: float = ADVERSARY_LR,
    penalty: float = ADVERSARY_PENALTY,
    seed: int = 0,
    init_scale: float = 3.0,
    progress: Callable[[float], None] | None = None,
) -> AdversarialResult:
    """J&W's adversary: maximise JSD from the learned attention while |output change| <= tolerance.

    ``restarts`` candidates are optimised together (one batch): loss = -JSD + penalty * relu(|change| - tolerance),
    Adam. The best candidate that ever satisfied the tolerance is kept.
    """
    generator = torch.Generator().manual_seed(seed)
    learned = torch.as_tensor(probe.attention, dtype=torch.float32)
    key_mask = torch.as_tensor(probe.key_mask)
    blocked = torch.where(key_mask, 0.0, float("-inf"))
    # Half the restarts start near the learned attention (they stay within the tolerance and climb away
    # from it), the other half at random points of the simplex (far away, pulled back by the penalty).
    noise = torch.randn((restarts,) + tuple(learned.shape), generator=generator)
    near = torch.arange(restarts) < (restarts + 1) // 2
    scale = torch.where(near, torch.linspace(0.0, 1.0, restarts), torch.full((restarts,), init_scale))
    start = torch.where(near[:, None, None], torch.log(learned.clamp(min=1e-6)).expand_as(noise), 0.0)
    logits = (start + scale[:, None, None] * noise).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=lr)
    best_jsd = np.zeros(restarts)
    best_attention = np.broadcast_to(probe.attention, (restarts,) + probe.attention.shape).copy()
    best_output = np.full(restarts, probe.base_output)
    initial_jsds = None
    base = torch.tensor(probe.base_output, dtype=torch.float32)
    for step in range(steps + 1):
        candidate = torch.softmax(logits + blocked, dim=-1)
        output = probe.outputs(candidate)
        divergence = jsd_torch(candidate, learned.unsqueeze(0)).mean(-1)  # K
        change = (output - base).abs()
        with torch.no_grad():
            d = divergence.double().numpy()
            c = change.double().numpy()
            if initial_jsds is None:
                initial_jsds = d.copy()
            better = (c <= tolerance) & (d > best_jsd)
            if better.any():
                best_jsd[better] = d[better]
                best_attention[better] = candidate[torch.as_tensor(better)].double().numpy()
                best_output[better] = output[torch.as_tensor(better)].double().numpy()
        if step == steps:
            break
        loss = (-divergence + penalty * torch.relu(change - tolerance)).sum()
        # Only the candidates' gradient: the (frozen, possibly shared) model's parameters get none.
        (logits.grad,) = torch.autograd.grad(loss, [logits])
        optimiser.step()
        if progress is not None and step % 10 == 0:
            progress(step / steps)
    if progress is not None:
        progress(1.0)
    winner = int(np.argmax(best_jsd))
    return AdversarialResult(
        attention=best_attention[winner],
        jsd=float(best_jsd[winner]),
        output=float(best_output[winner]),
        change=float(abs(best_output[winner] - probe.base_output)),
        base_output=probe.base_output,
        restart_jsds=best_jsd,
        initial_jsds=initial_jsds if initial_jsds is not None else np.zeros(0),
    )


# ---------------------------------------------------------------------------- the transformer
def transformer_probe(loaded, head, encoded, layer: int, heads: list[int]) -> tuple[AttentionProbe, np.ndarray]:
    """Probe over the chosen heads of one layer of the MiniLM classifier, for one sentence.

    ``loaded`` must run the editable attention (lessonkit.model.load_model; checked). The perturbed "attention" is
    every query row of each chosen head: R = len(heads) * T rows over T keys. The hidden state entering
    ``layer`` is computed once; each batch of K alternative attentions re-runs only layers ``layer``..last.
    Returns (probe, received: T = attention each token receives, averaged over the chosen rows).
    """
    from lessonkit.intervention import editing_attention
    from lessonkit.model import encoder_layers
    from lessonkit.transformer_classifier import head_logits, mean_pool

    with torch.no_grad():
        out = loaded.model(**encoded, output_attentions=True, output_hidden_states=True)
        hidden_in = out.hidden_states[layer]  # 1 x T x d: input of ``layer``
        attn = out.attentions[layer][0, heads].double()  # H x T x T
        pooled = mean_pool(out.last_hidden_state, encoded["attention_mask"])
        base = float(torch.softmax(head_logits(head, pooled), -1)[0, 1])
    n_heads, n_tokens = attn.shape[0], attn.shape[-1]
    blocks = list(encoder_layers(loaded))[layer:]
    head_index = torch.as_tensor(heads, dtype=torch.long)

    def outputs(attentions: torch.Tensor) -> torch.Tensor:
        k = attentions.shape[0]
        new = attentions.reshape(k, n_heads, n_tokens, n_tokens)

        def edit(layer_index, weights):
            if layer_index != layer:
                return weights
            weights = weights.expand(k, -1, -1, -1).clone()
            weights[:, head_index] = new.to(weights.dtype)
            return weights

        x = hidden_in.expand(k, -1, -1)
        with editing_attention(loaded, edit):
            for block in blocks:
                x = block(x)
                x = x[0] if isinstance(x, tuple) else x
        return torch.softmax(head_logits(head, x.mean(1)), -1)[:, 1]

    attention = attn.reshape(n_heads * n_tokens, n_tokens).numpy()
    probe = AttentionProbe(attention, np.ones(n_tokens, dtype=bool), base, outputs)
    return probe, attention.mean(0)


def received_attention(attention: np.ndarray, n_tokens: int) -> np.ndarray:
    """T: attention each key receives, averaged over all rows (a distribution when rows are)."""
    return np.asarray(attention).reshape(-1, n_tokens).mean(0)


# ---------------------------------------------------------------------------- one sentence, every test
@dataclass(frozen=True)
class LabResult:
    tokens: list[str]
    learned: np.ndarray  # T: attention each token receives with the learned attention
    base_output: float
    permutation: PermutationResult
    adversarial: AdversarialResult
    adversarial_received: np.ndarray  # T: the same for the adversarial attention
    uniform_output: float
    uniform_jsd: float  # mean over rows, nats
    removed_position: int
    removed_output: float
    removed_jsd: float


def run_lab(probe: AttentionProbe, tokens: list[str], removable: np.ndarray | None = None,
            adversary: dict | None = None, progress: Callable[[float], None] | None = None) -> LabResult:
    """Permutation test, adversarial search, uniform attention and removal of the most-attended token.

    ``removable``: T booleans, keys that may be "the most-attended token" (e.g. not [CLS]/[SEP]).
    """
    n_tokens = len(tokens)
    permutation = permutation_test(probe)
    adversarial = adversarial_attention(probe, progress=progress, **(adversary or {}))
    uniform = uniform_attention(probe.attention, probe.key_mask)
    top = most_attended_key(probe.attention, probe.key_mask, removable)
    removed = remove_key(probe.attention, top)
    outputs = probe.predict(np.stack([uniform, removed]))
    return LabResult(
        tokens=list(tokens),
        learned=received_attention(probe.attention, n_tokens),
        base_output=probe.base_output,
        permutation=permutation,
        adversarial=adversarial,
        adversarial_received=received_attention(adversarial.attention, n_tokens),
        uniform_output=float(outputs[0]),
        uniform_jsd=float(jsd(uniform, probe.attention).mean()),
        removed_position=top,
        removed_output=float(outputs[1]),
        removed_jsd=float(jsd(removed, probe.attention).mean()),
    )


class torch_threads:
    """Context manager: run with n torch threads, then restore. Small sequential ops (the BiLSTM, the
    adversary's steps) run several times faster on one thread when the machine is busy."""

    def __init__(self, n: int = 1):
        self.n = n

    def __enter__(self):
        self.previous = torch.get_num_threads()
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.previous)
        return False
