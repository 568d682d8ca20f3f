"""The training loop: budget, schedule, evaluation, checkpoints, resume, cancellation.

Reads RUN/corpus, writes RUN/checkpoints, RUN/metrics.jsonl and (through export.py) RUN/model.onnx.
Progress goes out as protocol events (events.py). A run is a pure function of its configuration
and seed: batches, masks and rearrangements come from generators whose states are checkpointed
with the data cursor, so `--resume` after a kill reproduces the unkilled run (on the same device).
"""
from __future__ import annotations

import contextlib
import datetime
import gc
import inspect
import math
import os
import random
import signal
import time

import numpy as np
import torch

from . import objectives as obj
from .checkpoint import atomic_write_json, load_checkpoint, remove_stale_temps, save_checkpoint
from .data import Stream, eval_subset, load_corpus
from .doctor import bf16_native
from .errors import TrainerError
from .evaluate import infill_eval, val_loss
from .events import Events, log
from .model import PRESETS, ModelConfig, Transformer, auto_preset

DEFAULT_LR = {"nano": 3e-3, "tiny": 1e-3, "small": 6e-4, "base": 3e-4, "large": 2e-4}
DEFAULT_BATCH = {  # sequences per step per device
    "cpu": {"nano": 8, "tiny": 8, "small": 8, "base": 4, "large": 2},
    "cuda": {"nano": 64, "tiny": 64, "small": 32, "base": 16, "large": 8},
    "mps": {"nano": 16, "tiny": 16, "small": 8, "base": 4, "large": 2},
}
DEFAULT_MINUTES = 30.0
# How long a rank waits in a collective before the process group gives up on it. The defaults
# (30 min; 10 min for NCCL in some torch) can be shorter than rank 0's evaluation or export of a
# large model while the other ranks wait at the barrier.
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=2)


# ---------------------------------------------------------------- device and distribution

class Dist:
    """torchrun's environment, or a single process."""

    def __init__(self):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def init(self, device_type: str):
        if self.enabled:
            import torch.distributed as td
            kw = {"timeout": COLLECTIVE_TIMEOUT} if "timeout" in inspect.signature(td.init_process_group).parameters else {}
            td.init_process_group("nccl" if device_type == "cuda" else "gloo", **kw)

    def any(self, flag: bool) -> bool:
        """True on every rank if it is true on some rank (for stop flags)."""
        return self.agree_max(1.0 if flag else 0.0)[0] > 0

    def agree_max(self, *values: float) -> list:
        """Each value's maximum over the ranks, the same list on every rank (float64: elapsed
        seconds stay exact to the microsecond)."""
        if not self.enabled:
            return [float(v) for v in values]
        import torch.distributed as td
        t = torch.tensor(values, dtype=torch.float64, device=self._dev)
        td.all_reduce(t, op=td.ReduceOp.MAX)
        return t.tolist()

    def barrier(self):
        if self.enabled:
            import torch.distributed as td
            td.barrier()

    def close(self):
        """Leave together: a rank that tears down its group while a peer is still working (rank 0
        exports and writes the last events) can leave that peer blocked in its own teardown."""
        if self.enabled:
            import torch.distributed as td
            self.barrier()
            td.destroy_process_group()


def resolve_device(name: str, dist: Dist):
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise TrainerError("--device cuda was asked for but torch sees no CUDA GPU",
                               "Run `python -m trainer doctor`, or use --device cpu.")
        dev = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(dev)
        return dev, f"cuda:{dist.local_rank} {torch.cuda.get_device_name(dev)}"
    if name == "mps":
        if not has_mps:
            raise TrainerError("--device mps was asked for but MPS is not available", "Use --device cpu.")
        return torch.device("mps"), "mps"
    if (os.cpu_count() or 1) <= 2:
        torch.set_num_threads(1)  # platform notes: 2 threads fight OpenBLAS's own on 2 cores
    return torch.device("cpu"), "cpu"


