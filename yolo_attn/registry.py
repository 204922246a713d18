"""Registry of attention modules: ``@register_attention`` beside each class makes its name usable in model yamls.

A registered class keeps its plain Python signature (``SE(c1, reduction=16)``). When ultralytics' ``parse_model``
builds it from a yaml row ``[from, n, SE, [args]]``, the wrapper added here reads the input channels of layer
``from`` out of ``parse_model``'s own channel list and passes them as ``c1`` (see ``yolo_attn.hook``), and turns a
bad argument into a ``ValueError`` naming the yaml layer.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import sys

__all__ = ("ATTENTION_REGISTRY", "register_attention", "get_attention", "closest_names", "check_channels", "check_reduction")

ATTENTION_REGISTRY: dict[str, type] = {}  # yaml name -> class
_listeners = []  # callables(name, cls) told about each registration (the parse_model hook)


def closest_names(name: str, choices, n: int = 3) -> list[str]:
    """Registered or known names closest to a misspelt ``name`` (case-insensitive)."""
    lower = {c.lower(): c for c in choices}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=0.5)]


def get_attention(name: str) -> type:
    """Return the registered class called ``name``; a ``KeyError`` lists the closest and all registered names."""
    try:
        return ATTENTION_REGISTRY[name]
    except KeyError:
        close = closest_names(name, ATTENTION_REGISTRY)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no attention module {name!r}.{hint} Registered: {', '.join(sorted(ATTENTION_REGISTRY))}") from None


def check_channels(module: str, c1) -> int:
    """Raise a clear error unless ``c1`` is a positive channel count."""
    if not isinstance(c1, int) or isinstance(c1, bool) or c1 < 1:
        raise ValueError(f"{module} needs a positive integer channel count as its first argument, got {c1!r}")
    return c1


def check_reduction(c1: int, reduction) -> int:
    """Validate a bottleneck ratio and return the hidden width ``c1 // reduction``."""
    check_channels("attention", c1)
    if not isinstance(reduction, int) or isinstance(reduction, bool) or reduction < 1:
        raise ValueError(f"reduction must be a positive integer, got {reduction!r}; write e.g. 16")
    if reduction > c1:
        raise ValueError(
            f"reduction {reduction} is larger than the {c1} input channels (it would leave {c1 // reduction} hidden "
            f"units). Channels are inferred from the 'from' layer, so do not pass them (a YOLOAir-style [{reduction}] "
            f"is read as the reduction); write [] for the default 16, or a reduction <= {c1}"
        )
    return c1 // reduction


def _yaml_build_frame(frame):
    """The ``parse_model`` frame if ``frame`` is parse_model itself or its ``n > 1`` generator, else None."""
    from yolo_attn.hook import is_parse_model_code

    if frame is None:
        return None
    if is_parse_model_code(frame.f_code):
        return frame
    if frame.f_code.co_name == "<genexpr>" and frame.f_back is not None and is_parse_model_code(frame.f_back.f_code):
        return frame.f_back
    return None


def _args_hint(cls) -> str:
    params = list(inspect.signature(cls._plain_init).parameters.values())[2:]  # drop self, c1
    return "[" + ", ".join(f"{p.name}={p.default!r}" if p.default is not p.empty else p.name for p in params) + "]"


def _wrap_init(cls):
    """Give ``cls.__init__`` the input channels when, and only when, parse_model calls it directly."""
    plain_init = cls.__init__

    @functools.wraps(plain_init)
    def __init__(self, *args, **kwargs):
        frame = _yaml_build_frame(sys._getframe(1))
        if frame is None:  # ordinary Python call: SE(64, 8)
            return plain_init(self, *args, **kwargs)
        local = frame.f_locals
        i, f, ch = local["i"], local["f"], local["ch"]
        yaml_file = (local.get("d") or {}).get("yaml_file") or "model yaml"
        where = f"{yaml_file}: layer {i} [{f}, {local.get('n_', 1)}, {cls.__name__}, {list(args)}]"
        try:
            c1 = ch[f]
        except TypeError:
            raise ValueError(f"{where}: {cls.__name__} takes one input; write 'from' as one index, e.g. -1") from None
        try:
            inspect.signature(plain_init).bind(self, c1, *args, **kwargs)
        except TypeError:
            raise ValueError(
                f"{where}: too many arguments. Channels ({c1}) are inferred from layer {f}; the yaml args are "
                f"{cls.__name__}'s own arguments after the channels: {_args_hint(cls)}, e.g. [] for the defaults"
            ) from None
        try:
            plain_init(self, c1, *args, **kwargs)
        except (ValueError, TypeError, AssertionError) as e:
            raise ValueError(f"{where} with {c1} input channels: {e}") from None

    cls._plain_init = plain_init
    cls.__init__ = __init__
    return cls


def register_attention(cls=None, *, name: str | None = None):
    """Class decorator: register an attention ``nn.Module`` under ``name`` (default: the class name).

    The class must take the input channels first (``__init__(self, c1, ...)``) and keep the input shape.
    """

    def deco(c):
        key = name or c.__name__
        if key in ATTENTION_REGISTRY and ATTENTION_REGISTRY[key] is not c:
            old = ATTENTION_REGISTRY[key]
            raise ValueError(f"attention name {key!r} is already registered by {old.__module__}.{old.__qualname__}")
        if "_plain_init" not in c.__dict__:
            _wrap_init(c)
        ATTENTION_REGISTRY[key] = c
        for listener in _listeners:
            listener(key, c)
        return c

    return deco(cls) if cls is not None else deco
