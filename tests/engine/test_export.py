"""ONNX and TorchScript export of every shipped config through ultralytics, with output parity against PyTorch.

Parity: onnxruntime / TorchScript output equals the checkpoint's PyTorch output within 1e-4 max abs on a random image,
boxes measured as a fraction of the input size (``yolo_attn.engine.export``: pixel boxes of 480 px are float32-spaced 3e-5).
The checkpoints are ``YOLO(cfg).save()`` files (what ultralytics' trainer writes, fp16 weights) with the attention
parameters spread out first, so that a module whose weights start at a constant (SA's zero ``cweight``, NAM's equal
BatchNorm shares) is exercised in the comparison.
"""

import re

import pytest
import torch

from yolo_attn import shipped_configs
from yolo_attn.engine.export import PARITY_ATOL, ParityError, export_and_check, run_exported
from yolo_attn.tools.module_table import package_modules
from yolo_attn.analysis.visualize import attention_parts

IMGSZ = 64


def _checkpoint(cfg: str, folder) -> str:
    from ultralytics import YOLO

    model = YOLO(cfg.replace("yolov5-", "yolov5n-"))
    parts = attention_parts(model.model)
    assert parts, f"{cfg}: no attention module found"
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, _, part in parts:
            for p in part.parameters():
                p.add_(torch.randn(p.shape, generator=g) * 0.5)
            for name, b in part.named_buffers():
                if name.endswith("running_var"):
                    b.mul_(torch.rand(b.shape, generator=g) + 0.5)
    path = folder / f"{cfg.removesuffix('.yaml')}.pt"
    model.save(path)
    return str(path)


def test_every_registered_module_has_a_shipped_config():
    """So the parametrised export test below covers every module type."""
    from yolo_attn.plugin.hook import CONFIG_DIR

    used = set()
    for cfg in shipped_configs():
        used |= set(re.findall(r"^\s*- \[.*?,\s*\d+,\s*(\w+),", (CONFIG_DIR / cfg).read_text(), re.M))
    assert set(package_modules()) <= used, f"no shipped config uses {sorted(set(package_modules()) - used)}"
    assert {"SE", "CBAM", "SimAM", "SRM", "EMA", "ECA", "CA", "GAM", "SA", "NAM", "TripletAttention", "GC", "BAM"} <= used


@pytest.mark.parametrize("cfg", shipped_configs())
def test_shipped_config_exports_with_parity(cfg, tmp_path):
    weights = _checkpoint(cfg, tmp_path)
    results = export_and_check(weights, formats=("onnx", "torchscript"), imgsz=IMGSZ)
    for fmt, suffix in (("onnx", ".onnx"), ("torchscript", ".torchscript")):
        assert results[fmt]["file"].endswith(suffix)
        (raw,) = results[fmt]["max_abs_diff"].values()
        (normalised,) = results[fmt]["max_abs_diff_normalised"].values()
        assert normalised <= PARITY_ATOL
        # raw pixel diff: reported, not bounded by 1e-4, since boxes reach 480 px here (float32 spacing 3e-5)
        assert 0 <= raw <= PARITY_ATOL * 640
    # fixed input size by default: the ONNX file declares 1x3x64x64
    import onnx

    dims = onnx.load(results["onnx"]["file"]).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, IMGSZ, IMGSZ]


@pytest.mark.parametrize("cfg", ["yolov5-ema.yaml", "yolov5-ca.yaml"])
def test_h_w_pooling_modules_export_with_dynamic_shapes(cfg, tmp_path):
    """EMA and CA pool over h and over w: exported once at 64, run at other batch sizes and sizes."""
    weights = _checkpoint(cfg, tmp_path)
    sizes = [(1, 64, 64), (2, 96, 128), (1, 160, 96)]
    results = export_and_check(weights, formats=("onnx",), imgsz=IMGSZ, dynamic=True, check_sizes=sizes)
    assert set(results["onnx"]["max_abs_diff"]) == set(sizes)
    assert max(results["onnx"]["max_abs_diff_normalised"].values()) <= PARITY_ATOL


def test_parity_diffs_divide_only_the_box_rows_by_the_input_size():
    import numpy as np

    from yolo_attn.engine.export import parity_diffs

    expected = np.zeros((1, 6, 3), np.float32)  # 4 box rows + 2 classes, 3 anchors
    got = expected.copy()
    got[0, 1, 2] = 0.064  # a box off by 0.064 px at 640 px: 1e-4 of the image
    assert parity_diffs(got, expected, 640) == pytest.approx((0.064, 1e-4))
    got[0, 5, 0] = 2e-4  # a class score off by 2e-4 is not scaled
    assert parity_diffs(got, expected, 640) == pytest.approx((0.064, 2e-4))


def test_parity_failure_and_unknown_format_are_reported(tmp_path):
    weights = _checkpoint("yolov5-se.yaml", tmp_path)
    with pytest.raises(ParityError, match=r"torchscript .*max abs difference .* vs PyTorch at input \(1, 64, 64\)"):
        export_and_check(weights, formats=("torchscript",), imgsz=IMGSZ, atol=-1.0)
    with pytest.raises(ValueError, match="knows .onnx and .torchscript"):
        run_exported(tmp_path / "model.engine", torch.zeros(1, 3, 64, 64))
