"""What a kill leaves on disk: checkpoint temporaries cleared at the next start, checkpoints
streamed into their temporary file, an export stopped part-way that leaves no model.json beside
mixed graphs; and the bf16 decision, which must not trust emulated bf16."""
import os

import pytest
import torch

from conftest import events_of, make_corpus
from trainer.__main__ import main
from trainer.checkpoint import load_checkpoint, remove_stale_temps, save_checkpoint

FAST = ["--preset", "nano", "--seq-len", "32", "--batch-size", "4", "--eval-tasks", "1", "--device", "cpu",
        "--no-engine-length"]


def test_a_checkpoint_is_streamed_to_its_temp_file_and_a_failed_write_keeps_the_old_one(tmp_path, monkeypatch):
    path = str(tmp_path / "last.pt")
    save_checkpoint(path, {"model": {"w": torch.arange(4.0)}, "model_config": {}})
    seen = []
    real_save = torch.save

    def spy(obj, f, *a, **kw):  # torch.save gets the open temporary file, not a BytesIO
        seen.append(getattr(f, "name", None))
        return real_save(obj, f, *a, **kw)
    monkeypatch.setattr(torch, "save", spy)
    save_checkpoint(path, {"model": {"w": torch.ones(4)}, "model_config": {}})
    assert seen == [f"{path}.tmp-{os.getpid()}"]
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(4))
    with pytest.raises(Exception):  # a lambda cannot be pickled: the write fails half-way
        save_checkpoint(path, {"model": {"w": torch.zeros(4)}, "model_config": {}, "bad": lambda: 0})
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.ones(4))
    assert os.listdir(tmp_path) == ["last.pt"]


def test_a_new_run_removes_the_temp_files_a_killed_writer_left(tmp_path, capsys):
    run = make_corpus(tmp_path / "run")
    ck = os.path.join(run, "checkpoints")
    os.makedirs(ck)
    keep = ["notes.txt", "last.pt.tmp-old", "my.tmp-12x"]  # not the trainer's NAME.tmp-PID
    stale = ["last.pt.tmp-4242", "best.pt.tmp-17", "config.json.tmp-99"]
    for name in keep + stale:
        with open(os.path.join(ck, name), "wb") as f:
            f.write(b"x" * 100)
    assert main(["train", run, *FAST, "--max-steps", "1", "--no-export"]) == 0
    assert "removed 3 unfinished temporary file(s)" in capsys.readouterr().err
    assert sorted(os.listdir(ck)) == sorted(keep + ["best.pt", "config.json", "last.pt"])
    assert remove_stale_temps(str(tmp_path / "missing")) == []


def test_an_export_stopped_part_way_leaves_no_model_json_beside_mixed_graphs(tmp_path, capsys, monkeypatch):
    from trainer import export, quantize
    run = make_corpus(tmp_path / "run")
    assert main(["train", run, *FAST, "--max-steps", "2"]) == 0  # exports model.json + four graphs
    graphs = ["model.context.onnx", "model.step.onnx", "model.step.int8.onnx", "model.step.int8kv.onnx", "model.onnx"]
    read = lambda name: open(os.path.join(run, name), "rb").read()
    old = {g: read(g) for g in graphs}
    assert main(["train", run, *FAST, "--max-steps", "6", "--resume", "--no-export"]) == 0  # other weights
    capsys.readouterr()

    def killed(model):  # the process dies after two of the four graphs were replaced
        raise KeyboardInterrupt
    monkeypatch.setattr(quantize, "step_int8_onnx_bytes", killed)
    logs = []
    with pytest.raises(KeyboardInterrupt):
        export.export_run(run, os.path.join(run, "checkpoints", "last.pt"), log=logs.append)
    assert read("model.context.onnx") != old["model.context.onnx"]  # new graphs ...
    assert read("model.onnx") == old["model.onnx"]  # ... beside old ones: a mixed set
    assert not os.path.exists(os.path.join(run, "model.json"))  # which no reader takes for a model
    assert not [f for f in os.listdir(run) if ".tmp-" in f]
    assert any("no model.json" in m for m in logs)

    monkeypatch.undo()
    assert main(["export", run, "--checkpoint", os.path.join(run, "checkpoints", "last.pt")]) == 0
    assert events_of(capsys.readouterr().out)[-1]["type"] == "export"
    assert os.path.exists(os.path.join(run, "model.json"))
    assert all(read(g) != old[g] for g in graphs)  # the whole set is the new weights'


def test_bf16_is_chosen_only_where_the_gpu_has_it_natively():
    from trainer.doctor import bf16_native
    asked = []

    def new_torch(including_emulation=True):  # torch >= 2.3 on a T4 (7.5): True unless emulation is excluded
        asked.append(including_emulation)
        return including_emulation
    assert bf16_native(new_torch, capability=(7, 5)) is False and asked == [False]
    assert bf16_native(lambda including_emulation=True: True, capability=(8, 0)) is True

    def old_torch():  # no parameter: the capability decides as well
        return True
    assert bf16_native(old_torch, capability=(7, 0)) is False
    assert bf16_native(old_torch, capability=(8, 6)) is True
    assert bf16_native(lambda: False, capability=(9, 0)) is False
    if torch.cuda.is_available():  # this machine's own torch and GPU
        major = torch.cuda.get_device_capability()[0]
        assert bf16_native() == (major >= 8 and torch.cuda.is_bf16_supported())
