"""One pass over the trainer's GPU path, for a lent GPU machine (docs/trainer.md "GPU check").

    python3 bench/gpu_check.py --corpus RUN/corpus --out DIR [--budget 420] [--stages env,diffusion,...]

Stages, in order of importance, each in its own process with a time limit, so that one failure or
hang costs only its stage; the CPU-only stages run beside the GPU ones:
  env       nvidia-smi, torch, `python -m trainer doctor`
  plain     a bare training loop (bench/train_bench.py's) in float32 and in bf16 autocast, side by
            side, small (32 x 512) and base (16 x 1024): tokens/s medians, peak memory, and whether
            the flash SDPA kernel accepts the model's attention in bf16
  diffusion `python -m trainer train` small on the given corpus as the editor runs it (torch.compile
            by default on CUDA), with evaluations and the export
  export    the GPU-trained checkpoint exported again in a process that sees no GPU, `--verify`
            (numpy evaluator vs PyTorch), and onnxruntime's logits vs PyTorch's
  pytest    test/python on the CPU (CUDA hidden) under this machine's torch
  ddp       `torchrun --nproc_per_node 1` (NCCL process group, DDP wrapper), then `--resume`
  auto      `--preset auto` (base on a large GPU with this corpus), with the export
  ar        the autoregressive baseline, small, with evaluation and export
  compile   `--compile` against `--no-compile`, small and base, the same flags otherwise
Prints a table last; writes summary.json and the logs to --out.
`--quick --device cpu` runs the same stages with the nano preset on a CPU (to check this script).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))


STAGES = ("env", "pytest", "plain", "diffusion", "export", "ddp", "auto", "ar", "compile")


class Stages:
    """Runs commands against one overall deadline and keeps what each printed."""

    def __init__(self, out: str, budget_s: float):
        self.out, self.deadline = out, time.time() + budget_s
        self.results: dict = {}
        self.log = open(os.path.join(out, "stages.log"), "w")
        self.background: dict = {}

    def left(self, reserve: float = 0.0) -> float:
        return max(5.0, self.deadline - time.time() - reserve)

    def _write(self, name, cmd, rc, secs, stdout, stderr):
        self.log.write(f"\n===== {name}: rc={rc} in {secs:.1f}s: {' '.join(cmd)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n")
        self.log.flush()

    def run(self, name: str, cmd: list, limit: float, env: dict = None, reserve: float = 0.0) -> tuple:
        limit = min(limit, self.left(reserve))
        t0 = time.time()
        try:
            r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit, env=env)
            rc, stdout, stderr = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as e:  # its output comes as bytes even with text=True
            rc = "timeout"
            stdout, stderr = (x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (e.stdout, e.stderr))
        secs = time.time() - t0
        self._write(name, cmd, rc, secs, stdout, stderr)
        return rc, stdout, stderr, secs

    def start(self, name: str, cmd: list, env: dict = None):
        """A background command; its output goes to OUT/NAME.log."""
        f = open(os.path.join(self.out, f"{name}.log"), "w")
        self.background[name] = (subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env), f, time.time())

    def wait(self, name: str, reserve: float = 0.0):
        proc, f, t0 = self.background[name]
        try:
            rc = proc.wait(timeout=self.left(reserve))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "timeout"
        f.close()
        with open(f.name) as g:
            text = g.read()
        return rc, text, time.time() - t0


def events_of(stdout: str) -> list:
    out = []
    for line in stdout.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if isinstance(e, dict) and "type" in e:
            out.append(e)
    return out


def train_summary(events: list, skip_steps: int) -> dict:
    """What a trainer run showed: device, rates, evaluations, export, how it ended."""
    start = next((e for e in events if e["type"] == "start"), {})
    steps = [e for e in events if e["type"] == "step"]
    rates = [e["tokens_per_s"] for e in steps if e["step"] > skip_steps]
    evals = [e for e in events if e["type"] == "eval"]
    done = next((e for e in events if e["type"] == "done"), {})
    errors = [e for e in events if e["type"] == "error"]
    return {
        "device": start.get("device"), "preset": start.get("preset"), "params": start.get("params"),
        "batch": start.get("batch_size"),
        "seq_len": start.get("seq_len"), "world_size": start.get("world_size"),
        "resumed_from_step": start.get("resumed_from_step"),
        "tokens_per_s_median": round(statistics.median(rates)) if rates else None,
        # seconds from start to the first step: the compile, for a compiled run
        "first_step_s": round(steps[0]["time"] - start["time"], 1) if steps and start else None,
        "first_loss": steps[0]["loss"] if steps else None, "last_loss": steps[-1]["loss"] if steps else None,
        "evals": [{k: e.get(k) for k in ("step", "val_loss", "infill_exact", "infill_edit_sim",
                                          "infill_exact_engine_length")} for e in evals],
        "exported": any(e["type"] == "export" for e in events),
        "done": {k: done.get(k) for k in ("reason", "step", "best_step", "elapsed_s")} if done else None,
        "errors": errors,
    }


def make_run(corpus: str) -> str:
    run = tempfile.mkdtemp(prefix="gpu-check-")
    shutil.copytree(corpus, os.path.join(run, "corpus"))
    return run


def plain_stage(device: str, quick: bool) -> dict:
    """float32 vs bf16 autocast on the bare loop, the same model and data, in this process."""
    import torch
    from train_bench import plain_loop
    configs = [("nano", 8, 128)] if quick else [("small", 32, 512), ("base", 16, 1024)]
    steps = 6 if quick else 25
    out = {}
    for preset, batch, seq in configs:
        row = {"batch": batch, "seq": seq}
        for amp in (False, True):
            if device == "cuda":
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            rates = plain_loop(preset, steps, batch, seq, device, bf16=amp)
            key = "bf16" if amp else "fp32"
            row[f"{key}_tokens_per_s"] = round(statistics.median(rates[5 if not quick else 2:]))
            if device == "cuda":
                row[f"{key}_peak_gib"] = round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
        row["bf16_over_fp32"] = round(row["bf16_tokens_per_s"] / row["fp32_tokens_per_s"], 2)
        out[preset] = row
    out["flash_sdpa_bf16"] = flash_check(device)
    return out


def flash_check(device: str) -> str:
    """Does the flash kernel take the model's attention call (bf16, causal and not)?"""
    import torch
    import torch.nn.functional as F
    if device != "cuda":
        return "n/a (cpu)"
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return "n/a (no torch.nn.attention)"
    q = torch.randn(4, 8, 512, 64, device="cuda", dtype=torch.bfloat16)
    try:
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            for causal in (False, True):
                F.scaled_dot_product_attention(q, q, q, is_causal=causal)
        torch.cuda.synchronize()
        return "ok"
    except RuntimeError as e:
        return f"refused: {str(e)[:200]}"


