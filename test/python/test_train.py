"""Real training on the CPU: a tiny model learns a tiny corpus, and a killed run resumes to the
same result as an unkilled one."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import torch

from conftest import ROOT, events_of, make_corpus, run_trainer
from trainer.checkpoint import load_checkpoint

# Middles of 15 bytes: the oracle canvas (15 + 1 pad) is also the engine's 16, as in training.
DOC = "def add(a, b):\n    return a+b\n\ndef mul(a, b):\n    return a*b\n"


def test_a_tiny_model_overfits_a_tiny_corpus_and_its_infill_exact_match_rises(tmp_path):
    run = make_corpus(tmp_path / "run", docs=[DOC] * 8)
    r = run_trainer(["train", run, "--preset", "nano", "--seq-len", "48", "--batch-size", "16", "--lr", "5e-3",
                     "--max-steps", "500", "--eval-every", "100", "--eval-tasks", "4", "--device", "cpu",
                     "--no-export", "--no-engine-length", "--seed", "0"], timeout=170)
    assert r.returncode == 0, r.stderr[-2000:]
    ev = events_of(r.stdout)
    evals = [e for e in ev if e["type"] == "eval"]
    steps = [e for e in ev if e["type"] == "step"]
    assert steps[-1]["loss"] < steps[0]["loss"] / 2
    assert evals[0]["infill_exact"] == 0.0
    assert max(e["infill_exact"] for e in evals) >= 0.5, [(e["step"], e["infill_exact"], e["samples"][0]["got"]) for e in evals]
    assert evals[-1]["infill_edit_sim"] > evals[0]["infill_edit_sim"]
    best = ev[-1]["best"]
    assert ev[-1]["type"] == "done" and best["infill_exact"] == max(e["infill_exact"] for e in evals)


ARGS = ["--preset", "nano", "--seq-len", "32", "--batch-size", "4", "--max-steps", "60", "--eval-every", "20",
        "--checkpoint-every", "10", "--eval-tasks", "2", "--device", "cpu", "--no-export", "--seed", "3",
        "--log-every", "1"]


def final_state(run):
    return load_checkpoint(os.path.join(run, "checkpoints", "last.pt"))


def test_a_run_killed_mid_way_resumes_to_the_same_weights_and_metrics(tmp_path):
    ref = make_corpus(tmp_path / "ref")
    r = run_trainer(["train", ref, *ARGS])
    assert r.returncode == 0, r.stderr[-2000:]
    ref_events = events_of(r.stdout)

    run = make_corpus(tmp_path / "killed")
    p = subprocess.Popen([sys.executable, "-m", "trainer", "train", run, *ARGS], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    killed_at = None
    try:
        for line in p.stdout:
            e = json.loads(line)
            if e["type"] == "step" and e["step"] == 25:  # between checkpoints 20 and 30
                p.send_signal(signal.SIGKILL)
                killed_at = e["step"]
                break
    finally:
        p.kill()
        p.wait()
    assert killed_at is not None
    assert final_state(run)["train_state"]["step"] in (20, 30)

    r = run_trainer(["train", run, *ARGS, "--resume"])
    assert r.returncode == 0, r.stderr[-2000:]
    ev = events_of(r.stdout)
    assert ev[0]["type"] == "start" and ev[0]["resumed_from_step"] in (20, 30)
    a, b = final_state(ref), final_state(run)
    assert a["train_state"]["step"] == b["train_state"]["step"] == 60
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    strip = lambda e: {k: v for k, v in e.items() if k not in ("time", "elapsed_s")}
    assert [strip(e) for e in ref_events if e["type"] == "eval"][-1] == [strip(e) for e in ev if e["type"] == "eval"][-1]
    assert strip(ref_events[-1]) == strip(ev[-1])
    assert ref_events[-1]["best_step"] == ev[-1]["best_step"]


def run_two_ranks(tmp_path, run, args, stagger_s=0.0, deadline_s=240):
    """torchrun's environment by hand (gloo on the CPU), rank 1 started `stagger_s` after rank 0;
    -> (return codes, [(stdout, stderr)] per rank)."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    procs, logs = [], []
    for rank in (0, 1):
        if rank and stagger_s:
            time.sleep(stagger_s)
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE="2", RANK=str(rank),
                   LOCAL_RANK=str(rank), PYTHONDONTWRITEBYTECODE="1", PYTHONFAULTHANDLER="1")
        # Output goes to files, not pipes: reading one rank's pipes while the other's fill up
        # would block that rank inside a collective and hang both.
        out, err = open(tmp_path / f"rank{rank}.out", "w+"), open(tmp_path / f"rank{rank}.err", "w+")
        logs.append((out, err))
        procs.append(subprocess.Popen([sys.executable, "-m", "trainer", "train", run, *args],
                                      cwd=ROOT, env=env, stdout=out, stderr=err, text=True))
    deadline = time.monotonic() + deadline_s
    try:
        for p in procs:
            try:
                p.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    finally:
        for p in procs:
            if p.poll() is None:  # a hang: faulthandler (PYTHONFAULTHANDLER) prints where, then it dies
                p.send_signal(signal.SIGABRT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    outs = []
    for out, err in logs:
        out.seek(0)
        err.seek(0)
        outs.append((out.read(), err.read()))
        out.close()
        err.close()
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], "\n".join(f"rank {r}: {o[-1500:]}\n{e[-3000:]}" for r, (o, e) in enumerate(outs))
    return outs


