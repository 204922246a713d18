"""insert_attention: placements found from the graph on six detector families build, run, add only the modules'
parameters, feed Detect, reproduce the EMA authors' yolov5s layout and the shipped yamls; the yaml writer round-trips."""

from pathlib import Path

import pytest
import torch
from ultralytics.nn.tasks import DetectionModel, yaml_model_load

import yolo_attn
from yolo_attn.graph.placement import generate_cfg, insert_attention, parse_at, parse_attn_args, write_model_yaml
from yolo_attn.graph.checks import check_graph

BASES = ["yolov5n.yaml", "yolov5s.yaml", "yolov8n.yaml", "yolo11n.yaml", "yolov8n-p2.yaml", "yolov5n-p6.yaml"]
# (placement, module, args): different modules so parameter-free (SimAM) and multi-branch (CBAM, EMA) rows are covered
CASES = [("backbone", "SE", []), ("stages", "CBAM", []), ("neck", "EMA", [8]), ("ints", "SimAM", [])]
# the positions each placement must give (base-yaml indices), read off the yamls by hand
EXPECTED = {
    "yolov5n.yaml": {"backbone": [8], "stages": [4, 6, 8], "neck": [17, 20, 23]},
    "yolov5s.yaml": {"backbone": [8], "stages": [4, 6, 8], "neck": [17, 20, 23]},
    "yolov8n.yaml": {"backbone": [8], "stages": [4, 6, 8], "neck": [15, 18, 21]},
    "yolo11n.yaml": {"backbone": [8], "stages": [4, 6, 8], "neck": [16, 19, 22]},
    "yolov8n-p2.yaml": {"backbone": [8], "stages": [2, 4, 6, 8], "neck": [18, 21, 24, 27]},
    "yolov5n-p6.yaml": {"backbone": [10], "stages": [4, 6, 8, 10], "neck": [23, 26, 29, 32]},
}
_PLAIN = {}


def _n(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _plain(base):
    """(plain model, output channels of each base layer) for a base yaml, built once per test session."""
    if base not in _PLAIN:
        model = DetectionModel(base, verbose=False)
        chans = {}
        hooks = [m.register_forward_hook(lambda m, i, o, k=k: chans.__setitem__(k, o.shape[1]))
                 for k, m in enumerate(model.model[:-1])]
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64))
        for h in hooks:
            h.remove()
        _PLAIN[base] = model, chans
    return _PLAIN[base]


@pytest.mark.parametrize("place,module,args", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("base", BASES)
def test_placement_builds_runs_adds_only_the_modules_and_feeds_detect(base, place, module, args):
    plain, chans = _plain(base)
    n_rows = len(plain.model)
    at = [3, n_rows - 2] if place == "ints" else place  # an early layer and the last layer before the head
    pos = [3, n_rows - 2] if place == "ints" else EXPECTED[base][place]
    d = insert_attention(base, module, at, args)
    assert check_graph(d) == []  # every attention output is read by a later layer

    rows = d["backbone"] + d["head"]
    new = {k: k + sum(p < k for p in pos) for k in range(n_rows)}
    attn_rows = [new[p] + 1 for p in pos]
    assert [i for i, r in enumerate(rows) if r[2] == module and r[3] == args] == attn_rows == d["attn"]["layers"]
    assert all(rows[a][0] == -1 for a in attn_rows)
    # Detect reads the attention output where a module follows a layer it read, else the shifted layer
    old_detect = plain.yaml["head"][-1][0]
    assert rows[-1][0] == [new[j] + 1 if j in pos else new[j] for j in old_detect]
    if place == "neck":
        assert rows[-1][0] == attn_rows

    model = DetectionModel(d, verbose=False)
    cls = yolo_attn.get_attention(module)
    own = sum(_n(cls(chans[p], *args)) for p in pos)  # each module built alone with the channels it follows
    assert _n(model) - _n(plain) == own == sum(_n(model.model[a]) for a in attn_rows)
    assert all(type(model.model[a]) is cls for a in attn_rows)
    assert model.model[-1].f == rows[-1][0]
    model.eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 64, 64))[0]
        y0 = plain(torch.rand(1, 3, 64, 64))[0]
    assert y.shape == y0.shape and torch.isfinite(y).all()


