import json
import os

import numpy as np
import pytest
import torch

from conftest import events_of
from trainer.__main__ import main
from trainer.sampling import DEFAULT_WINDOW

onnx = pytest.importorskip("onnx")  # CI's Debian has no python3-onnx; the export itself needs none

FAST = ["--preset", "nano", "--seq-len", "32", "--batch-size", "4", "--eval-tasks", "2", "--device", "cpu",
        "--no-engine-length", "--max-steps", "3"]


@pytest.mark.parametrize("objective", ["diffusion", "autoregressive"])
def test_exported_graph_passes_the_checker_and_matches_pytorch(capsys, corpus_run, objective):
    from trainer import onnx_ref
    from trainer.checkpoint import load_checkpoint
    from trainer.export import model_from_checkpoint
    assert main(["train", corpus_run, *FAST, "--objective", objective]) == 0
    graph = onnx.load(os.path.join(corpus_run, "model.onnx"))
    onnx.checker.check_model(graph)
    assert [i.name for i in graph.graph.input] == ["input_ids"]
    assert [o.name for o in graph.graph.output] == ["logits"]
    assert graph.opset_import[0].version == 17
    dims = [d.dim_param or d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", "seq"]
    model = model_from_checkpoint(load_checkpoint(os.path.join(corpus_run, "checkpoints", "best.pt")))
    for shape in [(1, 4), (3, 19)]:  # batch and sequence lengths other than the traced ones
        x = np.random.default_rng(0).integers(0, 262, size=shape).astype(np.int64)
        (y,) = onnx_ref.run(graph, {"input_ids": x})
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        assert y.dtype == np.float32 and y.shape == ref.shape
        assert np.abs(y - ref).max() < 1e-4


def test_model_json_has_the_contract_fields(capsys, corpus_run):
    assert main(["train", corpus_run, *FAST]) == 0
    mj = json.load(open(os.path.join(corpus_run, "model.json")))
    for key in ("format", "objective", "vocab_size", "special_ids", "max_seq_len", "preset", "config", "params",
                "trained_tokens", "epochs", "best_step", "corpus_sha256", "tokenizer_sha256", "eval", "sampler",
                "graphs"):
        assert key in mj, key
    assert mj["format"] == 1 and mj["vocab_size"] == 262 and mj["graphs"] == {"full": "model.onnx", "context": "model.context.onnx", "step": "model.step.onnx",
                                                                             "step_int8": "model.step.int8.onnx",
                                                                             "step_int8_kv": "model.step.int8kv.onnx"}
    assert mj["special_ids"] == {"pad": 0, "eos": 1, "mask": 2, "fim_prefix": 3, "fim_suffix": 4, "fim_middle": 5}
    assert {"infill_exact", "infill_edit_sim", "by_kind"} <= set(mj["eval"])
    assert mj["sampler"]["canvas_lengths"] == [16, 32, 64]
    assert mj["sampler"]["window"] == DEFAULT_WINDOW  # the engine serves the window the evaluation used


def test_export_command_verifies_and_writes_a_parity_fixture(capsys, corpus_run, tmp_path):
    assert main(["train", corpus_run, *FAST, "--no-export"]) == 0
    assert not os.path.exists(os.path.join(corpus_run, "model.onnx"))
    capsys.readouterr()
    fixture = tmp_path / "parity.json"
    assert main(["export", corpus_run, "--verify", "--parity-fixture", str(fixture)]) == 0
    ev = events_of(capsys.readouterr().out)
    assert ev[-1]["type"] == "export" and os.path.exists(ev[-1]["path"])
    fx = json.load(open(fixture))
    assert np.asarray(fx["logits"]).shape == tuple(fx["shape"]) == (2, 8, 262)
    graph = onnx.load(os.path.join(corpus_run, "model.onnx"))
    from trainer import onnx_ref
    (y,) = onnx_ref.run(graph, {"input_ids": np.asarray(fx["input_ids"], dtype=np.int64)})
    assert np.abs(y - np.asarray(fx["logits"])).max() < fx["atol"]
    assert not [f for f in os.listdir(corpus_run) if ".tmp-" in f]  # atomic writes leave no temp files
