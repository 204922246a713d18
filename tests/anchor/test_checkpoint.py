"""Checkpoints saved by YOLOv5's own code (``yolo_attn.checkpoint.yolov5``, ``graph/transfer/yolov5``).

YOLOv5 v7.0 (``yolov5==7.0.14``, from ``$YOLO_ATTN_YOLOV5_REF``, default ``<repo>/.ci-yolov5``) runs only in a
subprocess (``yolov5_reference_ckpt.py``): it saves yolov5n at nc 80 and nc 4 as its train.py does (fp16 model
objects), in the packaged layout (``yolov5.models.yolo.*``) and the repository layout (``models.yolo.*``: the classes'
module paths rewritten before pickling), plus a crafted checkpoint whose pickle calls ``os.system``; and it records
its own eval output and train-mode maps on a fixed input. Here, without YOLOv5's code, the files load through
``yolo_attn.load_weights`` into our anchor-based model and give YOLOv5's outputs; into YOLOv5u only backbone and neck;
with attention rows inserted, every base tensor lands on its new index; the crafted one is refused.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ultralytics.nn.tasks import DetectionModel

from conftest import subprocess_env
from yolo_attn import insert_attention, load_weights
from yolo_attn.checkpoint.yolov5 import UnsafeCheckpointError, _pickled_globals, read_yolov5_checkpoint, yolov5_layout
from yolo_attn.errors import UsageError
from yolo_attn.graph.rows import AttentionSlot
from yolo_attn.graph.rows import base_layout

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = ("packaged", "repository")


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory, yolov5_ref):
    """Folder of checkpoints and reference outputs written by YOLOv5's code (see the module docstring)."""
    out = tmp_path_factory.mktemp("yolov5ckpt")
    env = subprocess_env(PYTHONPATH=str(yolov5_ref))
    r = subprocess.run([sys.executable, str(Path(__file__).with_name("yolov5_reference_ckpt.py")), str(out)],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


@pytest.fixture
def v5n_yaml(yolov5_ref):
    return str(yolov5_ref / "yolov5" / "models" / "yolov5n.yaml")


def _anchor_model(nc: int, d):
    m = DetectionModel(d, nc=nc, verbose=False)
    assert getattr(m.model[-1], "head_kind", None) == "anchor"
    return m


@pytest.mark.parametrize("layout", LAYOUTS)
def test_both_layouts_are_what_yolov5_pickles(ckpts, layout):
    """The files hold YOLOv5 model objects under the named module paths (the test is about those two layouts)."""
    mods = _pickled_globals(ckpts / f"{layout}-nc80.pt")
    prefix = "yolov5.models." if layout == "packaged" else "models."
    assert {f"{prefix}yolo", f"{prefix}common"} <= mods
    assert layout == "packaged" or not any(m.startswith("yolov5.") for m in mods)
    assert yolov5_layout(ckpts / f"{layout}-nc80.pt") == layout


@pytest.mark.parametrize("layout", LAYOUTS)
def test_reader_gives_yolov5s_state_dict_yaml_names_stride(ckpts, layout):
    ck = read_yolov5_checkpoint(ckpts / f"{layout}-nc4.pt")
    ref = torch.load(ckpts / f"{layout}-nc4.out.pt")["state_dict"]
    assert list(ck.state_dict) == list(ref)  # same keys, same order as YOLOv5's model.state_dict()
    for k, v in ref.items():
        assert ck.state_dict[k].dtype == (torch.float32 if v.is_floating_point() else v.dtype)
        assert torch.equal(ck.state_dict[k], v), k
    assert ck.nc == 4 and ck.names == {i: f"class{i}" for i in range(4)} and ck.stride == [8.0, 16.0, 32.0]
    assert ck.yaml["nc"] == 4 and ck.yaml["anchors"][0] == [10, 13, 16, 30, 33, 23] and len(ck.yaml["backbone"]) == 10
    assert ck.entry == "ema" and ck.epoch == 3 and ck.model_class.endswith("models.yolo.DetectionModel")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("nc", [80, 4])
def test_loaded_model_gives_yolov5s_outputs(ckpts, v5n_yaml, layout, nc, log_lines):
    """Eval: boxes and objectness x class equal YOLOv5's (B, N, 5 + nc) output; train: the per-level maps equal."""
    model = _anchor_model(nc, v5n_yaml)
    ref = torch.load(ckpts / f"{layout}-nc{nc}.out.pt")
    with torch.no_grad():
        model.eval()(ref["x"])  # grids cached with the model's own anchors must not survive the load
    report = load_weights(model, str(ckpts / f"{layout}-nc{nc}.pt"))
    assert report["percent"] == 100.0 and report["transferred"] == report["base_total"] == 349
    line = next(s for s in log_lines if s.startswith("transferred"))
    assert line.startswith("transferred 100% of the base (349/349 tensors); new: 0 tensors in 0 attention layers")
    assert f"{layout} layout" in line and f"nc {nc}" in line
    with torch.no_grad():
        y, _ = model.eval()(ref["x"])
        maps = model.train()(ref["x"])
    yv5 = ref["y"]  # (B, N, 5 + nc): xywh, objectness, class probabilities
    assert y.shape == (2, 4 + nc, yv5.shape[1])
    torch.testing.assert_close(y[:, :4].permute(0, 2, 1), yv5[..., :4], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(y[:, 4:].permute(0, 2, 1), yv5[..., 4:5] * yv5[..., 5:], atol=1e-4, rtol=1e-4)
    assert len(maps) == len(ref["maps"]) == 3
    for a, b in zip(maps, ref["maps"]):
        assert a.shape == b.shape == (2, 3, b.shape[2], b.shape[3], 5 + nc)
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_other_nc_keeps_box_and_objectness_rows(ckpts, v5n_yaml, log_lines):
    """nc 80 checkpoint into an nc 4 model: per anchor, rows 0-4 (xywh, obj) come from the checkpoint, the class
    rows keep the model's initial values (YOLOv5's class-bias prior); anchors come from the checkpoint."""
    model = _anchor_model(4, v5n_yaml)
    before = {k: v.clone() for k, v in model.model[-1].state_dict().items()}
    report = load_weights(model, str(ckpts / "packaged-nc80.pt"))
    ck = read_yolov5_checkpoint(ckpts / "packaged-nc80.pt").state_dict
    head = model.model[-1]
    for i in range(3):
        for name in ("weight", "bias"):
            got = getattr(head.m[i], name).detach().view(3, 9, -1)
            src = ck[f"model.24.m.{i}.{name}"].view(3, 85, -1)
            assert torch.equal(got[:, :5], src[:, :5])
            assert torch.equal(got[:, 5:], before[f"m.{i}.{name}"].view(3, 9, -1)[:, 5:])
    assert torch.equal(head.anchors, ck["model.24.anchors"])
    assert report["head_rows"] == 6 and report["transferred"] == report["base_total"]
    line = next(s for s in log_lines if s.startswith("transferred"))
    assert ("Detect: box and objectness rows of 6 output tensors transferred, class rows new (nc 4, checkpoint nc 80)"
            in line)


def test_yolov5u_model_gets_backbone_and_neck_only(ckpts, log_lines):
    """ultralytics' anchor-free yolov5n: layers 0-23 from the checkpoint, its Detect untouched."""
    model = DetectionModel("yolov5n.yaml", nc=80, verbose=False)
    assert getattr(model.model[-1], "head_kind", None) != "anchor"
    head_before = {k: v.clone() for k, v in model.model[-1].state_dict().items()}
    report = load_weights(model, str(ckpts / "repository-nc80.pt"))
    ck = read_yolov5_checkpoint(ckpts / "repository-nc80.pt").state_dict
    sd = model.state_dict()
    body = [k for k in sd if int(k.split(".")[1]) < 24]
    assert body and all(torch.equal(sd[k], ck[k]) for k in body)
    assert all(torch.equal(v, head_before[k]) for k, v in model.model[-1].state_dict().items())
    assert report["transferred"] == len(body) and report["head_new"] == len(head_before) == len(report["missed"])
    assert report["base_total"] == len(body) + len(head_before)
    line = next(s for s in log_lines if s.startswith("transferred"))
    assert f"({len(body)}/{len(sd)} tensors: backbone and neck)" in line and "Detect new" in line


def test_attention_rows_shift_base_layers(ckpts, v5n_yaml, log_lines):
    """SE after each neck C3 (--attn SE --at neck) in YOLOv5's yaml: every base tensor lands on its new index."""
    d = insert_attention(v5n_yaml, "SE", "neck")
    model = _anchor_model(80, d)
    report = load_weights(model, str(ckpts / "repository-nc80.pt"))
    ck = read_yolov5_checkpoint(ckpts / "repository-nc80.pt").state_dict
    layout = base_layout(model.yaml)
    assert sum(isinstance(p, AttentionSlot) for p in layout) == 3
    sd = model.state_dict()
    for k, v in sd.items():
        i, rest = k.split(".", 2)[1:]
        pos = layout[int(i)]
        if isinstance(pos, int):
            assert torch.equal(v, ck[f"model.{pos}.{rest}"]), k
    assert report["percent"] == 100.0 and report["new_layers"] == 3 and report["new_tensors"] == 6
    assert any(s.startswith("transferred 100% of the base (349/349 tensors); new: 6 tensors in 3 attention layers")
               for s in log_lines)


def test_foreign_global_is_refused(ckpts, v5n_yaml):
    """A YOLOv5 checkpoint with an entry whose unpickling calls os.system: refused, naming the global; nothing ran."""
    with pytest.raises(UnsafeCheckpointError, match=r"refused to load global '(posix|os|nt)\.system'"):
        read_yolov5_checkpoint(ckpts / "evil.pt")
    with pytest.raises(UsageError, match=r"evil\.pt: refused to load global '(posix|os|nt)\.system'"):
        load_weights(_anchor_model(80, v5n_yaml), str(ckpts / "evil.pt"))
    assert not (ckpts / "pwned").exists()


def test_other_scale_is_refused(ckpts, yolov5_ref):
    d = str(yolov5_ref / "yolov5" / "models" / "yolov5s.yaml")
    with pytest.raises(UsageError, match=r"does not match .*base layer 0 \(Conv\) has conv\.weight"):
        load_weights(_anchor_model(80, d), str(ckpts / "packaged-nc80.pt"))


def _train_attn(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "train_attn.py"), *args], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=1500)


