"""Small random BERT-family model folders of other shapes, to prove every page works on any model.

Each folder holds a randomly initialised encoder (safetensors) and the shipped MiniLM tokenizer,
so ``LESSON_MODEL=<folder>`` loads it exactly as a user's own folder would be loaded.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")

# name -> (model type, layers, heads, hidden size)
OTHER_MODELS = {
    "random-bert-2x4-h64": ("bert", 2, 4, 64),
    "random-bert-12x12-h96": ("bert", 12, 12, 96),
    "random-roberta-3x6-h48": ("roberta", 3, 6, 48),
}


def build_model_folder(root: Path, name: str) -> Path:
    """Write the random model ``name`` (a key of OTHER_MODELS) into root/name; return the folder."""
    import torch
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    from lessonkit.model import default_model_dir

    model_type, layers, heads, hidden = OTHER_MODELS[name]
    folder = root / name
    if (folder / "model.safetensors").is_file():
        return folder
    torch.manual_seed(0)
    common: dict[str, Any] = dict(vocab_size=30522, hidden_size=hidden, num_hidden_layers=layers,
                                  num_attention_heads=heads, intermediate_size=2 * hidden, type_vocab_size=2)
    model: Any
    if model_type == "roberta":
        # the shipped WordPiece tokenizer pads with id 0; RoBERTa counts positions after its padding id
        model = RobertaModel(RobertaConfig(**common, pad_token_id=0, max_position_embeddings=514), add_pooling_layer=False)
    else:
        model = BertModel(BertConfig(**common, max_position_embeddings=512), add_pooling_layer=False)
    model.save_pretrained(folder, safe_serialization=True)
    for file in TOKENIZER_FILES:
        shutil.copy(default_model_dir() / file, folder / file)
    return folder
