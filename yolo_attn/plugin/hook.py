"""The hook into ultralytics' model builder, installed once by ``import yolo_attn``.

ultralytics 8.4 has no extension point for new layers: ``parse_model`` resolves a yaml name with
``globals()[name]`` inside ``ultralytics.nn.tasks``, and any layer it does not special-case gets its yaml args
unchanged (no input channels). The hook therefore, without copying or editing ultralytics code:

1. listens to the registry (``yolo_attn.registry.add_registry_listener``) and puts every registered class into
   ``ultralytics.nn.tasks``' namespace, so the yaml name resolves; a name ultralytics already defines is refused;
2. wraps each registered class's ``__init__``: when ``parse_model`` calls it, the input channels of layer ``from`` are
   read out of ``parse_model``'s own frame and passed as ``c1``, and a bad argument becomes a ``ValueError`` naming
   the yaml layer (a first argument equal to those channels is read as the channel count, the fork convention, and peer
   class names are translated: ``yolo_attn.graph.dialect``);
3. wraps ``tasks.parse_model`` to check the yaml first (:func:`check_untrusted`: names resolve only to layer classes,
   literal arguments, bounded sizes, ``yolo_attn.graph.yaml_guard``; :func:`_check_layers`), to build ``activation:``
   without ``eval`` (:func:`safe_activation`), and ``tasks.check_yaml`` so
   ``YOLO("yolov5s-ema.yaml")`` also finds the configs shipped in ``yolo_attn/yaml`` after the user's own paths.

Every contact of the model builder with ultralytics internals goes through :class:`UltralyticsAdapter`; the other
patches (fonts offline, the trainer lookup, CPU workers) are in ``yolo_attn.plugin.patches`` and the weights-only
allow list in ``yolo_attn.plugin.safe_load``: nothing else in the package reads or changes ultralytics internals. ``parse_model``'s frame is
recognised by its code object (found through any ``__wrapped__`` chain another plugin left) or, behind a wrapper
without ``__wrapped__``, by its name and file, so other plugins may wrap ``parse_model`` before or after this one.
A self-test builds a small model at import (SE repeated ``n = 2`` times from a non-adjacent layer); if it fails,
everything is undone, ultralytics is left exactly as it was found, and ``import yolo_attn`` raises naming the
supported versions, or the plugin that replaced ``parse_model``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

import torch.nn as nn
import ultralytics
import ultralytics.nn.tasks as tasks

from yolo_attn.registry import (
    ATTENTION_REGISTRY, SHIPPED_MODULES, add_registry_listener, remove_registry_listener,
)
from yolo_attn.plugin import anchor_rows

__all__ = ("SUPPORTED_ULTRALYTICS", "CONFIG_DIR", "SHIPPED_NAMES", "UltralyticsAdapter", "BuildSite", "install",
           "is_installed", "shipped_configs", "check_yaml", "parse_model")

SUPPORTED_ULTRALYTICS = ">=8.4.0,<8.5"  # the range tested; keep in sync with pyproject.toml (tests check it)
CONFIG_DIR = Path(__file__).resolve().parents[1] / "yaml"

# Names shipped with yolo_attn that may shadow a same-named class in tasks' namespace. ultralytics.nn.modules defines
# its own CBAM, ChannelAttention and SpatialAttention that parse_model cannot give input channels to (not usable as
# yaml layers); should a future 8.4.x import such a class into ultralytics.nn.tasks, the shipped configs and users'
# yamls still mean yolo_attn's module. Any other name already in that namespace (Concat, C3, Detect, ...) is refused.
SHIPPED_NAMES = frozenset(SHIPPED_MODULES)
_MISSING = object()


@dataclass
class BuildSite:
    """What a model builder (ultralytics' or YOLOv5's ``parse_model``) is doing when it calls a registered class:
    yaml layer ``i`` reads layer ``f``. ``namespace`` resolves the yaml's module names; ``base_modules`` are the
    classes whose first argument is their output width; ``concat`` the Concat class."""

    i: int
    f: object  # the 'from' field as parse_model holds it (int, or a list the pre-check did not normalise)
    n: int
    ch: list
    d: dict
    base_modules: frozenset
    namespace: dict = None
    concat: object = None

    @property
    def yaml_file(self) -> str:
        return (self.d or {}).get("yaml_file") or "model yaml"

    def rows(self) -> list:
        from yolo_attn.graph.rows import model_rows

        return model_rows(self.d or {})

    def scale_channels(self, j: int) -> list[int]:
        """Layer ``j``'s channels as written and at every scale of the yaml (``scales:`` or ``width_multiple``), so a
        yaml whose rows were written with one scale's channel counts builds alike at the others."""
        import math

        written = self.yaml_channels(j)
        if not isinstance(written, int) or isinstance(written, bool):
            return []
        d = self.d or {}
        widths = [(s[1], s[2] if len(s) > 2 else float("inf")) for s in (d.get("scales") or {}).values()
                  if isinstance(s, (list, tuple)) and len(s) >= 2]
        if isinstance(d.get("width_multiple"), (int, float)):
            widths.append((d["width_multiple"], float("inf")))
        return [written] + [int(math.ceil(min(written, mc) * w / 8) * 8) for w, mc in widths]

    def written_n(self):
        """The repeat count of row ``i`` as the yaml writes it (``n`` in parse_model is depth-scaled)."""
        rows = self.rows()
        return rows[self.i][1] if 0 <= self.i < len(rows) and len(rows[self.i]) == 4 else self.n

    def row_name(self):
        """The module name written in row ``i`` (an alias stays an alias here), or None."""
        rows = self.rows()
        return rows[self.i][2] if 0 <= self.i < len(rows) and len(rows[self.i]) == 4 else None

    def _resolve(self, name):
        ns = vars(tasks) if self.namespace is None else self.namespace
        if isinstance(name, str) and name.startswith("nn."):
            return getattr(nn, name[3:], None)
        return ns.get(name) if isinstance(name, str) else name

    def fork_file(self) -> bool:
        """The yaml was written for another project's builder: YOLOv5 format (``anchors:``), a peer name, or an
        attention row whose first argument is its input's channel count as written."""
        from yolo_attn.graph.aliases import ALIASES
        from yolo_attn.graph.rows import is_attention

        if "anchors" in (self.d or {}):
            return True
        for j, row in enumerate(self.rows()):
            if not (isinstance(row, (list, tuple)) and len(row) == 4 and is_attention(row[2])):
                continue
            f, _, name, args = row
            if name in ALIASES:
                return True
            src = f[0] if isinstance(f, (list, tuple)) and len(f) == 1 else f
            if args and isinstance(src, int) and args[0] == self.yaml_channels(src if src >= 0 else j + src):
                return True
        return False

    def yaml_channels(self, j: int) -> int | None:
        """Output channels of layer ``j`` as written in the yaml (before width scaling), or None where unknown."""
        from yolo_attn.graph.dialect import written_channels

        concat = self.concat if self.concat is not None else vars(tasks).get("Concat")
        return written_channels(self.rows(), j, lambda m: self._resolve(m) in self.base_modules,
                                lambda m: self._resolve(m) is concat)


