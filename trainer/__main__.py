"""Command line: python -m trainer {train,export,doctor,sample} (docs/contracts.md, docs/trainer.md).

Exit codes: 0 success (and cancellation), 1 failure after an `error` event on stdout, 2 bad
arguments (argparse). Failures are reported as an event with a hint, never a bare traceback.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import traceback

from .errors import TrainerError
from .events import Events, log


def positive_int(s):
    v = int(s)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"{s} is not a positive integer")
    return v


def positive_float(s):
    v = float(s)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"{s} is not a positive number")
    return v


def rate(s):
    v = float(s)
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"{s} is not in [0, 1]")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m trainer", description="Repo Diffusion trainer")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on RUN/corpus")
    t.add_argument("run", help="the run folder (holds corpus/; checkpoints/, metrics.jsonl, model.onnx are written)")
    t.add_argument("--objective", choices=["diffusion", "autoregressive"], default="diffusion",
                   help="masked diffusion (default) or the autoregressive FIM baseline")
    t.add_argument("--preset", choices=["auto", "nano", "tiny", "small", "base", "large"], default="auto",
                   help="model size; auto picks by device, memory and corpus size (nano is for tests)")
    budget = t.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=positive_float, help="train for this many minutes of wall time (default 30)")
    budget.add_argument("--epochs", type=positive_float, help="train for this many passes over the unique training tokens")
    budget.add_argument("--tokens", type=positive_int, help="train on this many tokens (counting repeats)")
    budget.add_argument("--max-steps", type=positive_int, help="train for this many optimizer steps")
    t.add_argument("--device", choices=["auto", "cuda", "mps", "cpu"], default="auto", help="where to train (auto: cuda, mps, cpu)")
    t.add_argument("--resume", action="store_true", help="continue from RUN/checkpoints/last.pt if it exists")
    t.add_argument("--seed", type=int, default=0, help="seed for initialisation, data order and masks")
    t.add_argument("--eval-every", type=positive_int, help="evaluate every N steps (default: ~10 evals a run, at most every 500 steps)")
    t.add_argument("--eval-tasks", type=int, default=32, help="held-out infill tasks per evaluation, spread over kinds (0: none)")
    t.add_argument("--no-engine-length", action="store_true", help="skip the engine-style (16/32/64 canvas) infill measure")
    t.add_argument("--checkpoint-every", type=positive_int, help="write last.pt every N steps (default: --eval-every)")
    t.add_argument("--log-every", type=positive_int, help="emit a step event every N steps (default: about once a second)")
    t.add_argument("--batch-size", type=positive_int, help="sequences per step per device (default by preset and device)")
    t.add_argument("--seq-len", type=positive_int, help="tokens per training sequence (default: the preset's max_seq_len)")
    t.add_argument("--lr", type=positive_float, help="peak learning rate (default by preset)")
    t.add_argument("--warmup-steps", type=int, help="linear warmup steps (default: 5%% of the plan, at most 100)")
    t.add_argument("--weight-decay", type=float, default=0.1, help="AdamW weight decay on matrices and embeddings")
    t.add_argument("--span-rate", type=rate, default=0.5, help="share of diffusion sequences built as span-infill examples")
    t.add_argument("--fim-rate", type=rate, default=0.5, help="share of autoregressive sequences rearranged PSM")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile the model (default: on CUDA, falling back to eager if it fails)")
    t.add_argument("--no-export", action="store_true", help="do not export model.onnx at the end")

    e = sub.add_parser("export", help="export a checkpoint to RUN/model.onnx + model.json")
    e.add_argument("run", help="the run folder")
    e.add_argument("--checkpoint", help="checkpoint to export (default: RUN/checkpoints/best.pt, else last.pt)")
    e.add_argument("--parity-fixture", metavar="PATH",
                   help="also write {input_ids, logits} JSON (PyTorch float32) for the engine's onnxruntime parity test")
    e.add_argument("--verify", action="store_true",
                   help="check the graph with onnx.checker and compare it to PyTorch with a numpy evaluator (needs the onnx package)")

    sub.add_parser("doctor", help="print what this Python can do for training, as JSON")

    s = sub.add_parser("sample", help="debug: run the infill sampler of a checkpoint on given ids")
    s.add_argument("run", help="the run folder")
    s.add_argument("--checkpoint", help="checkpoint (default: best.pt, else last.pt)")
    s.add_argument("--prefix-ids", default="", help="comma-separated prefix ids")
    s.add_argument("--suffix-ids", default="", help="comma-separated suffix ids")
    s.add_argument("--canvas", type=positive_int, default=16, help="canvas length (diffusion) or max new tokens (AR)")
    s.add_argument("--threshold", type=float, default=0.9, help="confidence threshold tau")
    s.add_argument("--window", type=int, default=None,
                   help="sliding window: decide among the leftmost N undecided positions (default: the editor's, sampling.py DEFAULT_WINDOW; 0: the whole canvas)")
    return p


def _ids(s: str):
    return [int(v) for v in s.replace(" ", "").split(",") if v]


def run_sample(args) -> int:
    from .export import model_from_checkpoint
    from .checkpoint import load_checkpoint
    from .sampling import DEFAULT_WINDOW, ar_infill, diffusion_infill, model_logits_fn
    ck = args.checkpoint or next((p for p in (os.path.join(args.run, "checkpoints", n) for n in ("best.pt", "last.pt"))
                                  if os.path.exists(p)), os.path.join(args.run, "checkpoints", "last.pt"))
    state = load_checkpoint(ck)
    model = model_from_checkpoint(state)
    fn = model_logits_fn(model, "cpu")
    P, S = _ids(args.prefix_ids), _ids(args.suffix_ids)
    if model.cfg.causal:
        out = {"ids": ar_infill(fn, P, S, args.canvas)}
    else:
        ids, filled, steps = diffusion_infill(fn, P, S, args.canvas, args.threshold,
                                              window=DEFAULT_WINDOW if args.window is None else args.window)
        out = {"ids": ids, "filled": filled, "steps": steps}
    print(json.dumps(out))
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    run_dir = getattr(args, "run", None)
    events = Events(os.path.join(run_dir, "metrics.jsonl") if run_dir and args.command == "train"
                    and os.path.isdir(run_dir) else None,
                    enabled=int(os.environ.get("RANK", "0")) == 0)
    try:
        if args.command == "doctor":
            from .doctor import report
            print(json.dumps(report(), indent=2))
            return 0
        if run_dir and not os.path.isdir(run_dir):
            raise TrainerError(f"run folder {run_dir} does not exist", "Index the workspace first, or check the path.")
        if args.command == "train":
            from .train import train
            return train(args)
        if args.command == "export":
            from .export import export_run, parity_fixture
            path = export_run(run_dir, args.checkpoint, log=log)
            events.emit("export", path=path, json=os.path.join(run_dir, "model.json"))
            if args.verify:
                from .export import verify_export
                err = verify_export(run_dir, args.checkpoint)
                log(f"verified {path}: max |onnx - torch| = {err:.3g}")
            if args.parity_fixture:
                parity_fixture(run_dir, args.parity_fixture, args.checkpoint)
                log(f"parity fixture -> {args.parity_fixture}")
            return 0
        if args.command == "sample":
            return run_sample(args)
    except TrainerError as e:
        events.emit("error", message=e.message, hint=e.hint)
        log(f"error: {e.message}" + (f" ({e.hint})" if e.hint else ""))
        return 1
    except OSError as e:
        if e.errno == errno.ENOSPC:
            msg, hint = f"the disk is full ({e.filename or 'writing the run folder'})", \
                "Free some disk space (old runs in the extension's storage are safe to delete), then train again with --resume."
        else:
            msg, hint = f"{type(e).__name__}: {e}", "Check that the run folder is writable and the disk is healthy."
        events.emit("error", message=msg, hint=hint)
        log(f"error: {msg}")
        return 1
    except MemoryError:
        events.emit("error", message="out of memory (host RAM)", hint="Use a smaller --preset or --batch-size.")
        return 1
    except Exception as e:  # last resort: still one event with a hint, the traceback goes to stderr
        from .train import is_oom
        if is_oom(e):
            events.emit("error", message="the GPU ran out of memory",
                        hint=_oom_hint(args))
            log(f"error: out of memory: {str(e)[:300]}")
            return 1
        traceback.print_exc(file=sys.stderr)
        events.emit("error", message=f"internal error: {type(e).__name__}: {str(e)[:500]}",
                    hint="This is a trainer bug; the full traceback is in the log. Try --resume, or report it.")
        return 1
    return 2


def _oom_hint(args) -> str:
    order = ["nano", "tiny", "small", "base", "large"]
    cfg = getattr(args, "resolved", None) or {}
    preset = cfg.get("preset") or getattr(args, "preset", "auto")
    smaller = order[max(0, order.index(preset) - 1)] if preset in order else "tiny"
    bs = cfg.get("batch_size") or getattr(args, "batch_size", None)
    half = f"--batch-size {max(1, bs // 2)}" if bs else "a smaller --batch-size (half the default)"
    return f"Try {half}, or --preset {smaller}, or a shorter --seq-len."


if __name__ == "__main__":
    sys.exit(main())
