"""A search space: modules x placements x module-argument ranges (``--attn-args "reduction=8,16,32;factor=8,16"``).

A range names one of a module's own ``__init__`` parameters (after the channels); it applies to every module that
has that parameter and is left out for the others (SimAM has no ``reduction``). Each point of the space is written
as its own model yaml ``GRID/cfg/<base>-<module>-<at>[-<param><value>...].yaml``, so every configuration is a config
of its own in the comparison (two reductions of SE at the neck are never averaged as seeds of one config).
"""

from __future__ import annotations

import copy
import inspect
import itertools
from dataclasses import dataclass
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("SpacePoint", "parse_ranges", "search_space", "point_dict", "write_point_cfg")


@dataclass(frozen=True)
class SpacePoint:
    module: str
    at: str  # placement label ('+'-joined)
    args: tuple  # the module's positional args after the channels ([] : its defaults)
    label: str  # "reduction8" ... ("" for the defaults)


def parse_ranges(text: str | None) -> dict[str, list]:
    """``"reduction=8,16,32;factor=8,16"`` -> ``{"reduction": [8, 16, 32], "factor": [8, 16]}``."""
    from ultralytics.cfg import smart_value

    out = {}
    for part in (p.strip() for p in str(text or "").split(";") if p.strip()):
        key, eq, values = part.partition("=")
        vals = [smart_value(v.strip()) for v in values.split(",") if v.strip()]
        if not eq or not key.strip().isidentifier() or not vals:
            raise UsageError(f"--attn-args {part}: a search range is NAME=V1,V2,... (a module parameter, e.g. "
                             f"reduction=8,16,32); separate several with ';'")
        out[key.strip()] = vals
    return out


def _params(module: str) -> list[inspect.Parameter]:
    """The module's own parameters after ``self`` and the channels."""
    from yolo_attn import ATTENTION_REGISTRY

    return list(inspect.signature(ATTENTION_REGISTRY[module].__init__).parameters.values())[2:]


def _points_of(module: str, ranges: dict[str, list]) -> list[tuple[tuple, str]]:
    params = _params(module)
    names = [p.name for p in params]
    mine = [k for k in ranges if k in names]
    if not mine:
        return [((), "")]
    last = max(names.index(k) for k in mine)
    out = []
    for combo in itertools.product(*(ranges[k] for k in mine)):
        chosen = dict(zip(mine, combo))
        args = tuple(chosen.get(p.name, p.default) for p in params[: last + 1])
        out.append((args, "-".join(f"{k}{v}" for k, v in chosen.items())))
    return out


def search_space(modules: list[str], ats: list[str], ranges: dict[str, list]) -> list[SpacePoint]:
    """Every (module, placement, argument combination); a range no module takes is a ``UsageError``."""
    known = {p.name for m in modules for p in _params(m)}
    unused = [k for k in ranges if k not in known]
    if unused:
        raise UsageError(f"--attn-args {', '.join(unused)}: no module of --attn {','.join(modules)} takes this "
                         f"parameter; their parameters: {', '.join(sorted(known)) or 'none'}")
    return [SpacePoint(m, at, args, label) for m in modules for at in ats for args, label in _points_of(m, ranges)]


def point_dict(base: str, point: SpacePoint) -> dict:
    """The point's model dict, its layers built once (bad args raise here, before anything is written)."""
    from ultralytics.nn.tasks import parse_model

    from yolo_attn.graph.placement import insert_attention, parse_at

    d = insert_attention(base, point.module, parse_at(point.at.replace("+", ",")), list(point.args))
    parse_model(copy.deepcopy(d), 3, verbose=False)
    if point.label:
        d["yaml_file"] = f"{Path(d['yaml_file']).stem}-{point.label}.yaml"
    return d


def write_point_cfg(d: dict, folder) -> Path:
    """A point's model dict as ``folder/<yaml_file>`` (written once; an identical existing file is reused)."""
    from yolo_attn.graph.placement import write_model_yaml, write_once

    return write_once(d, Path(folder) / d["yaml_file"], write_model_yaml)
