"""Jain & Wallace's setting: a BiLSTM encoder, additive (tanh) attention, a linear output.

    h_1..h_T = BiLSTM(e_1..e_T)            e_t: MiniLM's WordPiece input embedding of token t (frozen)
    a_t      = softmax_t(v . tanh(W h_t + b))
    c        = sum_t a_t h_t
    p        = sigmoid(w . c + b_out)      probability of "positive"

The encoder states h do not depend on the attention, so "what if the attention were a'?" is
``decode(states, a')``: a batch of alternative attentions costs one matrix product.
The embedding matrix and the tokenizer are the shipped MiniLM's, read from the default model
package whatever transformer the app shows (``shipped_embeddings`` reads just that one tensor,
once, and the three BiLSTMs share it), so the committed files hold only the small trained part
(about a megabyte) and a BiLSTM never depends on the chosen model.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MAIN_FILE = MODELS_DIR / "bilstm_sentiment.safetensors"
SEED2_FILE = MODELS_DIR / "bilstm_sentiment_seed2.safetensors"
UNIFORM_FILE = MODELS_DIR / "bilstm_uniform_sentiment.safetensors"
HIDDEN = 64  # per direction; states are 2 * HIDDEN wide
ATTENTION_DIM = 64
MAX_TOKENS = 64
BATCH_SIZE = 32
LEARNING_RATE = 2e-3
EPOCHS = 5


@dataclass(frozen=True)
class TrainingRun:
    name: str
    file: str
    seed: int
    uniform: bool
    epochs: int = EPOCHS


TRAINING_RUNS = (
    TrainingRun("learned attention, seed 1", MAIN_FILE.name, 1, False),
    TrainingRun("learned attention, seed 2", SEED2_FILE.name, 2, False),
    TrainingRun("attention frozen uniform, seed 1", UNIFORM_FILE.name, 1, True),
)


REBUILD_COMMAND = "python -m scripts.train_classifiers --only bilstm"
SHIPPED_EMBEDDING_TENSOR = "embeddings.word_embeddings.weight"


class BiLSTMFileMissingError(RuntimeError):
    """A trained BiLSTM file is missing or damaged; the message names the file and the command that rebuilds it."""


@functools.lru_cache(maxsize=1)
def shipped_embeddings() -> torch.Tensor:
    """The shipped MiniLM's WordPiece embedding matrix (vocab x 384), read alone from its safetensors file."""
    from safetensors import safe_open

    from lessonkit.model import default_model_dir

    with safe_open(str(default_model_dir() / "model.safetensors"), framework="pt") as handle:
        return handle.get_tensor(SHIPPED_EMBEDDING_TENSOR).float()


@functools.lru_cache(maxsize=1)
def shipped_tokenizer():
    """The shipped MiniLM's WordPiece tokenizer (the BiLSTMs' vocabulary)."""
    from transformers import AutoTokenizer

    from lessonkit.model import default_model_dir

    return AutoTokenizer.from_pretrained(str(default_model_dir()))


