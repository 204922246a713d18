"""How a YOLOv5-format yaml (``anchors:`` and ``Detect, [nc, anchors]``) reaches ``AnchorDetect`` through
ultralytics' ``parse_model``, without editing it.

``parse_model`` sends a ``Detect`` row to ultralytics' anchor-free ``Detect(nc, reg_max, end2end, ch)`` (the YOLOv5
yaml's extra ``anchors`` argument is the ``TypeError ... 6 were given``), and any other class to its generic branch,
which indexes ``ch[f]`` with the row's 'from' (a list for a head: ``TypeError``) and passes no channels. So, on the
deep copy of the yaml that ``parse_model`` gets (the model's own ``yaml`` keeps YOLOv5's rows):

1. :func:`route_rows` rewrites such a row to ``AnchorDetect`` with the anchors filled in, and its 'from' to a
   :class:`HeadInputs` list that the generic branch can index with;
2. ``AnchorDetect.__init__`` (wrapped by :func:`wrap_head_init`) reads the channels of the 'from' layers out of
   ``parse_model``'s frame, as the attention modules do (``BuildSite``);
3. :func:`finish_model` puts a plain list back into the built module's ``f`` and, when the model being built is a
   plain ``DetectionModel`` (``YOLO("yolov5s.yaml")``), makes it an ``AnchorDetectionModel`` (same ``__init__``;
   adds YOLOv5's loss) so any entry point trains the head with the right loss.
"""

from __future__ import annotations

import copy
import functools
import sys

from yolo_attn.graph.anchors import is_anchor_row
from yolo_attn.graph.rows import model_rows
from yolo_attn.graph.yaml_guard import check_anchors

__all__ = ("HeadInputs", "route_rows", "wrap_head_init", "finish_model")


class HeadInputs(list):
    """A head row's 'from' while ``parse_model`` runs: still the list of input layers, and usable as an index for
    the generic branch's ``c2 = ch[f]`` (a value nothing reads after the last layer)."""

    def __index__(self):
        return self[-1]


def route_rows(d: dict) -> bool:
    """Rewrite anchor-based head rows of ``d`` (parse_model's copy) for ``AnchorDetect``; True if there were any."""
    found = False
    for row in model_rows(d):
        if not is_anchor_row(d, row):
            continue
        args = list(row[3])
        if len(args) >= 2 and args[1] == "anchors":
            if "anchors" not in d:
                raise ValueError(f"{d.get('yaml_file', 'model yaml')}: the Detect row reads 'anchors' but the yaml "
                                 f"has no top-level anchors: (a list per level, or a count such as anchors: 3)")
            args[1] = copy.deepcopy(d["anchors"])
        check_anchors(args[1], f"{d.get('yaml_file') or 'model yaml'}: the Detect row's anchors",
                      len(row[0]) if isinstance(row[0], list) else 1)
        f = row[0]
        row[0], row[2], row[3] = HeadInputs(f if isinstance(f, list) else [f]), "AnchorDetect", args
        found = True
    return found


def wrap_head_init(cls, adapter) -> None:
    """Give ``cls.__init__`` (``AnchorDetect``) the channels of its 'from' layers when ``parse_model`` calls it."""
    if "_plain_init" in cls.__dict__:
        return
    plain_init = cls.__init__

    @functools.wraps(plain_init)
    def __init__(self, nc=80, anchors=(), *args, **kwargs):
        site = adapter.build_site(sys._getframe(1))
        if site is None or args or "ch" in kwargs:  # ordinary Python call: AnchorDetect(80, anchors, ch=(...))
            return plain_init(self, nc, anchors, *args, **kwargs)
        f = site.f if isinstance(site.f, list) else [site.f]
        ch = [site.ch[j] for j in f]
        try:
            plain_init(self, nc, anchors, ch=ch)
        except (ValueError, TypeError, IndexError) as e:
            raise ValueError(f"{site.yaml_file}: layer {site.i} [{list(f)}, 1, Detect, [nc, anchors]]: {e}") from None

    install_init(cls, plain_init, __init__)


def install_init(cls, plain_init, init) -> None:
    """Make ``init`` the ``cls.__init__``, keeping ``plain_init`` as ``cls._plain_init`` for ``restore_plain_init``."""
    cls._plain_init = plain_init
    cls.__init__ = init


def restore_plain_init(cls) -> None:
    """Undo ``install_init``: ``cls.__init__`` is its own again (nothing happens when it was never replaced)."""
    if "_plain_init" in cls.__dict__:
        cls.__init__ = cls._plain_init
        del cls._plain_init


def finish_model(model, caller_frame, tasks) -> None:
    """After ``parse_model``: plain 'from' lists, and a plain ``DetectionModel`` under construction becomes an
    ``AnchorDetectionModel`` (found as ``_initialize_yolo_model``'s ``model``)."""
    for m in model:
        if isinstance(getattr(m, "f", None), HeadInputs):
            m.f = list(m.f)
    frame = caller_frame
    if frame is None or frame.f_code.co_name != "_initialize_yolo_model" or frame.f_code.co_filename != tasks.__file__:
        return
    built = frame.f_locals.get("model")
    if type(built) is tasks.DetectionModel:
        from yolo_attn.anchor.model import AnchorDetectionModel

        built.__class__ = AnchorDetectionModel
