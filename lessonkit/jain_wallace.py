"""Jain & Wallace's (2019) attention lab: probes, the permutation test and the adversarial search.

A probe fixes everything about one sentence except the attention under study:

    probe.attention        R x T  the learned attention (R rows, each a distribution over T keys)
    probe.key_mask         T      True where a key may receive weight
    probe.base_output      float  P(positive) with the learned attention
    probe.outputs(A)       K x R x T attentions -> K probabilities (torch, differentiable)

For the BiLSTM, R = 1: the one additive attention over the sentence's tokens, as in the paper.
For a transformer, R = (chosen heads) x T: every query row of the chosen heads of ONE layer. Only
that layer's attention-to-output step and the layers above it are re-run for each candidate: the
values V of the edited layer depend on the layer's input only, so they are computed once.
The output change between two predictions is their total variation distance; with two classes
that is |p - p'|. Divergences come from lessonkit.statistics.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypedDict

import numpy as np
import torch
from jaxtyping import Bool, Float

from lessonkit.references import JAIN_WALLACE_2019_OUTPUT_TOLERANCE, JAIN_WALLACE_2019_PERMUTATIONS
from lessonkit.statistics import jensen_shannon_divergence

OUTPUT_TOLERANCE = JAIN_WALLACE_2019_OUTPUT_TOLERANCE
N_PERMUTATIONS = JAIN_WALLACE_2019_PERMUTATIONS


class AdversarySettings(TypedDict):
    restarts: int
    steps: int
    lr: float | tuple[float, ...]  # Adam's step size: one for every restart, or one per restart


# The BiLSTM's adversary: one cheap decode per step, so many restarts and steps.
BILSTM_ADVERSARY = AdversarySettings(restarts=12, steps=300, lr=0.05)
# A transformer's: every step runs the edited layer's output step and the layers above it forward
# and backward. The saved statistics (scripts/compute_explanation_stats.py) run all 60 steps at lr 0.1.
TRANSFORMER_ADVERSARY = AdversarySettings(restarts=4, steps=60, lr=0.1)
# The live lab stops at a time budget instead, so its restarts also differ in step size: one of the two
# random starts takes large steps (lr 1.0; it climbs furthest in the dozen steps layer 3 gets), the
# others 0.3 (large steps overshoot in the 3-5 steps layer 1 gets). On 2 cores, 64 tokens, all heads,
# the whole lab reached JSD 0.522 / 0.683 / 0.652 at layers 1 / 3 / 6 where 60 steps at lr 0.1 reach
# 0.518 / 0.678 / 0.548 (bench/bench_perturbation.py measures it).
LIVE_TRANSFORMER_ADVERSARY = AdversarySettings(restarts=4, steps=60, lr=(0.3, 0.3, 1.0, 0.3))
LIVE_LAB_SECONDS = 1.5
MIN_ADVERSARY_STEPS = 3  # even on a busy machine, a few steps (most of the JSD) before the budget stops it
ADVERSARY_PENALTY = 1000.0

Progress = Callable[[float], object]  # called with the fraction done, 0..1


def jsd_torch(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Differentiable JSD in nats along the last axis (the adversary's objective; numpy callers use
    lessonkit.statistics.jensen_shannon_divergence, which this matches)."""
    m = 0.5 * (p + q)
    kl_pm = (p * (torch.log(p + eps) - torch.log(m + eps))).sum(-1)
    kl_qm = (q * (torch.log(q + eps) - torch.log(m + eps))).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


# ---------------------------------------------------------------------------- probes
@dataclass
class AttentionProbe:
    attention: Float[np.ndarray, "rows keys"]  # rows sum to 1 over key_mask
    key_mask: Bool[np.ndarray, " keys"]
    base_output: float
    outputs: Callable[[torch.Tensor], torch.Tensor]  # K x R x T -> K
    # candidates per forward in ``predict``: the transformer's feed-forward on K x T tokens runs faster
    # in cache-sized chunks (10 x 64 tokens measured 25% faster than 100 x 64 at once)
    batch_size: int = 128

    def predict(self, attentions: np.ndarray | torch.Tensor) -> np.ndarray:
        """P(positive) for K x R x T attentions, without gradients, in batches."""
        attentions = torch.as_tensor(np.asarray(attentions), dtype=torch.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, attentions.shape[0], self.batch_size):
                out.append(self.outputs(attentions[start : start + self.batch_size]).double().numpy())
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


MAX_TOKENS = 64  # the lab reads at most this many tokens (J&W's tests are per short instance)


