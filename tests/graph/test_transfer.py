"""Pretrained weights across attention insertions (``yolo_attn.graph.transfer``): every base tensor of a plain checkpoint
lands on its new index in the shipped ``yolov5n-se.yaml``, a hand-written neck yaml (SE after each layer Detect reads)
and a hand-written stages yaml (CBAM after the P3/P4 taps and before SPPF); attention weights carry over between models
of the same base; another base or scale is refused with a message.

End to end, from a 1-epoch plain yolov5n at imgsz 64: fine-tunes of the shipped yolov5n-se.yaml and of the placements
``train(cfg="yolov5n.yaml", attn="SE", at="neck")`` / ``attn="CBAM", at="stages"`` start from every base tensor (the
trainer's start weights are checked) and use SGD unless the caller picks an optimizer; ``train_attn.py --attn SE --at
neck --weights best.pt`` prints the transfer line; the CLI refuses weights of another scale.

The two yamls in ``tests/yamls`` are written by hand and tested to have the layout that ``--attn SE --at neck`` /
``--attn CBAM --at stages`` generate.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel, yaml_model_load

import yolo_attn.engine.train as attn_train
from conftest import subprocess_env
from yolo_attn import insert_attention, load_weights
from yolo_attn.errors import UsageError
from yolo_attn.data.synthetic import make_dataset
from yolo_attn.graph.rows import AttentionSlot, base_layout

ROOT = Path(__file__).resolve().parents[2]
YAMLS = ROOT / "tests" / "yamls"
# model yaml -> indices of its attention rows (written out by hand: the test's own view of the layout)
CASES = {
    "yolov5n-se.yaml": [9],
    str(YAMLS / "yolov5n-se-neck.yaml"): [18, 22, 26],
    str(YAMLS / "yolov5n-cbam-stages.yaml"): [5, 8, 11],
}
# state-dict entries (parameters and buffers) of each attention row: SE 1 x (fc1, fc2); CBAM 3 (mlp x 2, spatial conv)
ATTN_TENSORS = {"yolov5n-se.yaml": 2, "yolov5n-se-neck.yaml": 6, "yolov5n-cbam-stages.yaml": 9}


def _base_key(key: str, attn: list[int]):
    """``model.<j>.rest`` of the attention model -> key of the plain model (None for attention rows)."""
    _, j, rest = key.split(".", 2)
    j = int(j)
    return None if j in attn else f"model.{j - sum(a < j for a in attn)}.{rest}"


@pytest.fixture(scope="module")
def plain_ckpt(tmp_path_factory):
    """An ultralytics-style checkpoint {"model": m} of a plain yolov5n with non-default tensors everywhere."""
    torch.manual_seed(1)
    m = DetectionModel("yolov5n.yaml", verbose=False)
    with torch.no_grad():
        for t in m.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.randn_like(t))
    path = tmp_path_factory.mktemp("ckpt") / "plain.pt"
    torch.save({"model": m}, path)
    return path, {k: v.clone() for k, v in m.state_dict().items()}


def test_base_layout_maps_attention_rows_to_their_base_position():
    layout = base_layout(yaml_model_load("yolov5n-se.yaml"))
    assert layout[:9] == list(range(9)) and layout[10:] == list(range(9, 25))
    assert layout[9] == AttentionSlot(after=8, module="SE", k=0)
    stacked = {"backbone": [[-1, 1, "SE", []], [-1, 1, "Conv", [8, 3]], [-1, 1, "SE", []], [-1, 1, "CBAM", []]],
               "head": [[-1, 1, "Conv", [8, 3]]]}
    assert base_layout(stacked) == [AttentionSlot(-1, "SE", 0), 0, AttentionSlot(0, "SE", 0),
                                    AttentionSlot(0, "CBAM", 1), 1]


@pytest.mark.parametrize("cfg", list(CASES), ids=lambda c: Path(c).stem)
def test_plain_checkpoint_fills_every_base_tensor(cfg, plain_ckpt, log_lines):
    path, plain_sd = plain_ckpt
    model = DetectionModel(cfg, verbose=False)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    report = load_weights(model, path)
    attn, sd = CASES[cfg], model.state_dict()
    base_keys = [k for k in sd if _base_key(k, attn) is not None]
    assert len(base_keys) == len(plain_sd) == 427  # yolov5n: 427 state-dict entries (incl. BN buffers)
    for k in base_keys:
        assert torch.equal(sd[k], plain_sd[_base_key(k, attn)]), k
    new = [k for k in sd if _base_key(k, attn) is None]
    assert len(new) == ATTN_TENSORS[Path(cfg).name]
    for k in new:  # attention layers keep their own initialisation
        assert torch.equal(sd[k], fresh[k]), k
    n_layers = len(attn)
    assert report["transferred"] == report["base_total"] == 427 and report["percent"] == 100.0
    assert (report["new_tensors"], report["new_layers"], report["attention_carried"]) == (len(new), n_layers, 0)
    layer_word = "layer" if n_layers == 1 else "layers"
    assert f"transferred 100% of the base (427/427 tensors); new: {len(new)} tensors in {n_layers} attention " \
           f"{layer_word}" in log_lines


@pytest.mark.parametrize("name, module, at", [("yolov5n-se-neck.yaml", "SE", "neck"),
                                              ("yolov5n-cbam-stages.yaml", "CBAM", "stages")])
def test_hand_written_yamls_have_the_generated_layout(name, module, at):
    """The hand-written test yamls (the "hand-written yaml" cases above) are what ``--attn --at`` generates."""
    hand = DetectionModel(str(YAMLS / name), verbose=False)
    generated = DetectionModel(insert_attention("yolov5n.yaml", module, at), verbose=False)
    layers = lambda m: [(type(x).__name__, x.f) for x in m.model]  # noqa: E731
    assert layers(hand) == layers(generated)
    assert [i for i, x in enumerate(hand.model) if type(x).__name__ == module] == CASES[str(YAMLS / name)]


def test_yolo_object_and_checkpoint_dict(plain_ckpt, log_lines):
    path, plain_sd = plain_ckpt
    yolo = YOLO("yolov5n-se.yaml")
    report = load_weights(yolo, torch.load(path, weights_only=False))
    assert report["transferred"] == 427
    assert torch.equal(yolo.model.state_dict()["model.10.cv1.conv.weight"], plain_sd["model.9.cv1.conv.weight"])  # SPPF


def test_attention_weights_carry_over_between_models_of_one_base(log_lines):
    neck_a = DetectionModel(str(YAMLS / "yolov5n-se-neck.yaml"), verbose=False)
    with torch.no_grad():
        for p in neck_a.parameters():
            p.add_(torch.randn_like(p))
    neck_b = DetectionModel(str(YAMLS / "yolov5n-se-neck.yaml"), verbose=False)
    report = load_weights(neck_b, neck_a)
    assert (report["transferred"], report["attention_carried"], report["new_tensors"]) == (427, 6, 0)
    for k, v in neck_a.state_dict().items():
        assert torch.equal(neck_b.state_dict()[k], v), k
    assert log_lines[-1] == ("transferred 100% of the base (427/427 tensors); new: 0 tensors in 0 attention layers; "
                             "carried over: 6 attention tensors")

    # the shipped SE (after base layer 8) sits at no base position of the neck model: nothing carried, base complete
    se = DetectionModel("yolov5n-se.yaml", verbose=False)
    fresh_se = se.state_dict()["model.9.fc.0.weight"].clone()
    report = load_weights(se, neck_a)
    assert (report["transferred"], report["attention_carried"], report["new_layers"]) == (427, 0, 1)
    assert torch.equal(se.state_dict()["model.9.fc.0.weight"], fresh_se)
    assert torch.equal(se.state_dict()["model.25.cv2.0.0.conv.weight"], neck_a.state_dict()["model.27.cv2.0.0.conv.weight"])

    # attention -> plain: the base comes back whole, the attention rows are dropped
    plain = DetectionModel("yolov5n.yaml", verbose=False)
    report = load_weights(plain, neck_a)
    assert (report["transferred"], report["base_total"], report["new_tensors"]) == (427, 427, 0)


def test_another_class_count_keeps_all_but_the_class_outputs(plain_ckpt, log_lines):
    """80-class checkpoint -> 4-class model: ultralytics' rules rebuild the class branch at the source width, so every
    base tensor but the three class-output convs (weight + bias) is the checkpoint's."""
    path, plain_sd = plain_ckpt
    model = DetectionModel("yolov5n-se.yaml", nc=4, verbose=False)
    report = load_weights(model, path)
    assert report["missed"] == [f"model.25.cv3.{i}.2.{p}" for i in range(3) for p in ("weight", "bias")]
    assert (report["transferred"], report["base_total"]) == (421, 427)
    assert torch.equal(model.state_dict()["model.25.cv3.0.1.conv.weight"], plain_sd["model.24.cv3.0.1.conv.weight"])
    assert log_lines[-1].startswith("transferred 98.6% of the base (421/427 tensors); new: 2 tensors in 1 attention "
                                    "layer; not transferred: model.25.cv3.0.2.weight")