def autocast_for(device) -> callable:
    if device.type == "cuda" and bf16_native():  # emulated bf16 (T4, V100) is slower than float32
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def compile_model(net, requested: bool | None, device, log=log):
    """torch.compile where it pays: asked for (--compile), or by default on CUDA, where it measured
    1.87x (small) and 2.05x (base) the tokens/s of eager bf16 on an H200 (docs/trainer.md "GPU
    check") for 18-22 s of compiling at the first step. By default a model that fails to compile
    (no Triton, no C compiler) runs eagerly (dynamo's suppress_errors); --compile lets the failure
    surface."""
    wanted = requested if requested is not None else device.type == "cuda"
    if not wanted:
        return net
    if not hasattr(torch, "compile"):
        if requested:
            log("--compile: this torch has no torch.compile; running eagerly")
        return net
    if requested is None:
        try:
            import torch._dynamo as dynamo  # (binds `dynamo` only: a plain import would make torch local)
            if hasattr(dynamo.config, "suppress_errors"):
                dynamo.config.suppress_errors = True
            else:
                return net  # no way to fall back to eager: compile only when asked
        except ImportError:
            return net
    log("torch.compile: the first step compiles the model (tens of seconds)")
    return torch.compile(net)  # training shapes are fixed; evaluation runs the eager model


def is_oom(e: BaseException) -> bool:
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    return (oom_type is not None and isinstance(e, oom_type)) or \
        (isinstance(e, RuntimeError) and "out of memory" in str(e).lower())


# ---------------------------------------------------------------- configuration

def resolve_config(args, corpus, device, dist: Dist, saved: dict | None) -> dict:
    """Everything the run depends on, as one JSON-able dict (saved beside each checkpoint).
    On resume the saved configuration wins, except for an explicitly given budget, the evaluation,
    checkpoint and log intervals, --compile/--no-compile, and --lr (the way on after a loss that became NaN)."""
    if saved:
        cfg = dict(saved)
        for k in ("minutes", "epochs", "tokens", "max_steps"):
            if any(getattr(args, b, None) is not None for b in ("minutes", "epochs", "tokens", "max_steps")):
                cfg[k] = getattr(args, k, None)
        for k in ("eval_every", "checkpoint_every", "log_every", "compile", "lr"):
            if getattr(args, k, None) is not None:
                cfg[k] = getattr(args, k)
        return cfg
    preset = args.preset
    if preset == "auto":
        mem = torch.cuda.get_device_properties(device).total_memory / 2**30 if device.type == "cuda" else 0.0
        preset = auto_preset(device.type, mem, len(corpus.train))
        log(f"preset auto -> {preset}")
    p = PRESETS[preset]
    seq_len = args.seq_len or p["max_seq_len"]
    if len(corpus.train) < seq_len + 1:  # a corpus shorter than one window: shrink the window
        seq_len = max(8, (len(corpus.train) - 1) // 8 * 8)
        log(f"the corpus has only {len(corpus.train)} tokens: sequence length {seq_len}")
    budget_given = any(getattr(args, k, None) is not None for k in ("minutes", "epochs", "tokens", "max_steps"))
    batch = args.batch_size or DEFAULT_BATCH.get(device.type, DEFAULT_BATCH["cpu"])[preset]
    return {
        "objective": args.objective, "preset": preset, "seed": args.seed,
        "seq_len": seq_len, "max_seq_len": seq_len,  # never serve positions it did not train on
        "batch_size": batch, "world_size": dist.world,
        "lr": args.lr or DEFAULT_LR[preset], "min_lr_ratio": 0.1, "warmup_steps": args.warmup_steps,
        "weight_decay": args.weight_decay, "betas": [0.9, 0.95], "grad_clip": 1.0,
        "minutes": args.minutes if budget_given else DEFAULT_MINUTES,
        "epochs": args.epochs, "tokens": args.tokens, "max_steps": args.max_steps,
        "span_rate": args.span_rate, "fim_rate": args.fim_rate, "threshold": 0.9,
        "eval_every": args.eval_every, "eval_tasks": args.eval_tasks,
        "checkpoint_every": args.checkpoint_every, "log_every": args.log_every,
        "compile": args.compile, "vocab_size": corpus.vocab_size,
        "corpus_sha256": corpus.corpus_sha256, "tokenizer_sha256": corpus.tokenizer_sha256,
        "eval_engine_length": not args.no_engine_length,
    }


def planned_steps(cfg: dict, windows_per_epoch: int) -> int | None:
    per_step = cfg["batch_size"] * cfg["world_size"]
    plans = []
    if cfg.get("max_steps"):
        plans.append(int(cfg["max_steps"]))
    if cfg.get("tokens"):
        plans.append(math.ceil(cfg["tokens"] / (per_step * cfg["seq_len"])))
    if cfg.get("epochs"):
        plans.append(math.ceil(cfg["epochs"] * windows_per_epoch / per_step))
    return max(1, min(plans)) if plans else None


def lr_at(cfg: dict, step: int, progress: float, warmup: int) -> float:
    """Linear warmup, then cosine from lr to min_lr_ratio * lr over the budget's progress (0..1)."""
    lr = cfg["lr"]
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min(1.0, max(0.0, progress))
    floor = lr * cfg["min_lr_ratio"]
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * progress))


