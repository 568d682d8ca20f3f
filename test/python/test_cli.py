"""The command line's contract: events on stdout, an `error` event with a hint and exit 1 on bad
input, exit 2 on bad arguments, cancellation by signal checkpoints and exits 0."""
import errno
import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, events_of, make_corpus, run_trainer
from trainer.__main__ import main
from trainer.checkpoint import load_checkpoint

FAST = ["--preset", "nano", "--seq-len", "32", "--batch-size", "4", "--eval-tasks", "2", "--device", "cpu",
        "--no-engine-length"]


def call(capsys, *argv):
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, events_of(out.out), out.err


def error_of(events):
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1, events
    assert errors[0]["message"] and errors[0]["hint"] and "time" in errors[0]
    return errors[0]


def test_a_short_run_emits_start_steps_eval_checkpoint_export_done_in_order(capsys, corpus_run):
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST, "--max-steps", "6", "--eval-every", "3")
    assert rc == 0
    types = [e["type"] for e in ev]
    assert types[0] == "start" and types[-2:] == ["export", "done"]
    assert {"step", "eval", "checkpoint"} <= set(types)
    assert all("time" in e for e in ev)
    step = next(e for e in ev if e["type"] == "step")
    assert {"step", "epoch", "loss", "lr", "tokens_per_s", "eta_s"} <= set(step)
    ev_eval = next(e for e in ev if e["type"] == "eval")
    assert {"val_loss", "infill_exact", "infill_edit_sim", "by_kind", "samples"} <= set(ev_eval)
    assert ev[-1]["reason"] == "budget" and ev[-1]["best_step"] in (3, 6)
    with open(os.path.join(corpus_run, "metrics.jsonl")) as f:
        assert [json.loads(line) for line in f] == ev  # the file mirrors stdout
    for name in ("last.pt", "best.pt", "config.json"):
        assert os.path.exists(os.path.join(corpus_run, "checkpoints", name))
    assert os.path.exists(os.path.join(corpus_run, "model.onnx"))


def test_an_epoch_budget_ends_with_reason_epochs(capsys, corpus_run):
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST, "--epochs", "1", "--no-export")
    assert rc == 0 and ev[-1]["type"] == "done" and ev[-1]["reason"] == "epochs"
    assert ev[-1]["epoch"] >= 1.0


def test_the_autoregressive_objective_trains_and_evaluates(capsys, corpus_run):
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST, "--objective", "autoregressive", "--max-steps", "3",
                     "--no-export")
    assert rc == 0 and ev[-1]["type"] == "done"
    assert next(e for e in ev if e["type"] == "eval")["infill_exact"] is not None


def test_a_missing_corpus_is_an_error_event_with_a_hint(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    rc, ev, err = call(capsys, "train", tmp_path / "run", *FAST)
    assert rc == 1 and "train.bin" in error_of(ev)["message"]
    assert "Traceback" not in err


def test_a_missing_run_folder_is_an_error_event(capsys, tmp_path):
    rc, ev, _ = call(capsys, "train", tmp_path / "nope", *FAST)
    assert rc == 1 and "does not exist" in error_of(ev)["message"]


def test_a_truncated_corpus_is_an_error_event(capsys, corpus_run):
    with open(os.path.join(corpus_run, "corpus", "train.bin"), "ab") as f:
        f.write(b"\x07")
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST)
    assert rc == 1 and "truncated" in error_of(ev)["message"]


def test_resuming_with_another_vocabulary_is_refused(capsys, tmp_path):
    run = make_corpus(tmp_path / "r")
    assert call(capsys, "train", run, *FAST, "--max-steps", "2", "--no-export")[0] == 0
    mpath = os.path.join(run, "corpus", "manifest.json")
    m = json.load(open(mpath))
    m["vocab_size"] = 300
    json.dump(m, open(mpath, "w"))
    rc, ev, _ = call(capsys, "train", run, *FAST, "--resume")
    assert rc == 1 and "vocabulary" in error_of(ev)["message"]


def test_a_corrupt_checkpoint_is_an_error_event(capsys, corpus_run):
    os.makedirs(os.path.join(corpus_run, "checkpoints"))
    with open(os.path.join(corpus_run, "checkpoints", "last.pt"), "wb") as f:
        f.write(b"PK\x03\x04 this is not a checkpoint")
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST, "--resume")
    assert rc == 1 and "corrupt" in error_of(ev)["message"]
    rc, ev, _ = call(capsys, "export", corpus_run, "--checkpoint", os.path.join(corpus_run, "checkpoints", "last.pt"))
    assert rc == 1 and "corrupt" in error_of(ev)["message"]