class UltralyticsAdapter:
    """The one place that reads or changes the model builder's internals: ``tasks``' namespace, ``parse_model``'s
    frame, ``tasks.parse_model`` and ``tasks.check_yaml`` (other patches: ``yolo_attn.plugin.patches``). ``restore()`` puts back everything it changed."""

    def __init__(self, module=tasks):
        self.tasks = module
        self.parse_model = module.parse_model  # as found: maybe another plugin's wrapper, which we keep calling
        self.check_yaml = module.check_yaml
        self.builder_code = self._find_builder_code(self.parse_model)
        self._saved: dict[str, object] = {}  # name -> value before we set it (_MISSING if absent)

    def _find_builder_code(self, fn):
        """The code object of ultralytics' own parse_model, through ``__wrapped__`` chains; None if hidden."""
        seen = set()
        while fn is not None and id(fn) not in seen:
            seen.add(id(fn))
            code = getattr(fn, "__code__", None)
            if code is not None and self._is_tasks_parse_model(code):
                return code
            fn = getattr(fn, "__wrapped__", None)
        return None

    def _is_tasks_parse_model(self, code) -> bool:
        return code.co_name == "parse_model" and code.co_filename == self.tasks.__file__

    def is_builder_code(self, code) -> bool:
        """True for the code of ultralytics' own ``parse_model`` (not a wrapper around it)."""
        if self.builder_code is not None:
            return code is self.builder_code
        return self._is_tasks_parse_model(code)  # behind a wrapper without __wrapped__: by name and file

    def build_site(self, frame) -> BuildSite | None:
        """The :class:`BuildSite` if ``frame`` is parse_model itself or its ``n > 1`` generator, else None."""
        if frame is not None and frame.f_code.co_name == "<genexpr>":
            frame = frame.f_back
        if frame is None or not self.is_builder_code(frame.f_code):
            return None
        local = frame.f_locals
        return BuildSite(local["i"], local["f"], local.get("n", 1), local["ch"], local.get("d") or {},
                         local.get("base_modules", frozenset()))

    def owner_of(self, name: str):
        """What ``name`` means in parse_model's namespace now, or ``_MISSING``."""
        return vars(self.tasks).get(name, _MISSING)

    def known_layer_names(self) -> set[str]:
        return {k for k, v in vars(self.tasks).items() if isinstance(v, type) and issubclass(v, nn.Module)}

    def set(self, name: str, value) -> None:
        """Set ``tasks.<name>``, remembering the first value it replaces."""
        self._saved.setdefault(name, self.owner_of(name))
        setattr(self.tasks, name, value)

    def restore(self) -> None:
        """Undo every :meth:`set`: ultralytics as it was found."""
        for name, old in self._saved.items():
            if old is _MISSING:
                delattr(self.tasks, name)
            else:
                setattr(self.tasks, name, old)
        self._saved.clear()


