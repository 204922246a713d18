"""The hook into ultralytics' model builder, installed once by ``import yolo_attn``.

ultralytics 8.4 has no extension point for new layers: ``parse_model`` resolves a yaml name with
``globals()[name]`` inside ``ultralytics.nn.tasks``, and any layer it does not special-case gets its yaml args
unchanged (no input channels). The hook therefore, without copying or editing ultralytics code:

1. puts every registered attention class into ``ultralytics.nn.tasks``' namespace, so the yaml name resolves;
2. wraps ``tasks.parse_model`` to check the yaml first (unknown names with the closest match, ``from`` lists of one
   index) and then call the original; the registered classes read their input channels from the original's frame
   (``yolo_attn.registry``);
3. wraps ``tasks.check_yaml`` so ``YOLO("yolov5s-ema.yaml")`` also finds the configs shipped in ``yolo_attn/yaml``
   after the user's own paths.

A self-test builds a two-layer model at import; if a future ultralytics changes what the hook relies on,
``import yolo_attn`` fails at once naming the supported versions.
"""

from __future__ import annotations

from pathlib import Path

import ultralytics
import ultralytics.nn.tasks as tasks

from yolo_attn.registry import ATTENTION_REGISTRY, _listeners, closest_names

__all__ = ("SUPPORTED_ULTRALYTICS", "CONFIG_DIR", "install", "is_parse_model_code", "shipped_configs")

SUPPORTED_ULTRALYTICS = ">=8.4.0,<8.5"  # the range tested; keep in sync with pyproject.toml
CONFIG_DIR = Path(__file__).resolve().parent / "yaml"

_original_parse_model = tasks.parse_model
_original_check_yaml = tasks.check_yaml


def is_parse_model_code(code) -> bool:
    """True for the code object of ultralytics' own ``parse_model``."""
    return code is _original_parse_model.__code__


def shipped_configs() -> list[str]:
    """Names of the model yamls shipped in the package, e.g. ``yolov5-ema.yaml``."""
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))


def _known_names() -> set[str]:
    import torch.nn as nn

    return {k for k, v in vars(tasks).items() if isinstance(v, type) and issubclass(v, nn.Module)}


def _check_layers(d: dict) -> None:
    """Fail early, naming the layer, on unknown module names; normalise ``[[k], n, Attn, args]`` to ``k``."""
    yaml_file = d.get("yaml_file", "model yaml")
    layers = list(d.get("backbone", [])) + list(d.get("head", []))
    for i, layer in enumerate(layers):
        if not isinstance(layer, (list, tuple)) or len(layer) != 4:
            raise ValueError(f"{yaml_file}: layer {i} is {layer!r}; each layer is [from, number, module, args]")
        f, _, name, _ = layer
        if not isinstance(name, str) or name.startswith(("nn.", "torchvision.ops.")):
            continue
        if name not in vars(tasks):
            registered = sorted(ATTENTION_REGISTRY)
            # attention names first: "SEnet" should suggest SE, not ultralytics' Segment
            close = closest_names(name, registered) or closest_names(name, sorted(_known_names()))
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(
                f"{yaml_file}: layer {i} uses unknown module {name!r}.{hint} Registered attention modules: "
                f"{', '.join(registered)} (import yolo_attn before building; register your own with "
                f"@yolo_attn.register_attention)"
            )
        if name in ATTENTION_REGISTRY and isinstance(f, list):
            if len(f) != 1:
                raise ValueError(
                    f"{yaml_file}: layer {i} [{f}, ..., {name}, ...]: {name} takes one input; write 'from' as one "
                    f"index, e.g. {f[0]}, and add a Concat layer first if you want to attend over several inputs"
                )
            layer[0] = f[0]  # one input: parse_model's generic branch indexes ch[f] with an int


def parse_model(d, ch, verbose=True):
    """``ultralytics.nn.tasks.parse_model`` with yaml checks first; same arguments and result."""
    if isinstance(d, dict):
        _check_layers(d)
    return _original_parse_model(d, ch, verbose)


def check_yaml(file, suffix=(".yaml", ".yml"), hard=True):
    """``ultralytics.utils.checks.check_yaml`` that falls back to the configs shipped in ``yolo_attn/yaml``."""
    found = _original_check_yaml(file, suffix, hard=False)
    if found:
        return found
    shipped = CONFIG_DIR / Path(str(file)).name
    if shipped.is_file():
        return str(shipped)
    return _original_check_yaml(file, suffix, hard=hard)


def _inject(name: str, cls: type) -> None:
    setattr(tasks, name, cls)


def _self_test() -> None:
    """Build ``Conv(3->8) -> SE`` through parse_model and check SE got 8 input channels."""
    d = {
        "yaml_file": "yolo_attn self-test",
        "backbone": [[-1, 1, "Conv", [8, 3, 2]], [[0], 1, "SE", [4]]],
        "head": [],
    }
    model, _ = tasks.parse_model(d, 3, verbose=False)
    if model[1].fc[0].in_features != 8:
        raise RuntimeError(f"SE got {model[1].fc[0].in_features} input channels, expected 8")


def install() -> None:
    """Install the hook (idempotent)."""
    if getattr(tasks.parse_model, "_yolo_attn", False):
        return
    for name, cls in ATTENTION_REGISTRY.items():
        _inject(name, cls)
    _listeners.append(_inject)
    parse_model._yolo_attn = True
    tasks.parse_model = parse_model
    tasks.check_yaml = check_yaml
    try:
        _self_test()
    except Exception as e:
        tasks.parse_model, tasks.check_yaml = _original_parse_model, _original_check_yaml
        raise ImportError(
            f"yolo_attn supports ultralytics{SUPPORTED_ULTRALYTICS}, found {ultralytics.__version__}: its model builder "
            f"no longer accepts the yolo_attn hook ({type(e).__name__}: {e}). Install a supported version: "
            f"pip install 'ultralytics{SUPPORTED_ULTRALYTICS}'"
        ) from e
