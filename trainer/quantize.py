"""int8 weights for the step graph (docs/contracts.md "Cached graphs", docs/engine.md "Fast decoding").

A canvas step runs 16 rows or fewer through the whole network, so on a CPU it costs what streaming
the weights from memory costs (118 MB of float32 for the small preset, every step). With int8
weights (per output channel, symmetric) and activations quantized per call (ONNX
DynamicQuantizeLinear, which onnxruntime fuses into DynamicQuantizeMatMul), a step streams a
quarter of that: small's step at 512 positions (16 rows, per-layer K/V inputs) takes 5.7 ms instead of
11.0 ms on the 2-core VM.
Only the step graph is quantized: the context pass (a completion's first step) stays float32, so
a one-step completion is still exactly the full model's.

`Int8Linear.forward` computes in PyTorch what the exported ops compute (the same rounding), so that
the tests can hold the exported graph to it.
"""
from __future__ import annotations

import copy
import warnings

import torch
import torch.nn as nn

from .model import Transformer


class _DynamicInt8MatMul(torch.autograd.Function):
    """x (..., in) float32 @ w_t (in, out) int8 * w_scale (out,): ONNX DynamicQuantizeLinear +
    MatMulInteger + Cast + Mul, the pattern onnxruntime's quantize_dynamic writes and fuses."""

    @staticmethod
    def forward(ctx, x, w_t, w_scale):
        # DynamicQuantizeLinear: uint8, the range always includes 0, round half to even
        lo = torch.clamp(x.min(), max=0.0)
        hi = torch.clamp(x.max(), min=0.0)
        x_scale = (hi - lo) / 255.0
        x_scale = torch.where(x_scale == 0, torch.ones_like(x_scale), x_scale)  # all zeros: scale 1, as onnxruntime
        zero_point = torch.clamp(torch.round(-lo / x_scale), 0, 255)
        xq = torch.clamp(torch.round(x / x_scale) + zero_point, 0, 255)
        return torch.matmul(xq - zero_point, w_t.float()) * (x_scale * w_scale)

    @staticmethod
    def symbolic(g, x, w_t, w_scale):
        xq, x_scale, x_zero = g.op("DynamicQuantizeLinear", x, outputs=3)
        w_zero = g.op("Constant", value_t=torch.tensor(0, dtype=torch.int8))
        acc = g.op("MatMulInteger", xq, w_t, x_zero, w_zero)
        return g.op("Mul", g.op("Cast", acc, to_i=1), g.op("Mul", x_scale, w_scale))  # to 1 = FLOAT


# Weights use 7 of int8's bits ("reduce_range" in onnxruntime's quantizer): on x86 CPUs without
# VNNI the u8 x s8 kernels add pairs of products in 16 bits (VPMADDUBSW), which saturates for
# 255 * 127 * 2 but not for 255 * 63 * 2 = 32130.
WEIGHT_MAX = 63


class Int8Linear(nn.Module):
    """A bias-free Linear with weight (out, in) stored as int8 per output channel, in [-63, 63]."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        w = weight.detach().float()
        scale = w.abs().amax(dim=1).clamp(min=1e-12) / WEIGHT_MAX
        q = torch.clamp(torch.round(w / scale[:, None]), -WEIGHT_MAX, WEIGHT_MAX).to(torch.int8)
        self.register_buffer("w_t", q.t().contiguous())
        self.register_buffer("w_scale", scale)

    def forward(self, x):
        return _DynamicInt8MatMul.apply(x, self.w_t, self.w_scale)


def int8_copy(model: Transformer) -> Transformer:
    """A copy of `model` whose projections (attention q/k/v and output, the MLP, and the tied
    vocabulary head) are Int8Linear; embeddings and norms stay float32."""
    q = copy.deepcopy(model).float().eval()
    for block in q.blocks:
        block.attn.qkv = Int8Linear(block.attn.qkv.weight)
        block.attn.proj = Int8Linear(block.attn.proj.weight)
        block.mlp.gate_up = Int8Linear(block.mlp.gate_up.weight)
        block.mlp.down = Int8Linear(block.mlp.down.weight)
    q.int8_head = Int8Linear(q.embed.weight)
    return q


def step_int8_onnx_bytes(model: Transformer) -> bytes:
    """model.step.int8.onnx: the step graph of trainer/cached.py with int8 weights."""
    from .cached import step_onnx_bytes
    with warnings.catch_warnings():  # torch 1.13 calls g.op deprecated; it is the documented way
        warnings.simplefilter("ignore", FutureWarning)
        return step_onnx_bytes(int8_copy(model))
