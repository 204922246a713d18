"""Model yamls come from strangers: nothing in one may call a function or run code (issue 26).

ultralytics' ``parse_model`` builds a row's module name with ``globals()[name]`` of ``ultralytics.nn.tasks`` (where
``torch_load``, ``check_requirements`` ... live too) and calls ``eval`` on ``activation:``; YOLOv5 calls ``eval`` on
the module name, every string argument and ``activation:``. Before either builder runs, :func:`check_model_dict` proves
that the file can only name layers and give literals:

- a module name resolves only to an ``nn.Module`` subclass (a registered attention module, an ultralytics or YOLOv5
  layer, ``nn.<Layer>``, ``torchvision.ops.<Layer>``), never to a function, a module or a whole model;
- ``activation:`` is ``nn.<Activation>(literal arguments)``, read with ``ast`` (:func:`parse_activation`), never
  ``eval``; the builders are handed the built module, not the text;
- a string argument is a Python literal, a plain word, or a name the builder defines for yamls (``nc``,
  ``anchors``); YOLOv5's ``eval`` of it is made a plain lookup (:func:`yolov5_string_arg`);
- sizes are bounded: at most ``MAX_ROWS`` rows, repeats ``n`` in 1..``MAX_REPEATS``, anchors 1..``MAX_ANCHORS`` per
  level with positive finite sizes, ``nc`` 1..``MAX_CLASSES``, whole-number arguments up to ``MAX_INT_ARG``, short
  string arguments.

Every failure is a :class:`~yolo_attn.errors.UsageError` naming the file, the layer or key, and the valid form.
"""

from __future__ import annotations

import ast
import builtins
import math

import torch.nn as nn

from yolo_attn.errors import UsageError

__all__ = ("MAX_ROWS", "MAX_REPEATS", "MAX_INT_ARG", "MAX_ANCHORS", "MAX_CLASSES", "MAX_ARG_CHARS", "MISSING", "check_layout",
           "check_model_dict", "layer_class", "parse_activation", "check_anchors", "check_string_arg", "yolov5_string_arg", "ACTIVATIONS")

MAX_ROWS = 1000  # the largest shipped or ultralytics yaml has ~40 rows; 10,000 rows is a MemoryError
MAX_REPEATS = 100  # a row's n before depth_multiple; real yamls use 1-9 (30,000,000 is a MemoryError)
MAX_ANCHORS = 20  # anchors per level (YOLOv5 uses 3); the head's width is anchors x (nc + 5)
MAX_CLASSES = 100_000  # nc: ImageNet-21k has 21,841 classes; nc: 10**10 would size the head's convolutions by it
MAX_ARG_CHARS = 200  # a string argument or activation: longer text is no layer argument
MAX_INT_ARG = 16_384  # a whole-number layer argument (channels, kernel, stride ...): published yamls stop at 2048;
# Conv, [100000000, 3] would allocate its weights (terabytes) before anything else could refuse it
MAX_LITERAL = 10 ** 6  # the largest number an activation's argument may be (nn.PReLU(num_parameters) allocates it)
MISSING = object()

# nn.<Activation> classes an ``activation:`` may name: torch.nn's activation layers (and Identity), minus the ones
# that are layers with weights sized by their arguments
ACTIVATIONS = frozenset(
    name for name, cls in vars(nn.modules.activation).items()
    if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == "torch.nn.modules.activation"
    and name not in {"Module", "MultiheadAttention", "NonDynamicallyQuantizableLinear"}
) | {"Identity"}
_ROW_FORM = "each layer is [from, number, module, args]"
_LAYER_FORM = ("a yaml row names a layer class: a yolo_attn attention module, an ultralytics/YOLOv5 layer "
               "(Conv, C3, Concat, Detect ...), nn.<Layer> or torchvision.ops.<Layer>")


def _file(d: dict) -> str:
    return str(d.get("yaml_file") or "model yaml")


def _what(obj) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    kind = type(obj).__name__
    return {"function": "a function", "builtin_function_or_method": "a built-in function", "module": "a Python module",
            "method": "a method"}.get(kind, f"a {kind} object")