@pytest.mark.parametrize("other", ["yolov5s.yaml", "yolov8n.yaml"])
def test_another_base_or_scale_is_refused(other, tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"model": DetectionModel(other, verbose=False)}, path)
    model = DetectionModel("yolov5n-se.yaml", verbose=False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(UsageError) as e:
        load_weights(model, path)
    msg = str(e.value)
    assert f"checkpoint {path} is a {other} (scale {other[6]}" in msg
    assert "but the model is a yolov5n-se.yaml (scale n; base: 25 layers" in msg
    assert "base layer 0 (Conv) has conv.weight [" in msg and "Give weights of the same base and scale" in msg
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # nothing half-loaded


def test_fused_checkpoint_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "fused.pt"
    torch.save({"model": DetectionModel("yolov5n.yaml", verbose=False).fuse(verbose=False)}, path)
    with pytest.raises(UsageError, match=r"fused.pt is fused for inference .* give the unfused checkpoint"):
        load_weights(DetectionModel("yolov5n-se.yaml", verbose=False), path)


# ----------------------------------------------------------------------------- end to end (tiny training runs)
TINY = dict(epochs=1, imgsz=64, batch=8, workers=0, plots=False)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    """best.pt of plain yolov5n trained 1 epoch at imgsz 64 on 16 embedded images, and the data yaml."""
    tmp = tmp_path_factory.mktemp("transfer_e2e")
    data = make_dataset(tmp / "data", n_train=16, n_val=8, imgsz=64)
    run = attn_train.train("yolov5n.yaml", str(data), project=str(tmp / "runs"), name="plain", **TINY)[0]
    return dict(tmp=tmp, data=data, best=run / "weights" / "best.pt")


# the fine-tune cases: the shipped yaml, and --attn/--at placements generated on plain yolov5n by train()
FINE_TUNES = {
    "shipped yolov5n-se": dict(cfg="yolov5n-se.yaml"),
    "SE at neck": dict(cfg="yolov5n.yaml", attn="SE", at="neck"),
    "CBAM at stages": dict(cfg="yolov5n.yaml", attn="CBAM", at="stages", optimizer="AdamW", lr0=1e-4),
}
# run name (config stem) -> attention row indices, as in CASES (generated yamls: PROJECT/cfg/<base>-<module>-<at>.yaml)
RUN_ATTN = {"yolov5n-se": [9], "yolov5n-se-neck": [18, 22, 26], "yolov5n-cbam-stages": [5, 8, 11]}


def _assert_base_equals_checkpoint(start: dict, best: Path, attn: list[int]):
    ckpt = torch.load(best, weights_only=False)
    plain_sd = (ckpt.get("ema") or ckpt["model"]).float().state_dict()
    base = [k for k in start if _base_key(k, attn) is not None]
    assert len(base) == 427
    for k in base:
        assert torch.equal(start[k], plain_sd[_base_key(k, attn)]), k


@pytest.mark.slow
@pytest.mark.parametrize("case", list(FINE_TUNES))
def test_fine_tune_starts_from_every_base_tensor(case, plain_run, monkeypatch, log_lines):
    """The trainer's model right after ``get_model`` (its start weights) equals the checkpoint on every base tensor;
    the fine-tune recipe is FINETUNE_DEFAULTS unless the caller chose an optimizer (the CBAM case passes AdamW)."""
    starts, original = [], attn_train.AttnDetectionTrainer.get_model

    def recording_get_model(self, cfg=None, weights=None, verbose=True):
        model = original(self, cfg=cfg, weights=weights, verbose=verbose)
        starts.append((weights is not None, {k: v.detach().clone() for k, v in model.state_dict().items()}))
        return model

    monkeypatch.setattr(attn_train.AttnDetectionTrainer, "get_model", recording_get_model)
    kw = dict(FINE_TUNES[case])
    project = plain_run["tmp"] / "runs" / case.replace(" ", "_")
    run = attn_train.train(kw.pop("cfg"), str(plain_run["data"]), weights=str(plain_run["best"]), project=str(project),
                           **TINY, **kw)[0]
    assert (run / "weights" / "best.pt").is_file()
    assert len(starts) == 1 and starts[0][0], "get_model must be called once, with the checkpoint"
    attn = RUN_ATTN[run.name]
    _assert_base_equals_checkpoint(starts[0][1], plain_run["best"], attn)
    n = ATTN_TENSORS[f"{run.name}.yaml"]
    assert f"transferred 100% of the base (427/427 tensors); new: {n} tensors in {len(attn)} attention " \
           f"layer{'s' * (len(attn) > 1)}" in log_lines, log_lines[-20:]
    assert not any(line.startswith("Transferred ") for line in log_lines)  # ultralytics' own index-matching load

    args = yaml.safe_load((run / "args.yaml").read_text())
    chosen = "optimizer" in FINE_TUNES[case]
    assert (args["optimizer"], args["lr0"]) == ("AdamW", 1e-4)
    assert args["warmup_epochs"] == (3.0 if chosen else 0)  # the caller's recipe is left as given


@pytest.mark.slow
def test_cli_fine_tune_attn_se_at_neck(plain_run, tmp_path):
    """``train_attn.py --cfg yolov5n.yaml --attn SE --at neck --weights best.pt``: the transfer line and the fine-tune
    recipe (on the ``defaults:`` line) are printed, the run records it, and the SE-neck checkpoint has the expected layout."""
    cmd = [sys.executable, str(ROOT / "train_attn.py"), "--cfg", "yolov5n.yaml", "--attn", "SE", "--at", "neck",
           "--weights", str(plain_run["best"]), "--data", str(plain_run["data"]), "--epochs", "1", "--imgsz", "64",
           "--batch-size", "8", "--project", str(tmp_path / "runs"), "plots=False"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=600, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    assert "transferred 100% of the base (427/427 tensors); new: 6 tensors in 3 attention layers" in out
    defaults = [ln for ln in out.splitlines() if ln.startswith("defaults: ")]
    assert len(defaults) == 1 and defaults[0].endswith(
        "; --weights fine-tune optimizer=AdamW, lr0=0.0001, warmup_epochs=0 (kept converged models' mAP50-95, "
        "docs/MEASUREMENTS.md; pass optimizer=... to choose your own)"), defaults
    assert "Transferred " not in out
    run = tmp_path / "runs" / "yolov5n-se-neck"
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert (args["optimizer"], args["lr0"], args["warmup_epochs"]) == ("AdamW", 1e-4, 0)
    model = torch.load(run / "weights" / "last.pt", weights_only=False)["model"]
    assert [i for i, m in enumerate(model.model) if type(m).__name__ == "SE"] == RUN_ATTN["yolov5n-se-neck"]
    assert model.model[-1].f == RUN_ATTN["yolov5n-se-neck"]  # Detect reads the SE outputs


def test_finetune_defaults_only_without_a_chosen_optimizer():
    from yolo_attn.engine.train import FINETUNE_DEFAULTS, finetune_defaults

    assert finetune_defaults({}) == (FINETUNE_DEFAULTS, finetune_defaults({})[1])
    assert finetune_defaults({})[1].startswith("--weights fine-tune optimizer=AdamW, lr0=0.0001, warmup_epochs=0 (")
    assert finetune_defaults({"lr0": 0.0005})[0] == {"optimizer": "AdamW", "warmup_epochs": 0}  # the given lr0 stays
    assert finetune_defaults({"optimizer": "SGD"}) == ({}, "")


@pytest.mark.slow
def test_cli_refuses_weights_of_another_scale(plain_run, tmp_path):
    cmd = [sys.executable, str(ROOT / "train_attn.py"), "--cfg", "yolov5s-se.yaml", "--weights", str(plain_run["best"]),
           "--data", str(plain_run["data"]), "--epochs", "1", "--imgsz", "64", "--project", str(tmp_path / "runs")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=300, cwd=tmp_path)
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"error: --weights {plain_run['best']} is a yolov5n.yaml (scale n" in r.stderr
    assert "but the model is a yolov5s-se.yaml (scale s" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run folder