def test_out_of_memory_names_a_smaller_preset_and_batch(capsys, corpus_run, monkeypatch):
    from trainer import model

    def boom(self, x):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr(model.Transformer, "forward", boom)
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST)
    err = error_of(ev)
    assert rc == 1 and "out of memory" in err["message"]
    assert "--batch-size 2" in err["hint"] and "--preset" in err["hint"]


def test_a_full_disk_is_an_error_event_not_a_traceback(capsys, corpus_run, monkeypatch):
    from trainer import checkpoint

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", path)
    monkeypatch.setattr(checkpoint, "atomic_write_bytes", full)
    rc, ev, err = call(capsys, "train", corpus_run, *FAST, "--max-steps", "2", "--no-export")
    assert rc == 1 and "disk is full" in error_of(ev)["message"]
    assert "Traceback" not in err


def test_bad_arguments_exit_with_code_two(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "x", "--preset", "huge"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["train", "x", "--minutes", "5", "--epochs", "2"])
    assert e.value.code == 2


def test_doctor_prints_json_with_versions_and_capabilities():
    r = run_trainer(["doctor"])
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["torch"] == torch.__version__ and d["python"]
    for key in ("cuda", "mps", "bf16", "sdpa", "compile", "missing", "fix", "ok"):
        assert key in d
    assert d["sdpa"] == hasattr(torch.nn.functional, "scaled_dot_product_attention")
    assert d["ok"] is True


def test_sigterm_checkpoints_and_ends_with_done_cancelled(corpus_run):
    p = subprocess.Popen([sys.executable, "-m", "trainer", "train", corpus_run, *FAST, "--minutes", "5",
                          "--log-every", "1", "--eval-every", "100000"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        events = []
        for line in p.stdout:
            events.append(json.loads(line))
            if events[-1]["type"] == "step" and events[-1]["step"] >= 3:
                p.send_signal(signal.SIGTERM)
                break
        events += [json.loads(line) for line in p.stdout]
        assert p.wait(timeout=60) == 0
    finally:
        if p.poll() is None:
            p.kill()
    assert events[-1]["type"] == "done" and events[-1]["reason"] == "cancelled"
    assert events[-2]["type"] == "checkpoint"
    state = load_checkpoint(os.path.join(corpus_run, "checkpoints", "last.pt"))
    assert state["train_state"]["step"] == events[-1]["step"]


def test_a_minutes_budget_ends_with_reason_budget(capsys, corpus_run):
    rc, ev, _ = call(capsys, "train", corpus_run, *FAST, "--minutes", "0.02", "--no-export")
    assert rc == 0 and ev[-1]["type"] == "done" and ev[-1]["reason"] == "budget"
    assert ev[0]["planned_minutes"] == 0.02


def test_a_corpus_shorter_than_a_window_still_trains(capsys, tmp_path):
    run = make_corpus(tmp_path / "r", docs=["value = 1\n" * 2], val_docs=[])
    for objective in ("diffusion", "autoregressive"):
        rc, ev, _ = call(capsys, "train", run, "--preset", "nano", "--device", "cpu", "--max-steps", "2",
                         "--objective", objective, "--no-export", "--eval-tasks", "1")
        assert rc == 0, ev
        assert ev[0]["seq_len"] == 16


def test_the_sample_command_prints_ids(capsys, corpus_run):
    assert call(capsys, "train", corpus_run, *FAST, "--max-steps", "2", "--no-export")[0] == 0
    rc = main(["sample", corpus_run, "--prefix-ids", "10,11,12", "--suffix-ids", "13", "--canvas", "4"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and len(out["ids"]) <= 4 and 2 not in out["ids"]


def test_training_goes_on_into_metrics_when_the_reader_of_stdout_goes_away(corpus_run):
    # An editor window that reloads closes the trainer's stdout; the run must finish and keep
    # writing metrics.jsonl, which the new window reattaches to.
    p = subprocess.Popen([sys.executable, "-m", "trainer", "train", corpus_run, *FAST, "--max-steps", "12",
                          "--log-every", "1", "--eval-every", "100000", "--no-export"],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = p.stdout.readline()
        assert json.loads(first)["type"] == "start"
        p.stdout.close()
        p.stderr.close()
        assert p.wait(timeout=120) == 0
    finally:
        if p.poll() is None:
            p.kill()
    with open(os.path.join(corpus_run, "metrics.jsonl"), encoding="utf-8") as f:
        events = [json.loads(line) for line in f]
    assert events[-1]["type"] == "done" and events[-1]["step"] == 12