@dataclass(frozen=True)
class TransformerSentence:
    encoded: dict  # input_ids, attention_mask (, token_type_ids): 1 x T tensors
    tokens: list[str]
    removable: np.ndarray  # T booleans: False for the special tokens ([CLS], [SEP], <s>, </s>)
    truncated: bool


def encode_for_transformer(loaded, text: str, max_tokens: int = MAX_TOKENS) -> TransformerSentence:
    """The transformer's input for one sentence, cut to ``max_tokens`` (special tokens included)."""
    tokenizer = loaded.tokenizer
    limit = min(max_tokens, loaded.facts.max_length)
    encoded = dict(tokenizer(text, return_tensors="pt", truncation=True, max_length=limit))
    full = len(tokenizer(text, add_special_tokens=True)["input_ids"])
    ids = encoded["input_ids"][0].tolist()
    special = set(tokenizer.all_special_ids)
    removable = np.array([i not in special for i in ids], dtype=bool)
    return TransformerSentence(encoded, tokenizer.convert_ids_to_tokens(ids), removable, full > limit)


def replace_heads(layer: int, heads: list[int], new: torch.Tensor):
    """An attention edit (lessonkit.intervention) that puts ``new`` (K x len(heads) x T x T) in place
    of the chosen heads' weights at ``layer``; the model's batch must be 1 or K."""
    index = torch.as_tensor(heads, dtype=torch.long)

    def edit(layer_index: int, weights: torch.Tensor) -> torch.Tensor:
        if layer_index != layer:
            return weights
        weights = weights.expand(new.shape[0], -1, -1, -1).clone()
        weights[:, index] = new.to(weights.dtype)
        return weights

    return edit


def transformer_probe(loaded, head, encoded, layer: int, heads: list[int]) -> tuple[AttentionProbe, np.ndarray]:
    """Probe over the chosen heads of one layer of the transformer classifier, for one sentence.

    ``layer`` and ``heads`` count from 0. Returns (probe, received: T, the attention each token
    receives in those heads, averaged over their query rows).
    """
    from lessonkit.intervention import require_editable
    from lessonkit.model import encoder_layers
    from lessonkit.transformer_classifier import probabilities_from_hidden

    require_editable(loaded)  # the same model every other view uses, so the numbers agree
    mask = encoded["attention_mask"]
    with torch.no_grad():
        out = loaded.model(**encoded, output_attentions=True, output_hidden_states=True)
        base = float(probabilities_from_hidden(head, out.last_hidden_state, mask)[0, 1])
        hidden_in = out.hidden_states[layer]  # 1 x T x d: the input of ``layer``
        weights = out.attentions[layer].float()  # 1 x H x T x T
        block = list(encoder_layers(loaded))[layer]
        n_all, n_tokens = weights.shape[1], weights.shape[-1]
        values = block.attention.self.value(hidden_in).view(1, n_tokens, n_all, -1).transpose(1, 2)  # 1 x H x T x dh
        context_learned = weights @ values  # 1 x H x T x dh
    above = list(encoder_layers(loaded))[layer + 1 :]
    head_index = torch.as_tensor(heads, dtype=torch.long)
    chosen_values = values[:, head_index]  # 1 x h x T x dh
    every_head = list(heads) == list(range(n_all))

    def outputs(attentions: torch.Tensor) -> torch.Tensor:
        k = attentions.shape[0]
        new = attentions.reshape(k, len(heads), n_tokens, n_tokens).to(values.dtype)
        if every_head:  # nothing of the learned context survives: skip the copy
            context = new @ values
        else:
            context = context_learned.expand(k, -1, -1, -1).clone()
            context[:, head_index] = new @ chosen_values
        merged = context.transpose(1, 2).reshape(k, n_tokens, -1)
        # the rest of ``layer`` as BertLayer runs it: output projection + residual, then the feed-forward
        attended = block.attention.output(merged, hidden_in.expand(k, -1, -1))
        x = block.output(block.intermediate(attended), attended)
        for upper in above:
            x = upper(x)
            x = x[0] if isinstance(x, tuple) else x
        return probabilities_from_hidden(head, x, mask.expand(k, -1))[:, 1]

    attention = weights[0, head_index].double().reshape(len(heads) * n_tokens, n_tokens).numpy()
    probe = AttentionProbe(attention, np.ones(n_tokens, dtype=bool), base, outputs, batch_size=10)
    return probe, attention.mean(0)


