"""`python -m trainer doctor`: what this Python can do for training, as one JSON document, with the
command that fixes whatever is missing (apt for Debian's python3, pip inside a virtual env)."""
from __future__ import annotations

import inspect
import os
import platform
import shutil
import subprocess
import sys


def _in_venv() -> bool:
    return sys.prefix != getattr(sys, "base_prefix", sys.prefix)


def bf16_native(is_bf16_supported=None, capability=None) -> bool:
    """Does the current CUDA GPU compute in bf16 natively (compute capability >= 8, Ampere on)?
    torch >= 2.3's `is_bf16_supported()` also answers True where bf16 is only emulated (T4, V100),
    where bf16 autocast is slower than float32; it takes `including_emulation=False` to ask for
    native support alone. Older torch has no such parameter and answers for native support, but
    the capability is checked as well. Arguments are for tests (a fake function, a capability)."""
    if is_bf16_supported is None:
        import torch
        is_bf16_supported = torch.cuda.is_bf16_supported
    try:
        params = inspect.signature(is_bf16_supported).parameters
    except (TypeError, ValueError):  # no signature to read: ask nothing of it
        params = {}
    if "including_emulation" in params:
        return bool(is_bf16_supported(including_emulation=False))
    if capability is None:
        import torch
        capability = torch.cuda.get_device_capability()
    return capability[0] >= 8 and bool(is_bf16_supported())


def report() -> dict:
    out = {"python": platform.python_version(), "executable": sys.executable, "venv": _in_venv(),
           "platform": platform.platform(), "cpu_count": os.cpu_count(), "missing": [], "fix": []}
    debian = sys.executable.startswith("/usr/bin/") and os.path.exists("/etc/debian_version")
    try:
        import numpy
        out["numpy"] = numpy.__version__
    except ImportError:
        out["numpy"] = None
        out["missing"].append("numpy")
    try:
        import torch
        import torch.nn.functional as F
        out["torch"] = torch.__version__
        cuda = torch.cuda.is_available()
        out["cuda"] = {"available": cuda, "version": torch.version.cuda, "devices": []}
        if cuda:
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                out["cuda"]["devices"].append({"index": i, "name": p.name,
                                               "memory_gb": round(p.total_memory / 2**30, 1),
                                               "capability": f"{p.major}.{p.minor}"})
        out["bf16"] = bool(cuda and bf16_native())  # native only: emulated bf16 is slower than float32
        mps = getattr(torch.backends, "mps", None)
        out["mps"] = bool(mps is not None and mps.is_available())
        out["sdpa"] = hasattr(F, "scaled_dot_product_attention")
        out["compile"] = hasattr(torch, "compile")
        out["threads"] = torch.get_num_threads()
        try:
            out["blas"] = [line.strip() for line in torch.__config__.show().splitlines() if "BLAS" in line][:2]
        except Exception:  # informational only
            out["blas"] = []
    except ImportError:
        out["torch"] = None
        out["missing"].append("torch")
    try:
        import onnx
        out["onnx"] = onnx.__version__
    except ImportError:
        out["onnx"] = None  # optional: only the export checks use it
    if out["missing"]:
        pkgs = {"torch": "python3-torch", "numpy": "python3-numpy"}
        if debian and not _in_venv():
            out["fix"].append("sudo apt-get install -y " + " ".join(pkgs[m] for m in out["missing"]) +
                              " libopenblas0-pthread")
        out["fix"].append(f"{sys.executable} -m pip install -r trainer/requirements.txt")
    if out.get("torch") and debian and shutil.which("dpkg") and subprocess.run(
            ["dpkg", "-s", "libopenblas0-pthread"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
        out["fix"].append("sudo apt-get install -y libopenblas0-pthread  # else CPU matmuls are ~20x slower")
    if out.get("torch") and not out["cuda"]["available"] and shutil.which("nvidia-smi"):
        out["fix"].append(f"{sys.executable} -m pip install torch --index-url https://download.pytorch.org/whl/cu124"
                          "  # an NVIDIA GPU is present but this torch cannot use it")
    out["ok"] = not out["missing"]
    return out
