"""Shared checks for the reference-equivalence tests: a module and its reference compute the same function."""

import torch
import torch.nn as nn


def randomise(module: nn.Module, seed: int = 1, scale: float = 0.5, shift: bool = False) -> None:
    """Non-default values for every parameter and BatchNorm buffer, so a wrong mapping or a zero init cannot pass.

    Each parameter becomes ``randn * scale``, or with ``shift`` moves by that much from its value (a small shift keeps
    a whole detector's outputs in range). Imports only torch: YOLOv5's child process (anchor/yolov5_child.py) uses it.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            r = torch.randn(p.shape, generator=g) * scale
            p.add_(r) if shift else p.copy_(r)
        for name, b in module.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)


# CUDA runs the same checks where a GPU is present (CI has none: there the list is just "cpu", nothing is skipped).
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def over_cases_shapes_modes_devices(cases, shapes):
    """Parametrize a test ``(case, shape, train, device)`` over every case name (sorted), shape, eval/train and
    device; the test ids are ``case-shape-mode-device``, e.g. ``SE-2x64x8x8-eval-cpu``."""
    import pytest

    def wrap(test):
        test = pytest.mark.parametrize("case", sorted(cases))(test)
        test = pytest.mark.parametrize("shape", shapes, ids=lambda s: "x".join(map(str, s)))(test)
        test = pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])(test)
        return pytest.mark.parametrize("device", DEVICES)(test)

    return wrap


def assert_same_function(ref: nn.Module, ours: nn.Module, shape, train: bool, param_grads: bool = False,
                         device: str = "cpu") -> None:
    """Same output (1e-5), same input gradients (1e-4; backward sums in another order), same running statistics.

    ``ours`` must already hold ``ref``'s parameters. ``param_grads`` also compares parameter gradients, pairwise in
    registration order (for modules whose parameter names equal the reference's). On ``cuda``, TF32 is switched off
    for the comparison: with it, the same convolution on differently ordered inputs differs by ~1e-3.
    """
    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    ref.to(device).train(train)
    ours.to(device).train(train)
    x = (torch.randn(shape) * 3).to(device).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    y_ref, y = ref(x), ours(x2)
    assert y.shape == x.shape and y.device == x.device
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    w = torch.randn(shape).to(device)
    (y_ref * w).sum().backward()
    (y * w).sum().backward()
    torch.testing.assert_close(x2.grad, x.grad, atol=1e-4, rtol=1e-4)
    if param_grads:
        for (n_ref, p_ref), (n, p) in zip(ref.named_parameters(), ours.named_parameters()):
            assert n == n_ref
            torch.testing.assert_close(p.grad, p_ref.grad, atol=1e-4, rtol=1e-4, msg=f"grad of {n}")
    for (n_ref, b_ref), (n, b) in zip(ref.named_buffers(), ours.named_buffers()):  # BatchNorm running stats
        torch.testing.assert_close(b, b_ref, atol=1e-6, rtol=1e-5, msg=f"buffer {n} vs reference {n_ref}")
