"""Model configs named on the command line: ``--cfg`` lookup (shipped names with their scale letter, paths, ``all``)
and a build check of a model yaml before any run folder exists."""

from __future__ import annotations

import re
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("SCALES", "known_configs", "resolve_cfgs", "check_model_cfg")

SCALES = "nslmx"


def known_configs() -> list[str]:
    """Scaled names users can pass to ``--cfg``: ``yolov5{n,s,m,l,x}.yaml`` and ``yolov5{scale}-{module}.yaml``."""
    from yolo_attn.plugin.hook import shipped_configs

    names = [f"yolov5{s}.yaml" for s in SCALES]
    for cfg in shipped_configs():
        m = re.fullmatch(r"yolov5-(.+)\.yaml", cfg)
        names += [f"yolov5{s}-{m.group(1)}.yaml" for s in SCALES] if m else [cfg]
    return names


def _config_exists(cfg: str) -> bool:
    """True if ultralytics (with the yolo_attn hook) can find the model yaml ``cfg``."""
    import ultralytics.nn.tasks as tasks

    if Path(cfg).is_file():
        return True
    # as ultralytics' yaml_model_load: the whole path, so path/to/yolov5n-x.yaml -> path/to/yolov5-x.yaml (scale n)
    unified = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", str(cfg))
    return any(tasks.check_yaml(name, hard=False) for name in {cfg, unified})


def resolve_cfgs(cfg: str, scale: str = "n") -> list[str]:
    """``--cfg`` value -> list of model yamls.

    ``all`` means the plain ``yolov5{scale}.yaml`` plus every shipped attention config at that scale; a
    comma-separated list gives each entry. A name that cannot be found raises ``UsageError`` with the closest names.
    """
    from yolo_attn.registry import closest_names

    if scale not in SCALES:
        raise UsageError(f"--scale {scale!r} is not one of {', '.join(SCALES)}")
    if cfg.strip().lower() == "all":
        return [c for c in known_configs() if re.fullmatch(rf"yolov5{scale}(-.+)?\.yaml", c)]
    cfgs = [c.strip() for c in cfg.split(",") if c.strip()]
    if not cfgs:
        raise UsageError("--cfg is empty; give a config name such as yolov5n-simam.yaml, a path, or 'all'")
    for i, c in enumerate(cfgs):
        if not c.endswith((".yaml", ".yml")) and not Path(c).exists():
            c = cfgs[i] = c + ".yaml"  # allow the bare stem: yolov5n-simam
        if not _config_exists(c):
            close = closest_names(Path(c).name, known_configs())
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise UsageError(
                f"--cfg {c}: no such model config (not a file, not a shipped or ultralytics yaml).{hint} "
                f"Shipped: yolov5{{n,s,m,l,x}}-{{{','.join(sorted({n.split('-', 1)[1][:-5] for n in known_configs() if '-' in n}))}}}.yaml"
            )
    return cfgs


def check_model_cfg(cfg: str) -> None:
    """Build the layers of model yaml ``cfg`` once, so a bad yaml stops with one ``error:`` line before any run folder
    exists (unknown module, bad arguments, yaml syntax: the message names the file, layer and fix)."""
    import copy

    from ultralytics.nn import tasks

    try:  # parse_model's pre-check (yolo_attn.plugin.hook) runs yaml_checks.check_graph: bad 'from' indices named per layer
        tasks.parse_model(copy.deepcopy(tasks.yaml_model_load(cfg)), 3, verbose=False)
    except (KeyError, ValueError) as e:
        msg = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        raise UsageError(msg if str(cfg) in msg else f"--cfg {cfg}: {msg}") from None