_adapter = UltralyticsAdapter()
_installed = False


def is_installed() -> bool:
    """Whether the hook is active (``import yolo_attn`` succeeded)."""
    return _installed


def shipped_configs() -> list[str]:
    """Names of the model yamls shipped in the package, e.g. ``yolov5-ema.yaml``."""
    return sorted(p.name for p in CONFIG_DIR.glob("*.yaml"))


def _check_layers(d: dict) -> None:
    """The yaml pre-check run before parse_model (the one place to add more): fail early, naming the layer, on
    malformed rows and unknown module names; normalise ``[[k], n, Attn, args]`` to ``k``."""
    from yolo_attn.graph.checks import check_graph  # lazy: checks imports ultralytics' LOGGER
    from yolo_attn.graph.rows import is_attention, model_rows

    yaml_file = d.get("yaml_file", "model yaml")
    layers = model_rows(d)
    unknown = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (list, tuple)) or len(layer) != 4:
            raise ValueError(f"{yaml_file}: layer {i} is {layer!r}; each layer is [from, number, module, args]")
        f, _, name, _ = layer
        if not isinstance(name, str) or name.startswith(("nn.", "torchvision.ops.")):
            continue
        if _adapter.owner_of(name) is _MISSING:
            unknown.append((i, layer))
            continue
        if is_attention(name) and isinstance(f, list):
            if len(f) != 1:
                raise ValueError(
                    f"{yaml_file}: layer {i} [{f}, ..., {name}, ...]: {name} takes one input; write 'from' as one "
                    f"index, e.g. {f[0]}, and add a Concat layer first if you want to attend over several inputs"
                )
            layer[0] = f[0]  # one input: parse_model's generic branch indexes ch[f] with an int
    if unknown:
        raise_unknown_names(yaml_file, unknown, vars(_adapter.tasks))
    check_graph(d)  # 'from' out of range / forward: a message naming the layer, not a raw IndexError; unread attention