def layer_class(name, lookup, where: str, whole_models: tuple = ()):
    """The ``nn.Module`` subclass a row's module ``name`` builds, or ``MISSING`` for a plain name ``lookup`` does not
    know (the caller names the unknown module); a ``UsageError`` for anything that is not a layer class."""
    if not isinstance(name, str):
        raise UsageError(f"{where}: the module name is {name!r} ({type(name).__name__}), not a name; {_LAYER_FORM}")
    prefix, _, rest = name.rpartition(".")
    if prefix in ("nn", "torch.nn", "torchvision.ops") and rest.isidentifier():
        if prefix == "torchvision.ops":
            import torchvision.ops as space
        else:
            space = nn
        obj = getattr(space, rest, MISSING)
        if obj is MISSING:
            raise UsageError(f"{where}: {prefix} has no layer {rest!r}; {_LAYER_FORM}")
    elif name.isidentifier() and not name.startswith("__"):
        obj = lookup(name)
        if obj is MISSING:
            return MISSING
    else:
        raise UsageError(f"{where}: {name!r} is not a layer name (an identifier, or nn.<Layer> / "
                         f"torchvision.ops.<Layer>); {_LAYER_FORM}")
    if not (isinstance(obj, type) and issubclass(obj, nn.Module)):
        raise UsageError(f"{where}: {name!r} is {_what(obj)}, not a layer class (nothing a yaml names is called "
                         f"unless it is an nn.Module subclass); {_LAYER_FORM}")
    if whole_models and issubclass(obj, whole_models):
        raise UsageError(f"{where}: {name!r} is a whole model ({_what(obj)}), not a layer; {_LAYER_FORM}")
    return obj


def _literal(node, where: str, text: str):
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise UsageError(f"{where}: {text!r}: arguments must be literals (numbers, True/False/None, strings)") from None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and not abs(value) <= MAX_LITERAL:
        raise UsageError(f"{where}: {text!r}: argument {value!r} is out of range (at most {MAX_LITERAL:g} in size)")
    return value


def parse_activation(text, where: str = "model yaml: activation") -> nn.Module:
    """``nn.SiLU()``, ``nn.LeakyReLU(0.1)``, ``torch.nn.ReLU(inplace=True)`` -> the module, read with ``ast``: a call
    of a torch.nn activation class (``ACTIVATIONS``) with literal arguments, nothing else, nothing evaluated."""
    form = (f"write nn.<Activation>(literal arguments), e.g. nn.SiLU(), nn.ReLU(inplace=True) or nn.LeakyReLU(0.1) "
            f"(activations: {', '.join(sorted(ACTIVATIONS))})")
    if not isinstance(text, str) or len(text) > MAX_ARG_CHARS:
        raise UsageError(f"{where}: {str(text)[:80]!r} is not an activation; {form}")
    try:
        call = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        call = None
    parts, node = [], getattr(call, "func", None)
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.insert(0, node.id)
    if not isinstance(call, ast.Call) or parts[:-1] not in (["nn"], ["torch", "nn"]) or parts[-1] not in ACTIVATIONS:
        raise UsageError(f"{where}: {text!r} is not read (it is never evaluated); {form}")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise UsageError(f"{where}: {text!r}: no *args or **kwargs; {form}")
    args = [_literal(a, where, text) for a in call.args]
    kwargs = {k.arg: _literal(k.value, where, text) for k in call.keywords}
    try:
        return getattr(nn, parts[-1])(*args, **kwargs)
    except (TypeError, ValueError, RuntimeError) as e:
        raise UsageError(f"{where}: {text!r}: {e}; {form}") from None


def check_anchors(anchors, where: str, levels: int | None = None):
    """``anchors``: a count per level (1..``MAX_ANCHORS``) or one row of positive pixel (w, h) pairs per level (the
    same count in each); returned unchanged. ``levels``: the head's input count, when known."""
    example = ("anchors: 3 (computed from the data) or "
               "[[10,13, 16,30, 33,23], [30,61, 62,45, 59,119], [116,90, 156,198, 373,326]]")
    if isinstance(anchors, int) and not isinstance(anchors, bool):
        if not 1 <= anchors <= MAX_ANCHORS:
            raise UsageError(f"{where}: anchors {anchors} is out of range; give 1 to {MAX_ANCHORS} anchors per level, "
                             f"e.g. {example}")
        return anchors
    rows = anchors if isinstance(anchors, (list, tuple)) else None
    ok = bool(rows) and all(isinstance(r, (list, tuple)) and r and len(r) % 2 == 0 and len(r) == len(rows[0])
                            for r in rows)
    if not ok or len(rows) > 16:
        raise UsageError(f"{where}: anchors {str(anchors)[:80]} is not a count or one row of (w, h) pairs per level, "
                         f"the same count in each; e.g. {example}")
    if len(rows[0]) // 2 > MAX_ANCHORS:
        raise UsageError(f"{where}: {len(rows[0]) // 2} anchors per level; give 1 to {MAX_ANCHORS} per level")
    for r in rows:
        for v in r:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise UsageError(f"{where}: anchor size {v!r} in {list(r)}: anchor widths and heights are positive "
                                 f"pixel sizes, e.g. {example}")
    if levels is not None and len(rows) != levels:
        raise UsageError(f"{where}: {len(rows)} anchor rows for a head with {levels} inputs; give one row per level")
    return anchors


