"""Checkpoints of every shipped config: portable (fresh process), safe (weights-only), damaged files, batch of one.

One module-scoped fixture trains each shipped config (scale n) for one epoch at imgsz 64 on 3 synthetic images with
batch 2, so every epoch ends on a batch of a single image; the tests then load the real ``best.pt``/``last.pt``.
"""

import functools
import json
import subprocess
import sys
import textwrap

import pytest
import torch
from ultralytics import YOLO
from ultralytics.nn.tasks import torch_safe_load

import yolo_attn
from yolo_attn.data.synthetic import make_dataset
from yolo_attn.plugin.safe_load import safe_classes

from conftest import subprocess_env

CONFIGS = [c.replace("yolov5-", "yolov5n-") for c in yolo_attn.shipped_configs()]  # yolov5n-se.yaml, ...
OURS = [c for c in yolo_attn.ATTENTION_REGISTRY.values() if c.__module__.startswith("yolo_attn.")]  # not test-registered
ATTENTION_TYPES = tuple(OURS)


def _attention_names(model) -> list[str]:
    """Qualified names of the yolo_attn classes in ``model`` (same rule as the fresh-process loader below)."""
    return sorted(f"{type(m).__module__}.{type(m).__qualname__}" for m in model.modules()
                  if type(m).__module__.startswith("yolo_attn."))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """{config: (best.pt, last.pt, [(module.training, batch size) seen by the attention layers while training])}."""
    root = tmp_path_factory.mktemp("ckpt")
    data = make_dataset(root / "data", n_train=3, n_val=1, imgsz=64, seed=0)
    out = {}
    for cfg in CONFIGS:
        seen = []

        def watch(trainer, seen=seen):
            for m in trainer.model.modules():
                if isinstance(m, ATTENTION_TYPES):
                    m.register_forward_pre_hook(lambda mod, args, seen=seen: seen.append((mod.training, args[0].shape[0])))

        model = YOLO(cfg)
        model.add_callback("on_train_start", watch)
        model.train(data=str(data), epochs=1, imgsz=64, batch=2, workers=0, device="cpu", amp=False, val=False,
                    plots=False, verbose=False, project=str(root / "runs"), name=cfg, exist_ok=True)
        weights = root / "runs" / cfg / "weights"
        out[cfg] = (weights / "best.pt", weights / "last.pt", seen)
    return out


@pytest.mark.slow
def test_training_survives_a_last_batch_of_one(trained):
    """3 images at batch 2: the second batch holds one image and passes through the attention layers in train mode."""
    for cfg, (best, last, seen) in trained.items():
        train_batches = [b for training, b in seen if training]
        assert 1 in train_batches and 2 in train_batches, f"{cfg}: training batch sizes seen {sorted(set(train_batches))}"
        assert best.is_file() and last.is_file(), f"{cfg}: no checkpoints after the epoch"
        ckpt = torch_safe_load(str(last))[0]
        net = (ckpt.get("ema") or ckpt["model"]).float()
        assert all(torch.isfinite(p).all() for p in net.parameters()), f"{cfg}: non-finite weights after training"


_LOADER = textwrap.dedent(
    """
    import json, sys
    assert "yolo_attn" not in sys.modules
    paths, x_file, out_file, pre_import = json.loads(sys.argv[1])
    if pre_import:
        import yolo_attn
    import torch
    from ultralytics import YOLO

    x = torch.load(x_file)
    report, outputs = {}, {}
    for p in paths:
        try:
            net = YOLO(p).model.float().eval()
        except Exception as e:
            report[p] = {"error": f"{type(e).__name__}: {e}", "imported": "yolo_attn" in sys.modules}
            continue
        names = sorted(f"{type(m).__module__}.{type(m).__qualname__}" for m in net.modules()
                       if type(m).__module__.startswith("yolo_attn."))
        report[p] = {"attention": names, "imported": "yolo_attn" in sys.modules}
        with torch.no_grad():
            outputs[p] = net(x)[0]
    torch.save(outputs, out_file + ".pt")
    json.dump(report, open(out_file, "w"))
    """
)


def _load_in_fresh_process(tmp_path, paths, pre_import=False, **env):
    """Run YOLO(path) for each path in a new interpreter; returns (report, outputs)."""
    x_file, out_file = tmp_path / "x.pt", tmp_path / "report.json"
    torch.save(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)), x_file)  # = _expected's x
    args = json.dumps([[str(p) for p in paths], str(x_file), str(out_file), pre_import])
    r = subprocess.run([sys.executable, "-c", _LOADER, args], cwd=tmp_path, env=subprocess_env(**env),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(out_file.read_text()), torch.load(str(out_file) + ".pt")


@functools.lru_cache(maxsize=None)
def _expected(path, x_seed=0):
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(x_seed))
    net = YOLO(str(path)).model.float().eval()
    with torch.no_grad():
        return _attention_names(net), net(x)[0]


