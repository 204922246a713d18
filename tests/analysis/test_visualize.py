"""visualize_attn.py: one PNG per attention layer plus a contact sheet, and the plotted numbers are the weights the
modules really multiplied by (checked with the test's own forward hooks on the modules' inputs and outputs)."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

import yolo_attn
from conftest import subprocess_env
from yolo_attn import BAM, CA, CBAM, ECA, EMA, GAM, GC, NAM, SA, SE, SRM, SimAM, TripletAttention
from yolo_attn.analysis.visualize import attention_parts, collect_attention, image_files, load_image, visualize

ROOT = Path(__file__).resolve().parents[2]

# yolov5-cbam.yaml (CBAM at layer 9) plus attention on each head output: channel and spatial modules, backbone and head
HEAD_ROWS = "  - [18, 1, SE, [4]] # 25\n  - [21, 1, SimAM, []] # 26\n  - [24, 1, CA, [8]] # 27\n  - [-1, 1, ECA, []] # 28\n"
EXPECTED_PNGS = {"layer09_CBAM.png", "layer25_SE.png", "layer26_SimAM.png", "layer27_CA.png", "layer28_ECA.png"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real run's best.pt (1 epoch on a tiny embedded set) with its attention parameters then spread out, so that
    a wrong channel order or a wrong average cannot hide behind weights that are all ~0.5 after one epoch."""
    from yolo_attn.data.synthetic import make_dataset
    from yolo_attn.engine.train import train

    tmp = tmp_path_factory.mktemp("vis")
    data = make_dataset(tmp / "ds", n_train=8, n_val=4, imgsz=64, seed=0)
    src = (yolo_attn.CONFIG_DIR / "yolov5-cbam.yaml").read_text()
    src = src.replace("  - [[18, 21, 24], 1, Detect, [nc]]", HEAD_ROWS + "  - [[25, 26, 28], 1, Detect, [nc]]")
    cfg = tmp / "yolov5n-multi.yaml"
    cfg.write_text(src)
    (run,) = train(str(cfg), str(data), epochs=1, imgsz=64, batch=4, project=str(tmp / "runs"), name="multi", plots=False)
    best = run / "weights" / "best.pt"
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _, _, part in attention_parts(ckpt["model"]):
            for p in part.parameters():
                p.add_(torch.randn(p.shape, generator=g).to(p.dtype))
    torch.save(ckpt, best)
    return best, tmp


def _hook_io(model, parts):
    """Forward hooks of the test's own: each part's (input, output)."""
    io, hooks = {}, []
    for k, (_, _, part) in enumerate(parts):
        hooks.append(part.register_forward_hook(lambda m, a, out, k=k: io.__setitem__(k, (a[0].detach(), out.detach()))))
    return io, hooks