def test_cli_refuses_yolov5_checkpoint_of_another_scale(ckpts, tmp_path):
    """yolov5n weights for a yolov5s run: one error line, exit 2, no run folder."""
    r = _train_attn("--cfg", "yolov5s.yaml", "--anchors", "--weights", str(ckpts / "packaged-nc80.pt"), "--epochs", "1",
                    "--project", str(tmp_path / "runs"), cwd=tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    err = [s for s in r.stderr.splitlines() if s.startswith("error:")]
    assert len(err) == 1 and "is a YOLOv5 checkpoint" in err[0] and "Traceback" not in r.stderr
    assert not list((tmp_path / "runs").glob("*/weights"))


@pytest.mark.slow
def test_cli_weights_fine_tunes_from_yolov5_checkpoint(ckpts, tmp_path):
    """train_attn.py --attn SE --at neck --anchors --weights <YOLOv5's checkpoint>: every base tensor, one epoch."""
    r = _train_attn("--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "neck", "--anchors", "--weights",
                    str(ckpts / "repository-nc80.pt"), "--epochs", "1", "--imgsz", "64", "--project",
                    str(tmp_path / "runs"), cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert ("transferred 100% of the base (349/349 tensors); new: 6 tensors in 3 attention layers; Detect: box and "
            "objectness rows of 6 output tensors transferred, class rows new (nc 4, checkpoint nc 80); from a YOLOv5 "
            "checkpoint (repository layout: models.yolo.DetectionModel, 'ema', nc 80)") in out
    run = tmp_path / "runs" / "yolov5n-se-neck-anchors"
    assert (run / "weights" / "best.pt").is_file()
    assert len((run / "results.csv").read_text().strip().splitlines()) == 2  # header + epoch 1