def test_two_process_data_parallel_training_writes_from_rank_zero_only(tmp_path):
    """Rank 1 stays silent, rank 0 reports."""
    run = make_corpus(tmp_path / "ddp")
    outs = run_two_ranks(tmp_path, run, [*ARGS[:6], "--max-steps", "4", "--eval-every", "2", "--eval-tasks", "1",
                                         "--device", "cpu", "--no-export"])
    ev0, ev1 = events_of(outs[0][0]), events_of(outs[1][0])
    assert ev1 == []
    assert ev0[0]["world_size"] == 2 and ev0[-1]["type"] == "done" and ev0[-1]["tokens"] == 4 * 2 * 4 * 32


def test_data_parallel_ranks_end_a_time_budget_on_the_same_step(tmp_path):
    """Each rank's clock starts on its own; rank 1 starts 1.5 s after rank 0, so deciding alone,
    rank 0 would stop dozens of steps earlier and leave rank 1 waiting in the gradient all-reduce.
    The budget (9 s) counts from rank 0's start, so it must outlast rank 1's start-up: torch 2.11
    imports in ~3 s on a loaded machine, and 2.4 s once ran out before the first step there."""
    run = make_corpus(tmp_path / "ddp")
    outs = run_two_ranks(tmp_path, run, [*ARGS[:6], "--minutes", "0.15", "--eval-tasks", "1", "--device", "cpu",
                                         "--no-export", "--log-every", "1"], stagger_s=1.5, deadline_s=90)
    ev0 = events_of(outs[0][0])
    done = ev0[-1]
    assert done["type"] == "done" and done["reason"] == "budget" and done["step"] > 10
    stops = [int(line.rsplit("step ", 1)[1].split()[0]) for _, err in outs for line in err.splitlines()
             if ": stopped at step " in line]
    assert stops == [done["step"]] * 2, [err[-1500:] for _, err in outs]


def test_a_loss_that_became_nan_reaches_no_checkpoint(tmp_path, capsys):
    """--lr 100 wrecks a nano model within a few steps. Step events only every 1000 steps (never
    in between), a checkpoint and evaluation every step: the run must stop with the NaN error
    before last.pt or best.pt take non-finite weights, optimizer moments or outputs."""
    import numpy as np
    from trainer.__main__ import main
    from trainer.export import model_from_checkpoint
    run = make_corpus(tmp_path / "run", docs=[DOC] * 4)
    assert main(["train", run, "--preset", "nano", "--seq-len", "32", "--batch-size", "4", "--max-steps", "30",
                 "--checkpoint-every", "1", "--eval-every", "1", "--eval-tasks", "2", "--no-engine-length",
                 "--log-every", "1000", "--device", "cpu", "--no-export", "--lr", "100"]) == 1
    ev = events_of(capsys.readouterr().out)
    err = ev[-1]
    assert err["type"] == "error" and re.search(r"(nan|NaN|inf) at step \d+$", err["message"]), err
    assert "--lr 33" in err["hint"] and "--resume" in err["hint"]
    failed_at = int(err["message"].rsplit("step ", 1)[1])
    assert failed_at < 30  # at once, not at the next step event
    x = torch.as_tensor(np.fromfile(os.path.join(run, "corpus", "train.bin"), dtype="<u2")[:32].astype(np.int64))[None]
    for name in ("last.pt", "best.pt"):
        st = load_checkpoint(os.path.join(run, "checkpoints", name))
        assert st["train_state"]["step"] < failed_at
        moments = [v for s in st.get("optimizer", {"state": {}})["state"].values() for v in s.values() if v.dim()]
        assert all(torch.isfinite(t).all() for t in [*st["model"].values(), *moments]), name
        with torch.no_grad():
            assert torch.isfinite(model_from_checkpoint(st)(x)).all(), name


