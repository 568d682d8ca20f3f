"""bench/gpu_check.py only runs where a GPU is lent (rarely, and on a budget), so its CPU mode is
run here: a script that rotted would waste that budget."""
import json
import os
import subprocess
import sys

from conftest import ROOT, make_corpus


def test_the_gpu_check_script_runs_its_stages_on_a_cpu(tmp_path):
    run = make_corpus(tmp_path / "run")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "gpu_check.py"), "--corpus",
                        os.path.join(run, "corpus"), "--out", str(out), "--device", "cpu", "--quick",
                        "--budget", "150", "--stages", "env,plain,diffusion,export,compile"],
                       cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env"]["doctor"]["torch"]
    assert summary["plain"]["nano"]["fp32_tokens_per_s"] > 0
    diffusion = summary["diffusion"]
    assert diffusion["rc"] == 0 and diffusion["exported"] and diffusion["done"]["step"] == 40, diffusion
    assert summary["export"]["rc"] == 0 and any("verified" in line for line in summary["export"]["tail"])
    compiled = summary["compile"]["nano"]
    assert compiled["compile"]["rc"] == 0 and compiled["no-compile"]["rc"] == 0, compiled
    assert "== GPU check ==" in r.stdout
