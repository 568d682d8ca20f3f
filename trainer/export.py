"""Export a checkpoint to RUN/model.onnx + RUN/model.json (docs/contracts.md), atomically, with the
engine's cached graphs RUN/model.context.onnx + RUN/model.step.onnx beside them (trainer/cached.py).

Each file is replaced atomically, but not the set: model.json goes first (removed) and comes back
last, so that a killed export leaves no model.json beside a mix of new and old graphs — readers
find model.json (the engine reads the graph names from it) or no model, never mixed weights.

model.onnx: input `input_ids` int64 [batch, seq] -> output `logits` float32 [batch, seq, vocab],
opset 17, dynamic batch and seq axes; traced in float32 on the CPU with plain matmul/softmax
attention. Python has no onnxruntime here, so numerical parity is checked two ways: a small numpy
evaluator of the exported graph (onnx_ref.py, used by the tests) and a fixture of input ids with
PyTorch's logits (`--parity-fixture PATH`) that the TypeScript engine's test compares against
onnxruntime-node.
"""
from __future__ import annotations

import inspect
import io
import json
import os

import torch

from .checkpoint import atomic_write_bytes, atomic_write_json, fsync_dir, load_checkpoint
from .errors import TrainerError
from .model import ModelConfig, Transformer
from .objectives import CANVAS_CHOICES, SPECIAL_IDS
from .sampling import DEFAULT_WINDOW

OPSET = 17
FORMAT = 1


def model_from_checkpoint(state: dict) -> Transformer:
    model = Transformer(ModelConfig(**state["model_config"]))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as e:
        raise TrainerError(f"the checkpoint's weights do not fit its model config: {str(e)[:300]}",
                           "The checkpoint is damaged; train again.")
    return model.float().eval()


def trace_onnx(module: torch.nn.Module, args: tuple, inputs: list, outputs: list, axes: dict) -> bytes:
    """Trace `module` to ONNX bytes (opset 17, constant folding; the TorchScript exporter, with
    `dynamo=False` where that switch exists, since torch >= 2.9 defaults to the dynamo exporter).
    model.onnx and the cached graphs (trainer/cached.py) all go through here."""
    kw = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(module, args, buf, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, **kw)
    return buf.getvalue()


def onnx_bytes(model: Transformer, example_len: int = 8) -> bytes:
    """model.onnx: input_ids -> logits at every position."""
    model.exporting = True
    try:
        x = torch.randint(6, model.cfg.vocab_size, (2, min(example_len, model.cfg.max_seq_len)), dtype=torch.long)
        return trace_onnx(model, (x,), ["input_ids"], ["logits"],
                          {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}})
    finally:
        model.exporting = False


def model_json(state: dict, model: Transformer) -> dict:
    cfg, ts = state["config"], state["train_state"]
    best = ts.get("best") or {}
    return {
        "format": FORMAT, "objective": cfg["objective"], "vocab_size": model.cfg.vocab_size,
        "special_ids": dict(SPECIAL_IDS), "max_seq_len": model.cfg.max_seq_len, "preset": cfg["preset"],
        "config": model.cfg.to_dict(), "params": model.num_params(),
        "trained_tokens": ts["tokens"], "epochs": ts["epoch"], "step": ts["step"],
        "best_step": ts.get("best_step"),
        "corpus_sha256": cfg.get("corpus_sha256"), "tokenizer_sha256": cfg.get("tokenizer_sha256"),
        "eval": {"infill_exact": best.get("infill_exact"), "infill_edit_sim": best.get("infill_edit_sim"),
                 "by_kind": best.get("by_kind") or {}, "val_loss": best.get("val_loss"),
                 "infill_exact_engine_length": best.get("infill_exact_engine_length")},
        # window (diffusion): the sliding window the trainer's evaluation decides with, so that the
        # engine serves the model as it was scored (docs/contracts.md)
        "sampler": {"threshold": cfg.get("threshold", 0.9), "canvas_lengths": list(CANVAS_CHOICES),
                    **({"window": DEFAULT_WINDOW} if cfg["objective"] == "diffusion" else {})},
        # context/step: the cached graphs of trainer/cached.py (engine fast path); readers that
        # know only `full` ignore them (docs/contracts.md "Cached graphs").
        # step_int8: the step graph with int8 weights (trainer/quantize.py), the engine's default;
        # step_int8_kv (diffusion): int8 weights and int8 context K/V, the default where present
        "graphs": {"full": "model.onnx", "context": "model.context.onnx", "step": "model.step.onnx",
                   "step_int8": "model.step.int8.onnx",
                   **({"step_int8_kv": "model.step.int8kv.onnx"} if cfg["objective"] == "diffusion" else {})},
    }


