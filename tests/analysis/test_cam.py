"""visualize_attn.py --cam: EigenCAM / Grad-CAM heatmaps (grad-cam package) of two checkpoints side by side on the
same images; checkpoints saved by ultralytics' own ``model.save`` (random weights: no training needed)."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import subprocess_env
from yolo_attn.analysis.cam import LABEL_H, visualize_cam
from yolo_attn.cli.visualize import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    """A plain yolov5n and a yolov5n-se checkpoint (ultralytics' save format), and a folder of two odd-sized images."""
    from ultralytics import YOLO

    tmp = tmp_path_factory.mktemp("cam")
    paths = []
    for i, (cfg, name) in enumerate((("yolov5n.yaml", "base"), ("yolov5n-se.yaml", "attn"))):
        torch.manual_seed(i)
        path = tmp / f"{name}.pt"  # not yolov5n.pt: ultralytics' YOLO() swaps that name for yolov5nu.pt (a download)
        YOLO(cfg).save(path)
        paths.append(path)
    imgs = tmp / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (("wide.png", (48, 80, 3)), ("tall.jpg", (70, 40, 3))):
        im = rng.integers(0, 255, shape, dtype=np.uint8)
        cv2.rectangle(im, (5, 5), (25, 30), (255, 255, 255), -1)  # some structure for the maps
        cv2.imwrite(str(imgs / name), im)
    return tmp, paths, imgs


@pytest.mark.parametrize("method", ["eigencam", "gradcam"])
def test_sheet_and_values_of_two_checkpoints(ckpts, method):
    tmp, paths, imgs = ckpts
    out = tmp / f"out_{method}"
    files = visualize_cam(paths, imgs, out, method=method, imgsz=64)
    assert sorted(f.name for f in files) == ["tall_cam.npz", "tall_cam.png", "wide_cam.npz", "wide_cam.png"]
    for name, (h, w) in (("wide", (48, 80)), ("tall", (70, 40))):
        sheet = cv2.imread(str(out / f"{name}_cam.png"))
        assert sheet.shape == (h + LABEL_H, 3 * w, 3)  # the image, then one panel per checkpoint
        z = np.load(out / f"{name}_cam.npz")
        assert sorted(z.files) == ["0_base", "1_attn"]
        a, b = z["0_base"], z["1_attn"]
        for v in (a, b):
            assert v.shape == (h, w) and np.isfinite(v).all() and v.min() >= 0 and v.max() <= 1 and v.max() > 0
        assert np.abs(a - b).max() > 0.05  # two models, two maps
        # the overlay panels show the maps: the sheet's panels differ from the image and from each other
        panels = [sheet[LABEL_H:, i * w:(i + 1) * w].astype(int) for i in range(3)]
        assert np.abs(panels[1] - panels[2]).mean() > 1 and np.abs(panels[0] - panels[1]).mean() > 1


def test_same_checkpoint_twice_gives_the_same_map(ckpts):
    tmp, paths, imgs = ckpts
    out = tmp / "same"
    visualize_cam([paths[1], paths[1]], imgs / "wide.png", out, method="eigencam", imgsz=64)
    z = np.load(out / "wide_cam.npz")
    np.testing.assert_allclose(z["0_attn"], z["1_attn"], atol=1e-6)


def test_cli_cam_and_its_refusals(ckpts, capsys):
    tmp, paths, imgs = ckpts
    main(["--cam", "eigencam", "--weights", str(paths[0]), "--weights", str(paths[1]), "--source", str(imgs),
          "--imgsz", "64", "--project", str(tmp / "cli"), "--name", "exp"])
    assert "4 files saved to" in capsys.readouterr().out
    assert (tmp / "cli" / "exp" / "wide_cam.png").is_file()
    from yolo_attn.errors import UsageError

    with pytest.raises(UsageError, match="--weights: given more than once; .*--cam"):
        main(["--weights", str(paths[0]), "--weights", str(paths[1]), "--source", str(imgs)])
    with pytest.raises(UsageError, match="--cam-layers 99: no such layer"):
        main(["--cam", "eigencam", "--weights", str(paths[0]), "--weights", str(paths[1]), "--source", str(imgs),
              "--imgsz", "64", "--project", str(tmp / "cli"), "--name", "bad", "--cam-layers", "99"])
    assert not (tmp / "cli" / "bad").exists()  # no empty run folder left behind


@pytest.mark.subprocess
def test_without_the_package_one_error_line(ckpts, tmp_path):
    """grad-cam missing (a module named pytorch_grad_cam that fails to import): one error line naming the extra."""
    _, paths, imgs = ckpts
    shadow = tmp_path / "shadow"
    (shadow / "pytorch_grad_cam").mkdir(parents=True)
    (shadow / "pytorch_grad_cam" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = subprocess_env()
    env["PYTHONPATH"] = f"{shadow}:{env.get('PYTHONPATH', '')}"
    r = subprocess.run([sys.executable, str(ROOT / "visualize_attn.py"), "--cam", "gradcam", "--weights", str(paths[0]),
                        "--weights", str(paths[1]), "--source", str(imgs), "--project", str(tmp_path / "p")],
                       capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert errors == ["error: --cam needs the grad-cam package: pip install yolo_attn[cam]"], r.stderr[-2000:]
    assert "Traceback" not in r.stderr and not (tmp_path / "p").exists()
