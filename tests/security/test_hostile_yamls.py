"""Yamls from strangers run no code (issue 26): every hostile yaml through ``python -m yolo_attn check``, ``fix`` and
``train_attn.py --cfg`` is one ``error:`` line, exit 2, no traceback, no marker file, nothing written; legitimate
yamls (shipped, ultralytics' own, activations) still build as before."""

import copy
import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from ultralytics.nn.tasks import DetectionModel, yaml_model_load

import yolo_attn
from yolo_attn.cli import check, fix
from yolo_attn.cli.guard import main_guard
from yolo_attn.graph import yaml_guard
from yolo_attn.errors import UsageError

from conftest import subprocess_env

REPO = Path(__file__).resolve().parents[2]
BASE = {"nc": 2, "backbone": [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, "Conv", [32, 3, 2]], [-1, 1, "SE", []]],
        "head": [[-1, 1, "Conv", [32, 3, 2]], [[-1], 1, "Detect", ["nc"]]]}
V5 = {"nc": 2, "depth_multiple": 0.33, "width_multiple": 0.25, "anchors": [[10, 13, 16, 30, 33, 23]],
      "backbone": [[-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]]],
      "head": [[-1, 1, "nn.Upsample", ["None", 2, "nearest"]], [[-1], 1, "Detect", ["nc", "anchors"]]]}