@pytest.mark.slow
def test_checkpoints_load_in_a_fresh_process_without_importing_yolo_attn(trained, tmp_path):
    """Plain YOLO(path): unpickling our classes imports yolo_attn by itself; same modules, same outputs."""
    paths = [p for best, last, _ in trained.values() for p in (best, last)]
    report, outputs = _load_in_fresh_process(tmp_path, paths)
    for p in paths:
        r = report[str(p)]
        assert "error" not in r, f"{p}: {r['error']}"
        assert r["imported"], f"{p}: loading did not import yolo_attn"
        names, y = _expected(p)
        assert r["attention"] == names and names, f"{p}: attention layers {r['attention']} != {names}"
        torch.testing.assert_close(outputs[str(p)], y, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_checkpoints_load_with_ultralytics_safe_load_after_import(trained, tmp_path):
    """ULTRALYTICS_SAFE_LOAD=1 (weights_only=True) with `import yolo_attn` first: every config loads, same outputs.

    best.pt only: last.pt has the same format (checked above), and torch's restricted unpickler is slow.
    """
    paths = [best for best, _, _ in trained.values()]
    report, outputs = _load_in_fresh_process(tmp_path, paths, pre_import=True, ULTRALYTICS_SAFE_LOAD=1)
    for p in paths:
        r = report[str(p)]
        assert "error" not in r, f"{p}: {r['error']}"
        names, y = _expected(p)
        assert r["attention"] == names, f"{p}: attention layers {r['attention']} != {names}"
        torch.testing.assert_close(outputs[str(p)], y, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_safe_load_without_import_refuses_cleanly(trained, tmp_path):
    """Weights-only unpickling imports nothing, so without `import yolo_attn` ultralytics refuses the file (documented)."""
    best = next(iter(trained.values()))[0]
    report, outputs = _load_in_fresh_process(tmp_path, [best], ULTRALYTICS_SAFE_LOAD=1)
    r = report[str(best)]
    assert "references types outside the supported Ultralytics checkpoint format" in r.get("error", ""), r
    assert not r["imported"] and not outputs  # refused before any of our code ran


def test_safe_allow_list_is_exactly_our_module_classes():
    classes = safe_classes()
    assert set(OURS) <= set(classes)
    for cls in classes:
        assert cls.__module__.startswith(("yolo_attn.models.", "yolo_attn.anchor.")), cls
        assert issubclass(cls, torch.nn.Module), cls
    allowed = set(torch.serialization.get_safe_globals())
    assert set(classes) <= allowed
    ours = {g for g in allowed if getattr(g, "__module__", "").startswith("yolo_attn")}
    assert ours == set(classes), f"allow-listed beyond the module classes: {ours - set(classes)}"


@pytest.mark.slow
def test_safe_load_still_refuses_foreign_classes_and_code(trained, tmp_path, monkeypatch):
    """After `import yolo_attn`, weights-only loading still refuses any class or callable outside the allow-list."""
    (tmp_path / "foreign_layers.py").write_text("import torch.nn as nn\nclass Foreign(nn.Module):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import foreign_layers

    ckpt = torch_safe_load(str(next(iter(trained.values()))[1]))[0]
    (ckpt.get("ema") or ckpt["model"]).model[-2] = foreign_layers.Foreign()  # a user class hidden inside an otherwise valid model
    torch.save(ckpt, tmp_path / "foreign.pt")

    class Payload:
        def __reduce__(self):
            return (print, ("code ran during load",))

    torch.save({"model": Payload()}, tmp_path / "payload.pt")
    from yolo_attn.errors import UsageError

    for name in ("foreign.pt", "payload.pt"):  # yolo_attn's loader answers for ultralytics' (plugin/safe_load.py)
        for safe_only in (True, False, None):
            with pytest.raises(UsageError, match=f"{name}: refused to load global"):
                torch_safe_load(str(tmp_path / name), safe_only=safe_only)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_checkpoint_gives_a_clear_error(trained, tmp_path, damage):
    good = next(iter(trained.values()))[0].read_bytes()
    bad = tmp_path / f"{damage}.pt"
    bad.write_bytes({"truncated": good[: len(good) // 2], "garbage": bytes(range(256)) * 64, "empty": b""}[damage])
    from yolo_attn.errors import UsageError

    with pytest.raises(UsageError) as e:  # yolo_attn's loader answers for ultralytics' (plugin/safe_load.py)
        YOLO(str(bad))
    msg = str(e.value)
    assert str(bad) in msg and "not a readable PyTorch checkpoint, the file is corrupt or truncated" in msg, msg