def check_untrusted(d: dict) -> None:
    """Names resolve only to layer classes, arguments are literals, sizes bounded: ``yolo_attn.graph.yaml_guard``."""
    from yolo_attn.graph.yaml_guard import MISSING, check_model_dict

    check_model_dict(d, lambda name: vars(_adapter.tasks).get(name, MISSING), (_adapter.tasks.BaseModel,))


@contextlib.contextmanager
def safe_activation(d, verbose: bool = False):
    """ultralytics evaluates ``activation:`` as Python: read it with ``ast`` instead (``yaml_guard.parse_activation``), set
    ``Conv.default_act`` to the module and hide the text from ``parse_model`` while it runs; both restored after."""
    from yolo_attn.graph.yaml_guard import parse_activation

    act = d.get("activation") if isinstance(d, dict) else None
    if not act:
        yield
        return
    conv = _adapter.tasks.Conv
    module = parse_activation(act, f"{d.get('yaml_file') or 'model yaml'}: activation")
    before = conv.default_act
    d.pop("activation")
    conv.default_act = module
    if verbose:
        from ultralytics.utils import LOGGER

        LOGGER.info(f"activation: {act}")
    try:
        yield
    finally:
        conv.default_act = before
        d["activation"] = act


def raise_unknown_names(yaml_file: str, unknown: list, namespace: dict) -> None:
    """One KeyError naming every unknown module name of the yaml (``unknown``: ``[(i, row), ...]``), each with advice
    of its own kind (``yolo_attn.graph.unknown``); ``namespace`` is the builder's (ultralytics' or YOLOv5's)."""
    from yolo_attn.graph.aliases import ALIASES
    from yolo_attn.graph.unknown import unknown_names_message

    attention = set(ATTENTION_REGISTRY) | {a for a in ALIASES if a in namespace}
    layers = {k for k, v in namespace.items() if isinstance(v, type) and issubclass(v, nn.Module)} - attention
    heads = {k for k in layers if "head" in getattr(namespace[k], "__module__", "").rsplit(".", 1)[-1]
             or k in ("Detect", "Segment", "AnchorDetect")}
    raise KeyError(unknown_names_message(yaml_file, unknown, attention, heads, layers - heads, ATTENTION_REGISTRY))


def parse_model(d, ch, verbose=True):
    """``ultralytics.nn.tasks.parse_model`` with yaml checks first; same arguments and result. A YOLOv5-format head
    (``Detect, [nc, anchors]``) is built as ``AnchorDetect`` (``yolo_attn.plugin.anchor_rows``)."""
    from yolo_attn.graph.dialect import build_scope

    anchor = False
    if isinstance(d, dict):
        check_untrusted(d)
        anchor = anchor_rows.route_rows(d)
        _check_layers(d)
    with build_scope(), safe_activation(d, verbose):  # a row built n > 1 times is noted once
        model, save = _adapter.parse_model(d, ch, verbose)
    if anchor:
        anchor_rows.finish_model(model, sys._getframe(1), _adapter.tasks)
    return model, save


def scale_less_path(file):
    """``dir/yolov5n-mine.yaml`` -> ``dir/yolov5-mine.yaml``: ultralytics' scale-letter convention applied to the file
    name only (ultralytics' own ``yaml_model_load`` applies it to the whole path, so a folder such as ``run2s/`` or
    ``exp5n/`` broke it); None where the name has no scale letter."""
    import re

    p = Path(str(file))
    name = re.sub(r"(\d+)([nslmx])(.+)?$", r"\1\3", p.name)
    return p.with_name(name) if name != p.name else None


