import torch

def test_torch_imports_and_runs_a_matmul():
    a = torch.ones(2, 3)
    assert (a @ a.T).sum().item() == 12.0