# ---------------------------------------------------------------------------- perturbations
def permutation_chunks(
    attention: np.ndarray, key_mask: np.ndarray, n: int, seed: int = 0, chunk: int = 10, dtype=np.float64
) -> Iterator[np.ndarray]:
    """``permute_attention``'s n x R x T shuffles, ``chunk`` samples at a time (the same numbers: the
    generator draws in order, so chunked draws equal one big draw). Small chunks stay in cache."""
    rng = np.random.default_rng(seed)
    keys = np.flatnonzero(key_mask)
    values = attention[:, keys].astype(dtype).ravel()
    rows, k = attention.shape[0], len(keys)
    offsets = (np.arange(rows) * k)[:, None]
    for start in range(0, n, chunk):
        # argsort of random numbers = one independent permutation per (sample, row), vectorised
        order = np.argsort(rng.random((min(chunk, n - start), rows, k)), axis=-1)
        order += offsets
        shuffled = values[order]  # a flat gather: 4x faster than take_along_axis on a broadcast
        if k == attention.shape[1]:
            yield shuffled
        else:
            out = np.zeros(shuffled.shape[:2] + (attention.shape[1],), dtype=dtype)
            out[..., keys] = shuffled
            yield out


def permute_attention(attention: np.ndarray, key_mask: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n x R x T: each row's weights on the allowed keys shuffled independently (same multiset)."""
    return np.concatenate(list(permutation_chunks(attention, key_mask, n, seed, chunk=max(n, 1))))


@dataclass(frozen=True)
class PermutationResult:
    outputs: np.ndarray  # n, P(positive) under each permutation
    changes: np.ndarray  # n, |change| from the learned attention's output
    median_change: float
    base_output: float

    @property
    def flips(self) -> int:
        """How many permutations move the prediction to the other label."""
        return int(((self.outputs > 0.5) != (self.base_output > 0.5)).sum())


def permutation_test(probe: AttentionProbe, n: int = N_PERMUTATIONS, seed: int = 0) -> PermutationResult:
    """J&W's permutation test, all n permutations in one batched pass.

    The next chunk of shuffles is drawn on a second thread while the model reads the current one
    (numpy's sort and draws let go of the GIL); the draws stay in order, so the numbers do not change.
    """
    chunks = permutation_chunks(probe.attention, probe.key_mask, n, seed, probe.batch_size, np.float32)
    parts = []
    with ThreadPoolExecutor(max_workers=1) as drawer:
        pending = drawer.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = drawer.submit(next, chunks, None)
            parts.append(probe.predict(chunk))
    outputs = np.concatenate(parts)
    changes = np.abs(outputs - probe.base_output)
    return PermutationResult(outputs, changes, float(np.median(changes)), probe.base_output)


def uniform_attention(attention: np.ndarray, key_mask: np.ndarray) -> np.ndarray:
    """R x T: every row spread evenly over the allowed keys."""
    out = np.zeros_like(attention, dtype=np.float64)
    out[:, key_mask] = 1.0 / key_mask.sum()
    return out


def most_attended_key(attention: np.ndarray, key_mask: np.ndarray, candidates: np.ndarray | None = None) -> int:
    """Key with the largest attention received (mean over rows), among ``candidates`` (default: allowed keys)."""
    allowed = key_mask if candidates is None else (key_mask & candidates)
    if not allowed.any():
        allowed = key_mask
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
    steps_run: int  # optimisation steps done (fewer than asked when the time budget ran out)
    seconds: float


def adversarial_attention(
    probe: AttentionProbe,
    tolerance: float = OUTPUT_TOLERANCE,
    restarts: int = 12,
    steps: int = 300,
    lr: float | Sequence[float] = 0.05,
    penalty: float = ADVERSARY_PENALTY,
    seed: int = 0,
    init_scale: float = 3.0,
    time_budget: float | None = None,
    min_steps: int = MIN_ADVERSARY_STEPS,
    progress: Progress | None = None,
) -> AdversarialResult:
    """J&W's adversary: maximise JSD from the learned attention while |output change| <= tolerance.

    ``restarts`` candidates are optimised together (one batch): loss = -JSD + penalty * relu(|change| - tolerance),
    Adam, with step size ``lr`` (one, or one per restart). The best candidate that ever satisfied the tolerance is kept. With ``time_budget`` (seconds), the
    search stops after the first step that crosses it (but not before ``min_steps``).
    """
    started = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    learned = torch.as_tensor(probe.attention, dtype=torch.float32)
    blocked = torch.where(torch.as_tensor(probe.key_mask), 0.0, float("-inf"))
    # Half the restarts start near the learned attention (they stay within the tolerance and climb away
    # from it), the other half at random points of the simplex (far away, pulled back by the penalty).
    noise = torch.randn((restarts,) + tuple(learned.shape), generator=generator)
    near = torch.arange(restarts) < (restarts + 1) // 2
    scale = torch.where(near, torch.linspace(0.0, 1.0, restarts), torch.full((restarts,), init_scale))
    start = torch.where(near[:, None, None], torch.log(learned.clamp(min=1e-6)).expand_as(noise), 0.0)
    step_sizes = [float(lr)] * restarts if isinstance(lr, int | float) else [float(size) for size in lr]
    if len(step_sizes) != restarts:
        raise ValueError(f"{len(step_sizes)} step sizes for {restarts} restarts")
    # one tensor per restart, so each can have its own step size (Adam works element by element either way)
    initial = start + scale[:, None, None] * noise
    logits = [initial[k].clone().requires_grad_(True) for k in range(restarts)]
    optimiser = torch.optim.Adam([{"params": [p], "lr": size} for p, size in zip(logits, step_sizes)])
    best_jsd = np.zeros(restarts)
    best_attention = np.broadcast_to(probe.attention, (restarts,) + probe.attention.shape).copy()
    best_output = np.full(restarts, probe.base_output)
    base = torch.tensor(probe.base_output, dtype=torch.float32)
    step = 0
    for step in range(steps + 1):
        candidate = torch.softmax(torch.stack(logits) + blocked, dim=-1)
        output = probe.outputs(candidate)
        divergence = jsd_torch(candidate, learned.unsqueeze(0)).mean(-1)  # K
        change = (output - base).abs()
        with torch.no_grad():
            d, c = divergence.double().numpy(), change.double().numpy()
            better = (c <= tolerance) & (d > best_jsd)
            if better.any():
                best_jsd[better] = d[better]
                best_attention[better] = candidate[torch.as_tensor(better)].double().numpy()
                best_output[better] = output[torch.as_tensor(better)].double().numpy()
        elapsed = time.perf_counter() - started
        out_of_time = time_budget is not None and elapsed >= time_budget and step >= min_steps
        if step == steps or out_of_time:
            break
        loss = (-divergence + penalty * torch.relu(change - tolerance)).sum()
        # Only the candidates' gradient: the (frozen, shared) model's parameters get none.
        for p, gradient in zip(logits, torch.autograd.grad(loss, logits)):
            p.grad = gradient
        optimiser.step()
        if progress is not None:
            if time_budget is None:
                done = step / steps
            elif time_budget <= 0:  # nothing left of the budget: only the minimum steps run
                done = step / max(min_steps, 1)
            else:
                done = max(step / steps, elapsed / time_budget)
            progress(min(done, 1.0))
    if progress is not None:
        progress(1.0)
    winner = int(np.argmax(best_jsd))
    # the reported JSD in float64 through the shared formula (the search used float32)
    final_jsd = float(jensen_shannon_divergence(best_attention[winner], probe.attention).mean()) if best_jsd[winner] > 0 else 0.0
    return AdversarialResult(
        attention=best_attention[winner],
        jsd=final_jsd,
        output=float(best_output[winner]),
        change=float(abs(best_output[winner] - probe.base_output)),
        base_output=probe.base_output,
        restart_jsds=best_jsd,
        steps_run=step,
        seconds=time.perf_counter() - started,
    )


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
            adversary: AdversarySettings | None = None, progress: Progress | None = None,
            time_budget: float | None = None) -> LabResult:
    """Permutation test, adversarial search, uniform attention and removal of the most-attended token.

    ``removable``: T booleans, keys that may be "the most-attended token" (e.g. not [CLS]/[SEP]).
    ``time_budget``: seconds for the whole lab; the adversary gets what the shuffles leave.
    """
    started = time.perf_counter()
    n_tokens = len(tokens)
    permutation = permutation_test(probe)
    left = None if time_budget is None else max(0.0, time_budget - (time.perf_counter() - started))
    adversarial = adversarial_attention(probe, progress=progress, time_budget=left, **(adversary or BILSTM_ADVERSARY))
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
        uniform_jsd=float(jensen_shannon_divergence(uniform, probe.attention).mean()),
        removed_position=top,
        removed_output=float(outputs[1]),
        removed_jsd=float(jensen_shannon_divergence(removed, probe.attention).mean()),
    )