def check_yaml(file, suffix=(".yaml", ".yml"), hard=True):
    """``ultralytics.utils.checks.check_yaml`` that falls back to the configs shipped in ``yolo_attn/yaml``."""
    found = _adapter.check_yaml(file, suffix, hard=False)
    if found:
        return found
    unified = scale_less_path(file)  # dir/yolov5n-mine.yaml -> dir/yolov5-mine.yaml (scale n), in any folder
    if unified is not None and unified.is_file():
        return str(unified)
    for folder in (CONFIG_DIR, CONFIG_DIR / "seg"):  # detection configs, then the segmentation ones
        shipped = folder / Path(str(file)).name
        if shipped.is_file():
            return str(shipped)
    return _adapter.check_yaml(file, suffix, hard=hard)


# ---------------------------------------------------------------------------------------------------- build-time init
def _args_hint(cls) -> str:
    params = list(inspect.signature(cls._plain_init).parameters.values())[2:]  # drop self, c1
    return "[" + ", ".join(f"{p.name}={p.default!r}" if p.default is not p.empty else p.name for p in params) + "]"


SITE_FINDERS: list = []  # frame -> BuildSite | None of the other model builders (YOLOv5's, by yolo_attn.yolov5)


def find_build_site(frame) -> BuildSite | None:
    """The :class:`BuildSite` when ``frame`` is ultralytics' or another known builder's ``parse_model`` (or its
    n > 1 genexpr)."""
    site = _adapter.build_site(frame)
    if site is not None:
        return site
    for finder in SITE_FINDERS:
        site = finder(frame)
        if site is not None:
            return site
    return None


def build_from_row(cls, plain_init, self, site: BuildSite, args, kwargs) -> None:
    """Build ``cls`` for yaml row ``site.i``: infer the input channels, read the fork convention and peer names
    (:func:`yolo_attn.graph.dialect.read_row`), check the arguments, note what was built."""
    from yolo_attn.graph.aliases import CONV_GROUP_READINGS, ULTRALYTICS_CBAM_READING
    from yolo_attn.graph.dialect import (built_text, c3_group_reading, dialect_args, emit, other_reading, read_row,
                                         row_text)

    name = site.row_name() if isinstance(site.row_name(), str) else cls.__name__
    where = f"{site.yaml_file}: layer {site.i} {row_text(site.f, site.written_n(), name, args)}"
    try:
        c1 = site.ch[site.f]
    except TypeError:
        raise ValueError(f"{where}: {cls.__name__} takes one input; write 'from' as one index, e.g. -1") from None
    if _ultralytics_cbam(self, site, name, args, c1):
        return
    j = site.f + site.i if site.f < 0 else site.f
    own = ATTENTION_REGISTRY.get(name) is cls
    # SimAM takes no integer >= 1: one equal to the layer's channels at any scale of the yaml is a channel count
    counts = (c1, *site.scale_channels(j)) if cls.__name__ == "SimAM" else (c1, site.yaml_channels(j))
    try:
        reading = read_row(name, args, c1, counts, own=own, yolov5_format="anchors" in (site.d or {}))
    except ValueError as e:
        raise ValueError(f"{where} with {c1} input channels: {e}") from None
    try:
        inspect.signature(plain_init).bind(self, c1, *reading.args, **reading.kwargs, **kwargs)
    except TypeError:
        raise ValueError(
            f"{where}: too many arguments. Channels ({c1}) are inferred from layer {site.f} (a first argument equal "
            f"to them is read as the channel count); the yaml args are {cls.__name__}'s own arguments after the "
            f"channels: {_args_hint(cls)}, e.g. [] for the defaults"
        ) from None
    try:
        plain_init(self, c1, *reading.args, **reading.kwargs, **kwargs)
    except (ValueError, TypeError, AssertionError) as e:
        raise ValueError(f"{where} with {c1} input channels: {e}") from None
    other = other_reading(name, args, reading, c1, site.fork_file(), [c for c in counts if c], site.f)
    if other:
        reading.reasons.append(other)
    c3 = c3_group_reading(name, args, reading, c1, site.n, site.written_n(), "anchors" in (site.d or {}),
                          [c for c in counts if c], site.f)
    if c3:  # a fork's C3 group: the repeat count is CBAM's ratio
        reading.reasons.append(c3)
    if name == "CBAM" and reading.dropped and not args[len(reading.dropped):] and "anchors" not in (site.d or {}):
        reading.reasons.append(ULTRALYTICS_CBAM_READING.format(c1=c1, f=site.f))
    if (name in CONV_GROUP_READINGS and reading.dropped and not args[len(reading.dropped):]
            and f"builds SE({c1}, reduction={c1})" not in (other or "")):  # the same module as the prepend reading
        reading.reasons.append(CONV_GROUP_READINGS[name].format(c1=c1, f=site.f))
    if reading.converted:
        emit(site.yaml_file, site.i, row_text(site.f, site.written_n(), name, args), name, reading,
             built_text(cls, c1, reading.args, reading.kwargs), dialect_args(cls, c1, reading.args, reading.kwargs))


