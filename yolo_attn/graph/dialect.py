"""Reading attention rows written in other dialects: the fork convention and peer class names.

YOLOv5 forks and ultralytics tutorials edit ``parse_model`` to build attention rows with ``c1, c2 = ch[f], args[0]``,
so their yamls write the channel count first (``[-1, 1, CBAM, [1024]]``). yolo_attn infers channels, so such a first
argument is read as exactly that: when it equals the ``from`` layer's channel count (after width scaling, or as
written in the yaml) it is dropped (for peers written ``(c1, c2, ...)`` a second equal one too), and the module is
built with inferred channels and its own arguments. A first argument equal to no channel count keeps its meaning
(SE's reduction, SimAM's e_lambda) and its checks. Peer names (``yolo_attn.graph.aliases``) are translated here too.

:func:`read_row` is the one reading, shared by the ultralytics hook and the YOLOv5 adapter; every converted row gets
one note (logged, and collected by :func:`collect_notes` for ``python -m yolo_attn check|fix``).
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path

from yolo_attn.graph.aliases import SAME_NAME_PEERS, TWO_CHANNEL_NAMES, alias_of, variants_text

__all__ = ("Reading", "Note", "read_row", "written_channels", "row_text", "built_text", "emit", "collect_notes",
           "build_scope")


@dataclass
class Reading:
    """What a yaml row becomes: our registry ``target`` built as ``target(c1, *args, **kwargs)``."""

    target: str
    args: list
    kwargs: dict
    dropped: list = field(default_factory=list)  # channel counts read off the front of the args
    reasons: list = field(default_factory=list)  # what the note says before "built ..."

    @property
    def converted(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class Note:
    """One converted row: yaml layer ``i``, what was written, what was built (``target``, our args, ``text``)."""

    yaml_file: str
    i: int
    name: str
    target: str
    our_args: tuple
    text: str


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def written_channels(rows: list, j: int, base_module, concat) -> int | None:
    """Output channels of layer ``j`` as the yaml writes them, before width scaling: ``args[0]`` of a layer that
    ``base_module(name)`` says takes its width first (Conv, C3, SPPF ...), the sum over a ``concat(name)`` layer's
    inputs, the input's count for anything else (Upsample, attention); None where unknown."""
    seen = 0
    while 0 <= j < len(rows) and seen < len(rows):
        seen += 1
        f, _, name, args = rows[j]
        if base_module(name):
            return args[0] if args and _is_int(args[0]) else None
        if concat(name) and isinstance(f, (list, tuple)):
            parts = [written_channels(rows, k if k >= 0 else j + k, base_module, concat) for k in f]
            return sum(parts) if all(p is not None for p in parts) else None
        f = f[0] if isinstance(f, (list, tuple)) and len(f) == 1 else f
        if not _is_int(f) or (j == 0 and f == -1):
            return None
        j = f if f >= 0 else j + f
    return None


def row_text(f, n, name, args) -> str:
    """A yaml row as the user wrote it: ``[-1, 1, CBAM, [1024]]``."""
    return f"[{f}, {n}, {name}, {list(args)!r}]"


def built_text(cls, c1, args, kwargs) -> str:
    """``CBAM(512, reduction=16, kernel_size=7)``: every argument of the module as built, defaults included."""
    init = getattr(cls, "_plain_init", cls.__init__)
    try:
        bound = inspect.signature(init).bind(None, c1, *args, **kwargs)
        bound.apply_defaults()
        named = list(bound.arguments.items())[2:]
    except TypeError:
        named = [(str(k), v) for k, v in enumerate(args)] + list(kwargs.items())
    return f"{cls.__name__}({', '.join([repr(c1)] + [f'{k}={v!r}' for k, v in named])})"


