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
    # the scale letter of the file name: path/to/yolov5n-x.yaml -> path/to/yolov5-x.yaml (scale n), in any folder
    from yolo_attn.plugin.hook import scale_less_path

    unified = scale_less_path(cfg)
    return any(tasks.check_yaml(str(name), hard=False) for name in {cfg, unified} if name is not None)


_SCALED_NAME = re.compile(r"(yolo(?:e-)?v?\d+)([nslmx])?((?:-[^/\\]+)?\.ya?ml)")  # yolov5 | s | -se.yaml


def apply_scale(cfg: str, scale: str) -> str:
    """``--cfg`` with an explicit ``--scale``: a scale-less config name gets the scale (``yolov5.yaml`` ->
    ``yolov5s.yaml``, ``yolov5-se.yaml`` -> ``yolov5s-se.yaml``), as ``--cfg all --scale s`` does; a name or path that
    already says this scale is kept. Anything else (another scale in the name, a scale-less file path, which
    ultralytics would build at the yaml's first scale) is refused: the pair has no single meaning."""
    from ultralytics.nn.tasks import guess_model_scale

    p = Path(cfg)
    m = _SCALED_NAME.fullmatch(p.name)
    if len(p.parts) == 1 and not p.is_file() and m:
        if m.group(2) is None:
            return f"{m.group(1)}{scale}{m.group(3)}"
        if m.group(2) == scale:
            return cfg
        raise UsageError(f"--cfg {cfg} --scale {scale}: the config name already says scale {m.group(2)!r}; drop "
                         f"--scale, or give --cfg {m.group(1)}{scale}{m.group(3)}")
    if guess_model_scale(p) == scale:
        return cfg
    raise UsageError(
        f"--cfg {cfg} --scale {scale}: --scale applies to a config name without a scale (yolov5.yaml, yolov5-se.yaml); "
        f"ultralytics reads the scale of a yaml file from its name, so name the file like yolov5{scale}-mine.yaml "
        f"and drop --scale"
    )


def resolve_cfgs(cfg: str, scale: str | None = None) -> list[str]:
    """``--cfg`` value -> list of model yamls.

    ``all`` means the plain ``yolov5{scale}.yaml`` plus every shipped attention config at that scale (default n); a
    comma-separated list gives each entry, each with ``scale`` applied when given (:func:`apply_scale`: scale-less
    names get it, contradictions are refused). A name that cannot be found raises ``UsageError`` with the closest
    names.
    """
    from yolo_attn.registry import closest_names

    if scale is not None and scale not in SCALES:
        raise UsageError(f"--scale {scale!r} is not one of {', '.join(SCALES)}")
    if cfg.strip().lower() == "all":
        return [c for c in known_configs() if re.fullmatch(rf"yolov5{scale or 'n'}(-.+)?\.yaml", c)]
    cfgs = [c.strip() for c in cfg.split(",") if c.strip()]
    if not cfgs:
        raise UsageError("--cfg is empty; give a config name such as yolov5n-simam.yaml, a path, or 'all'")
    for i, c in enumerate(cfgs):
        if not c.endswith((".yaml", ".yml")) and not Path(c).exists():
            c = cfgs[i] = c + ".yaml"  # allow the bare stem: yolov5n-simam
        if scale is not None:
            c = cfgs[i] = apply_scale(c, scale)
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

    from yolo_attn.graph.yaml_guard import check_layout

    try:  # parse_model's pre-check (yolo_attn.plugin.hook) runs graph.checks.check_graph: bad 'from' indices named per layer
        d = tasks.yaml_model_load(cfg)
        check_layout(d)
        tasks.parse_model(copy.deepcopy(d), 3, verbose=False)
    except (KeyError, ValueError) as e:
        msg = str(e.args[0] if isinstance(e, KeyError) and e.args else e)
        raise UsageError(msg if str(cfg) in msg else f"--cfg {cfg}: {msg}") from None