def _ultralytics_cbam(self, site: BuildSite, name: str, args, c1: int) -> bool:
    """An ultralytics-format yaml (no ``anchors:``, built by ultralytics) naming ``CBAM`` with one argument 3 or 7 was
    written for ultralytics' own ``CBAM(c1, kernel_size=7)`` (``ultralytics.nn.modules.conv``, which forks wire into
    parse_model with the channels first): build that class, the author's module, and say so."""
    from yolo_attn.graph.dialect import Reading, emit, row_text

    if not (name == "CBAM" and site.namespace is None and "anchors" not in (site.d or {}) and len(args) == 1
            and args[0] in (3, 7) and not isinstance(args[0], bool)):
        return False
    from ultralytics.nn.modules.conv import CBAM as UltralyticsCBAM

    self.__class__ = UltralyticsCBAM  # not yet initialised: becomes ultralytics' class before its __init__ runs
    UltralyticsCBAM.__init__(self, c1, args[0])
    reading = Reading("CBAM", [args[0]], {}, reasons=[
        f"an ultralytics-format yaml's CBAM with one argument {args[0]} is ultralytics' own CBAM(c1, kernel_size=7) "
        f"(ultralytics.nn.modules.conv), which its fork's parse_model builds with the channels first; built that "
        f"class (its channel attention is one {c1}->{c1} conv). yolo_attn's (the paper's) CBAM with reduction "
        f"{args[0]} is [-1, 1, CBAM, [{args[0]}, 7]]"])
    emit(site.yaml_file, site.i, row_text(site.f, site.written_n(), name, args), name, reading,
         f"ultralytics.nn.modules.conv.CBAM({c1}, kernel_size={args[0]})", (args[0],))
    return True


def _wrap_init(cls) -> None:
    """Give ``cls.__init__`` the input channels when, and only when, a known model builder calls it directly."""
    plain_init = cls.__init__

    @functools.wraps(plain_init)
    def __init__(self, *args, **kwargs):
        site = find_build_site(sys._getframe(1))
        if site is None:  # ordinary Python call: SE(64, 8)
            return plain_init(self, *args, **kwargs)
        build_from_row(cls, plain_init, self, site, args, kwargs)

    anchor_rows.install_init(cls, plain_init, __init__)


def _on_register(name: str, cls: type) -> None:
    """Registry listener: refuse a name ultralytics already defines, else make ``name`` a yaml layer."""
    current = _adapter.owner_of(name)
    shipped = name in SHIPPED_NAMES and cls.__module__.startswith("yolo_attn.models.")
    from yolo_attn.graph.aliases import ALIASES

    alias = ALIASES.get(name)  # a peer name we resolve to our class: the user's own registration takes it over
    aliased = alias is not None and current is ATTENTION_REGISTRY.get(alias.target)
    if current is not _MISSING and current is not cls and not shipped and not aliased:
        what = f"{current.__module__}.{current.__qualname__}" if isinstance(current, type) else type(current).__name__
        raise ValueError(
            f"attention name {name!r} is already defined by ultralytics ({what}); registering it would replace that "
            f"layer in every model yaml. Register under another name: @register_attention(name='My{name}')"
        )
    if "_plain_init" not in cls.__dict__:
        _wrap_init(cls)
    _adapter.set(name, cls)


