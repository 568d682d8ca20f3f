"""A small numpy evaluator for the ONNX graphs this trainer exports (onnx 1.12 has no reference
runtime, and there is no onnxruntime for Python here). It covers the ~30 operators that
`torch.onnx.export` emits for model.py at opset 17, and is used to check export parity in the
tests and by `python -m trainer export RUN --verify`. Not a general ONNX runtime.
"""
from __future__ import annotations

import functools

import numpy as np


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _softmax(x, axis):
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = list(range(len(starts))) if axes is None else [int(a) % x.ndim for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    idx = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        idx[a] = slice(int(s), int(max(min(e, 2**62), -2**62)), int(st))
    return x[tuple(idx)]


def _np_dtype_of():
    """ONNX element type -> numpy dtype. onnx >= 1.13 has `helper.tensor_dtype_to_np_dtype`; 1.12
    (Debian's) only `mapping.TENSOR_TYPE_TO_NP_TYPE`, which onnx 1.23 removed."""
    from onnx import helper
    if hasattr(helper, "tensor_dtype_to_np_dtype"):
        return helper.tensor_dtype_to_np_dtype
    from onnx.mapping import TENSOR_TYPE_TO_NP_TYPE
    return TENSOR_TYPE_TO_NP_TYPE.__getitem__


def run(model, feeds: dict) -> list:
    """Evaluate `model` (onnx.ModelProto) on feeds {name: array}; returns the outputs in order."""
    from onnx import numpy_helper
    np_dtype = _np_dtype_of()
    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Constant":
            out = numpy_helper.to_array(a["value"])
        elif op == "Identity":
            out = x[0]
        elif op in ("Add", "Sub", "Mul", "Div", "Pow", "Equal", "Less", "Greater", "And", "Or"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Pow": np.power, "Equal": np.equal,
                 "Less": np.less, "Greater": np.greater, "And": np.logical_and, "Or": np.logical_or}
            if op == "Div":
                out = (x[0] // x[1]) if np.issubdtype(x[0].dtype, np.integer) else x[0] / x[1]
            else:
                out = f[op](x[0], x[1])
            if op == "Pow":
                out = out.astype(x[0].dtype)
        elif op in ("Max", "Min"):  # variadic
            out = functools.reduce(np.maximum if op == "Max" else np.minimum, x)
        elif op == "Clip":
            lo = x[1] if len(x) > 1 and x[1] is not None and x[1].size else None
            hi = x[2] if len(x) > 2 and x[2] is not None and x[2].size else None
            out = np.clip(x[0], lo, hi).astype(x[0].dtype)
        elif op in ("Abs", "Round"):  # Round: half to even, as numpy
            out = (np.abs if op == "Abs" else np.round)(x[0])
        elif op in ("Sqrt", "Reciprocal", "Neg", "Sigmoid", "Tanh", "Not", "Exp", "Erf"):
            if op == "Erf":
                from math import erf
                out = np.vectorize(erf)(x[0]).astype(x[0].dtype)
            else:
                out = {"Sqrt": np.sqrt, "Reciprocal": lambda v: 1 / v, "Neg": np.negative,
                       "Sigmoid": lambda v: 1 / (1 + np.exp(-v)), "Tanh": np.tanh, "Not": np.logical_not,
                       "Exp": np.exp}[op](x[0])
        elif op == "DynamicQuantizeLinear":  # uint8; the range includes 0; round half to even
            f = np.float32
            lo, hi = min(f(x[0].min()), f(0)), max(f(x[0].max()), f(0))
            scale = f((hi - lo) / f(255)) if hi != lo else f(1)  # all zeros: scale 1, as onnxruntime
            zero = np.uint8(np.clip(np.round(-lo / scale), 0, 255))
            q = np.clip(np.round(x[0] / scale) + zero, 0, 255).astype(np.uint8)
            out = [q, np.array(scale, np.float32), np.array(zero, np.uint8)]
        elif op == "MatMulInteger":
            az = x[2].astype(np.int32) if len(x) > 2 and x[2] is not None else 0
            bz = x[3].astype(np.int32) if len(x) > 3 and x[3] is not None else 0
            out = np.matmul(x[0].astype(np.int32) - az, x[1].astype(np.int32) - bz).astype(np.int32)
        elif op == "MatMul":
            out = np.matmul(x[0], x[1])
        elif op == "Gather":
            out = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "GatherElements":
            out = np.take_along_axis(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Slice":
            out = _slice(x[0], x[1], x[2], x[3] if len(x) > 3 else None, x[4] if len(x) > 4 else None)
        elif op == "Shape":
            out = np.array(x[0].shape, dtype=np.int64)
        elif op == "Unsqueeze":
            out = x[0]
            for ax in sorted(int(v) % (x[0].ndim + len(x[1])) for v in x[1]):
                out = np.expand_dims(out, ax)
        elif op == "Squeeze":
            out = np.squeeze(x[0], axis=tuple(int(v) for v in x[1])) if len(x) > 1 and x[1] is not None else np.squeeze(x[0])
        elif op == "Concat":
            out = np.concatenate([v for v in x if v is not None], axis=a["axis"])
        elif op == "Reshape":
            shape = [int(s) for s in x[1]]
            shape = [x[0].shape[i] if s == 0 and not a.get("allowzero", 0) else s for i, s in enumerate(shape)]
            out = x[0].reshape(shape)
        elif op == "Transpose":
            out = np.transpose(x[0], a.get("perm"))
        elif op == "Cast":
            out = x[0].astype(np_dtype(a["to"]))
        elif op == "ReduceMean":
            out = x[0].mean(axis=tuple(a["axes"]), keepdims=bool(a.get("keepdims", 1))).astype(x[0].dtype)
        elif op in ("ReduceMax", "ReduceSum"):
            # ReduceMax takes `axes` as an attribute up to opset 17, ReduceSum as an input from 13
            axes = a.get("axes") if op == "ReduceMax" else (x[1] if len(x) > 1 and x[1] is not None else None)
            axes = tuple(int(v) for v in axes) if axes is not None else None
            f = np.max if op == "ReduceMax" else np.sum
            out = f(x[0], axis=axes, keepdims=bool(a.get("keepdims", 1))).astype(x[0].dtype)
        elif op == "ArgMax":  # the first maximum (select_last_index 0, the exporter's)
            out = np.argmax(x[0], axis=a.get("axis", 0))
            if a.get("keepdims", 1):
                out = np.expand_dims(out, a.get("axis", 0))
        elif op == "Softmax":
            out = _softmax(x[0], a.get("axis", -1)).astype(x[0].dtype)
        elif op == "Split":
            axis = a.get("axis", 0)
            if len(x) > 1 and x[1] is not None:
                points = np.cumsum(x[1])[:-1]
            else:
                points = len(node.output)
            out = np.split(x[0], points, axis=axis)
        elif op == "Where":
            out = np.where(x[0], x[1], x[2])
        elif op == "Expand":
            out = x[0] * np.ones([int(s) for s in x[1]], dtype=x[0].dtype)
        elif op == "ConstantOfShape":
            val = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            out = np.full([int(s) for s in x[0]], val.reshape(-1)[0], dtype=val.dtype)
        elif op == "Range":
            out = np.arange(x[0], x[1], x[2]).astype(x[0].dtype)
        elif op == "Trilu":
            k = int(x[1]) if len(x) > 1 and x[1] is not None else 0
            out = np.triu(x[0], k) if a.get("upper", 1) else np.tril(x[0], k)
        else:
            raise NotImplementedError(f"onnx_ref: operator {op} is not implemented")
        outs = out if isinstance(out, list) else [out]
        for name, v in zip(node.output, outs):
            env[name] = np.asarray(v)
    return [env[o.name] for o in model.graph.output]