def test_resume_takes_an_explicit_lr_as_the_nan_hint_says(tmp_path, capsys):
    from trainer.__main__ import main
    run = make_corpus(tmp_path / "run")
    assert main(["train", run, *ARGS[:6], "--max-steps", "4", "--eval-tasks", "0", "--device", "cpu",
                 "--no-export", "--lr", "2e-3"]) == 0
    assert main(["train", run, "--resume", "--max-steps", "8", "--lr", "5e-4", "--log-every", "1", "--device", "cpu",
                 "--no-export", "--eval-tasks", "0"]) == 0
    ev = events_of(capsys.readouterr().out)
    lrs = [e["lr"] for e in ev if e["type"] == "step" and e["step"] > 4]
    assert len(lrs) == 4 and max(lrs) <= 5e-4  # the saved 2e-3 would give 1.1e-3 at step 5
    assert final_state(run)["config"]["lr"] == 5e-4


def test_the_best_checkpoint_is_the_newer_one_unless_the_older_is_better_beyond_noise():
    from trainer.train import EDIT_SIM_NOISE, better
    old = {"infill_exact": 0.0, "infill_edit_sim": 0.160, "val_loss": 4.6}
    assert better({"infill_exact": 0.0, "infill_edit_sim": 0.153, "val_loss": 4.4}, old)  # within noise: newer wins
    assert not better({"infill_exact": 0.0, "infill_edit_sim": 0.160 - EDIT_SIM_NOISE - 0.01}, old)
    assert better({"infill_exact": 0.03, "infill_edit_sim": 0.05}, old)  # exact match first
    assert not better({"infill_exact": 0.0, "infill_edit_sim": 0.9}, {"infill_exact": 0.03, "infill_edit_sim": 0.1})
    assert better({"val_loss": 4.0}, {"val_loss": 4.1}) and not better({"val_loss": 4.2}, {"val_loss": 4.1})
    assert better({"infill_exact": 0.0, "infill_edit_sim": 0.1}, None)


def test_edit_similarity_noise_is_measured_pairwise_on_the_same_tasks():
    from trainer.train import EDIT_SIM_NOISE, better, edit_sim_noise

    def ev(sims):
        return {"infill_exact": 0.0, "infill_edit_sim": sum(sims) / len(sims), "infill_edit_sims": sims}
    # 32 tasks whose similarities scatter as a weak model's do: the older leads by 3 points, and the
    # per-task differences vary by tens of points, so that is noise: the newer (more trained) wins
    old = [0.1, 0.4, 0.0, 0.3, 0.2, 0.5, 0.0, 0.1] * 4
    new = [0.3, 0.1, 0.0, 0.2, 0.4, 0.2, 0.0, 0.0] * 4
    assert edit_sim_noise(ev(new), ev(old)) > 0.03 + EDIT_SIM_NOISE
    assert better(ev(new), ev(old))
    # the same lead, but every task 3 points worse: a consistent loss, the older stays
    steady = [s - 0.03 for s in old]
    assert edit_sim_noise(ev(steady), ev(old)) == EDIT_SIM_NOISE
    assert not better(ev(steady), ev(old))
    # no per-task figures (an older checkpoint's eval), or other tasks: the fixed floor
    assert edit_sim_noise({"infill_edit_sim": 0.1}, ev(old)) == EDIT_SIM_NOISE
    assert edit_sim_noise(ev(new[:8]), ev(old)) == EDIT_SIM_NOISE


def test_torch_compile_is_on_by_default_on_cuda_only_and_the_flags_override_it():
    from types import SimpleNamespace
    from trainer.__main__ import build_parser
    from trainer.train import compile_model
    flags = lambda *a: build_parser().parse_args(["train", "RUN", *a]).compile  # noqa: E731
    assert (flags(), flags("--compile"), flags("--no-compile")) == (None, True, False)
    net, cpu, cuda = torch.nn.Linear(4, 4), torch.device("cpu"), SimpleNamespace(type="cuda")
    assert compile_model(net, None, cpu) is net  # the default on a CPU: eager
    assert compile_model(net, False, cuda) is net  # --no-compile on a GPU
    logged = []
    compiled = compile_model(net, None, cuda, log=logged.append)
    if hasattr(torch, "compile"):  # torch 2.x: compiled by default, and it computes the same
        x = torch.randn(3, 4)
        assert compiled is not net and torch.allclose(compiled(x), net(x))
        assert logged and "compiles" in logged[0]
    else:  # torch 1.13 (Debian): nothing to compile with, and nothing asked for: quietly eager
        assert compiled is net and logged == []
        compile_model(net, True, cuda, log=logged.append)
        assert "no torch.compile" in logged[0]