def make_optimizer(model, cfg):
    decay = [p for p in model.parameters() if p.dim() >= 2]  # matrices and embeddings
    no_decay = [p for p in model.parameters() if p.dim() < 2]  # norm gains
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    kw = {}
    if next(model.parameters()).is_cuda:
        kw["fused"] = True
    try:
        return torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]), **kw)
    except (TypeError, RuntimeError):  # no fused AdamW in this torch
        return torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]))


def rng_state(gen: torch.Generator) -> dict:
    return {"torch": torch.get_rng_state(), "mask_gen": gen.get_state(),
            "numpy": np.random.get_state(), "python": random.getstate()}


def set_rng_state(st: dict, gen: torch.Generator):
    torch.set_rng_state(st["torch"])
    gen.set_state(st["mask_gen"])
    np.random.set_state(st["numpy"])
    random.setstate(st["python"])


# The least edit similarity by which a newer evaluation may trail and still count as noise. Within
# the noise the newer checkpoint wins: more epochs keep improving a diffusion model on repeated data
# (DESIGN.md), and early checkpoints that won by noise were exported by `npm start` twice and
# wrote nothing through the engine (3.5 epochs of 19, 16.0% vs 15.3%; 3.8 epochs of 20, 15.8% vs
# 11.4%). How large the noise is comes from the evaluations themselves (`edit_sim_noise`).
EDIT_SIM_NOISE = 0.02


def edit_sim_noise(a: dict, b: dict) -> float:
    """Two standard errors of the mean per-task difference in edit similarity between two
    evaluations of the same tasks (paired), at least EDIT_SIM_NOISE; EDIT_SIM_NOISE alone when the
    per-task figures are missing or the task lists differ (a resumed run with other --eval-tasks).
    On 32 tasks the standard error is several points: per-task similarities range over 0..1."""
    x, y = a.get("infill_edit_sims"), b.get("infill_edit_sims")
    if not x or not y or len(x) != len(y) or len(x) < 2:
        return EDIT_SIM_NOISE
    d = np.subtract(x, y)
    return max(EDIT_SIM_NOISE, 2 * float(d.std(ddof=1)) / math.sqrt(len(d)))


def better(a: dict, b: dict | None) -> bool:
    """Is eval a (the newer) better than b? By infill exact match; at equal exact match by edit
    similarity, where the newer wins unless it is worse by more than the noise (`edit_sim_noise`);
    with no infill tasks at all, by validation loss; with neither, the latest wins."""
    if b is None:
        return True
    if a.get("infill_exact") is not None and b.get("infill_exact") is not None:
        if a["infill_exact"] != b["infill_exact"]:
            return a["infill_exact"] > b["infill_exact"]
        return a["infill_edit_sim"] >= b["infill_edit_sim"] - edit_sim_noise(a, b)
    if a.get("val_loss") is not None and b.get("val_loss") is not None:
        return a["val_loss"] < b["val_loss"]
    return True


# ---------------------------------------------------------------- the run

class Cancel:
    def __init__(self):
        self.requested = False

    def install(self):
        def handler(signum, frame):
            if not self.requested:
                log(f"signal {signum}: checkpointing and stopping")
            self.requested = True
        self.previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}

    def uninstall(self):
        for s, h in getattr(self, "previous", {}).items():
            signal.signal(s, h)


def train(args) -> int:
    cancel = Cancel()
    cancel.install()
    try:
        return _train(args, cancel)
    finally:
        cancel.uninstall()