def test_ema_authors_yolov5s_layout():
    """models/yolov5s_EMA.yaml of YOLOonMe/EMA-attention-module: EMA after 6 and after 8 (before SPPF)."""
    d = insert_attention("yolov5s.yaml", "EMA", at=[6, 8])
    rows = d["backbone"] + d["head"]
    assert [r[2] for r in d["backbone"]] == ["Conv", "Conv", "C3", "Conv", "C3", "Conv", "C3", "EMA", "Conv", "C3",
                                             "EMA", "SPPF"]
    assert [r[0] for r in rows if r[2] == "Concat"] == [[-1, 7], [-1, 4], [-1, 16], [-1, 12]]
    assert rows[-1][0] == [19, 22, 25] and rows[-1][2] == "Detect"
    assert d["attn"] == {"base": "yolov5s.yaml", "module": "EMA", "at": [6, 8], "args": [], "layers": [7, 10]}
    assert d["scale"] == "s" and d["yaml_file"] == "yolov5s-ema-6+8.yaml"


@pytest.mark.parametrize("path", sorted(yolo_attn.CONFIG_DIR.glob("yolov5-*.yaml")), ids=lambda p: p.stem)
def test_shipped_yaml_is_the_backbone_placement(path):
    shipped = yaml_model_load(path)
    row = next(r for r in shipped["backbone"] if r[2] in yolo_attn.ATTENTION_REGISTRY)
    d = insert_attention("yolov5.yaml", row[2], "backbone", row[3])
    assert d["backbone"] == shipped["backbone"] and d["head"] == shipped["head"]
    assert d["nc"] == shipped["nc"] and d["scales"] == shipped["scales"]


def test_stacking_onto_an_attention_yaml_records_both():
    d = insert_attention("yolov5n-se.yaml", "CBAM", "neck")
    rows = d["backbone"] + d["head"]
    assert [(i, r[2]) for i, r in enumerate(rows) if r[2] in ("SE", "CBAM")] == [(9, "SE"), (19, "CBAM"),
                                                                                 (23, "CBAM"), (27, "CBAM")]
    assert rows[-1][0] == [19, 23, 27] and check_graph(d) == []
    d2 = insert_attention(d, "SimAM", "backbone")
    assert isinstance(d2["attn"], list) and [r["module"] for r in d2["attn"]] == ["CBAM", "SimAM"]
    assert d2["backbone"][10][2] == "SimAM" and d2["backbone"][11][2] == "SPPF"  # after SE, before SPPF
    DetectionModel(d2, verbose=False)


def test_dedupes_and_combines_placements():
    d = insert_attention("yolov5n.yaml", "SE", ["backbone", 8, "neck", 17])
    assert d["attn"]["layers"] == [9, 19, 23, 27] and d["attn"]["at"] == ["backbone", 8, "neck", 17]
    assert d["yaml_file"] == "yolov5n-se-backbone+8+neck+17.yaml"


def test_bad_placement_module_and_args():
    with pytest.raises(ValueError, match=r"placement 24 on base yolov5n.yaml: .*valid: 0\.\.23 .*Detect"):
        insert_attention("yolov5n.yaml", "SE", [6, 24])
    with pytest.raises(ValueError, match=r"placement -1 on base yolov5n.yaml: .*valid: 0\.\.23"):
        insert_attention("yolov5n.yaml", "SE", -1)
    with pytest.raises(ValueError, match=r"placement 'head': use one of backbone, stages, neck"):
        insert_attention("yolov5n.yaml", "SE", "head")
    with pytest.raises(KeyError, match=r"no attention module 'SEE'. Did you mean 'SE'"):
        insert_attention("yolov5n.yaml", "SEE", "neck")
    with pytest.raises(ValueError, match=r"give SE's own arguments as a list"):
        insert_attention("yolov5n.yaml", "SE", "neck", 16)
    broken = yaml_model_load("yolov5n.yaml")
    broken["head"][-1][0] = [17, 20, 24]
    with pytest.raises(ValueError, match=r"yolov5n.yaml: layer 24 .*'from' index 24 points at the layer itself"):
        insert_attention(broken, "SE", "neck")
    with pytest.raises(ValueError, match=r"yolov8n-cls.yaml: the last head row .* is not a detection head"):
        insert_attention("yolov8n-cls.yaml", "SE", "neck")


