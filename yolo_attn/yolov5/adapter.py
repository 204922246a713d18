"""The adapter for YOLOv5's own ``parse_model`` (``models/yolo.py`` of a YOLOv5 clone, or ``yolov5.models.yolo`` of
the packaged v7.0), in the design of the ultralytics hook (``yolo_attn.plugin.hook``), without editing YOLOv5's files.

The seam: YOLOv5's ``parse_model`` resolves a row's name with ``eval(m)`` in ``models.yolo``'s globals and falls to
``else: c2 = ch[f]`` for any class it does not special-case, passing the yaml args unchanged. So (1) every registered
module and every alias is set as a global of ``models.yolo`` (the name resolves; ``c2 = ch[f]`` is right for a
same-shape attention map); (2) the classes' ``__init__`` wrapper the ultralytics hook installs asks every known
builder whether the caller is its ``parse_model`` (``hook.SITE_FINDERS``): this adapter recognises YOLOv5's by its code
object and reads ``i, f, n, ch, d`` from its frame, so the module gets ``c1 = ch[f]`` and the same reading of the fork
convention and peer names as under ultralytics; (3) ``models.yolo.parse_model`` is wrapped (``__wrapped__`` kept) only
to note a repeated row once. Patching ``Model`` or copying ``parse_model`` was the alternative; both break with every
YOLOv5 release that edits them, while these three contact points have been stable since v6.0.
"""

from __future__ import annotations

import functools
import sys
import warnings

from yolo_attn.graph.aliases import ALIASES
from yolo_attn.plugin.hook import SITE_FINDERS, BuildSite
from yolo_attn.registry import add_registry_listener

__all__ = ("YOLOv5Adapter", "BASE_MODULE_NAMES")

# YOLOv5 v7.0 parse_model's `c1, c2 = ch[f], args[0]` set (its first argument is the output width).
BASE_MODULE_NAMES = ("Conv", "GhostConv", "Bottleneck", "GhostBottleneck", "SPP", "SPPF", "DWConv", "MixConv2d",
                     "Focus", "CrossConv", "BottleneckCSP", "C3", "C3TR", "C3SPP", "C3Ghost", "DWConvTranspose2d",
                     "C3x")


def _own_code(fn):
    """The code object of the module's own parse_model, through ``__wrapped__`` chains."""
    seen = set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        if getattr(fn, "__code__", None) is not None and not getattr(fn, "_yolo_attn", False):
            return fn.__code__
        fn = getattr(fn, "__wrapped__", None)
    return None


def _model_yaml_file(frame, depth: int = 4) -> str:
    """YOLOv5's ``Model`` keeps the yaml's file name on itself, not in the dict: look up the calling frames."""
    while frame is not None and depth > 0:
        name = getattr(frame.f_locals.get("self"), "yaml_file", None)
        if name:
            return str(name)
        frame, depth = frame.f_back, depth - 1
    return "model yaml"


