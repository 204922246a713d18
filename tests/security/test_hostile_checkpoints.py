"""Issue 26: no checkpoint from a stranger runs code, through any entry point, with default settings.

Every file of ``hostile.build_corpus`` would create ``marker`` if any of its code ran; each goes through every loading
entry point in-process (and two through the real scripts), which must refuse it with one ``error:`` line naming the
file (``UsageError``), no traceback, and no marker. Positive controls: our 0.1.0 fixture and fresh checkpoints load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hostile import build_corpus, torchscript_decoy

import yolo_attn
from yolo_attn.checkpoint import TRUST_ENV, load_checkpoint_safely
from yolo_attn.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "MARKER"
    return build_corpus(folder / "files", marker), marker


@pytest.fixture(scope="module")
def v5n_model():
    from ultralytics.nn.tasks import DetectionModel

    return DetectionModel("yolov5n.yaml", verbose=False)


def _entry_points(v5n_model, tmp_path):
    """name -> function(path) for every way yolo_attn (or ultralytics after import yolo_attn) reads a checkpoint."""
    from ultralytics import YOLO
    from ultralytics.nn.tasks import load_checkpoint, torch_safe_load

    from yolo_attn.analysis.compare import _model_yaml
    from yolo_attn.analysis.latency import load_fused
    from yolo_attn.engine.checkpoints import check_weights
    from yolo_attn.engine.train import _read_weights
    from yolo_attn.graph.transfer import check_transfer

    return {
        "load_checkpoint_safely": load_checkpoint_safely,
        "check_weights (train/val --weights)": check_weights,
        "_read_weights (train --weights, --anchors --weights)": _read_weights,
        "yolo_attn.load_weights": lambda p: yolo_attn.load_weights(v5n_model, p),
        "check_transfer": lambda p: check_transfer("yolov5n.yaml", p),
        "ultralytics YOLO()": lambda p: YOLO(str(p)),
        "ultralytics load_checkpoint": load_checkpoint,
        "ultralytics torch_safe_load safe_only=False": lambda p: torch_safe_load(str(p), safe_only=False),
        "compare_attn model yaml": lambda p: _model_yaml(Path(p)),
        "latency load_fused": load_fused,
    }


HOSTILE = ("reduce-zip", "reduce-legacy", "yolov5-plus-evil", "yolov5-plus-evil-legacy", "torchscript-decoy",
           "setstate-gadget", "parameter-state", "lookalike-models.yolo.os-v5", "lookalike-yolo_attn.models.os-v5",
           "lookalike-yolo_attn.models.os-ul", "lookalike-ultralytics.nn.modules.os-ul", "widen-torch.save-v5",
           "widen-torch.save-ul", "widen-torch.load-ul", "widen-builtins.eval-v5", "widen-builtins.eval-v5-legacy",
           "widen-builtins.eval-ul", "widen-builtins.exec-ul", "widen-builtins.getattr-v5",
           "widen-builtins.getattr-v5-legacy", "widen-builtins.getattr-ul", "widen-functools.partial-v5",
           "widen-functools.partial-ul", "widen-torch._inductor.config-v5", "widen-subprocess.run-ul", "zip-bomb",
           "none-flood", "huge-nc-v5", "empty-layers-v5", "second-pickle")


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_file_is_refused_by_every_entry_point(corpus, kind, v5n_model, tmp_path, monkeypatch):
    files, marker = corpus
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.delenv("ULTRALYTICS_SAFE_LOAD", raising=False)
    path = files[kind]
    for name, load in _entry_points(v5n_model, tmp_path).items():
        with pytest.raises(UsageError) as e:
            load(str(path))
        msg = str(e.value)
        assert "\n" not in msg and str(path) in msg, (name, msg)
        assert not marker.exists(), f"{kind} ran code through {name}"


def test_the_corpus_is_really_hostile(corpus, tmp_path):
    """The files would run code if loaded naively: the test above can fail."""
    files, _ = corpus
    marker = tmp_path / "m"
    torch.load(files["reduce-zip"].with_name("reduce-zip.pt"), weights_only=False)  # writes the corpus marker
    assert corpus[1].exists()
    corpus[1].unlink()
    # the decoy is a TorchScript archive that torch.load hands to torch.jit.load (which runs its code)
    assert isinstance(torch.load(torchscript_decoy(tmp_path / "ts.pt", marker), weights_only=False),
                      torch.jit.ScriptModule)


@pytest.mark.parametrize("kind, message", [
    ("torchscript-decoy", "a TorchScript archive, not a checkpoint"),
    ("setstate-gadget", "state key '__setstate__'"),
    ("parameter-state", "a tensor with backward hooks or metadata"),
    ("zip-bomb", "its pickle inflates to 68,157,443 bytes"),  # from the zip directory, before inflating
    ("none-flood", "opcodes"),
    ("huge-nc-v5", "nc 10000000000; a detector has 1 to 10,000 classes"),
    ("empty-layers-v5", "empty layer list"),
    ("second-pickle", "not torch.save's layout"),
    ("reduce-legacy", "refused to load global 'posix.system'" if os.name == "posix" else "refused"),
    ("widen-builtins.getattr-v5", "refused getattr(str, 'system')"),
])
def test_refusals_say_what_is_wrong(corpus, kind, message):
    files, _ = corpus
    t = time.perf_counter()
    with pytest.raises(UsageError, match=None) as e:
        load_checkpoint_safely(files[kind])
    assert message in str(e.value)
    assert time.perf_counter() - t < 5  # caps keep the check short (a loaded 2-core machine)


def test_grid_cell_with_a_hostile_last_pt_starts_over(corpus, tmp_path):
    from yolo_attn.grid.cells import NEW, cell_state

    files, marker = corpus
    for kind in ("reduce-zip", "torchscript-decoy", "yolov5-plus-evil"):
        run = tmp_path / kind
        (run / "weights").mkdir(parents=True)
        (run / "weights" / "last.pt").write_bytes(files[kind].read_bytes())
        assert cell_state(run) == NEW
    assert not marker.exists()


@pytest.mark.parametrize("script, words", [
    ("val_attn.py", ["--weights"]),
    ("train_attn.py", ["--cfg", "yolov5n.yaml", "--anchors", "--epochs", "1", "--weights"]),
])
def test_scripts_refuse_with_one_error_line(corpus, script, words, tmp_path):
    files, marker = corpus
    env = {**os.environ, "PYTHONPATH": str(ROOT), "YOLO_OFFLINE": "1"}
    env.pop(TRUST_ENV, None)
    for kind in ("reduce-zip", "torchscript-decoy"):
        r = subprocess.run([sys.executable, str(ROOT / script), *words, str(files[kind]), "--project",
                            str(tmp_path / "runs")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
        assert r.returncode == 2, r.stderr[-2000:]
        errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and str(files[kind]) in errors[0], r.stderr[-2000:]
        assert "Traceback" not in r.stderr
    assert not marker.exists()


def test_trust_weights_is_the_only_way_to_the_full_pickle(corpus, monkeypatch):
    files, marker = corpus
    monkeypatch.setenv("ULTRALYTICS_SAFE_LOAD", "0")
    with pytest.raises(UsageError):
        load_checkpoint_safely(files["reduce-zip"])
    assert not marker.exists()
    monkeypatch.setenv(TRUST_ENV, "1")  # documented as "runs the file's code"
    load_checkpoint_safely(files["reduce-zip"])  # the payload runs
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UsageError, match="TorchScript"):  # trusted or not, TorchScript is no checkpoint
        load_checkpoint_safely(files["torchscript-decoy"])
    assert not marker.exists()


# ---- positive controls -------------------------------------------------------------------------------------------

def test_our_0_1_0_fixture_loads_safely_everywhere():
    from ultralytics import YOLO

    from yolo_attn.engine.checkpoints import check_weights

    f = ROOT / "tests" / "fixtures" / "every-module-0.1.0.pt"
    ckpt = load_checkpoint_safely(f)
    names = {type(m).__name__ for m in ckpt["model"].modules()}
    assert {"SE", "CBAM", "SimAM", "SRM", "EMA"} <= names
    assert check_weights(str(f))["model"] is not None
    assert type(YOLO(str(f)).model).__name__ == "DetectionModel"


@pytest.mark.parametrize("cfg", ["yolov5n-se.yaml", "yolov5n.yaml"])
@pytest.mark.parametrize("half", [False, True])
def test_fresh_checkpoints_of_ours_load_safely(tmp_path, cfg, half):
    from copy import deepcopy

    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    from yolo_attn.graph.anchors import anchor_cfg

    path = anchor_cfg(cfg, tmp_path) if cfg == "yolov5n.yaml" else cfg  # the anchor-based model too
    m = DetectionModel(str(path), nc=3, verbose=False)
    m.fuse() if half else None
    torch.save({"model": deepcopy(m).half() if half else m, "ema": None, "train_args": {"imgsz": 64}, "epoch": -1},
               tmp_path / "w.pt")
    ckpt = load_checkpoint_safely(tmp_path / "w.pt")
    assert type(ckpt["model"]) is type(m)
    x = torch.rand(1, 3, 64, 64)
    y = YOLO(str(tmp_path / "w.pt")).model.float().eval()(x)[0]
    assert torch.allclose(y, m.float().eval()(x)[0], atol=1e-2 if half else 1e-5)


# ---- the restricted reader's own hardening ------------------------------------------------------------------------

@pytest.mark.parametrize("yolov5", [True, False])
def test_module_persistent_id_is_one_error_line(tmp_path, yolov5):
    from hostile import _s, _with_route, zip_file

    pid = b"(" + _s("module") + _s("x") + b"tQ"  # BINPERSID of ('module', 'x'): torch asserts 'storage'
    path = zip_file(tmp_path / "pid.pt", _with_route(pid, yolov5))
    with pytest.raises(UsageError) as e:
        load_checkpoint_safely(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_source_key_cannot_replace_the_class_path(tmp_path):
    from hostile import _dict, _g, _with_route, zip_file

    obj = _g("models.yolo", "DetectionModel") + b")\x81" + _dict("source", b"K\x05") + b"b"  # source = 5, not a str
    path = zip_file(tmp_path / "source.pt", _with_route(obj, True))
    with pytest.raises(UsageError, match="state key 'source'"):
        load_checkpoint_safely(path)


def test_refused_torch_name_is_not_looked_up():
    """find_class('torch', name) checks the name before any getattr(torch, name) (which can import submodules)."""
    code = ("import sys, io, pickle; import yolo_attn.checkpoint.yolov5 as c\n"
            "assert 'torch._inductor' not in sys.modules\n"
            "u = c._RestrictedUnpickler(io.BytesIO(b''))\n"
            "try:\n    u.find_class('torch', '_inductor')\nexcept pickle.UnpicklingError:\n    pass\n"
            "print('imported' if 'torch._inductor' in sys.modules else 'clean')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.strip().endswith("clean"), r.stdout + r.stderr[-2000:]


def test_fused_ultralytics_checkpoint_gets_a_true_message(v5n_model, tmp_path):
    from copy import deepcopy

    from yolo_attn.graph.transfer import check_transfer

    torch.save({"model": deepcopy(v5n_model).fuse()}, tmp_path / "fused.pt")
    for check in (lambda p: check_transfer("yolov5n.yaml", p), lambda p: yolo_attn.load_weights(v5n_model, p)):
        with pytest.raises(UsageError, match="fused") as e:
            check(str(tmp_path / "fused.pt"))
        assert "a Conv in the checkpoint but a Conv" not in str(e.value)


def test_yolo_attn_cli_and_visualize_refuse_in_process(corpus, tmp_path, monkeypatch):
    from yolo_attn.cli.visualize import main as visualize_main
    from yolo_attn.cli.yolo import main as yolo_main

    files, marker = corpus
    monkeypatch.chdir(tmp_path)
    for kind in ("reduce-zip", "torchscript-decoy", "yolov5-plus-evil", "widen-builtins.eval-ul"):
        for mode in ("val", "predict", "export"):
            assert yolo_main([mode, f"model={files[kind]}", "data=shapes", "imgsz=64"]) == 2
        with pytest.raises(UsageError) as e:
            visualize_main(["--weights", str(files[kind]), "--out", str(tmp_path / "vis")])
        assert str(files[kind]) in str(e.value)
    assert not marker.exists()


def test_pickle_with_a_zip_appended_is_read_as_torch_reads_it(corpus, tmp_path):
    """torch.load decides zip or legacy by the first bytes; a benign zip appended to a hostile legacy pickle must not
    make the check look at the benign part only."""
    files, marker = corpus
    polyglot = tmp_path / "polyglot.pt"
    torch.save({"model": None}, tmp_path / "benign.pt")
    polyglot.write_bytes(files["reduce-legacy"].read_bytes() + (tmp_path / "benign.pt").read_bytes())
    with pytest.raises(UsageError, match="refused to load global"):
        load_checkpoint_safely(polyglot)
    assert not marker.exists()


def test_classes_of_user_imports_are_the_users_trust(tmp_path, monkeypatch, v5n_model):
    """A checkpoint holding a class of an --import module loads (the module is code the user chose); without the
    import it is refused like any stranger's class."""
    from copy import deepcopy

    (tmp_path / "users_layers_ck.py").write_text("import torch.nn as nn\nclass Helper(nn.Module):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import users_layers_ck

    m = deepcopy(v5n_model)
    m.model[-2].helper = users_layers_ck.Helper()
    torch.save({"model": m}, tmp_path / "user.pt")
    monkeypatch.delenv("YOLO_ATTN_IMPORT", raising=False)
    with pytest.raises(UsageError, match="refused to load global 'users_layers_ck.Helper'"):
        load_checkpoint_safely(tmp_path / "user.pt")
    monkeypatch.setenv("YOLO_ATTN_IMPORT", "users_layers_ck")
    ckpt = load_checkpoint_safely(tmp_path / "user.pt")
    assert type(ckpt["model"].model[-2].helper).__name__ == "Helper"


@pytest.mark.parametrize("nc", [10**10, 0, -3])
def test_ultralytics_checkpoint_with_absurd_nc_is_refused(tmp_path, v5n_model, nc):
    from copy import deepcopy

    m = deepcopy(v5n_model)
    m.yaml["nc"] = m.nc = nc
    torch.save({"model": m}, tmp_path / "nc.pt")
    with pytest.raises(UsageError, match=f"nc {nc}; a detector has 1 to 10,000 classes"):
        load_checkpoint_safely(tmp_path / "nc.pt")


def test_yolo_attn_trust_weights_word_sets_the_opt_in(monkeypatch):
    from yolo_attn.cli.yolo import _trust_weights

    monkeypatch.delenv(TRUST_ENV, raising=False)
    assert _trust_weights(["val", "model=x.pt", "trust_weights=False"]) == ["val", "model=x.pt"]
    assert TRUST_ENV not in os.environ
    assert _trust_weights(["val", "trust_weights=True", "model=x.pt"]) == ["val", "model=x.pt"]
    assert os.environ[TRUST_ENV] == "1"