def test_parse_cli_values():
    assert parse_at("neck") == ["neck"] and parse_at("6,8") == [6, 8] and parse_at("Backbone, neck") == ["backbone", "neck"]
    assert parse_attn_args("8") == [8] and parse_attn_args("16,7") == [16, 7] and parse_attn_args("0.1") == [0.1]
    assert parse_attn_args("") == []
    with pytest.raises(ValueError, match="empty"):
        parse_at(",")


def test_written_yaml_builds_the_same_model_at_its_scale(tmp_path):
    from ultralytics import YOLO

    d = insert_attention("yolov5s.yaml", "EMA", "neck", [8])
    path = write_model_yaml(d, tmp_path / "sub" / d["yaml_file"])
    text = path.read_text()
    assert "  - [-1, 1, EMA, [8]] # 18\n" in text and "  - [[18, 22, 26], 1, Detect, [nc]] # 27\n" in text
    back = yaml_model_load(path)
    assert back["backbone"] == d["backbone"] and back["head"] == d["head"] and back["attn"] == d["attn"]
    assert back["scale"] == "s"
    built, direct = YOLO(str(path)).model, DetectionModel(d, verbose=False)
    assert _n(built) == _n(direct) > _n(DetectionModel("yolov5n.yaml", verbose=False)) * 3  # s, not n
    with pytest.raises(ValueError, match=r"my.yaml: ultralytics reads the model scale from the file name.*yolov5s-"):
        write_model_yaml(d, tmp_path / "my.yaml")


def test_generate_cfg_reuses_same_content_and_never_overwrites(tmp_path):
    p = generate_cfg("yolov5n.yaml", "SE", ["neck"], [], tmp_path)
    assert p == tmp_path / "yolov5n-se-neck.yaml"
    mtime = p.stat().st_mtime_ns
    assert generate_cfg("yolov5n.yaml", "SE", ["neck"], [], tmp_path) == p and p.stat().st_mtime_ns == mtime
    with pytest.raises(ValueError, match=r"yolov5n-se-neck.yaml exists with other content .* not overwritten"):
        generate_cfg("yolov5n.yaml", "SE", ["neck"], [8], tmp_path)
    assert "SE, []" in p.read_text() and not list(tmp_path.glob(".*"))
    with pytest.raises(ValueError, match=r"EMA needs channels divisible by factor"):  # layers built before writing
        generate_cfg("yolov5n.yaml", "EMA", ["neck"], [24], tmp_path)
    assert not (tmp_path / "yolov5n-ema-neck.yaml").exists()


