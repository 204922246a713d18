"""Users' own modules from the scripts (issue 21 item 3): ``--import MODULE`` on train_attn.py, and
``YOLO_ATTN_IMPORT`` read by ``import yolo_attn`` so that DDP workers and Ray trials register the same classes.
Unknown names get suggestions only from close names."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import subprocess_env
from yolo_attn.data.synthetic import make_dataset

ROOT = Path(__file__).resolve().parents[1]

MY_ATTN = textwrap.dedent(
    """
    import torch.nn as nn

    from yolo_attn import register_attention


    @register_attention
    class MyGate(nn.Module):
        \"\"\"x * sigmoid(per-channel scale): the smallest module that learns something.\"\"\"

        def __init__(self, c1):
            super().__init__()
            self.scale = nn.Parameter(nn.init.zeros_(__import__("torch").empty(1, c1, 1, 1)))

        def forward(self, x):
            return x * self.scale.sigmoid() * 2
    """
)


@pytest.fixture
def user_dir(tmp_path):
    """tmp_path holding my_attn.py and yolov5n-mygate.yaml (the shipped SE config with MyGate in SE's row)."""
    (tmp_path / "my_attn.py").write_text(MY_ATTN)
    src = (ROOT / "yolo_attn" / "yaml" / "yolov5-se.yaml").read_text()
    (tmp_path / "yolov5n-mygate.yaml").write_text(src.replace("[-1, 1, SE, [16]]", "[-1, 1, MyGate, []]"))
    return tmp_path


def _train(args, cwd, **env):
    return subprocess.run([sys.executable, str(ROOT / "train_attn.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=900, env=subprocess_env(PYTHONPATH=str(ROOT), **env))


@pytest.mark.slow
def test_train_attn_imports_the_users_module_and_trains_one_epoch(user_dir):
    data = make_dataset(user_dir / "shapes", n_train=4, n_val=2, imgsz=64)
    r = _train(["--import", "my_attn", "--cfg", "yolov5n-mygate.yaml", "--data", data, "--epochs", 1, "--imgsz", 64,
                "--batch-size", 4, "--workers", 0, "--device", "cpu", "--project", user_dir / "runs", "--name", "g",
                "plots=False"], cwd=user_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = (user_dir / "runs" / "g" / "results.csv").read_text().splitlines()
    assert len(rows) == 2  # header + one epoch
    code = ("import torch; m = torch.load('runs/g/weights/last.pt', map_location='cpu', weights_only=False)['model']; "
            "print(type(m.model[9]).__module__, type(m.model[9]).__name__)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=user_dir, timeout=300,
                       env=subprocess_env(PYTHONPATH=str(ROOT)))  # unpickling imports my_attn from the cwd
    assert r.returncode == 0 and r.stdout.split() == ["my_attn", "MyGate"], (r.stdout, r.stderr[-2000:])


def test_without_import_the_error_names_the_flag_and_suggests_nothing_unrelated(user_dir):
    r = _train(["--cfg", "yolov5n-mygate.yaml", "--project", user_dir / "runs"], cwd=user_dir)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert "uses unknown module 'MyGate'" in lines[0] and "--import MODULE" in lines[0]
    assert "Did you mean" not in lines[0]  # ultralytics' HGStem is not a suggestion for MyGate
    assert not (user_dir / "runs").exists()


def test_import_of_a_missing_module_is_one_error_line(user_dir):
    r = _train(["--import", "my_atn", "--cfg", "yolov5n-mygate.yaml", "--project", user_dir / "runs"], cwd=user_dir)
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert lines[0].startswith("error: --import my_atn: no module named 'my_atn'")


def test_env_var_is_read_by_import_yolo_attn(user_dir):
    code = "import sys, yolo_attn; print(sorted(yolo_attn.ATTENTION_REGISTRY)); print('my_attn' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=user_dir, timeout=300,
                       env=subprocess_env(PYTHONPATH=str(ROOT), YOLO_ATTN_IMPORT="my_attn"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "'MyGate'" in r.stdout and r.stdout.split()[-1] == "True"


def test_suggestions_only_from_close_names():
    from yolo_attn.plugin.hook import _adapter
    from yolo_attn.registry import ATTENTION_REGISTRY, closest_names

    known = sorted((set(ATTENTION_REGISTRY) | _adapter.known_layer_names()) - {"MyGate"})
    assert "HGStem" in known
    assert closest_names("MyGate", known) == []
    assert closest_names("SEnet", sorted(ATTENTION_REGISTRY))[0] == "SE"
    assert closest_names("CBMA", known)[0] == "CBAM"


_DDP_WORKER = textwrap.dedent(
    """
    import json, runpy, sys
    assert "yolo_attn" not in sys.modules and "my_attn" not in sys.modules
    ddp_file, out_file = sys.argv[1:3]
    from ultralytics.engine.trainer import BaseTrainer

    seen = {}
    BaseTrainer.train = lambda self: seen.setdefault("trainer", self)  # stop where a worker would start training
    runpy.run_path(ddp_file, run_name="__main__")
    trainer = seen["trainer"]
    model = trainer.get_model(cfg=trainer.model, verbose=False)  # what setup_model builds from the yaml path
    json.dump({"registered": sorted(__import__("yolo_attn").ATTENTION_REGISTRY),
               "layers": [type(m).__name__ for m in model.model]}, open(out_file, "w"))
    """
)


def test_env_var_reaches_a_ddp_worker(user_dir, monkeypatch):
    """The DDP state pickles the trainer and the model as a yaml path; nothing in it names my_attn. The worker imports
    yolo_attn (the trainer class) and with it, through YOLO_ATTN_IMPORT, my_attn: MyGate builds there."""
    from ultralytics.utils.dist import generate_ddp_file

    from yolo_attn.engine.trainers import AttnDetectionTrainer

    data = make_dataset(user_dir / "shapes", n_train=2, n_val=2, imgsz=64)
    trainer = AttnDetectionTrainer(overrides=dict(
        model=str(user_dir / "yolov5n-mygate.yaml"), data=str(data), epochs=1, imgsz=64, batch=2, workers=0,
        device="cpu", plots=False, project=str(user_dir / "runs"), name="ddp", exist_ok=True))
    assert isinstance(trainer.model, str)  # the state holds the yaml path, not built layers
    ddp_file = generate_ddp_file(trainer)
    state_file = Path(ddp_file).with_suffix(".pt")
    out = user_dir / "worker.json"
    try:
        r = subprocess.run([sys.executable, "-c", _DDP_WORKER, ddp_file, str(out)], cwd=user_dir, capture_output=True,
                           text=True, timeout=300, env=subprocess_env(YOLO_ATTN_IMPORT="my_attn"))
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        Path(ddp_file).unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
    worker = json.loads(out.read_text())
    assert "MyGate" in worker["registered"] and worker["layers"][9] == "MyGate"


def test_env_var_reaches_a_ray_trial(user_dir, monkeypatch):
    """A Ray task on the grid's own cluster (yolo_attn.grid.run.init_ray) imports yolo_attn and reports its registry:
    the flag's environment (YOLO_ATTN_IMPORT, the module's folder on PYTHONPATH) reaches the trial."""
    import ray

    from yolo_attn.grid.run import init_ray
    from yolo_attn.user_imports import use_imports

    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("YOLO_ATTN_IMPORT", "")  # recorded, so the value use_imports sets is undone after the test
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.chdir(user_dir)
    monkeypatch.setattr(sys, "path", list(sys.path))
    use_imports(["my_attn"])  # what --import does in the driver
    assert (Path.cwd(), __import__("os").environ["YOLO_ATTN_IMPORT"]) == (user_dir, "my_attn")

    @ray.remote(num_cpus=1)
    def registry():
        import os

        os.chdir("/")  # a trial in another working directory still finds my_attn (its folder is on PYTHONPATH)
        import yolo_attn

        return sorted(yolo_attn.ATTENTION_REGISTRY)

    assert not ray.is_initialized()
    init_ray(None, num_cpus=1)
    try:
        names = ray.get(registry.remote(), timeout=300)
    finally:
        ray.shutdown()
        _forget_my_attn()
    assert "MyGate" in names and "SE" in names


def _forget_my_attn():
    """Undo the driver-side import (other tests in this session see the package's own registry)."""
    import ultralytics.nn.tasks as tasks

    from yolo_attn.registry import ATTENTION_REGISTRY

    ATTENTION_REGISTRY.pop("MyGate", None)
    if "MyGate" in vars(tasks):
        delattr(tasks, "MyGate")
    sys.modules.pop("my_attn", None)