@pytest.mark.slow
def test_cli_writes_a_png_per_layer_and_the_hooked_weights(trained, tmp_path):
    best, tmp = trained
    out = tmp_path / "attention"
    env = subprocess_env(YOLO_ATTN_DATASETS=tmp / "default_sets")  # the embedded default set, generated there
    r = subprocess.run(
        [sys.executable, str(ROOT / "visualize_attn.py"), "--weights", str(best), "--out", str(out), "--max-images", "1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    (folder,) = out.iterdir()  # first val image of the embedded set, no --source given
    names = {p.name for p in folder.iterdir()}
    assert names == EXPECTED_PNGS | {"contact_sheet.png", "attention_values.npz"}
    for name in EXPECTED_PNGS | {"contact_sheet.png"}:
        img = cv2.imread(str(folder / name))
        assert img is not None and img.shape[0] > 200 and img.shape[1] > 200 and img.std() > 10, name
    values = dict(np.load(folder / "attention_values.npz"))
    assert set(values) == {
        "layer09_CBAM.channelattention_channel", "layer09_CBAM.spatialattention_spatial", "layer25_SE_channel",
        "layer26_SimAM_spatial", "layer27_CA_spatial", "layer27_CA_rows", "layer27_CA_columns", "layer28_ECA_channel",
    }

    # the same image through the checkpoint, with the test's own hooks
    from ultralytics import YOLO

    (data_yaml,) = (tmp / "default_sets").glob("*/*.yaml")  # the one set the CLI generated there
    d = yaml.safe_load(data_yaml.read_text())
    image_file = image_files(Path(d["path"]) / d["val"])[0]
    assert folder.name == image_file.stem
    image, _ = load_image(image_file, 64)  # the checkpoint's train size, the CLI's default
    model = YOLO(str(best)).model.float().eval()
    parts = attention_parts(model)
    io, hooks = _hook_io(model, parts)
    with torch.no_grad():
        model(image)
    for h in hooks:
        h.remove()
    by_name = {name: io[k] for k, (_, name, _) in enumerate(parts)}
    ca = next(part for _, name, part in parts if name == "CA")
    x, y = by_name["CA"]
    a_h, a_w = ca.hw_weights(x)
    torch.testing.assert_close(y, x * a_h * a_w)  # the h and w maps are what CA multiplied by
    torch.testing.assert_close(torch.from_numpy(values["layer27_CA_rows"]), a_h[0].mean(0).flatten())
    torch.testing.assert_close(torch.from_numpy(values["layer27_CA_columns"]), a_w[0].mean(0).flatten())
    for key, v in values.items():
        name = key.split("_", 1)[1].rsplit("_", 1)[0]
        x, y = by_name[name]
        if key.endswith(("_rows", "_columns")):
            continue  # checked above
        if name != "SimAM":  # parameter-free: its channel-mean map is nearly flat by construction
            assert np.ptp(v) > 1e-4, f"{key}: flat weights would make this check meaningless"
        if key.endswith("_channel"):  # out = in * w_c: the bars are exactly the multipliers
            torch.testing.assert_close(y, x * torch.from_numpy(v).view(1, -1, 1, 1), atol=1e-5, rtol=1e-5, msg=key)
        elif name == "CBAM.spatialattention":  # one map shared by all channels
            torch.testing.assert_close(y, x * torch.from_numpy(v)[None, None], atol=1e-5, rtol=1e-5, msg=key)
        else:  # per-channel maps (SimAM, CA): the heatmap is the channel mean of out / in
            assert (x.abs() > 1e-12).all()
            ref = (y.double() / x.double()).mean((0, 1))
            # tolerance well under the map's own spread, so a shifted or transposed map cannot pass
            torch.testing.assert_close(torch.from_numpy(v).double(), ref, atol=np.ptp(v) * 0.05, rtol=0, msg=key)


def _all_modules():
    return [
        SE(16, 4), CBAM(16, 4), SimAM(), SRM(16), EMA(16, 4), ECA(16), CA(16, 4), GAM(16, 4), SA(16, 2), NAM(16),
        TripletAttention(16), GC(16, 4), BAM(16, 4),
    ]
EXPECTED_KINDS = [
    ("SE", "channel"), ("CBAM.channelattention", "channel"), ("CBAM.spatialattention", "spatial"),
    ("SimAM", "spatial"), ("SRM", "channel"), ("EMA", "spatial"), ("ECA", "channel"), ("CA", "spatial"),
    ("CA", "rows"), ("CA", "columns"),
    ("GAM", "channel"), ("GAM", "spatial"), ("SA", "channel"), ("SA", "spatial"), ("NAM", "channel"),
    ("TripletAttention", "spatial"), ("GC", "spatial"), ("BAM", "spatial"),
]
MULTIPLICATIVE = {"SE", "CBAM.channelattention", "CBAM.spatialattention", "SimAM", "SRM", "EMA", "ECA", "CA", "NAM",
                  "TripletAttention"}  # out = in * weights in one step (GAM and SA take two steps / shuffle; GC adds; BAM: x * (1 + w))


def test_every_module_type_gives_its_maps_and_they_match_hooks():
    torch.manual_seed(0)  # built here, after seeding: the same parameters in every session
    rows = torch.nn.Sequential(*_all_modules())  # each module one "row", as in a DetectionModel
    with torch.no_grad():
        for p in rows.parameters():
            p.add_(torch.randn(p.shape) * 0.5)
    rows.eval()
    x = torch.randn(1, 16, 6, 10) + torch.linspace(-2, 2, 16).view(1, 16, 1, 1)  # distinct channel means for SE & co
    parts = attention_parts(rows)
    io, hooks = _hook_io(rows, parts)
    maps = collect_attention(rows, x)
    for h in hooks:
        h.remove()
    assert [(m.module, m.kind) for m in maps] == EXPECTED_KINDS
    assert [m.layer for m in maps] == [0, 1, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 8, 8, 9, 10, 11, 12]
    part_index = {name: k for k, (_, name, _) in enumerate(parts)}
    for m in maps:
        n_channels = 8 if m.module == "SA" else 16
        assert m.values.shape == {"channel": (n_channels,), "spatial": (6, 10), "rows": (6,), "columns": (10,)}[m.kind]
        assert ((m.values >= 0) & (m.values <= 1)).all() and np.ptp(m.values) > 1e-3 * m.values.max(), m.key
        if m.module in MULTIPLICATIVE and m.kind in ("channel", "spatial"):
            xin, y = io[part_index[m.module]]
            ratio = y / xin
            expected = ratio.mean((0, 2, 3)) if m.kind == "channel" else ratio.mean((0, 1))
            torch.testing.assert_close(torch.from_numpy(m.values), expected, atol=1e-4, rtol=1e-4, msg=m.key)


def test_clear_errors(tmp_path):
    from ultralytics import YOLO

    plain = tmp_path / "plain.pt"
    YOLO("yolov5n.yaml").save(plain)
    with pytest.raises(ValueError, match="no attention layer"):
        visualize(plain, tmp_path, tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no images"):
        image_files(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        image_files(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"one image of shape \(1, 3, H, W\)"):
        collect_attention(torch.nn.Sequential(SE(16, 4)), torch.zeros(2, 16, 4, 4))


def test_cli_missing_weights_is_one_error_line(capsys):
    sys.path.insert(0, str(ROOT))
    try:
        import visualize_attn
    finally:
        sys.path.remove(str(ROOT))
    from yolo_attn.cli.guard import main_guard

    assert main_guard(visualize_attn.main, ["--weights", "nope.pt"]) == 2
    assert capsys.readouterr().err.strip() == "error: --weights nope.pt: no such file"
