"""Registry of attention modules: ``@register_attention`` beside each class makes its name usable in model yamls.

A plain ``name -> class`` mapping with a listener API; it knows nothing of ultralytics. ``yolo_attn.plugin.hook`` listens
(``add_registry_listener``) and does everything that touches ultralytics' model builder: it puts the name into the
builder's namespace, gives the class its input channels when a yaml row builds it, and refuses names ultralytics
already uses. A listener that raises vetoes the registration: the name is not kept.

The argument checks the modules share (``check_channels``, ``check_reduction``) live here too: they are plain Python.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Callable

__all__ = (
    "SHIPPED_MODULES", "ATTENTION_REGISTRY", "register_attention", "get_attention", "registered_name", "closest_names", "add_registry_listener",
    "remove_registry_listener", "check_channels", "check_reduction", "check_positive_int",
)

# the attention modules this package ships (yolo_attn.models registers them): the one place their names are typed
SHIPPED_MODULES = ("SE", "CBAM", "SimAM", "SRM", "EMA", "ECA", "CA", "GAM", "SA", "NAM", "TripletAttention", "GC", "BAM", "SGE")
ATTENTION_REGISTRY: dict[str, type] = {}  # yaml name -> class
_listeners: list[Callable[[str, type], None]] = []  # told about each registration, in the order added


def add_registry_listener(fn: Callable[[str, type], None], replay: bool = True) -> None:
    """Call ``fn(name, cls)`` for each later registration (and, with ``replay``, each existing one now).

    ``fn`` may raise to refuse a registration; the error reaches the ``@register_attention`` caller.
    """
    if fn in _listeners:
        return
    if replay:
        for name, cls in list(ATTENTION_REGISTRY.items()):
            fn(name, cls)
    _listeners.append(fn)


def remove_registry_listener(fn: Callable[[str, type], None]) -> None:
    """Stop telling ``fn`` about registrations (no error if it was not listening)."""
    if fn in _listeners:
        _listeners.remove(fn)


SUGGEST_CUTOFF = 0.55  # difflib ratio: 'SEnet' -> 'SE' (0.57) is suggested, 'MyGate' -> 'HGStem' (0.50) is not


def closest_names(name: str, choices, n: int = 3, cutoff: float = SUGGEST_CUTOFF) -> list[str]:
    """Registered or known names close to a misspelt ``name`` (case-insensitive); none for a name unlike them all
    (a user's own module that was not imported must not be told it probably meant an unrelated block)."""
    lower = {c.lower(): c for c in choices}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n=n, cutoff=cutoff)]


def registered_name(name) -> str | None:
    """The name a module is registered under (``SimAM``, ``CBAM``) for ``name`` in any case (``simam``), or None."""
    return next((k for k in ATTENTION_REGISTRY if k.lower() == str(name).lower()), None)


def get_attention(name: str) -> type:
    """Return the registered class called ``name``; a ``KeyError`` lists the closest and all registered names."""
    try:
        return ATTENTION_REGISTRY[name]
    except KeyError:
        close = closest_names(name, ATTENTION_REGISTRY)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no attention module {name!r}.{hint} Registered: {', '.join(sorted(ATTENTION_REGISTRY))}") from None


def check_positive_int(what: str, value, example: int = 16) -> int:
    """Raise a clear error unless ``value`` is an integer >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}; write e.g. {example}")
    return value


def check_channels(module: str, c1) -> int:
    """Raise a clear error unless ``c1`` is a positive channel count."""
    if not isinstance(c1, int) or isinstance(c1, bool) or c1 < 1:
        raise ValueError(f"{module} needs a positive integer channel count as its first argument, got {c1!r}")
    return c1


def check_groups(module: str, c1: int, groups, word: str, fits=(32, 16, 8, 4, 2, 1)) -> int:
    """Validate a group count that must divide ``c1`` (EMA's ``factor``, SGE's ``groups``); the error names a count from
    ``fits`` that divides ``c1``."""
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{module} {word} must be a positive integer number of groups, got {groups!r}; write e.g. 8 "
                         f"or {fits[0]}")
    if c1 % groups:
        fit = next(g for g in fits if c1 % g == 0)
        raise ValueError(f"{module} needs channels divisible by {word}: {c1} channels, {word} {groups} "
                         f"({c1} % {groups} = {c1 % groups}); write {word} {fit}")
    return groups


def check_reduction(c1: int, reduction) -> int:
    """Validate a bottleneck ratio and return the hidden width ``c1 // reduction`` (at least 1)."""
    check_channels("attention", c1)
    check_positive_int("reduction", reduction)
    if reduction > c1:
        raise ValueError(
            f"reduction {reduction} is larger than the {c1} input channels (it would leave {c1 // reduction} hidden "
            f"units). Channels are inferred from the 'from' layer, so do not pass them (a YOLOAir-style [{reduction}] "
            f"is read as the reduction); write [] for the default 16, or a reduction <= {c1}"
        )
    return c1 // reduction


def _warn_if_main(cls: type, key: str) -> None:
    """Checkpoints pickle classes by module path; one in ``__main__`` cannot be found by another process."""
    if cls.__module__ == "__main__":
        warnings.warn(
            f"attention module {key!r} ({cls.__qualname__}) is defined in __main__: checkpoints saved with it will not "
            f"load in another process or script (pickle stores the class as __main__.{cls.__qualname__}). Move the "
            f"class into an importable module, e.g. my_attn.py, and 'import my_attn' before building the model.",
            UserWarning,
            stacklevel=3,
        )


def register_attention(cls=None, *, name: str | None = None):
    """Class decorator: register an attention ``nn.Module`` under ``name`` (default: the class name).

    The class must take the input channels first (``__init__(self, c1, ...)``) and keep the input shape. Each
    listener is told; if one raises (e.g. the hook, for a name ultralytics already uses), the name is not kept.
    """

    def deco(c):
        key = name or c.__name__
        if not isinstance(key, str) or not key.isidentifier():
            raise ValueError(f"attention name must be a Python identifier usable in a yaml, got {key!r}")
        old = ATTENTION_REGISTRY.get(key)
        if old is not None and old is not c:
            raise ValueError(f"attention name {key!r} is already registered by {old.__module__}.{old.__qualname__}")
        if old is c:
            return c
        _warn_if_main(c, key)
        ATTENTION_REGISTRY[key] = c
        try:
            for listener in list(_listeners):
                listener(key, c)
        except BaseException:
            del ATTENTION_REGISTRY[key]
            raise
        return c

    return deco(cls) if cls is not None else deco
