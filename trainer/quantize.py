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


# ---- int8 context K/V (model.step.int8kv.onnx; docs/engine.md "Fast decoding")
#
# A diffusion step streams the context pass's K/V besides the weights (small at 512 positions: 17 MB
# of float32 a step, and 17 MB copied out of the context pass into JavaScript). Stored as int8 with
# a float scale per token, they are a quarter of that. Keys per token: a score sums over the head
# dimension, so each context column's scale factors out of it. Values per token too: their scale
# is folded into the attention weights (p * v_scale), which are then quantized per row (uint8, one
# scale per canvas row and head: one scale for the whole tensor would round the many small weights
# of a diffuse head to nothing next to a peaked head's near-1). Same 7-bit range as the weights,
# for the same u8 x s8 kernels.


def quantize_kv(keys: torch.Tensor, values: torch.Tensor):
    """One layer's context K/V (B, H, S, D) float -> keys_int8 (B, H, D, S) (transposed: the
    scores' MatMulInteger takes them as they are), key_scales (B, H, 1, S), values_int8
    (B, H, S, D), value_scales (B, H, 1, S); symmetric, per token, in [-63, 63]."""
    k_scale = keys.abs().amax(-1, keepdim=True).clamp(min=1e-12) / WEIGHT_MAX  # (B, H, S, 1)
    v_scale = values.abs().amax(-1, keepdim=True).clamp(min=1e-12) / WEIGHT_MAX
    k_int8 = torch.round(keys / k_scale).to(torch.int8).transpose(-2, -1)
    v_int8 = torch.round(values / v_scale).to(torch.int8)
    return k_int8, k_scale.transpose(-2, -1), v_int8, v_scale.transpose(-2, -1)


class _RowInt8ValueSum(torch.autograd.Function):
    """p (B, H, C, S) attention weights >= 0, values_int8 (B, H, S, D), value_scales (B, H, 1, S)
    -> p @ values (B, H, C, D): w = p * value_scales, quantized per row to uint8 (scale = row max /
    255, round half to even), MatMulInteger, times the row scale."""

    @staticmethod
    def forward(ctx, p, v_int8, v_scale):
        w = p * v_scale
        scale = w.amax(-1, keepdim=True).clamp(min=1e-30) / 255.0
        wq = torch.round(w / scale)
        return torch.matmul(wq, v_int8.float()) * scale

    @staticmethod
    def symbolic(g, p, v_int8, v_scale):
        w = g.op("Mul", p, v_scale)
        top = g.op("ReduceMax", w, axes_i=[-1], keepdims_i=1)
        tiny = g.op("Constant", value_t=torch.tensor(1e-30, dtype=torch.float32))
        scale = g.op("Div", g.op("Max", top, tiny), g.op("Constant", value_t=torch.tensor(255.0, dtype=torch.float32)))
        wq = g.op("Cast", g.op("Round", g.op("Div", w, scale)), to_i=2)  # 2 = UINT8
        zero_u8 = g.op("Constant", value_t=torch.tensor(0, dtype=torch.uint8))
        zero_s8 = g.op("Constant", value_t=torch.tensor(0, dtype=torch.int8))
        acc = g.op("MatMulInteger", wq, v_int8, zero_u8, zero_s8)
        return g.op("Mul", g.op("Cast", acc, to_i=1), scale)


def _int8_past_scores(q, past_k):
    """Attention.past_scores over (keys_int8, key_scales): q quantized per call, as the weights' inputs."""
    k_int8, k_scale = past_k
    return _DynamicInt8MatMul.apply(q, k_int8, k_scale)


def _int8_past_sum(p, past_v):
    """Attention.past_sum over (values_int8, value_scales)."""
    v_int8, v_scale = past_v
    return _RowInt8ValueSum.apply(p, v_int8, v_scale)


def int8_kv_copy(model: Transformer) -> Transformer:
    """int8_copy whose canvas attends to int8 context K/V (quantize_kv) in step_forward; the
    canvas's own K/V stay float32."""
    q = int8_copy(model)
    for block in q.blocks:
        block.attn.past_scores, block.attn.past_sum = _int8_past_scores, _int8_past_sum
    return q


def step_int8_kv_onnx_bytes(model: Transformer) -> bytes:
    """model.step.int8kv.onnx: int8 weights and int8 context K/V (diffusion exports)."""
    from .cached import step_int8_kv_graph_bytes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return step_int8_kv_graph_bytes(int8_kv_copy(model))