def export_run(run_dir: str, checkpoint: str | None = None, log=lambda m: None) -> str:
    """Write RUN/model.onnx and RUN/model.json from a checkpoint (default: best.pt, else last.pt)."""
    ckdir = os.path.join(run_dir, "checkpoints")
    if checkpoint is None:
        best = os.path.join(ckdir, "best.pt")
        checkpoint = best if os.path.exists(best) else os.path.join(ckdir, "last.pt")
    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state)
    data = onnx_bytes(model)
    path = os.path.join(run_dir, "model.onnx")
    meta_path = os.path.join(run_dir, "model.json")
    from .cached import context_onnx_bytes, step_onnx_bytes
    from .quantize import step_int8_kv_onnx_bytes, step_int8_onnx_bytes
    meta = model_json(state, model)
    # the cached graphs model.json names (step_int8_kv for diffusion only), model.onnx last
    builders = {"context": context_onnx_bytes, "step": step_onnx_bytes, "step_int8": step_int8_onnx_bytes,
                "step_int8_kv": step_int8_kv_onnx_bytes}
    # Withdraw the old export before its first graph is replaced: a kill from here on leaves no
    # model.json, which every reader treats as "no model" (the engine takes the graph names from
    # it; the extension's run list wants model.onnx and model.json), not new graphs beside an old
    # model.json. The folder fsync orders the removal before the new graphs on disk too.
    if os.path.exists(meta_path):
        os.remove(meta_path)
        fsync_dir(run_dir)
        log(f"replacing the export in {run_dir}: model.json is withdrawn until the new graphs are written")
    try:
        for key, build in builders.items():
            if key in meta["graphs"]:
                atomic_write_bytes(os.path.join(run_dir, meta["graphs"][key]), build(model))
        atomic_write_bytes(path, data)
    except BaseException:
        log(f"the export stopped part-way: {run_dir} has no model.json (no usable model) until "
            "`python -m trainer export RUN` runs to the end")
        raise
    atomic_write_json(meta_path, meta)  # last: the new set is complete
    log(f"exported {checkpoint} -> {path} ({len(data) / 2**20:.1f} MiB)")
    return path


def parity_fixture(run_dir: str, out_path: str, checkpoint: str | None = None, batch: int = 2, seq: int = 8,
                   seed: int = 0) -> dict:
    """{input_ids, logits, ...} JSON: PyTorch float32 logits for fixed ids, for the engine's
    onnxruntime-node test (tolerance 1e-4 absolute)."""
    ckdir = os.path.join(run_dir, "checkpoints")
    if checkpoint is None:
        best = os.path.join(ckdir, "best.pt")
        checkpoint = best if os.path.exists(best) else os.path.join(ckdir, "last.pt")
    state = load_checkpoint(checkpoint)
    model = model_from_checkpoint(state)
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, model.cfg.vocab_size, (batch, seq), generator=g, dtype=torch.long)
    x[:, seq // 2] = SPECIAL_IDS["mask"]  # a mask in the middle, as the sampler feeds it
    with torch.no_grad():
        logits = model(x).float()
    fixture = {"format": 1, "model": "model.onnx", "checkpoint": os.path.basename(checkpoint),
               "input_ids": x.tolist(), "shape": list(logits.shape), "atol": 1e-4,
               "logits": [[[float(f"{v:.7g}") for v in row] for row in b] for b in logits.tolist()]}
    atomic_write_bytes(out_path, json.dumps(fixture, separators=(",", ":")).encode("utf-8"))
    return fixture


def verify_export(run_dir: str, checkpoint: str | None = None, tol: float = 1e-4) -> float:
    """onnx.checker + numpy evaluation of RUN/model.onnx vs PyTorch on two shapes; -> max abs error."""
    try:
        import onnx
    except ImportError:
        raise TrainerError("--verify needs the onnx Python package",
                           "apt-get install -y python3-onnx (Debian) or pip install onnx; the export itself does not need it.")
    import numpy as np
    from . import onnx_ref
    path = os.path.join(run_dir, "model.onnx")
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    ckdir = os.path.join(run_dir, "checkpoints")
    if checkpoint is None:
        best = os.path.join(ckdir, "best.pt")
        checkpoint = best if os.path.exists(best) else os.path.join(ckdir, "last.pt")
    model = model_from_checkpoint(load_checkpoint(checkpoint))
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for shape in ((1, 5), (2, min(33, model.cfg.max_seq_len))):
        x = torch.randint(0, model.cfg.vocab_size, shape, generator=g)
        (y,) = onnx_ref.run(graph, {"input_ids": x.numpy()})
        with torch.no_grad():
            ref = model(x).numpy()
        if y.shape != ref.shape:
            raise TrainerError(f"exported graph gives logits {y.shape}, PyTorch {ref.shape}", "This is a trainer bug.")
        worst = max(worst, float(np.abs(y - ref).max()))
    if worst > tol:
        raise TrainerError(f"exported graph differs from PyTorch by {worst:.3g} (> {tol})", "This is a trainer bug.")
    return worst