def _translate(alias, args: list, reading: Reading) -> None:
    """Peer arguments (after the channels) -> ours, in ``reading.kwargs``; a ValueError for one with no equivalent."""
    params = alias.params
    if alias.refuse:
        raise ValueError(alias.refuse)
    if len(args) > len(params):
        sig = ", ".join(f"{p.name}={p.default!r}" for p in params) or "nothing"
        raise ValueError(f"too many arguments for {alias.name} ({alias.source}): after the channel count it takes "
                         f"[{sig}], got {args}")
    for k, p in enumerate(params):
        given = k < len(args)
        v = args[k] if given else p.default
        if p.ours is None:
            if p.ignored:
                if given:
                    reading.reasons.append(f"{v!r} goes into {alias.name}'s {p.name}, which its code never reads")
                continue
            if v != p.neutral and given:
                raise ValueError(
                    f"{alias.name} argument {p.name}={v!r} has no equivalent in yolo_attn's {alias.target} (nearest "
                    f"argument: {p.nearest}); write {p.neutral!r} there or leave it out")
            continue
        try:
            reading.kwargs[p.ours] = p.convert(v) if p.convert else v
        except ValueError as e:
            raise ValueError(f"{alias.name} argument {p.name}: {e}") from None
    origin = alias.origin or (" ".join(alias.source.split(" ")[:2]) if alias.source.startswith("seed")
                              else alias.source.split(" ")[0])
    reading.reasons.append(f"{alias.name} is {origin}'s name for {alias.target}")
    if alias.peer_note:
        reading.reasons.append(alias.peer_note)
    if variants_text(alias.name):
        reading.reasons.append(variants_text(alias.name))


def read_row(name: str, args, c1: int, channel_counts, own: bool = False, yolov5_format: bool = False) -> Reading:
    """Read one attention row: drop fork-style channel counts, translate a peer name's arguments.

    ``channel_counts``: the ``from`` layer's channels (scaled) and as written in the yaml (None entries ignored).
    ``own``: ``name`` is a registered module (a user's own registration wins over an alias of the same name).
    ``yolov5_format``: the yaml has ``anchors:`` (YOLOv5 and its forks, YOLOAir among them).
    """
    counts = {c for c in channel_counts if c is not None}
    alias = None if own else alias_of(name)
    slots = alias.channel_slots if alias else (2 if name in TWO_CHANNEL_NAMES else 1)
    rest = list(args)
    reading = Reading(alias.target if alias else name, [], {})
    if slots and rest and _is_int(rest[0]) and rest[0] in counts:
        reading.dropped.append(rest.pop(0))
        if slots == 2 and rest and _is_int(rest[0]) and rest[0] in counts:
            reading.dropped.append(rest.pop(0))
        both = ", as input and output channels" if len(reading.dropped) == 2 else ""
        reading.reasons.append(f"{reading.dropped[0]} is the channel count (fork style{both})")
        if not alias and name in SAME_NAME_PEERS:
            reading.reasons.append(SAME_NAME_PEERS[name])
        if name == "SimAM" and not rest and yolov5_format:  # YOLOAir's parse_model: SimAM(c1, c2)
            reading.reasons.append(f"YOLOAir's parse_model would pass the output channels as e_lambda "
                                   f"(SimAM(e_lambda={c1})), which its SimAM code takes as the regulariser and "
                                   f"yolo_attn's SimAM cannot build (0 < e_lambda < 1)")
        elif name == "SimAM" and not rest:  # ultralytics-format forks: the official simam_module(channels, e_lambda)
            reading.reasons.append(f"a parse_model that prepends the channels to the official simam_module(channels="
                                   f"None, e_lambda=1e-4) would read {reading.dropped[0]} as e_lambda, which yolo_attn's "
                                   f"SimAM cannot build (0 < e_lambda < 1)")
    if alias:
        _translate(alias, rest, reading)
    else:
        reading.args = rest
    return reading


def other_reading(name: str, args, reading: Reading, c1: int, fork_file: bool, counts=(), f=-1) -> str | None:
    """The other reading of a one-number row under a known peer signature (``aliases.OTHER_READINGS``): what it
    builds there and the row to write for it, or why yolo_attn cannot build it; None where the row is not ambiguous.
    ``fork_file``: the yaml shows it was written for a fork (anchors, peer names, fork-style channel counts): only
    there is a number that is not a channel count read two ways (a yaml in our dialect means our signature)."""
    from yolo_attn.graph.aliases import OTHER_READINGS, OTHER_READINGS_AFTER_CHANNELS

    o = OTHER_READINGS.get(name)
    if name in OTHER_READINGS_AFTER_CHANNELS and reading.dropped and len(args) == len(reading.dropped) + 1:
        o, args = OTHER_READINGS_AFTER_CHANNELS[name], args[len(reading.dropped):]  # [C, k]: k read two ways
    if o is None or len(args) != 1 or not _is_int(args[0]):
        return None
    if (o.when == "channels") != bool(reading.dropped) or (o.when == "own" and not fork_file):
        return None
    return _reading_text(o.sig, o.target, o.param, args[0], args[0] if o.value is None else o.value, c1, counts, f)