class YOLOv5Adapter:
    """Everything that touches one ``models.yolo`` module: its globals, its parse_model, its frame."""

    def __init__(self, module):
        self.yolo = module
        self.code = _own_code(module.parse_model)
        ns = vars(module)
        self.base_modules = frozenset(ns[n] for n in BASE_MODULE_NAMES if n in ns)
        self.concat = ns.get("Concat")
        self.skipped: dict[str, object] = {}  # names YOLOv5 defines itself: left to YOLOv5

    def build_site(self, frame) -> BuildSite | None:
        if frame is not None and frame.f_code.co_name == "<genexpr>":
            frame = frame.f_back
        if frame is None or frame.f_code is not self.code:
            return None
        local = frame.f_locals
        d = dict(local.get("d") or {})
        d.setdefault("yaml_file", _model_yaml_file(frame.f_back))
        return BuildSite(local["i"], local["f"], local.get("n", 1), local["ch"], d, self.base_modules,
                         vars(self.yolo), self.concat)

    def check_rows(self, d: dict, yaml_file: str) -> None:
        """The checks the ultralytics hook makes before building (``yolo_attn.plugin.hook``): every unknown module name
        in one message (instead of YOLOv5's ``NameError`` from ``eval``), bad ``from`` indices named per layer, and
        the unread-layer warning."""
        from yolo_attn.graph.checks import check_graph
        from yolo_attn.graph.rows import model_rows
        from yolo_attn.plugin.hook import raise_unknown_names

        if not isinstance(d, dict):
            return
        ns = vars(self.yolo)
        rows = model_rows(d)
        unknown = [(i, r) for i, r in enumerate(rows) if isinstance(r, (list, tuple)) and len(r) == 4
                   and isinstance(r[2], str) and not r[2].startswith(("nn.", "torch.")) and r[2] not in ns]
        named = dict(d, yaml_file=yaml_file)
        if unknown:
            raise_unknown_names(yaml_file, unknown, ns)
        check_graph(named)

    def set_name(self, name: str, cls) -> None:
        current = vars(self.yolo).get(name)
        if current is not None and current is not cls:
            if name not in self.skipped:
                self.skipped[name] = current
                warnings.warn(f"{self.yolo.__name__} already defines {name!r}; yaml rows naming it build YOLOv5's "
                              f"class, not yolo_attn's", stacklevel=3)
            return
        setattr(self.yolo, name, cls)

    def on_register(self, name: str, cls) -> None:
        self.set_name(name, cls)
        for alias in ALIASES.values():
            if alias.target == name:
                self.set_name(alias.name, cls)

    def check_untrusted(self, d):
        """YOLOv5's parse_model calls ``eval`` on each row's module name, each string argument and ``activation:``.
        Before it runs: names must be layer classes, string arguments literals / ``nc`` / ``anchors`` / plain words
        (replaced by their value, so ``eval`` sees nothing to run), sizes bounded (``yolo_attn.graph.yaml_guard``);
        ``activation:`` is read with ``ast`` and set as ``Conv.default_act`` (what YOLOv5's ``eval`` would set), and
        the copy handed on has no ``activation`` key. ``d`` is YOLOv5's deep copy of the model's yaml."""
        from yolo_attn.graph.yaml_guard import MISSING, check_model_dict, parse_activation, yolov5_string_arg

        if not isinstance(d, dict):
            return d
        ns = vars(self.yolo)
        local = set(self.code.co_varnames) | set(self.code.co_cellvars)

        def lookup(name):  # what eval(name) finds: parse_model's locals first, then the module, then builtins
            return MISSING if name in local else ns.get(name, MISSING)

        yaml_file = d.get("yaml_file") or "model yaml"
        defined = set(ns) | local
        check_model_dict(d, lookup, tuple(c for c in (ns.get("BaseModel"), ns.get("Model")) if isinstance(c, type)),
                         lambda a, where: yolov5_string_arg(a, where, defined))
        act = d.get("activation")
        if act:
            d = dict(d)
            ns["Conv"].default_act = parse_activation(d.pop("activation"), f"{yaml_file}: activation")
        return d

    def install(self) -> None:
        if getattr(self.yolo, "_yolo_attn_adapter", None) is not None:
            return
        if self.code is None:
            raise ImportError(f"{self.yolo.__name__}.parse_model is not YOLOv5's own function; cannot attach")
        add_registry_listener(self.on_register)  # replays the registered modules, then follows new ones
        original = self.yolo.parse_model

        @functools.wraps(original)
        def parse_model(d, ch):
            from yolo_attn.graph.dialect import build_scope

            if isinstance(d, dict):  # a copy that knows its file, for the messages
                d = {"yaml_file": _model_yaml_file(sys._getframe(1)), **d}
            d = self.check_untrusted(d)
            self.check_rows(d, d.get("yaml_file") if isinstance(d, dict) else None)
            with build_scope():
                return original(d, ch)

        parse_model._yolo_attn = True
        self.yolo.parse_model = parse_model
        SITE_FINDERS.append(self.build_site)
        self.yolo._yolo_attn_adapter = self