def _train_cli(argv, capsys):
    import importlib.util
    from pathlib import Path

    from yolo_attn.cli.guard import main_guard

    spec = importlib.util.spec_from_file_location("train_attn", Path(__file__).resolve().parents[2] / "train_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rc = main_guard(mod.main, argv)
    return rc, capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["--attn", "SE"], "error: --attn SE needs a base model to insert it into: add --cfg"),
    (["--cfg", "yolov5n.yaml", "--at", "neck"], "error: --at/--attn-args need --attn"),
    (["--cfg", "all", "--attn", "SE"], "error: --cfg all --attn SE: give the base model(s) to insert SE into"),
    (["--cfg", "yolov5n.yaml", "--attn", "SEE"], "error: --attn SEE --at backbone: no attention module 'SEE'. Did you mean 'SE'"),
    (["--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "6,30"], "error: --attn SE --at 6,30: placement 30 on base yolov5n.yaml"),
    (["--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "head"], "error: --attn SE --at head: placement 'head': use one of"),
    (["--cfg", "yolov5n.yaml", "--attn", "EMA", "--attn-args", "24"], "EMA needs channels divisible by factor"),
])
def test_cli_attn_errors(argv, msg, tmp_path, capsys):
    # a missing --data behind: should a check let the command through, it stops there instead of training
    rc, err = _train_cli([*argv, "--project", str(tmp_path / "runs"), "--data", str(tmp_path / "none.yaml")], capsys)
    assert rc == 2 and msg in err and len(err.strip().splitlines()) == 1
    assert not list((tmp_path / "runs").rglob("*.yaml"))  # nothing generated


def test_train_generates_names_and_records_the_yaml(tmp_path, monkeypatch):
    """train(attn=...) without training: the generated file, run names, the model passed on (scale letter kept)."""
    import yolo_attn.engine.train as t
    from yolo_attn.data.synthetic import make_dataset

    data = make_dataset(tmp_path / "data", n_train=2, n_val=1, imgsz=64)
    calls = []
    monkeypatch.setattr(t, "train_one", lambda cfg, data, **kw: calls.append((cfg, kw)) or Path(kw["project"]) / kw["name"])
    proj = (tmp_path / "r").resolve()
    t.train("yolov5s.yaml", str(data), attn="EMA", at="6,8", attn_args="8", seeds=[0, 1], project=str(tmp_path / "r"))
    gen = proj / "cfg" / "yolov5s-ema-6+8.yaml"
    assert [(c, kw["name"]) for c, kw in calls] == [(str(gen), "yolov5s-ema-6+8-seed0"), (str(gen), "yolov5s-ema-6+8-seed1")]
    assert yaml_model_load(gen)["attn"] == {"base": "yolov5s.yaml", "module": "EMA", "at": [6, 8], "args": [8], "layers": [7, 10]}
    calls.clear()
    t.train("yolov5n-se.yaml", str(data), attn="CBAM", at=["backbone", "neck"], project=str(tmp_path / "r"))
    assert [Path(c).name for c, _ in calls] == ["yolov5n-se-cbam-backbone+neck.yaml"] and calls[0][1]["name"] == "yolov5n-se-cbam-backbone+neck"
    calls.clear()
    t.train("yolov5n.yaml", str(data), attn="SE", project=str(tmp_path / "r"))  # --at defaults to backbone
    assert Path(calls[0][0]).name == "yolov5n-se-backbone.yaml"


@pytest.mark.slow
def test_cli_one_epoch_attn_run_records_provenance(tmp_path):
    """A real 1-epoch run of train_attn.py --attn SE --at neck: yaml file, run name, args.yaml, checkpoint yaml."""
    import subprocess
    import sys

    import yaml
    from conftest import subprocess_env
    from ultralytics.nn.tasks import torch_safe_load

    from yolo_attn.data.synthetic import make_dataset

    data = make_dataset(tmp_path / "data", n_train=8, n_val=4, imgsz=64)
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, str(root / "train_attn.py"), "--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "neck",
           "--data", str(data), "--epochs", "1", "--imgsz", "64", "--batch-size", "4", "--project", "runs", "plots=False"]
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    gen = tmp_path / "runs" / "cfg" / "yolov5n-se-neck.yaml"
    run = tmp_path / "runs" / "yolov5n-se-neck"
    assert f"run saved to {run}" in r.stdout
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert args["model"] == str(gen)
    ckpt, _ = torch_safe_load(str(run / "weights" / "best.pt"))
    model = ckpt["model"]
    rec = {"base": "yolov5n.yaml", "module": "SE", "at": ["neck"], "args": [], "layers": [18, 22, 26]}
    assert model.yaml["attn"] == rec and model.yaml["scale"] == "n"
    assert [type(model.model[i]).__name__ for i in rec["layers"]] == ["SE"] * 3 and model.model[-1].f == rec["layers"]
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in DetectionModel(insert_attention("yolov5n.yaml", "SE", "neck"), nc=model.yaml["nc"], verbose=False).parameters())


def test_relative_from_offsets_are_recomputed():
    """A Concat written [-1, -6] (relative) must still read the intended layer, or its attention, after insertion."""
    base = yaml_model_load("yolov5n.yaml")
    base["head"][2][0] = [-1, -6]  # row 12 reads 6, written relative
    base["head"][6][0] = [-1, -12]  # row 16 reads 4
    d = insert_attention(base, "SE", [4, 6, 10])
    rows = d["backbone"] + d["head"]
    assert rows[15][0] == [-1, -7] and 15 - 7 == 8 and rows[8][2] == "SE"  # old 12 -> 15 reads SE after 6
    assert rows[19][0] == [-1, -14] and rows[19 - 14][2] == "SE"  # old 16 -> 19 reads SE after 4
    assert rows[14][0] == -1 and rows[13][2] == "SE" and rows[12][2] == "Conv"  # old 11 reads SE after 10 via -1
    assert check_graph(d) == []
    DetectionModel(d, verbose=False)