class Payload:
    """A pickle that writes the marker when loaded (what ``torch_load`` in a yaml row would load)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').close()",))


def _row(i, row):
    def edit(d, marker):
        d = copy.deepcopy(d)
        rows = d["backbone"]
        rows[i] = row(marker) if callable(row) else row
        return d
    return edit


def _act(text):
    def edit(d, marker):
        return {**copy.deepcopy(d), "activation": text.replace("MARKER", str(marker))}
    return edit


def _top(**kv):
    def edit(d, marker):
        return {**copy.deepcopy(d), **kv}
    return edit


def _n(n):
    return _row(1, [-1, n, "Conv", [32, 3, 2]])


# (id, base, edit, words the error line must hold)
HOSTILE = [
    ("act-import", BASE, _act("__import__('os').system('touch MARKER')"), ["activation", "is not read"]),
    ("act-lambda", BASE, _act("(lambda: open('MARKER', 'w'))()"), ["activation", "is not read"]),
    ("act-call-arg", BASE, _act("nn.LeakyReLU(open('MARKER', 'w'))"), ["activation", "literals"]),
    ("act-not-activation", BASE, _act("nn.Conv2d(1, 1, 1)"), ["activation", "is not read"]),
    ("act-dunder", BASE, _act("nn.SiLU.__init__.__globals__['os'].system('touch MARKER')"), ["activation"]),
    ("act-not-text", BASE, _top(activation=7), ["activation"]),
    ("torch_load", BASE, _row(1, lambda m: [-1, 1, "torch_load", [str(m.with_suffix(".pt"))]]), ["torch_load", "function"]),
    ("check_requirements", BASE, _row(1, [-1, 1, "check_requirements", ["no-such-pkg-xyz"]]), ["check_requirements", "function"]),
    ("eval", BASE, _row(1, lambda m: [-1, 1, "eval", [f"open({str(m)!r}, 'w')"]]), ["eval"]),
    ("exec", BASE, _row(1, lambda m: [-1, 1, "exec", [f"open({str(m)!r}, 'w')"]]), ["exec"]),
    ("getattr", BASE, _row(1, [-1, 1, "getattr", ["os", "system"]]), ["getattr"]),
    ("os.system", BASE, _row(1, lambda m: [-1, 1, "os.system", [f"touch {m}"]]), ["os.system", "not a layer name"]),
    ("dunder-import", BASE, _row(1, [-1, 1, "__import__", ["os"]]), ["__import__", "not a layer name"]),
    ("torch-module", BASE, _row(1, [-1, 1, "torch", []]), ["'torch'", "Python module"]),
    ("nn.functional", BASE, _row(1, [-1, 1, "nn.functional", []]), ["nn.functional", "Python module"]),
    ("nn.Parameter", BASE, _row(1, [-1, 1, "nn.Parameter", [[1.0]]]), ["nn.Parameter", "not a layer class"]),
    ("nn.missing", BASE, _row(1, [-1, 1, "nn.NoSuchLayer", []]), ["nn has no layer 'NoSuchLayer'"]),
    ("deform_conv2d", BASE, _row(1, [-1, 1, "torchvision.ops.deform_conv2d", []]), ["deform_conv2d", "function"]),
    ("whole-model", BASE, _row(1, [-1, 1, "DetectionModel", ["yolov8n.yaml"]]), ["DetectionModel", "whole model"]),
    ("logger-object", BASE, _row(1, [-1, 1, "LOGGER", []]), ["LOGGER", "not a layer class"]),
    ("non-string-name", BASE, _row(1, [-1, 1, 5, []]), ["module name is 5", "not a name"]),
    ("arg-slash", BASE, _row(1, [-1, 1, "Conv", [32, "../x", 2]]), ["'../x'", "neither a Python literal"]),
    ("arg-long", BASE, _row(1, [-1, 1, "Conv", [32, "x" * 5000, 2]]), ["5000 characters"]),
    ("repeats-0", BASE, _n(0), ["repeats", "1 to 100"]),
    ("repeats-neg", BASE, _n(-2), ["repeats", "1 to 100"]),
    ("repeats-huge", BASE, _n(30_000_000), ["repeats", "30000000"]),
    ("repeats-float", BASE, _n(2.5), ["repeats"]),
    ("rows-10000", BASE, lambda d, m: {**d, "head": [[-1, 1, "Conv", [8, 1, 1]]] * 10_000 + d["head"]}, ["10005 layers", "at most 1000"]),
    ("empty", None, None, ["empty", "backbone", "head"]),
    ("no-head", BASE, lambda d, m: {k: v for k, v in d.items() if k != "head"}, ["head: is missing"]),
    ("nc-huge", BASE, _top(nc=10 ** 10), ["nc 10000000000", "1 to 100000"]),
    # a channel count that would allocate terabytes of weights before anything else could refuse it
    ("channels-huge", BASE, _row(1, [-1, 1, "Conv", [100000000, 3, 2]]), ["argument 100000000", "at most 16,384"]),
    ("channels-huge-v5", V5, _row(1, [-1, 1, "Conv", [10 ** 9, 3, 2]]), ["argument 1000000000", "at most 16,384"]),
    ("nc-text", BASE, _top(nc="80; import os"), ["nc 80; import os", "out of range"]),
    ("anchors-0", V5, _top(anchors=0), ["anchors 0", "1 to 20"]),
    ("anchors-neg", V5, _top(anchors=-3), ["anchors -3", "1 to 20"]),
    ("anchors-huge", V5, _top(anchors=100000), ["anchors 100000", "1 to 20"]),
    ("anchors-size-neg", V5, _top(anchors=[[10, -13, 16, 30, 33, 23]]), ["anchor size -13", "positive"]),
    ("anchors-size-0", V5, _top(anchors=[[10, 13, 0, 30, 33, 23]]), ["anchor size 0", "positive"]),
    ("hyp-anchor_t-0", V5, _top(hyp={"anchor_t": 0}), ["anchor_t=0", "(1, 1000]"]),
    ("hyp-anchor_t-neg", V5, _top(hyp={"anchor_t": -4}), ["anchor_t=-4", "(1, 1000]"]),
    ("hyp-obj-text", V5, _top(hyp={"obj": "abc"}), ["obj='abc'", "[0, 1000]"]),
]
CASES = {c[0]: c for c in HOSTILE}


def _write(tmp_path, case) -> tuple[Path, Path]:
    name, base, edit, _ = case
    marker = tmp_path / "MARKER"
    with open(marker.with_suffix(".pt"), "wb") as f:
        pickle.dump(Payload(marker), f)  # what a `torch_load` row would load, were it called
    path = tmp_path / f"yolov5n-{name}.yaml"
    path.write_text("" if edit is None else yaml.safe_dump(edit(base, marker), sort_keys=False))
    return path, marker


def _train_attn():
    spec = importlib.util.spec_from_file_location("train_attn", REPO / "train_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _one_error(capsys, words, code):
    out, err = capsys.readouterr()
    errors = [ln for ln in (out + err).splitlines() if ln.startswith("error:")]
    assert code == 2, (out, err[-2000:])
    assert len(errors) == 1 and "Traceback" not in out + err, (out, err[-2000:])
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def _untouched(tmp_path, before):
    assert not (tmp_path / "MARKER").exists(), "the yaml ran code"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_yaml_check_and_fix_are_one_error_line(tmp_path, capsys, case):
    path, _ = _write(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    _one_error(capsys, case[3], main_guard(check.main, [str(path)]))
    _untouched(tmp_path, before)
    _one_error(capsys, case[3], main_guard(fix.main, [str(path), "-o", str(tmp_path / "out.yaml")]))
    _untouched(tmp_path, before)


@pytest.mark.parametrize("case", [c for c in HOSTILE if c[0] in (
    "act-import", "torch_load", "check_requirements", "arg-slash", "repeats-0", "anchors-0", "empty", "hyp-anchor_t-0",
    "deform_conv2d", "non-string-name")], ids=lambda c: c[0])
def test_hostile_yaml_through_train_cfg_is_one_error_line_and_no_run(tmp_path, capsys, case):
    path, _ = _write(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main_guard(_train_attn().main, ["--cfg", str(path), "--project", str(tmp_path / "runs"), "--epochs", "1",
                                           "--imgsz", "64"])
    _one_error(capsys, case[3], code)
    _untouched(tmp_path, before)  # no runs/, no cfg/...-anchors.yaml


def test_hostile_yaml_in_real_processes(tmp_path):
    """``python -m yolo_attn check`` and ``train_attn.py --cfg`` as programs: exit 2, one line, no marker."""
    for case in (CASES["act-import"], CASES["torch_load"]):
        path, marker = _write(tmp_path, case)
        for cmd in ([sys.executable, "-m", "yolo_attn", "check", str(path)],
                    [sys.executable, str(REPO / "train_attn.py"), "--cfg", str(path), "--project", str(tmp_path / "r")]):
            r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                               env=subprocess_env(PYTHONPATH=str(REPO)))
            lines = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("error:")]
            assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, (cmd, r.stderr[-2000:])
            assert not marker.exists() and not (tmp_path / "r").exists()


def test_the_torch_load_payload_is_live(tmp_path):
    """The marker payload used above really writes the marker when loaded: the refusals are not vacuous."""
    _, marker = _write(tmp_path, CASES["torch_load"])
    with open(marker.with_suffix(".pt"), "rb") as f:
        pickle.load(f)
    assert marker.exists()


# --------------------------------------------------------------------------------------------- legitimate controls
@pytest.mark.parametrize("text, cls, attrs", [
    ("nn.SiLU()", torch.nn.SiLU, {}),
    ("nn.ReLU(inplace=True)", torch.nn.ReLU, {"inplace": True}),
    ("nn.LeakyReLU(0.1)", torch.nn.LeakyReLU, {"negative_slope": 0.1}),
    ("torch.nn.Hardswish()", torch.nn.Hardswish, {}),
])
def test_activation_builds_as_ultralytics_eval_did(text, cls, attrs):
    from ultralytics.nn.modules import Conv

    default = Conv.default_act
    m = DetectionModel({**copy.deepcopy(BASE), "activation": text}, verbose=False)
    acts = {type(x.act) for x in m.modules() if isinstance(x, Conv)}
    assert acts == {cls}
    act = next(x.act for x in m.modules() if isinstance(x, Conv))
    ref = eval(text, {"nn": torch.nn, "torch": torch})  # what ultralytics' eval(act) built, on a trusted string
    assert type(ref) is type(act) and all(getattr(act, k) == v == getattr(ref, k) for k, v in attrs.items())
    assert m.yaml["activation"] == text and Conv.default_act is default  # the yaml kept, the process default back


def test_every_shipped_and_ultralytics_yaml_still_builds():
    import ultralytics

    cfg = Path(ultralytics.__file__).parent / "cfg" / "models"
    names = [*yolo_attn.shipped_configs(), str(cfg / "v5" / "yolov5.yaml"), str(cfg / "v8" / "yolov8.yaml"),
             str(cfg / "11" / "yolo11.yaml"), str(cfg / "v5" / "yolov5-p6.yaml")]
    for name in names:
        stem = Path(name).name.replace("yolov5", "yolov5n", 1).replace("yolov8", "yolov8n", 1).replace("yolo11", "yolo11n", 1)
        d = yaml_model_load(str(Path(name).with_name(stem)) if "/" in name else stem)
        yaml_guard.check_model_dict(copy.deepcopy(d), lambda n: yaml_guard.MISSING)  # names unknown here: only shape
        DetectionModel(d, verbose=False)


def test_yolov5_format_and_arguments_still_build():
    m = DetectionModel(copy.deepcopy(V5), verbose=False)
    assert type(m.model[-1]).__name__ == "AnchorDetect" and m.model[-2].mode == "nearest"


@pytest.mark.parametrize("text", ["nearest", "None", "[1, 2]", "nc", "0.5"])
def test_plain_string_arguments_pass(text):
    yaml_guard.check_string_arg(text, "x")


def test_layer_class_refuses_functions_and_modules_directly():
    lookup = {"SE": yolo_attn.SE, "f": print, "m": torch}.get
    assert yaml_guard.layer_class("SE", lambda n: lookup(n, yaml_guard.MISSING), "w") is yolo_attn.SE
    assert yaml_guard.layer_class("nn.Upsample", lambda n: yaml_guard.MISSING, "w") is torch.nn.Upsample
    assert yaml_guard.layer_class("Nope", lambda n: yaml_guard.MISSING, "w") is yaml_guard.MISSING
    for name in ("f", "m"):
        with pytest.raises(UsageError, match="not a layer class"):
            yaml_guard.layer_class(name, lambda n: lookup(n, yaml_guard.MISSING), "w")