def _set_aliases() -> None:
    """Peer names (``yolo_attn.graph.aliases``) resolve to our classes in parse_model's namespace; the row's written
    name tells :func:`build_from_row` how to read the arguments. A name ultralytics defines is left to it."""
    from yolo_attn.graph.aliases import ALIASES

    for alias in ALIASES.values():
        if _adapter.owner_of(alias.name) is _MISSING and alias.target in ATTENTION_REGISTRY:
            _adapter.set(alias.name, ATTENTION_REGISTRY[alias.target])


def _self_test() -> None:
    """Build ``Conv(3->8) -> Conv(8->16) -> 2 x SE`` from layer 0 (then a Concat that reads the SE output and both
    Convs, so the graph check has no unread layer to warn about) and check each SE got 8 input channels."""
    d = {
        "yaml_file": "yolo_attn self-test",
        "backbone": [[-1, 1, "Conv", [8, 3, 2]], [-1, 1, "Conv", [16, 3, 2]], [[0], 2, "SE", [4]], [[-1, 0, 1], 1, "Concat", [1]]],
        "head": [],
    }
    model, _ = tasks.parse_model(d, 3, verbose=False)
    got = [m.fc[0].in_features for m in model.modules() if isinstance(m, ATTENTION_REGISTRY["SE"])]
    if got != [8, 8]:
        raise RuntimeError(f"self-test: SE repeated twice from layer 0 got input channels {got}, expected [8, 8]")


def _install_anchor_head() -> None:
    """``AnchorDetect`` as a yaml layer name (YOLOv5's ``Detect, [nc, anchors]`` rows are routed to it)."""
    from yolo_attn.anchor.head import AnchorDetect

    anchor_rows.wrap_head_init(AnchorDetect, _adapter)
    _adapter.set("AnchorDetect", AnchorDetect)


def _uninstall() -> None:
    remove_registry_listener(_on_register)
    from yolo_attn.anchor.head import AnchorDetect

    anchor_rows.restore_plain_init(AnchorDetect)
    for cls in set(ATTENTION_REGISTRY.values()):
        anchor_rows.restore_plain_init(cls)
    _adapter.restore()


def install() -> None:
    """Install the hook (idempotent). On failure ultralytics is left as it was found and ImportError is raised."""
    global _installed
    if _installed:
        return
    try:
        add_registry_listener(_on_register)  # replays the modules registered so far
        _set_aliases()
        parse_model.__wrapped__ = _adapter.parse_model  # lets a later plugin (or adapter) find ultralytics' own
        check_yaml.__wrapped__ = _adapter.check_yaml
        _adapter.set("parse_model", parse_model)
        _adapter.set("check_yaml", check_yaml)
        _install_anchor_head()
        _self_test()
    except Exception as e:
        _uninstall()
        found = _adapter.parse_model
        if _adapter.builder_code is None and getattr(found, "__module__", None) != tasks.__name__:
            cause = (f"ultralytics.nn.tasks.parse_model is {found.__module__}.{getattr(found, '__qualname__', found)}, "
                     f"not ultralytics' own: another plugin replaced it. Import yolo_attn before that plugin, or have "
                     f"it wrap parse_model with functools.wraps")
        else:
            cause = (f"yolo_attn supports ultralytics{SUPPORTED_ULTRALYTICS}, found {ultralytics.__version__}: its "
                     f"model builder no longer accepts the yolo_attn hook. Install a supported version: "
                     f"pip install 'ultralytics{SUPPORTED_ULTRALYTICS}'")
        raise ImportError(f"{cause} ({type(e).__name__}: {e})") from e
    _installed = True
