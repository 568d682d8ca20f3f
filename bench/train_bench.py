"""Training throughput of the trainer vs a plain PyTorch loop over the same model (CPU by default).

    /usr/bin/python3 bench/train_bench.py [--presets tiny,small] [--steps 12] [--batch 8] [--seq 256]

For each preset: (1) a bare loop — random windows, random masks, forward, masked CE / t, backward,
clip, AdamW — timed step by step in this process; (2) `python -m trainer train` on a synthetic
corpus of the same vocabulary (8192) with --log-every 1 and no evaluation or checkpoints inside the
measured steps, its per-step `tokens_per_s` read from the step events. Medians exclude the first
two (warm-up) steps of each measurement.

Wall-clock rates swing with whatever else runs on the machine, so the comparison that decides is in
CPU seconds (user + sys; one torch thread on <= 2 cores, so CPU time ~ wall time when idle): both
run as child processes, and the CPU time of a run of 2N steps minus that of a run of N steps is
what N steps cost (start-up, the trainer's final evaluation and checkpoint cancel out). The ratio
trainer/plain in tokens per CPU second is the trainer's overhead (data stream, span examples,
events): 1.0 means none.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from trainer.model import PRESETS, ModelConfig, Transformer  # noqa: E402

VOCAB = 8192


def plain_loop(preset: str, steps: int, batch: int, seq: int, device: str, bf16: bool = False) -> list:
    """The bare loop (float32, or bf16 autocast as the trainer uses on GPUs that have it); -> tokens/s
    of each step (wall)."""
    autocast = (lambda: torch.autocast(device, dtype=torch.bfloat16)) if bf16 else contextlib.nullcontext
    torch.manual_seed(0)
    model = Transformer(ModelConfig(**dict(PRESETS[preset], vocab_size=VOCAB, max_seq_len=seq))).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    data = torch.randint(6, VOCAB, (200_000,))
    rates = []
    for _ in range(steps):
        t0 = time.perf_counter()
        starts = torch.randint(0, len(data) - seq, (batch,))
        x = torch.stack([data[s:s + seq] for s in starts.tolist()])
        t = 1e-3 + (1 - 1e-3) * torch.rand(batch)
        masked = torch.rand(batch, seq) < t[:, None]
        noisy = torch.where(masked, torch.full_like(x, 2), x).to(device)
        with autocast():
            logits = model(noisy)
        ce = F.cross_entropy(logits.float().view(-1, VOCAB), x.to(device).view(-1), reduction="none").view(batch, seq)
        loss = ((ce * masked.to(device)).sum(1) / t.to(device)).mean() / seq
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        rates.append(batch * seq / (time.perf_counter() - t0))
    return rates


def make_corpus(run: str):
    cdir = os.path.join(run, "corpus")
    os.makedirs(cdir, exist_ok=True)
    rng = np.random.default_rng(0)
    train = rng.integers(6, VOCAB, 200_000).astype("<u2")
    train[::500] = 1  # documents joined by <|eos|>
    train.tofile(os.path.join(cdir, "train.bin"))
    rng.integers(6, VOCAB, 4_000).astype("<u2").tofile(os.path.join(cdir, "val.bin"))
    with open(os.path.join(cdir, "manifest.json"), "w") as f:
        json.dump({"vocab_size": VOCAB, "token_dtype": "uint16", "train_tokens": len(train), "val_tokens": 4000}, f)


def trainer_side_ms(batch: int, seq: int, iters: int = 200) -> float:
    """Median ms a step spends outside the model in the trainer: the data stream with span-infill
    rows, masking, and one step event (stdout + metrics.jsonl). Immune to machine load."""
    from trainer.data import load_corpus, Stream
    from trainer.events import Events
    from trainer.objectives import diffusion_batch
    with tempfile.TemporaryDirectory() as run:
        make_corpus(run)
        corpus = load_corpus(run)
        stream = Stream(corpus, seq, seed=0, span_rate=0.5, seq_len=seq)
        gen = torch.Generator().manual_seed(0)
        sink = open(os.devnull, "w")
        events = Events(os.path.join(run, "metrics.jsonl"), stdout=sink)
        times = []
        for i in range(iters):
            t0 = time.perf_counter()
            rows, canvases = stream.diffusion_rows(batch)
            diffusion_batch(rows, canvases, gen)
            events.emit("step", step=i, epoch=stream.epoch_float, loss=1.0, lr=1e-3, tokens=i, tokens_per_s=1.0, eta_s=1.0)
            times.append(time.perf_counter() - t0)
        sink.close()
    return 1000 * statistics.median(times)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def plain_run(preset: str, steps: int, batch: int, seq: int, device: str):
    """The bare loop in a child process; -> (tokens/s per step (wall), CPU seconds of the run)."""
    cmd = [sys.executable, __file__, "--plain-child", "--presets", preset, "--steps", str(steps),
           "--batch", str(batch), "--seq", str(seq), "--device", device]
    cpu0 = children_cpu()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    cpu = children_cpu() - cpu0
    if r.returncode:
        raise SystemExit(r.stderr[-2000:])
    return json.loads(r.stdout), cpu


def trainer_run(preset: str, steps: int, batch: int, seq: int, device: str):
    """-> (tokens/s per step from the step events (wall), CPU seconds of the whole run)."""
    with tempfile.TemporaryDirectory() as run:
        make_corpus(run)
        cmd = [sys.executable, "-m", "trainer", "train", run, "--preset", preset, "--max-steps", str(steps),
               "--batch-size", str(batch), "--seq-len", str(seq), "--device", device, "--log-every", "1",
               "--eval-every", str(10 * steps), "--eval-tasks", "0", "--no-export"]
        cpu0 = children_cpu()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        cpu = children_cpu() - cpu0
        if r.returncode:
            raise SystemExit(r.stdout[-2000:] + r.stderr[-2000:])
        return [e["tokens_per_s"] for e in map(json.loads, r.stdout.splitlines()) if e["type"] == "step"], cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="tiny,small", help="comma-separated presets")
    ap.add_argument("--steps", type=int, default=12, help="steps per measurement (the first 2 are warm-up)")
    ap.add_argument("--batch", type=int, default=8, help="sequences per step")
    ap.add_argument("--seq", type=int, default=256, help="tokens per sequence")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--rounds", type=int, default=1, help="rounds of (plain, trainer N steps, trainer 2N steps)")
    ap.add_argument("--plain-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.device == "cpu" and (os.cpu_count() or 1) <= 2:
        torch.set_num_threads(1)  # as the trainer does (platform notes)
    if args.plain_child:
        print(json.dumps(plain_loop(args.presets, args.steps, args.batch, args.seq, args.device)))
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {args.batch} x {args.seq}, "
          f"{args.rounds} rounds x {args.steps} steps, device {args.device}, load {os.getloadavg()[0]:.1f}")
    print(f"{'preset':<8}{'params':>12}{'plain tok/s':>13}{'trainer tok/s':>15}"
          f"{'plain tok/cpu-s':>17}{'trainer tok/cpu-s':>19}{'trainer/plain (cpu)':>21}")
    step_ms = {}
    for preset in args.presets.split(","):
        params = Transformer(ModelConfig(**dict(PRESETS[preset], vocab_size=VOCAB))).num_params()
        plain, ours, plain_cpu, ours_cpu = [], [], [], []
        for _ in range(args.rounds):
            rates_n, cpu_n = plain_run(preset, args.steps, args.batch, args.seq, args.device)
            rates_2n, cpu_2n = plain_run(preset, 2 * args.steps, args.batch, args.seq, args.device)
            plain += rates_n[2:] + rates_2n[2:]
            plain_cpu.append(args.steps * args.batch * args.seq / (cpu_2n - cpu_n))
            rates_n, cpu_n = trainer_run(preset, args.steps, args.batch, args.seq, args.device)
            rates_2n, cpu_2n = trainer_run(preset, 2 * args.steps, args.batch, args.seq, args.device)
            ours += rates_n[2:] + rates_2n[2:]
            ours_cpu.append(args.steps * args.batch * args.seq / (cpu_2n - cpu_n))
        p, o = statistics.median(plain), statistics.median(ours)
        pc, oc = statistics.median(plain_cpu), statistics.median(ours_cpu)
        print(f"{preset:<8}{params:>12,}{p:>13,.0f}{o:>15,.0f}{pc:>17,.0f}{oc:>19,.0f}{oc / pc:>21.3f}", flush=True)
        step_ms[preset] = 1000 * args.batch * args.seq / pc
    side = trainer_side_ms(args.batch, args.seq)
    print(f"trainer-side work per step (data, span rows, masks, event): {side:.2f} ms median; " +
          ", ".join(f"{100 * side / ms:.2f}% of a {k} step ({ms:.0f} ms/cpu)" for k, ms in step_ms.items()))


if __name__ == "__main__":
    main()