def check_string_arg(a: str, where: str) -> None:
    """An ultralytics string argument: parse_model turns it into a parse_model variable (``nc``) or a literal
    (``ast.literal_eval``, which runs nothing) and keeps a plain word; text that is not Python would be a traceback."""
    if len(a) > MAX_ARG_CHARS:
        raise UsageError(f"{where}: a string argument of {len(a)} characters; arguments are numbers, lists, "
                         f"True/False/None or short words (at most {MAX_ARG_CHARS} characters)")
    try:
        ast.literal_eval(a)
    except ValueError:
        return  # a plain word ('nearest'), a name parse_model defines (nc) or an expression: kept as a string
    except (SyntaxError, TypeError, MemoryError, RecursionError):
        raise UsageError(f"{where}: argument {a!r} is neither a Python literal nor a plain word; write a number, a "
                         f"list, True/False/None, nc, or a word such as nearest") from None


def yolov5_string_arg(a: str, where: str, defined: set) -> object:
    """What a string argument becomes under YOLOv5's ``eval(a)``, made safe: ``nc`` / ``anchors`` stay (a variable
    lookup), a literal becomes its value, a word nothing defines stays (YOLOv5 keeps it on ``NameError``); anything
    else (a call, an attribute, a name of the module or of Python) is refused."""
    check_string_arg(a, where)
    if a in ("nc", "anchors"):
        return a
    try:
        value = ast.literal_eval(a)
    except ValueError:
        value = a
    if not isinstance(value, str):
        return value
    if value in ("nc", "anchors") or (value.isidentifier() and value not in defined and not hasattr(builtins, value)):
        return value
    raise UsageError(f"{where}: argument {a!r} would be evaluated as Python by YOLOv5; arguments are literals, nc, "
                     f"anchors or plain words such as nearest")


def check_layout(d) -> list:
    """The rows of model dict ``d``: backbone + head, bounded in number; an empty file or one without both lists is a
    ``UsageError`` (ultralytics reads ``backbone[0]`` before ``parse_model``: call this first)."""
    if not isinstance(d, dict) or not any(k in d for k in ("backbone", "head")):
        raise UsageError(f"{_file(d) if isinstance(d, dict) else 'model yaml'}: the file is empty or has no "
                         f"backbone: and head: (a model yaml lists its layers under both)")
    for part in ("backbone", "head"):
        if not isinstance(d.get(part), list):
            raise UsageError(f"{_file(d)}: {part}: is {'missing' if part not in d else repr(d[part])[:60]}; a model "
                             f"yaml has backbone: and head:, each a list of [from, number, module, args] rows")
    rows = d["backbone"] + d["head"]
    if not rows:
        raise UsageError(f"{_file(d)}: backbone: and head: are empty; list the model's layers")
    if len(rows) > MAX_ROWS:
        raise UsageError(f"{_file(d)}: {len(rows)} layers; a model yaml has at most {MAX_ROWS}")
    return rows


def check_model_dict(d: dict, lookup, whole_models: tuple = (), string_arg=None) -> None:
    """Check model dict ``d`` before a builder sees it (module docstring); raise ``UsageError`` naming file and layer.

    ``lookup(name)``: what the builder's namespace holds under a plain name, or ``MISSING`` (unknown names are left
    to the caller, which suggests close names). ``string_arg(a, where)``: the builder's rule for string arguments
    (default :func:`check_string_arg`; it may return a replacement value)."""
    for i, row in enumerate(check_layout(d)):
        where = f"{_file(d)}: layer {i} {str(row)[:120]}"
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise UsageError(f"{_file(d)}: layer {i} is {str(row)[:120]}; {_ROW_FORM}")
        _, n, name, args = row
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_REPEATS:
            raise UsageError(f"{where}: number (repeats) {n!r} is out of range; give an integer 1 to {MAX_REPEATS}")
        layer_class(name, lookup, where, whole_models)
        if not isinstance(args, list):
            raise UsageError(f"{where}: args {args!r} is not a list; {_ROW_FORM}, e.g. [] for no arguments")
        for j, a in enumerate(args):
            if isinstance(a, int) and not isinstance(a, bool) and not abs(a) <= MAX_INT_ARG:
                raise UsageError(f"{where}: argument {a!r} is out of range; layer arguments (channels, kernel sizes, "
                                 f"strides) are at most {MAX_INT_ARG:,}")
            if isinstance(a, str) and string_arg is None:
                check_string_arg(a, where)
            elif isinstance(a, str):
                args[j] = string_arg(a, where)
    nc = d.get("nc")
    if nc is not None and (isinstance(nc, bool) or not isinstance(nc, int) or not 1 <= nc <= MAX_CLASSES):
        raise UsageError(f"{_file(d)}: nc {str(nc)[:40]} is out of range; the number of classes is an integer 1 to "
                         f"{MAX_CLASSES}")
    if d.get("anchors") is not None:
        check_anchors(d["anchors"], f"{_file(d)}: anchors")
    if isinstance(d.get("hyp"), dict):
        from yolo_attn.anchor.hyp import check_yolov5_hyp

        check_yolov5_hyp(d["hyp"], f"{_file(d)}: hyp")
