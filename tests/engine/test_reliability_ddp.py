"""DDP workers: the state file ultralytics writes for multi-GPU training loads in a fresh interpreter.

``--device 0,1,2,3`` makes ultralytics' trainer call ``generate_ddp_command``: ``utils.dist.generate_ddp_file`` pickles
the trainer class, args, model and callbacks with cloudpickle into ``USER_CONFIG_DIR/DDP/_temp_*.pt`` and writes a
script that each ``torch.distributed.run`` worker executes. The workers are fresh interpreters that never ran
``import yolo_attn``. The test makes that exact state with ultralytics' own generator for a model holding every
registered module, runs the generated script unchanged in a new interpreter (with ``BaseTrainer.train`` replaced by a
recorder, since there is no GPU and no process group here), and checks the worker's model.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import torch
from ultralytics.models.yolo.detect import DetectionTrainer
from ultralytics.nn.tasks import yaml_model_load
from ultralytics.utils.dist import generate_ddp_file

from yolo_attn import ATTENTION_REGISTRY as _REGISTRY
from yolo_attn.data.synthetic import make_dataset

from conftest import subprocess_env

# The package's own modules: other test files register their own classes in the same session.
ATTENTION_REGISTRY = {n: c for n, c in _REGISTRY.items() if c.__module__.startswith("yolo_attn.")}

_WORKER = textwrap.dedent(
    """
    import json, runpy, sys
    assert "yolo_attn" not in sys.modules
    ddp_file, x_file, out_file = sys.argv[1:4]
    import torch
    from ultralytics.engine.trainer import BaseTrainer

    seen = {}
    BaseTrainer.train = lambda self: seen.setdefault("trainer", self)  # stop where a worker would start training
    runpy.run_path(ddp_file, run_name="__main__")  # the generated worker script, as torch.distributed.run runs it
    trainer = seen["trainer"]
    model = trainer.model.eval()
    with torch.no_grad():
        torch.save(model(torch.load(x_file))[0], out_file + ".pt")
    json.dump({
        "trainer": type(trainer).__name__,
        "imported": "yolo_attn" in sys.modules,
        "layers": [type(m).__name__ for m in model.model],
        "registered": sorted(__import__("yolo_attn").ATTENTION_REGISTRY) if "yolo_attn" in sys.modules else [],
    }, open(out_file, "w"))
    """
)


def _model_with_every_module() -> dict:
    """yolov5n.yaml with every registered module, defaults only, chained after layer 8 (256 channels at scale n)."""
    d = yaml_model_load("yolov5n.yaml")
    names = sorted(ATTENTION_REGISTRY)
    k = len(names)
    shift = lambda f: f if f == -1 or f < 9 else f + k  # noqa: E731  (layers from 9 on move down by k)
    for layer in d["head"]:
        layer[0] = shift(layer[0]) if isinstance(layer[0], int) else [shift(f) for f in layer[0]]
    d["backbone"][9:9] = [[-1, 1, n, []] for n in names]
    return d


def test_ddp_state_file_loads_in_a_fresh_worker_with_same_outputs(tmp_path):
    data = make_dataset(tmp_path / "data", n_train=2, n_val=2, imgsz=64, seed=0)
    trainer = DetectionTrainer(overrides=dict(
        model="yolov5n.yaml", data=str(data), epochs=1, imgsz=64, batch=2, workers=0, device="cpu", amp=False,
        plots=False, project=str(tmp_path / "runs"), name="ddp", exist_ok=True))
    trainer.model = trainer.get_model(cfg=_model_with_every_module(), verbose=False)  # as Model.train() does
    expected_layers = [type(m).__name__ for m in trainer.model.model]
    assert set(ATTENTION_REGISTRY) <= set(expected_layers)

    ddp_file = generate_ddp_file(trainer)  # ultralytics' own: cloudpickle state .pt + worker script .py
    state_file = Path(ddp_file).with_suffix(".pt")
    try:
        assert state_file.is_file()
        x_file, out_file = tmp_path / "x.pt", tmp_path / "worker.json"
        x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        torch.save(x, x_file)
        r = subprocess.run([sys.executable, "-c", _WORKER, ddp_file, str(x_file), str(out_file)], cwd=tmp_path,
                           env=subprocess_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    finally:
        Path(ddp_file).unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)

    worker = json.loads(out_file.read_text())
    assert worker["trainer"] == "DetectionTrainer"
    assert worker["imported"], "unpickling the state did not import yolo_attn in the worker"
    assert worker["registered"] == sorted(ATTENTION_REGISTRY)  # the hook and registry are live in the worker too
    assert worker["layers"] == expected_layers
    with torch.no_grad():
        expected = trainer.model.eval()(x)[0]
    torch.testing.assert_close(torch.load(str(out_file) + ".pt"), expected, rtol=1e-5, atol=1e-5)