class AttentiveBiLSTM(nn.Module):
    def __init__(self, embeddings: torch.Tensor, hidden: int = HIDDEN, attention_dim: int = ATTENTION_DIM,
                 uniform_attention: bool = False):
        super().__init__()
        # not copied: the three BiLSTMs of the lab share one frozen matrix
        self.embedding = nn.Embedding.from_pretrained(embeddings.detach().float(), freeze=True)
        self.lstm = nn.LSTM(embeddings.shape[1], hidden, batch_first=True, bidirectional=True)
        self.attn_proj = nn.Linear(2 * hidden, attention_dim)
        self.attn_v = nn.Linear(attention_dim, 1, bias=False)
        self.output = nn.Linear(2 * hidden, 1)
        self.uniform_attention = uniform_attention

    def encode(self, ids: torch.Tensor, mask: torch.Tensor, embedded: torch.Tensor | None = None) -> torch.Tensor:
        """batch x T ids (mask 1 = real token) -> batch x T x 2*hidden states (zero at padding)."""
        x = self.embedding(ids) if embedded is None else embedded
        lengths = mask.sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out

    def attention(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """batch x T x 2h -> batch x T attention over real tokens (softmax of v . tanh(W h + b))."""
        if self.uniform_attention:
            return mask.float() / mask.float().sum(1, keepdim=True).clamp(min=1.0)
        scores = self.attn_v(torch.tanh(self.attn_proj(states))).squeeze(-1)
        scores = scores.masked_fill(mask == 0, float("-inf"))
        return torch.softmax(scores, dim=-1)

    def decode(self, states: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """Probability of "positive" for states (1 or batch) x T x 2h and attentions batch x T."""
        context = torch.einsum("...t,...td->...d", attention, states)
        return torch.sigmoid(self.output(context).squeeze(-1))

    def forward(self, ids, mask):
        states = self.encode(ids, mask)
        attention = self.attention(states, mask)
        return self.decode(states, attention), attention


@dataclass
class EncodedSentence:
    tokens: list[str]  # WordPiece tokens (no [CLS]/[SEP]: attention is over the text's own tokens)
    ids: torch.Tensor  # 1 x T
    mask: torch.Tensor  # 1 x T
    truncated: bool


def encode_texts(tokenizer, texts: list[str], max_tokens: int = MAX_TOKENS) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids and mask (batch x T) without special tokens; empty texts get one [UNK]."""
    rows = [tokenizer(t, add_special_tokens=False, truncation=True, max_length=max_tokens)["input_ids"] for t in texts]
    rows = [r if r else [tokenizer.unk_token_id] for r in rows]
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.as_tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def encode_sentence(tokenizer, text: str, max_tokens: int = MAX_TOKENS) -> EncodedSentence:
    full = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids, mask = encode_texts(tokenizer, [text], max_tokens)
    return EncodedSentence(tokenizer.convert_ids_to_tokens(ids[0].tolist()), ids, mask, len(full) > max_tokens)


def word_embeddings(loaded) -> torch.Tensor:
    """MiniLM's WordPiece input embedding matrix (vocab x d_model)."""
    return loaded.model.get_input_embeddings().weight.detach()


def predict(model: AttentiveBiLSTM, tokenizer, texts: list[str], batch_size: int = 256) -> np.ndarray:
    """Probability of "positive" for each text."""
    out = []
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            ids, mask = encode_texts(tokenizer, texts[start : start + batch_size])
            out.append(model(ids, mask)[0].numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train_bilstm(loaded, split, seed: int = 1, uniform_attention: bool = False, epochs: int = EPOCHS,
                 hidden: int = HIDDEN) -> tuple[AttentiveBiLSTM, dict[str, str]]:
    """Train on split.train_* (Adam, BCE, fixed seed and batch order); metadata includes held-out accuracy.

    Runs on one torch thread: an LSTM's many small steps are faster so (and identical run to run)."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_bilstm(loaded, split, seed, uniform_attention, epochs, hidden)
    finally:
        torch.set_num_threads(previous_threads)


def _train_bilstm(loaded, split, seed, uniform_attention, epochs, hidden):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    model = AttentiveBiLSTM(word_embeddings(loaded), hidden=hidden, uniform_attention=uniform_attention)
    ids, mask = encode_texts(loaded.tokenizer, split.train_texts)
    labels = torch.as_tensor(split.train_labels, dtype=torch.float32)
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LEARNING_RATE)
    model.train()
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(labels)), max(1, len(labels) // BATCH_SIZE)):
            index = torch.as_tensor(batch)
            width = int(mask[index].sum(1).max())
            prob, _ = model(ids[index, :width], mask[index, :width])
            loss = nn.functional.binary_cross_entropy(prob.clamp(1e-6, 1 - 1e-6), labels[index])
            optimiser.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
    model.eval()
    accuracy = float(((predict(model, loaded.tokenizer, split.test_texts) > 0.5) == (split.test_labels == 1)).mean())
    info = {
        "held_out_accuracy": f"{accuracy:.4f}",
        "seed": str(seed),
        "uniform_attention": str(uniform_attention),
        "hidden_per_direction": str(hidden),
        "attention_dim": str(model.attn_proj.out_features),
        "epochs": str(epochs),
        "n_train": str(len(split.train_texts)),
        "n_test": str(len(split.test_texts)),
        "embeddings": "MiniLM WordPiece input embeddings, frozen, not stored in this file",
        "training_seconds": f"{time.perf_counter() - start:.1f}",
    }
    return model, info


def save_bilstm(model: AttentiveBiLSTM, info: dict[str, str], path: Path) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not k.startswith("embedding.")}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={k: str(v) for k, v in info.items()})


def load_bilstm(path: Path = MAIN_FILE) -> tuple[AttentiveBiLSTM, dict[str, str]]:
    """The trained BiLSTM in ``path`` (on the shipped MiniLM's embeddings) and its metadata.

    Raises BiLSTMFileMissingError, naming the file and the command that rebuilds it, for a missing,
    damaged or mismatched file.
    """
    from safetensors import safe_open

    path = Path(path)
    rebuild = f"Rebuild it with `{REBUILD_COMMAND}`."
    if not path.is_file():
        raise BiLSTMFileMissingError(f"The BiLSTM file {path.name} is missing. {rebuild}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
            info = dict(handle.metadata() or {})
        model = AttentiveBiLSTM(
            shipped_embeddings(), hidden=int(info.get("hidden_per_direction", HIDDEN)),
            attention_dim=int(info.get("attention_dim", ATTENTION_DIM)),
            uniform_attention=info.get("uniform_attention") == "True",
        )
        missing, unexpected = model.load_state_dict(tensors, strict=False)
    except Exception as error:  # safetensors and load_state_dict raise several kinds for a damaged file
        raise BiLSTMFileMissingError(
            f"The BiLSTM file {path.name} is damaged ({type(error).__name__}). {rebuild}"
        ) from error
    if unexpected or any(not k.startswith("embedding.") for k in missing):
        raise BiLSTMFileMissingError(f"The BiLSTM file {path.name} does not match the BiLSTM architecture. {rebuild}")
    model.eval()
    return model, info
