"""Export a trained attention YOLO with ultralytics and check the exported file computes what the PyTorch model does.

Export itself is ultralytics' own ``YOLO(weights).export(format=...)``: every shipped config exports to ONNX and
TorchScript unchanged, because the modules are written with export-friendly ops (means instead of adaptive pooling
over one axis, slicing instead of fixed split sizes), so ``dynamic=True`` works for EMA and CA as well. This module
adds the parity check the plugin promises: run the exported file and the checkpoint on the same random image and
compare the detection outputs (max abs difference).

The criterion is 1e-4 max abs on the output with its four box rows (x, y, w, h in pixels) divided by the input size,
i.e. boxes to 1e-4 of the image (0.064 px at 640) and class scores to 1e-4. The raw pixel-unit difference is reported
too: float32 spacing is already 3e-5 at 256-512 px and 6e-5 at 512-1024 px, so a raw 1e-4 bound on pixel boxes
tests rounding, not the export (a one-epoch checkpoint gave 1.2e-4 raw on a box at 480 px, 4 float32 steps).

Usage::

    from yolo_attn.engine.export import export_and_check
    export_and_check("runs/detect/train/weights/best.pt", formats=("onnx", "torchscript"), imgsz=640)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ("export_and_check", "parity_diffs", "run_exported", "torch_outputs", "ParityError")

PARITY_ATOL = 1e-4  # max abs difference accepted between the exported file and the PyTorch model


class ParityError(AssertionError):
    """An exported model's output differs from the PyTorch model's by more than the tolerance."""


def torch_outputs(weights: str | Path, images: torch.Tensor) -> np.ndarray:
    """Raw detection output (B, 4 + nc, anchors) of the checkpoint, fp32 on CPU, eval mode."""
    from ultralytics import YOLO

    model = YOLO(str(weights)).model.float().eval()
    with torch.no_grad():
        out = model(images)
    return (out[0] if isinstance(out, (list, tuple)) else out).numpy()


def run_exported(path: str | Path, images: torch.Tensor) -> np.ndarray:
    """Run an exported ``.onnx`` (onnxruntime, CPU) or ``.torchscript`` file on ``images`` (B, 3, H, W)."""
    path = Path(path)
    if path.suffix == ".onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {session.get_inputs()[0].name: images.numpy()})[0]
    if path.suffix == ".torchscript":
        with torch.no_grad():
            out = torch.jit.load(str(path), map_location="cpu")(images)
        return (out[0] if isinstance(out, (list, tuple)) else out).numpy()
    raise ValueError(f"{path}: cannot run this format; run_exported knows .onnx and .torchscript")


def parity_diffs(got: np.ndarray, expected: np.ndarray, size: int) -> tuple[float, float]:
    """``(raw, normalised)`` max abs differences of detection outputs (B, 4 + nc, anchors) from an input of ``size``
    px (the larger side); normalised divides the box rows by ``size``."""
    d = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    return float(d.max()), float(max((d[:, :4] / size).max(), d[:, 4:].max(initial=0.0)))


def export_and_check(
    weights: str | Path,
    formats=("onnx", "torchscript"),
    imgsz: int = 640,
    dynamic: bool = False,
    check_sizes=None,
    atol: float = PARITY_ATOL,
    seed: int = 0,
) -> dict[str, dict]:
    """Export ``weights`` to each format with ultralytics and compare outputs with the PyTorch model.

    Args:
        weights: a ``.pt`` checkpoint (e.g. a run's ``best.pt``).
        formats: ultralytics export formats to produce and check (``onnx``, ``torchscript``).
        imgsz: export input size (square); the file has this fixed size unless ``dynamic``.
        dynamic: ONNX with dynamic batch, height and width (ultralytics' ``dynamic=True``).
        check_sizes: (batch, height, width) inputs to compare on; default ``[(1, imgsz, imgsz)]``. Sizes other than
            the export size need ``dynamic=True`` for ONNX.
        atol: the largest normalised max abs difference accepted (see the module docstring).
        seed: seed of the random images (uniform in [0, 1), like a normalised image).

    Returns:
        ``{format: {"file": path, "max_abs_diff": {(b, h, w): raw}, "max_abs_diff_normalised": {(b, h, w): d}}}``.

    Raises:
        ParityError: when a normalised difference exceeds ``atol``, naming the format, the input size and both
            differences.
    """
    from ultralytics import YOLO

    check_sizes = list(check_sizes or [(1, imgsz, imgsz)])
    g = torch.Generator().manual_seed(seed)
    images = {size: torch.rand((size[0], 3, size[1], size[2]), generator=g) for size in check_sizes}
    expected = {size: torch_outputs(weights, im) for size, im in images.items()}
    results = {}
    for fmt in formats:
        kwargs = {"dynamic": dynamic} if fmt == "onnx" else {}
        file = YOLO(str(weights)).export(format=fmt, imgsz=imgsz, device="cpu", verbose=False, **kwargs)
        diffs, normalised = {}, {}
        for size, im in images.items():
            got = run_exported(file, im)
            if got.shape != expected[size].shape:
                raise ParityError(
                    f"{fmt} ({file}): output shape {got.shape} != PyTorch {expected[size].shape} at input {size}"
                )
            diffs[size], normalised[size] = parity_diffs(got, expected[size], max(size[1:]))
            if normalised[size] > atol:
                raise ParityError(
                    f"{fmt} ({file}): max abs difference {normalised[size]:.3g} > {atol} vs PyTorch at input {size} "
                    f"(boxes / input size; {diffs[size]:.3g} in pixels)"
                )
        results[fmt] = {"file": str(file), "max_abs_diff": diffs, "max_abs_diff_normalised": normalised}
    return results