def _reading_text(sig: str, target: str, param: str, number, value, c1: int, counts, f) -> str:
    """``sig`` builds ``target(c1, param=value)`` here, and the row to write for it; or why yolo_attn cannot."""
    from yolo_attn.registry import ATTENTION_REGISTRY

    cls = ATTENTION_REGISTRY[target]
    try:
        cls(c1, **{param: value})
    except (ValueError, TypeError) as e:
        why = str(e).split(". ")[0]
        return f"{sig} reads {number} as {param}={value!r}, which yolo_attn cannot build ({why})"
    own = list(dialect_args(cls, c1, [], {param: value}))
    if own and _is_int(own[0]) and own[0] in {c1, *counts}:  # would be read as the channel count: channels first
        own = [c1] * (2 if target in TWO_CHANNEL_NAMES else 1) + own
    return (f"{sig} builds {built_text(cls, c1, [], {param: value})} here; for that reading write "
            f"[{f}, 1, {target}, {own!r}]")


def c3_group_reading(name: str, args, reading: Reading, c1: int, n: int, written_n, yolov5_format: bool,
                     counts=(), f=-1) -> str | None:
    """The other reading of a YOLOv5-format row ``[f, n, CBAM, [C]]`` (C the channel count) under a fork that lists
    the class in parse_model's C3 group (``aliases.C3_GROUP_READINGS``): the depth-scaled repeat count ``n`` is the
    ratio of one module. None where the row has another shape."""
    from yolo_attn.graph.aliases import C3_GROUP_READINGS

    o = C3_GROUP_READINGS.get(name)
    if o is None or not yolov5_format or len(reading.dropped) != 1 or len(args) != 1 or not _is_int(n):
        return None
    return _reading_text(o.sig.format(written=written_n, n=n), o.target, o.param, n, n, c1, counts, f)


# ------------------------------------------------------------------------------------------------------------ notes
_scopes: list[dict] = []  # innermost last: {"notes": [...], "seen": set()}
_logged: set[str] = set()  # note texts logged by this process


@contextlib.contextmanager
def build_scope():
    """One model build: a row built ``n > 1`` times (or rebuilt by a stride pass) is noted once."""
    scope = {"notes": [], "seen": set(), "collect": False}
    _scopes.append(scope)
    try:
        yield scope["notes"]
    finally:
        _scopes.remove(scope)


@contextlib.contextmanager
def collect_notes():
    """Collect the :class:`Note` of every row converted inside the ``with`` block (several builds allowed)."""
    scope = {"notes": [], "seen": None, "collect": True}
    _scopes.append(scope)
    try:
        yield scope["notes"]
    finally:
        _scopes.remove(scope)


def emit(yaml_file: str, i: int, row: str, name: str, reading: Reading, built: str, our_args: tuple) -> Note | None:
    """Log the note of a converted row (once per build) and hand it to every collector."""
    if not reading.converted:
        return None
    build = next((s for s in reversed(_scopes) if s["seen"] is not None), None)
    if build is not None:
        if i in build["seen"]:
            return None
        build["seen"].add(i)
    text = f"{Path(str(yaml_file)).name} layer {i} {row}: {'; '.join(reading.reasons)}; built {built}"
    note = Note(str(yaml_file), i, name, reading.target, our_args, text)
    from ultralytics.utils import LOGGER  # lazy: this module is plain Python otherwise

    if text not in _logged:  # a training builds the model several times (trainer, EMA, checkpoints): log it once
        _logged.add(text)
        LOGGER.info(text)
    for s in _scopes:
        if s["collect"]:
            s["notes"].append(note)
    return note


def dialect_args(cls, c1, args, kwargs) -> tuple:
    """The module's own arguments in yolo_attn's dialect: positional, in signature order, trailing defaults left out
    (``SA(512, groups=8)`` -> ``(8,)``, ``GAM(512, rate=4)`` -> ``()``)."""
    init = getattr(cls, "_plain_init", cls.__init__)
    params = list(inspect.signature(init).parameters.values())[2:]
    bound = inspect.signature(init).bind(None, c1, *args, **kwargs)
    bound.apply_defaults()
    values = [bound.arguments[p.name] for p in params]
    defaults = [p.default for p in params]
    while values and values[-1] == defaults[len(values) - 1]:
        values.pop()
    return tuple(list(v) if isinstance(v, tuple) else v for v in values)