def _train(args, cancel: Cancel) -> int:
    run_dir = os.path.abspath(args.run)
    dist = Dist()
    events = Events(os.path.join(run_dir, "metrics.jsonl"), enabled=dist.main)
    t_start = time.time()

    device, device_name = resolve_device(args.device, dist)
    dist.init(device.type)
    dist._dev = device if device.type == "cuda" else torch.device("cpu")
    corpus = load_corpus(run_dir, log if dist.main else (lambda m: None))

    ckpt_dir = os.path.join(run_dir, "checkpoints")
    last_path, best_path = os.path.join(ckpt_dir, "last.pt"), os.path.join(ckpt_dir, "best.pt")
    saved = None
    if args.resume and os.path.exists(last_path):
        saved = load_checkpoint(last_path)
        if saved["model_config"]["vocab_size"] != corpus.vocab_size:
            raise TrainerError(
                f"the checkpoint's vocabulary ({saved['model_config']['vocab_size']} ids) does not match the corpus "
                f"({corpus.vocab_size} ids): the workspace was re-indexed with another tokenizer",
                "Start a new run without --resume (or delete RUN/checkpoints).")
        if saved["config"].get("corpus_sha256") != corpus.corpus_sha256:
            log("note: the corpus changed since the checkpoint; resuming on the new corpus")
    elif args.resume:
        log("--resume: no checkpoint yet, starting from scratch")

    cfg = resolve_config(args, corpus, device, dist, saved["config"] if saved else None)
    if saved and cfg["lr"] != saved["config"]["lr"]:
        log(f"--lr {cfg['lr']:g} replaces the checkpoint's peak learning rate {saved['config']['lr']:g}")
    args.resolved = cfg  # for the out-of-memory hint
    causal = cfg["objective"] == "autoregressive"
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"] % 2**32)
    random.seed(cfg["seed"])
    if saved:
        mcfg = ModelConfig(**saved["model_config"])
    else:
        mcfg = ModelConfig(**dict(PRESETS[cfg["preset"]], vocab_size=corpus.vocab_size, causal=causal,
                                  max_seq_len=cfg["max_seq_len"]))
    model = Transformer(mcfg)
    if saved:
        model.load_state_dict(saved["model"])
    model.to(device)
    opt = make_optimizer(model, cfg)
    window = cfg["seq_len"] + (1 if causal else 0)
    stream = Stream(corpus, window, cfg["seed"], span_rate=0.0 if causal else cfg["span_rate"],
                    seq_len=cfg["seq_len"])
    mask_gen = torch.Generator().manual_seed(cfg["seed"] + 1)
    step, tokens, elapsed_before, best, best_step = 0, 0, 0.0, None, None
    if saved:
        opt.load_state_dict(saved["optimizer"])
        ts = saved["train_state"]
        step, tokens, elapsed_before = ts["step"], ts["tokens"], ts["elapsed_s"]
        best, best_step = ts["best"], ts["best_step"]
        stream.load_state(ts["stream"])
        set_rng_state(ts["rng"], mask_gen)
        log(f"resumed from step {step} (epoch {stream.epoch_float:.3f})")

    net = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel as DDP
        net = DDP(net, device_ids=[device.index] if device.type == "cuda" else None)
    net = compile_model(net, cfg.get("compile"), device)
    autocast = autocast_for(device)

    wpe = stream.windows_per_epoch()
    plan = planned_steps(cfg, wpe)
    minutes = None if plan else cfg.get("minutes")
    warmup = cfg["warmup_steps"] if cfg["warmup_steps"] is not None else \
        max(1, min(100, (plan or 2000) // 20))
    # With a step plan, evaluate ~10 times (at most every 500 steps). With a time budget, evaluate
    # ~10 times too, but never spend more than ~10% of the time on evaluation (infill sampling
    # takes many forward passes, and the CPU is slow).
    eval_every = cfg["eval_every"] or (max(1, min(500, plan // 10)) if plan else None)
    ckpt_every = cfg["checkpoint_every"] or eval_every
    eval_interval_s = max(30.0, 6.0 * (minutes or 0))  # seconds, for a time budget without --eval-every
    tasks = eval_subset(corpus.eval_tasks, cfg["eval_tasks"], cfg["seed"])
    per_step_rows = cfg["batch_size"] * dist.world
    tokens_per_step = per_step_rows * cfg["seq_len"]
    raw_model = model

    def state_dict(include_opt=True) -> dict:
        st = {"model": raw_model.state_dict(), "model_config": mcfg.to_dict(), "config": cfg,
              "train_state": {"step": step, "tokens": tokens, "epoch": stream.epoch_float,
                              "elapsed_s": elapsed_before + time.time() - t_start, "best": best,
                              "best_step": best_step, "stream": stream.state(), "rng": rng_state(mask_gen)}}
        if include_opt:
            st["optimizer"] = opt.state_dict()
        return st

    def nonfinite_error(what: str) -> TrainerError:
        # On --resume, --lr replaces the saved learning rate (resolve_config), so both ways are true.
        return TrainerError(f"{what} at step {step}",
                            f"Lower the learning rate: train again with --lr {cfg['lr'] / 3:.2g}, adding --resume "
                            "to continue from last.pt (the last finite state; if it fails again at once, "
                            "start afresh without --resume).")

    # The first training window, to see whether the model's outputs are still finite: weights can
    # stay finite but so large that every logit overflows (seen with a far too high --lr).
    probe = torch.as_tensor(np.asarray(corpus.train[:cfg["seq_len"]], dtype=np.int64))[None].to(device)

    def check_finite():
        """Before last.pt or best.pt can take the weights: the step events check the loss only on
        the steps they are emitted, and an evaluation of a NaN model (pads decoded, scoring 0) could
        even win best.pt within the noise rule. Every rank calls it and the verdict is agreed, so
        that all ranks raise together (one alone would leave the others waiting in a collective).
        No randomness is drawn: a run stays reproducible."""
        loss_ok = bool(torch.isfinite(loss_acc))  # every step's loss since the last step event
        # the optimizer's moments too: grad**2 overflows to inf while the weights are still finite,
        # and a last.pt holding it fails on the first step of any --resume
        tensors = list(raw_model.parameters()) + [v for st in opt.state.values() for v in st.values()
                                                  if torch.is_tensor(v) and v.is_floating_point()]
        weights_ok = bool(torch.stack([torch.isfinite(t).all() for t in tensors]).all())
        with torch.no_grad(), autocast():
            outputs_ok = weights_ok and bool(torch.isfinite(raw_model(probe).float()).all())
        if dist.any(not (loss_ok and outputs_ok)):
            if not loss_ok:
                raise nonfinite_error(f"the loss became {float(loss_acc) / max(1, loss_n)}")
            raise nonfinite_error("the weights or optimizer moments became NaN/inf" if not weights_ok else
                                  "the model's outputs became NaN/inf" if not outputs_ok else
                                  "another rank's loss or weights became NaN/inf")

    def save_last():
        check_finite()
        if dist.main:
            save_checkpoint(last_path, state_dict())
            atomic_write_json(os.path.join(ckpt_dir, "config.json"),
                              {"config": cfg, "model_config": mcfg.to_dict(), "step": step})
            events.emit("checkpoint", step=step, path=last_path, best=False)

    def run_eval():
        nonlocal best, best_step
        check_finite()
        result = None
        if dist.main:
            raw_model.eval()
            result = {"step": step, "epoch": round(stream.epoch_float, 4)}
            result["val_loss"] = val_loss(raw_model, corpus.val, cfg["objective"], cfg["seq_len"],
                                          cfg["batch_size"], device, autocast, cfg["seed"])
            result.update(infill_eval(raw_model, tasks, cfg["objective"], mcfg.max_seq_len, device,
                                      corpus.decoder, cfg["threshold"], cfg.get("eval_engine_length", True)))
            raw_model.train()
            events.emit("eval", **result)
            slim = {k: result.get(k) for k in ("step", "epoch", "val_loss", "infill_exact", "infill_edit_sim",
                                               "infill_edit_sims", "by_kind", "infill_exact_engine_length")}
            if better(slim, best):
                best, best_step = slim, step
                st = state_dict(include_opt=False)
                save_checkpoint(best_path, st)
                events.emit("checkpoint", step=step, path=best_path, best=True)
            log(f"eval step {step}: val_loss {result['val_loss']} infill_exact {result['infill_exact']} "
                f"edit_sim {result['infill_edit_sim']}")
        dist.barrier()
        return result

    if dist.main:
        os.makedirs(ckpt_dir, exist_ok=True)
        remove_stale_temps(ckpt_dir, log)  # a writer SIGKILLed mid-checkpoint leaves GBs behind
        events.emit("start", run_id=os.path.basename(run_dir), device=device_name,
                    params=raw_model.num_params(), tokens_per_epoch=len(corpus.train),
                    planned_steps=plan, planned_epochs=(plan * per_step_rows / wpe) if plan else None,
                    planned_minutes=minutes, preset=cfg["preset"], objective=cfg["objective"],
                    batch_size=cfg["batch_size"], seq_len=cfg["seq_len"], world_size=dist.world,
                    eval_tasks=len(tasks), resumed_from_step=step if saved else None,
                    model_config=mcfg.to_dict())
        log(f"{cfg['objective']} {cfg['preset']} ({raw_model.num_params():,} params) on {device_name}; "
            f"{len(corpus.train):,} train tokens, {wpe} windows/epoch, budget " +
            (f"{plan} steps" if plan else f"{minutes:g} minutes"))

    net.train()
    reason = None
    loss_acc, loss_n = torch.zeros((), device=device), 0
    t_log, tok_log, last_eval_step = time.time(), tokens, (step if saved else -1)
    last_save_step = step if saved else -1
    t_eval, eval_cost = time.time(), 0.0
    while True:
        # One decision for all ranks, from the longest-running rank's clock: each rank's t_start
        # is its own, so a rank deciding alone could leave the loop for the final evaluation while
        # the others still wait in the gradient all-reduce (a hang), and would set its own lr.
        cancelled, elapsed = dist.agree_max(1.0 if cancel.requested else 0.0,
                                            elapsed_before + time.time() - t_start)
        progress = step / plan if plan else elapsed / (60 * minutes)
        if plan and step >= plan:
            reason = "epochs" if cfg.get("epochs") and not cfg.get("tokens") and not cfg.get("max_steps") else "budget"
        elif not plan and progress >= 1:
            reason = "budget"
        if cancelled and reason is None:
            reason = "cancelled"
        if reason:
            break
        lr = lr_at(cfg, step, progress, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        if causal:
            batch = obj.ar_batch(stream.ar_windows(per_step_rows), cfg["fim_rate"], cfg["seq_len"], stream.rng)
        else:
            rows, canvases = stream.diffusion_rows(per_step_rows)
            batch = obj.diffusion_batch(rows, canvases, mask_gen)
        if dist.enabled:  # every rank built the same global batch; keep this rank's rows
            batch = {k: v[dist.rank::dist.world] for k, v in batch.items()}
        with autocast():
            logits = net(batch["input"].to(device, non_blocking=True))
            if causal:
                loss = obj.ar_loss(logits, batch["target"].to(device))
            else:
                loss = obj.diffusion_loss(logits, batch["target"].to(device), batch["masked"].to(device),
                                          batch["t"], batch["loss_len"])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), cfg["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens += tokens_per_step
        loss_acc += loss.detach()
        loss_n += 1
        now = time.time()
        log_every = cfg.get("log_every")
        if dist.main and ((log_every and step % log_every == 0) or (not log_every and now - t_log >= 1.0)
                          or step == 1 or step == plan):
            tps = (tokens - tok_log) / max(1e-9, now - t_log)
            elapsed = elapsed_before + now - t_start
            if plan:
                eta = (plan - step) * tokens_per_step / max(tps, 1e-9)
            else:
                eta = max(0.0, 60 * minutes - elapsed)
            mean_loss = float(loss_acc) / loss_n
            events.emit("step", step=step, epoch=round(stream.epoch_float, 4), loss=mean_loss, lr=lr,
                        tokens=tokens, tokens_per_s=round(tps, 1), eta_s=round(eta, 1))
            loss_acc.zero_()
            loss_n, t_log, tok_log = 0, now, tokens
            if not math.isfinite(mean_loss):
                raise nonfinite_error(f"the loss became {mean_loss}")
        if eval_every:
            eval_now = step % eval_every == 0
        else:
            eval_now = now - t_eval >= max(eval_interval_s, 9.0 * eval_cost)
            if dist.enabled:
                eval_now = dist.any(eval_now)
        if eval_now:
            t0 = time.time()
            run_eval()
            t_eval, eval_cost = time.time(), time.time() - t0
            last_eval_step = step
        if (step % ckpt_every == 0) if ckpt_every else eval_now:
            save_last()
            last_save_step = step

    if reason != "cancelled" and last_eval_step != step:
        run_eval()
    if last_save_step != step:
        save_last()
    if dist.enabled:
        log(f"rank {dist.rank}: stopped at step {step} ({reason})")
    if dist.main:
        if reason != "cancelled" and not args.no_export:
            from .export import export_run
            path = export_run(run_dir, best_path if os.path.exists(best_path) else last_path, log=log)
            events.emit("export", path=path, json=os.path.join(run_dir, "model.json"))
        events.emit("done", reason=reason, best_step=best_step, step=step, tokens=tokens,
                    epoch=round(stream.epoch_float, 4), best=best,
                    elapsed_s=round(elapsed_before + time.time() - t_start, 2))
    # The DDP wrapper's reducer holds the process group too: freed after `dist.close()` (with this
    # frame, after the peer may have exited), it was the group's last owner and tore gloo down
    # then, alone; a rank once spun there at 100% CPU. Freed here, the group goes down inside
    # `destroy_process_group`, past the barrier, on every rank alike.
    net = None
    gc.collect()
    dist.close()
    return 0
