"""Command-line checks of train_attn.py / val_attn.py / compare_attn.py that need no training: bad input is refused
with a message naming the flag or file and the fix, before ultralytics starts."""

import importlib.util
from pathlib import Path

import torch

from yolo_attn.cli.passthrough import pass_through
from yolo_attn.engine.configs import resolve_cfgs
from yolo_attn.plugin.hook import shipped_configs

ROOT = Path(__file__).resolve().parents[2]


def _script(name):
    spec = importlib.util.spec_from_file_location(name.replace(".py", ""), ROOT / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(script, argv, capsys):
    from yolo_attn.cli.guard import main_guard

    rc = main_guard(_script(script).main, argv)
    return rc, capsys.readouterr().err


def test_mistyped_cfg_suggests_closest(capsys):
    rc, err = _run("train_attn.py", ["--cfg", "yolov5n-simma.yaml"], capsys)
    assert rc == 2 and "--cfg yolov5n-simma.yaml: no such model config" in err and "yolov5n-simam.yaml" in err


def test_missing_data_names_path_and_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = _run("train_attn.py", ["--cfg", "yolov5n-se.yaml", "--data", "VisDrone.yaml"], capsys)
    assert rc == 2 and "images/train does not exist" in err and "python -m yolo_attn.data.visdrone" in err
    rc, err = _run("train_attn.py", ["--data", str(tmp_path / "mine.yaml")], capsys)
    assert rc == 2 and f"--data {tmp_path / 'mine.yaml'}: no such dataset yaml" in err


def test_device_without_cuda(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rc, err = _run("train_attn.py", ["--cfg", "yolov5n-simam.yaml", "--device", "0"], capsys)
    assert rc == 2 and "--device 0 asks for CUDA GPU(s), but no CUDA GPU is usable" in err and "--device cpu" in err
    rc, err = _run("val_attn.py", ["--weights", "x.pt", "--device", "0,1"], capsys)
    assert rc == 2 and "--device 0,1 asks for CUDA GPU(s)" in err


def test_corrupt_and_missing_weights(tmp_path, capsys):
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"PK\x03\x04 truncated zip")
    for script in ("train_attn.py", "val_attn.py"):
        rc, err = _run(script, ["--weights", str(bad)], capsys)
        assert rc == 2 and f"--weights {bad}: not a readable PyTorch checkpoint, the file is corrupt" in err
    rc, err = _run("val_attn.py", ["--weights", str(tmp_path / "none.pt")], capsys)
    assert rc == 2 and "no such file" in err


def test_unknown_word_and_missing_runs(tmp_path, capsys):
    rc, err = _run("train_attn.py", ["--cfg", "yolov5n-se.yaml", "oops"], capsys)
    assert rc == 2 and "unrecognised argument 'oops'" in err and "key=value" in err
    rc, err = _run("compare_attn.py", [str(tmp_path / "runs")], capsys)
    assert rc == 2 and "no such runs folder" in err
    rc, err = _run("compare_attn.py", [str(tmp_path)], capsys)
    assert rc == 2 and "no finished training runs" in err


def test_cfg_lists_and_all():
    assert resolve_cfgs("yolov5n-simam, yolov5s-se.yaml") == ["yolov5n-simam.yaml", "yolov5s-se.yaml"]
    everything = resolve_cfgs("all", scale="s")
    modules = [c[len("yolov5-"):-len(".yaml")] for c in shipped_configs()]
    assert everything[0] == "yolov5s.yaml" and everything[1:] == [f"yolov5s-{m}.yaml" for m in modules]


def test_pass_through_values():
    assert pass_through(["lr0=0.005", "cos_lr=True", "name2=x", "mosaic=0"]) == {
        "lr0": 0.005, "cos_lr": True, "name2": "x", "mosaic": 0}


def test_ddp_state_file_registers_modules_in_a_fresh_worker(tmp_path):
    """The state file ultralytics writes for ``--device 0,1`` makes a fresh worker import yolo_attn and build the yaml."""
    import subprocess
    import sys

    from ultralytics.utils.dist import generate_ddp_file

    from conftest import subprocess_env
    from yolo_attn.data.synthetic import make_dataset
    from yolo_attn.engine.train import AttnDetectionTrainer

    data = make_dataset(tmp_path / "data", n_train=2, n_val=1, imgsz=64)
    trainer = AttnDetectionTrainer(overrides=dict(model="yolov5n-simam.yaml", data=str(data), imgsz=64, epochs=1,
                                                  project=str(tmp_path / "runs"), name="ddp", device="cpu"))
    script = Path(generate_ddp_file(trainer))
    state = script.with_suffix(".pt")
    code = (  # what the generated worker script does first, then build the model the way setup_model does
        "import sys\n"
        "from ultralytics.utils.patches import torch_load\n"
        f"state = torch_load({str(state)!r}, map_location='cpu')\n"
        "print('STATE', state['trainer'].__module__, state['model'], 'yolo_attn' in sys.modules)\n"
        "from ultralytics.nn.tasks import DetectionModel\n"
        "m = DetectionModel('yolov5n-simam.yaml', nc=4, verbose=False)\n"
        "print('LAYER9', type(m.model[9]).__name__)\n"
    )
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=300)
    finally:
        script.unlink(missing_ok=True), state.unlink(missing_ok=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = [line.split() for line in r.stdout.splitlines() if line.startswith(("STATE", "LAYER9"))]
    assert lines == [["STATE", "yolo_attn.engine.trainers", "yolov5n-simam.yaml", "True"], ["LAYER9", "SimAM"]]


def test_run_names_for_config_lists_and_seeds(tmp_path, monkeypatch):
    """Several configs x several seeds: one run each, same settings, names that say which is which."""
    import yolo_attn.engine.train as t
    from yolo_attn.data.synthetic import make_dataset

    data = make_dataset(tmp_path / "data", n_train=2, n_val=1, imgsz=64)
    calls = []
    monkeypatch.setattr(t, "train_one", lambda cfg, data, **kw: calls.append((cfg, kw)) or Path(kw["project"]) / kw["name"])
    runs = t.train("yolov5n.yaml,yolov5n-se.yaml", str(data), seeds=[0, 1], epochs=3, imgsz=96, project=str(tmp_path / "r"))
    assert [(c, kw["name"], kw["seed"]) for c, kw in calls] == [
        ("yolov5n.yaml", "yolov5n-seed0", 0), ("yolov5n.yaml", "yolov5n-seed1", 1),
        ("yolov5n-se.yaml", "yolov5n-se-seed0", 0), ("yolov5n-se.yaml", "yolov5n-se-seed1", 1)]
    assert all((kw["epochs"], kw["imgsz"], kw["project"]) == (3, 96, str((tmp_path / "r").resolve())) for _, kw in calls)
    assert runs[0] == (tmp_path / "r").resolve() / "yolov5n-seed0"
    calls.clear()
    t.train("yolov5n.yaml,yolov5n-se.yaml", str(data), name="exp", project=str(tmp_path / "r"))
    assert [kw["name"] for _, kw in calls] == ["exp-yolov5n", "exp-yolov5n-se"]
    calls.clear()
    t.train("yolov5n-se.yaml", str(data), name="exp", project=str(tmp_path / "r"))
    assert [kw["name"] for _, kw in calls] == ["exp"]


def test_compile_flag_registers_the_compile_callback_on_the_trainer(tmp_path, monkeypatch):
    """--compile reaches ultralytics as the callback that compiles the trainer's own model; without it, nothing."""
    from ultralytics.engine.model import Model

    from yolo_attn.engine.compile import compile_attention_callback
    from yolo_attn.data.synthetic import make_dataset

    data = make_dataset(tmp_path / "data", n_train=2, n_val=1, imgsz=64)
    seen = []

    def fake_train(self, **kwargs):  # record instead of training
        seen.append(compile_attention_callback in self.callbacks["on_pretrain_routine_end"])
        self.trainer = type("T", (), {"save_dir": tmp_path / "r" / kwargs["name"]})()

    monkeypatch.setattr(Model, "train", fake_train)
    main = _script("train_attn.py").main
    main(["--cfg", "yolov5n-simam.yaml", "--data", str(data), "--project", str(tmp_path / "r"), "--compile"])
    main(["--cfg", "yolov5n-simam.yaml", "--data", str(data), "--project", str(tmp_path / "r"), "--name", "plain"])
    assert seen == [True, False]