def ort_parity(run: str) -> dict:
    """onnxruntime (CPU) on model.onnx vs the PyTorch checkpoint it came from, float32."""
    import numpy as np
    import torch
    try:
        import onnxruntime as ort
    except ImportError:
        return {"ort": "not installed"}
    from trainer.checkpoint import load_checkpoint
    from trainer.export import model_from_checkpoint
    meta = json.load(open(os.path.join(run, "model.json")))
    model = model_from_checkpoint(load_checkpoint(os.path.join(run, "checkpoints", "best.pt"))).eval()
    ids = torch.randint(6, model.cfg.vocab_size, (1, 200))
    with torch.no_grad():
        ref = model(ids).float().numpy()
    sess = ort.InferenceSession(os.path.join(run, "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: ids.numpy().astype(np.int64)})[0]
    rel = float(np.linalg.norm(got - ref) / np.linalg.norm(ref))
    return {"ort": ort.__version__, "graphs": sorted(meta.get("graphs", {})), "rel_err": rel,
            "argmax_agree": float((got.argmax(-1) == ref.argmax(-1)).mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", required=True, help="a run's corpus/ folder (the trainer's input)")
    ap.add_argument("--out", required=True, help="folder for summary.json and logs")
    ap.add_argument("--budget", type=float, default=420, help="seconds for all stages together")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="nano preset and few steps (to check this script)")
    ap.add_argument("--stages", default=",".join(STAGES), help="comma-separated, from: " + ", ".join(STAGES))
    ap.add_argument("--ort-parity-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ort_parity_child:
        print(json.dumps(ort_parity(args.ort_parity_child)))
        return
    want = set(args.stages.split(","))
    if want - set(STAGES):
        ap.error(f"unknown stages: {', '.join(sorted(want - set(STAGES)))}")
    os.makedirs(args.out, exist_ok=True)
    st = Stages(args.out, args.budget)
    py, res, q = sys.executable, st.results, args.quick
    preset = "nano" if q else "small"
    cpu_env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="2")

    # env
    rc, smi, _, _ = st.run("nvidia-smi", ["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                                          "--format=csv,noheader"], 20) if shutil.which("nvidia-smi") else (None, "", "", 0)
    rc, doc, _, _ = st.run("doctor", [py, "-m", "trainer", "doctor"], 60)
    try:
        doctor = json.loads(doc)
    except ValueError:
        doctor = {"unparsed": doc[-500:]}
    res["env"] = {"gpu": smi.strip(), "doctor": doctor}
    print(f"env: {smi.strip()} torch {doctor.get('torch')}", flush=True)

    # the CPU-only test suite runs beside the GPU stages (CUDA hidden: the tests assume a CPU)
    if "pytest" in want and not q:
        st.start("pytest", [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "6",
                            "test/python"], env=cpu_env)

    if "plain" in want:
        t0 = time.time()
        try:
            res["plain"] = plain_stage(args.device, q)
        except Exception as e:  # noqa: BLE001 — a check script reports and goes on
            res["plain"] = {"error": f"{type(e).__name__}: {e}"[:500]}
        print(f"plain ({time.time() - t0:.0f}s): {json.dumps(res['plain'])}", flush=True)

    # diffusion, as the editor runs it (torch.compile by default on CUDA)
    if "diffusion" in want:
        diffusion_stage(st, args, preset, cpu_env, "export" in want)
    if "ddp" in want:
        ddp_stage(st, args)
    if "auto" in want:
        auto_stage(st, args)
    if "ar" in want:
        ar_stage(st, args, preset)
    if "compile" in want:
        compile_stage(st, args)
    finish(st, args)


def train_stage(st, args, name: str, run: str, train_args: list, limit: float, skip_steps: int,
                reserve: float = 0.0, torchrun: bool = False) -> dict:
    """`python -m trainer train RUN` (through `torchrun` with one rank if asked) -> its summary."""
    launcher = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1"] if torchrun else []
    cmd = [sys.executable, *launcher, "-m", "trainer", "train", run, "--device", args.device, *train_args]
    rc, out, err, secs = st.run(name, cmd, limit, reserve=reserve)
    print(f"{name}: rc={rc} {secs:.0f}s", flush=True)
    return dict(train_summary(events_of(out), skip_steps), rc=rc, wall_s=round(secs, 1), stderr_tail=err[-600:])


def graphs_of(run: str):
    path = os.path.join(run, "model.json")
    return sorted(json.load(open(path)).get("graphs", {})) if os.path.exists(path) else None


def diffusion_stage(st, args, preset, cpu_env, export):
    q = args.quick
    run = make_run(args.corpus)
    steps = 40 if q else 300
    st.results["diffusion"] = train_stage(st, args, "diffusion", run, [
        "--preset", preset, "--max-steps", str(steps), "--eval-every", str(steps // 2),
        "--eval-tasks", "8" if q else "32", "--log-every", "10"], 240, 20)
    # export, CPU only, beside the next stages
    if export and os.path.exists(os.path.join(run, "checkpoints", "best.pt")):
        exp = tempfile.mkdtemp(prefix="gpu-check-export-")
        shutil.copytree(os.path.join(run, "checkpoints"), os.path.join(exp, "checkpoints"))
        shutil.copytree(os.path.join(run, "corpus"), os.path.join(exp, "corpus"))
        st.start("export", ["sh", "-c", 'set -e; "$0" -m trainer export "$1" --verify; '
                            '"$0" "$2" --corpus x --out x --ort-parity-child "$1"', sys.executable, exp, __file__],
                 env=cpu_env)
    if os.path.exists(os.path.join(run, "metrics.jsonl")):
        shutil.copy(os.path.join(run, "metrics.jsonl"), os.path.join(args.out, "metrics-diffusion.jsonl"))


def ddp_stage(st, args):
    """One rank through torchrun (NCCL, the DDP wrapper), then a resume."""
    run = make_run(args.corpus)
    common = ["--preset", "nano" if args.quick else "tiny", "--eval-tasks", "0", "--no-export", "--log-every", "5"]
    st.results["ddp"] = {
        "first": train_stage(st, args, "ddp", run, common + ["--max-steps", "30"], 90, 0, torchrun=True),
        "resumed": train_stage(st, args, "ddp-resume", run, common + ["--max-steps", "60", "--resume"], 90, 30,
                               torchrun=True),
    }


def auto_stage(st, args):
    """The preset a GPU user gets by default (base on a large GPU with this corpus), with export."""
    q = args.quick
    run = make_run(args.corpus)
    r = train_stage(st, args, "auto", run, ["--preset", "nano" if q else "auto", "--max-steps", "20" if q else "80",
                                            "--eval-every", "80", "--eval-tasks", "8", "--log-every", "5"],
                    150, 10, reserve=90)
    onnx = os.path.join(run, "model.onnx")
    st.results["auto"] = dict(r, onnx_mb=round(os.path.getsize(onnx) / 2 ** 20) if os.path.exists(onnx) else None)


def ar_stage(st, args, preset):
    q = args.quick
    run = make_run(args.corpus)
    r = train_stage(st, args, "ar", run, ["--objective", "autoregressive", "--preset", preset,
                                          "--max-steps", "20" if q else "120", "--eval-every", "60",
                                          "--eval-tasks", "8" if q else "16", "--log-every", "10"], 180, 20, reserve=60)
    st.results["ar"] = dict(r, graphs=graphs_of(run))


def compile_stage(st, args):
    """torch.compile against eager, the same flags otherwise, small and base (--preset auto's pick on
    a large GPU): tokens/s medians after the first 25 steps (the compile happens in step 1)."""
    st.results["compile"] = {}
    for preset, steps in ([("nano", 40)] if args.quick else [("small", 300), ("base", 150)]):
        row = {}
        for flag in ("--compile", "--no-compile"):
            r = train_stage(st, args, f"{preset}{flag}", make_run(args.corpus), [
                "--preset", preset, "--max-steps", str(steps), "--eval-tasks", "0", "--no-export",
                "--eval-every", "100000", "--log-every", "25", flag], 150, 25, reserve=10)
            row[flag[2:]] = {k: r[k] for k in ("rc", "wall_s", "first_step_s", "errors")}
            row[flag[2:]]["tokens_per_s"] = r["tokens_per_s_median"]
        a, b = row["compile"]["tokens_per_s"], row["no-compile"]["tokens_per_s"]
        row["compiled_over_eager"] = round(a / b, 2) if a and b else None
        st.results["compile"][preset] = row
        print(f"compile {preset}: {json.dumps(row)}", flush=True)


def finish(st, args):
    res = st.results
    for name in list(st.background):
        rc, text, secs = st.wait(name, reserve=5)
        lines = text.strip().splitlines()
        res[name] = {"rc": rc, "wall_s": round(secs, 1), "tail": lines[-6:]}
        if name == "export" and lines:
            try:
                res[name]["ort_parity"] = json.loads(lines[-1])
            except ValueError:
                pass

    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(res, f, indent=1, default=str)
    print_table(res)


def print_table(res: dict):
    def g(d, *ks):
        for k in ks:
            d = d.get(k) if isinstance(d, dict) else None
        return d
    print("\n== GPU check ==")
    print(f"gpu: {g(res, 'env', 'gpu')} | torch {g(res, 'env', 'doctor', 'torch')} | "
          f"bf16 {g(res, 'env', 'doctor', 'bf16')} | sdpa {g(res, 'env', 'doctor', 'sdpa')} | "
          f"flash {g(res, 'plain', 'flash_sdpa_bf16')}")
    for preset, row in (res.get("plain") or {}).items():
        if isinstance(row, dict) and "fp32_tokens_per_s" in row:
            print(f"plain {preset} {row['batch']}x{row['seq']}: fp32 {row['fp32_tokens_per_s']:,} tok/s, "
                  f"bf16 {row['bf16_tokens_per_s']:,} tok/s ({row['bf16_over_fp32']}x), "
                  f"peak {row.get('fp32_peak_gib')}/{row.get('bf16_peak_gib')} GiB")
    for preset, row in (res.get("compile") or {}).items():
        print(f"compile {preset}: compiled {g(row, 'compile', 'tokens_per_s')} tok/s (first step "
              f"{g(row, 'compile', 'first_step_s')} s), eager {g(row, 'no-compile', 'tokens_per_s')} tok/s: "
              f"{row.get('compiled_over_eager')}x")
    for name in ("diffusion", "auto", "ar"):
        r = res.get(name)
        if not r:
            continue
        evals = r.get("evals") or [None]
        print(f"{name}: rc={r.get('rc')} {r.get('wall_s')}s {r.get('params')} params {r.get('batch')}x{r.get('seq_len')} "
              f"tok/s {r.get('tokens_per_s_median')} loss {r.get('first_loss')} -> {r.get('last_loss')} "
              f"exported={r.get('exported')} done={r.get('done')} last eval={evals[-1]} errors={r.get('errors')}")
    d = res.get("ddp")
    if d:
        print(f"ddp: first rc={g(d, 'first', 'rc')} world={g(d, 'first', 'world_size')} done={g(d, 'first', 'done')}; "
              f"resumed rc={g(d, 'resumed', 'rc')} from={g(d, 'resumed', 'resumed_from_step')} done={g(d, 'resumed', 'done')}")
    for name in ("export", "pytest"):
        r = res.get(name)
        if r:
            print(f"{name}: rc={r.get('rc')} {r.get('wall_s')}s {r.get('ort_parity', '')} {r.get('tail', [])[-3:]}")


if __name__ == "__main__":
    main()
