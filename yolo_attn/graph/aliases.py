"""Peer class names as yaml aliases: the seed code's, YOLOAir's and the official repositories' names for our modules.

An alias is resolved when a yaml is built (``yolo_attn.graph.dialect.read_row``): the row's arguments are read in
the peer's order with the peer's defaults and translated to our module's arguments; the model holds our class, so a
checkpoint never needs the peer's code. Aliases live here, beside the registry rather than in it, because they are a
reading of yaml rows (a name plus an argument translation), not modules: registering them would put a second class
name into checkpoints and into ``ATTENTION_REGISTRY``'s one-name-one-class contract.

Each peer argument either maps to one of ours (``ours``, with an optional conversion) or has no equivalent: then it is
accepted only at the value where the peer computes what we compute (``neutral``), and any other value is an error
naming it and our nearest argument. A peer default that is not neutral (YOLOAir's ``GAMAttention`` groups its convs
unless told not to) is not an error, since the yaml did not ask for it, but the row's note says what was built.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("PeerArg", "Alias", "ALIASES", "TWO_CHANNEL_NAMES", "alias_of", "OtherReading", "OTHER_READINGS",
           "OTHER_READINGS_AFTER_CHANNELS", "SAME_NAME_PEERS", "ULTRALYTICS_CBAM_READING",
           "CONV_GROUP_READINGS", "C3_GROUP_READINGS", "PEER_VARIANTS", "variants_text")

_UNSET = object()


@dataclass(frozen=True)
class PeerArg:
    """One peer argument after the channel count(s): its name and default, and what it becomes in our module."""

    name: str
    default: object
    ours: str | None = None  # our argument it maps to; None: no equivalent
    convert: object = None  # peer value -> our value (None: unchanged); may raise ValueError
    neutral: object = _UNSET  # for ours=None: the value at which the peer computes what we compute
    nearest: str = ""  # for ours=None: our nearest argument, named in the error
    ignored: bool = False  # the peer's code never reads it (the official EMA's c2): any value, nothing built


@dataclass(frozen=True)
class Alias:
    """A peer class name for one of our modules: ``name(channels[, out_channels], *params)`` -> ``target(c1, ...)``."""

    name: str
    target: str
    source: str  # where the peer class is defined (repository and file)
    params: tuple = ()
    channel_slots: int = 1  # 2 for peers written (c1, c2, ...): a second channel count is dropped too; 0 for peers
    # that take no channel count (their first yaml argument is their own, whatever it equals)
    peer_note: str = ""  # a difference of the peer's code that no argument expresses, said in every note
    origin: str = ""  # who writes the name, in notes ("YOLO forks"); default: from ``source``
    refuse: str = ""  # the peer computes something none of our modules does: every row naming it is this error


def _ratio_to_reduction(ratio) -> int:
    """GCNet's ``ratio`` (hidden = inplanes * ratio) as our ``reduction`` (hidden = c1 // reduction)."""
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or ratio <= 0:
        raise ValueError(f"ratio must be a positive number such as 1/16, got {ratio!r}")
    r = 1 / ratio
    if abs(r - round(r)) > 1e-6:
        raise ValueError(f"ratio {ratio!r} is not 1/n for an integer n; GC's reduction is an integer: write ratio 1/16"
                         f" (reduction 16) or 0.25 (reduction 4)")
    return round(r)


_SE = (PeerArg("reduction", 16, "reduction"),)
_SIMAM = (PeerArg("e_lambda", 1e-4, "e_lambda"),)
def _pooling_type(v) -> str:
    if v not in ("att", "avg"):
        raise ValueError(f"pooling_type is 'att' or 'avg' in GCNet's ContextBlock, got {v!r} (a row written for a "
                         f"block with other arguments?); write 'att' there or leave it out")
    return v


def _fusion_types(v) -> tuple:
    if isinstance(v, str) or not isinstance(v, (list, tuple)) or not all(isinstance(t, str) for t in v):
        raise ValueError(f"fusion_types is a list such as ['channel_add'] or ['channel_add', 'channel_mul'] in GCNet's "
                         f"ContextBlock, got {v!r} (a row written for a block with other arguments?); write "
                         f"['channel_add'] there or leave it out")
    return tuple(v)


_GC = (PeerArg("ratio", 1 / 16, "reduction", _ratio_to_reduction),
       PeerArg("pooling_type", "att", "pooling_type", _pooling_type),
       PeerArg("fusion_types", ("channel_add",), "fusion_types", _fusion_types))

ALIASES: dict[str, Alias] = {a.name: a for a in (
    # the seed code the user handed over (restated in yolo_attn/reference/seed.py)
    Alias("SElayer", "SE", "seed 001 SElayer(channel, reduction=16)", _SE),
    Alias("Simam_module", "SimAM", "seed 003 Simam_module(channels=None, e_lambda=1e-4)", _SIMAM),
    Alias("SRMLayer", "SRM", "seed 000 / hyunjaelee410/style-based-recalibration-module SRMLayer(channel, "
          "reduction=None)", (PeerArg("reduction", None, neutral=None, nearest="none: SRM takes no arguments "
                                                                              "(SRMLayer ignores reduction)"),)),
    # YOLOAir (iscyy/yoloair models/Models/Attention/*.py, built by models/yolo.py parse_model)
    Alias("SEAttention", "SE", "YOLOAir models/Models/Attention/SEAttention.py SEAttention(channel=512, reduction=16)",
          _SE),
    Alias("ShuffleAttention", "SA", "YOLOAir models/Models/Attention/ShuffleAttention.py ShuffleAttention(channel=512, "
          "reduction=16, G=8)", (PeerArg("reduction", 16, neutral=16, nearest="groups (ShuffleAttention ignores "
                                         "reduction)"), PeerArg("G", 8, "groups"))),
    Alias("NAMAttention", "NAM", "YOLOAir models/Models/Attention/NAMAttention.py NAMAttention(channels, "
          "out_channels=None, no_spatial=True)",
          (PeerArg("no_spatial", True, neutral=True, nearest="none: NAM is the channel attention only"),),
          channel_slots=2),
    Alias("GAMAttention", "GAM", "YOLOAir models/Models/Attention/GAMAttention.py GAMAttention(c1, c2, group=True, "
          "rate=4)", (PeerArg("group", True, neutral=False, nearest="rate"), PeerArg("rate", 4, "rate")),
          channel_slots=2,
          peer_note="YOLOAir's GAMAttention multiplies by the channel MLP without a sigmoid, groups its 7x7 convs "
                    "(group=True) and shuffles the spatial weights; yolo_attn's GAM is the paper's (sigmoid channel "
                    "weights, ungrouped convs)"),
    # official repositories and the widely copied reference implementations (docs/MODULES.md lists the sources)
    Alias("GAM_Attention", "GAM", "z1069614715/objectdetection_script cv-attention/GAM.py GAM_Attention(in_channels, "
          "rate=4)", (PeerArg("rate", 4, "rate"),)),
    Alias("simam_module", "SimAM", "ZjjConan/SimAM simam_module(channels=None, e_lambda=1e-4)", _SIMAM),
    Alias("CoordAtt", "CA", "houqb/CoordAttention coordatt.py CoordAtt(inp, oup, reduction=32)",
          (PeerArg("reduction", 32, "reduction"),), channel_slots=2),
    Alias("eca_layer", "ECA", "BangguWu/ECANet models/eca_module.py eca_layer(channel, k_size=3)",
          (PeerArg("k_size", 3, "k_size"),)),
    Alias("sa_layer", "SA", "wofmanaf/SA-Net models/sa_resnet.py sa_layer(channel, groups=64)",
          (PeerArg("groups", 64, "groups"),)),
    Alias("ContextBlock", "GC", "xvjiarui/GCNet mmdet/ops/gcb/context_block.py ContextBlock(inplanes, ratio, "
          "pooling_type='att', fusion_types=('channel_add',))", _GC),
    # names common in YOLOv5/YOLOv8/YOLO11 forks (tests/graph/yamls_wild_2 has the rows and their sources)
    Alias("ECAAttention", "ECA", "ECAAttention(channel, k_size=3) as YOLO forks write ECANet's eca_layer", (PeerArg(
          "k_size", 3, "k_size"),), origin="a YOLO fork", peer_note="External-Attention-pytorch's ECAAttention(kernel_size=3) takes no "
          "channels and gives its 1-D conv a bias (one parameter more); yolo_attn's ECA is ECANet's, without it"),
    Alias("EMA_attention", "EMA", "EMA_attention(channels, c2=None, factor=32): the official EMA (YOLOonMe/"
          "EMA-attention-module) under another name", (PeerArg("c2", None, ignored=True), PeerArg("factor", 32, "factor")),
          origin="a YOLO fork"),
    Alias("SpatialGroupEnhance", "SGE", "implus/PytorchInsight resnet_sge.py SpatialGroupEnhance(groups=64)",
          (PeerArg("groups", 64, "groups"),), channel_slots=0),
    Alias("SEBlock", "SE", "SEBlock(in_channels, out_channels, reduction=16, attention_mode='conv')",
          channel_slots=2, origin="a YOLO fork", refuse="SEBlock(in, out, reduction=16, attention_mode='conv') is an SE variant whose "
          "excitation is chosen by attention_mode (1x1 convolutions in its default 'conv' mode); yolo_attn's SE is the "
          "paper's bias-free linear MLP (seed 001 SElayer), not that variant. Write [-1, 1, SE, [16]] for yolo_attn's "
          "SE (not the same module), or register the fork's class with @yolo_attn.register_attention"),
    Alias("GlobalContextBlock", "GC", "GCNet's ContextBlock as copied under this name (inplanes, ratio, "
          "pooling_type='att', fusion_types=('channel_add',))", _GC),
)}

# Our own names whose peers are written (c1, c2, ...): a second argument equal to the channels is dropped too
# (official CoordAtt(inp, oup) and YOLOAir's CA(inp, oup); YOLOAir's CBAM(c1, c2)).
TWO_CHANNEL_NAMES = frozenset({"CA", "CBAM"})


def alias_of(name) -> Alias | None:
    """The :class:`Alias` for a yaml module name, or None (one of ours, or not an attention module)."""
    return ALIASES.get(name) if isinstance(name, str) else None


@dataclass(frozen=True)
class OtherReading:
    """A known peer signature under which a row's first number means something else than the reading we build:
    ``sig`` (behind its fork's ``parse_model``) builds ``target`` with ``param`` = the number (or = ``value``). ``when``:
    ``"channels"`` for a number equal to the channel count (which we read as that), ``"own"`` for one that is not.
    ``yolo_attn.graph.dialect.other_reading`` names that reading, and the row to write for it, in the row's note."""

    sig: str
    target: str
    param: str
    when: str = "channels"
    value: object = None  # None: the number itself


# yaml name -> the other reading its numbers have in forks (docs/WILD_YAMLS.md has the table)
_PREPEND = "behind a parse_model that prepends the channels (args = [ch[f], *args])"
OTHER_READINGS: dict[str, OtherReading] = {
    "SE": OtherReading(f"SE(c1, r) {_PREPEND}", "SE", "reduction"),
    "SElayer": OtherReading(f"SElayer(channel, reduction=16) {_PREPEND}", "SE", "reduction"),
    "SEAttention": OtherReading(f"SEAttention(channel, reduction) {_PREPEND}", "SE", "reduction"),
    "CoordAtt": OtherReading(f"CoordAtt(inp, reduction=32) {_PREPEND}", "CA", "reduction"),
    "TripletAttention": OtherReading(f"TripletAttention(no_spatial=False) {_PREPEND}", "TripletAttention",
                                     "no_spatial", value=True),
    "EMA": OtherReading(f"the official EMA(channels, c2=None, factor=32) {_PREPEND} (the number fills the unused c2)",
                        "EMA", "factor", when="own", value=32),
    "EMA_attention": OtherReading("EMA(channels, factor) (the signature other forks give EMA)", "EMA", "factor",
                                  when="own"),
}

# yaml name -> the other reading of a row written [C, k] (C the channel count, read as that; k the module's number)
OTHER_READINGS_AFTER_CHANNELS: dict[str, OtherReading] = {
    # Star-Cheng/yolov8-attention ultralytics/nn/tasks.py: `elif m in {EMA}: args = [ch[f]]` (the yaml's numbers unread)
    "EMA": OtherReading("the official EMA(channels, c2=None, factor=32) behind a parse_model that passes the channels "
                        "alone (args = [ch[f]]) or in place of the first number (args = [c1, *args[1:]], the number "
                        "then fills the unused c2)", "EMA", "factor", value=32),
}

# Our own names that forks define with other code: said in the note of a row written for a fork (a channel count read)
SAME_NAME_PEERS: dict[str, str] = {
    "CBAM": "forks that define their own CBAM(c1, c2) (YOLOAir's, copied widely: a biased Linear MLP with LeakyReLU(0.1) "
            "and a biased 7x7 conv) trained another module under this name; yolo_attn builds the paper's CBAM",
}

# Other code under a peer's name: (who, how it differs from the module built), one line each, said in the note of
# every row naming that peer (the name tells the row was written for some fork's code). Forks that define their own
# class under one of *our* names (kendyle2702's SE and GAM, zesong01's CBAM) write rows that are rows of our dialect
# (`[-1, 1, SE, [16]]`): nothing in them tells the fork's class from ours, and a note on every such row would be on
# every user's row; docs/WILD_YAMLS.md ("What the yaml cannot tell") lists them instead.
PEER_VARIANTS: dict[str, tuple[str, ...]] = {
    "CoordAtt": ("zesong01/visdrone-yolov8-attention's CoordAtt(channels, reduction=32) has bias-free 1x1 convs (the "
                 "official code, built here, gives conv1, conv_h and conv_w a bias)",),
}


def variants_text(name: str) -> str:
    """The note's words for the other code under ``name`` (``PEER_VARIANTS``), or ''."""
    variants = PEER_VARIANTS.get(name) if isinstance(name, str) else None
    return f"other code under the name {name}: {'; '.join(variants)}" if variants else ""


# An ultralytics-format row CBAM [C] (C the channel count): forks that register ultralytics' own CBAM(c1, kernel_size=7)
# with args = [c1, *args[1:]] (INVINCIBLE2297/ultralytics_attention ultralytics/nn/tasks.py) built that class
ULTRALYTICS_CBAM_READING = ("a fork that wires ultralytics' own CBAM(c1, kernel_size=7) (ultralytics.nn.modules.conv) "
                            "with args = [c1, *args[1:]] built that class here (its channel attention is one "
                            "{c1}->{c1} conv); for that reading write [{f}, 1, CBAM, [7]]")

# A row SE [C] (C the channel count) where the fork lists the class in parse_model's Conv group (args = [c1, c2,
# *args[1:]], c2 the width-scaled number, = c1): reduction c1 (huqiannihaoa/MyModel models/yolo.py,
# beiweidedagongren/pedestrian-detection ultralytics/nn/tasks.py)
_CONV_GROUP = ("{sig} listed in parse_model's Conv group (args = [c1, c2, *args[1:]], c2 the width-scaled number) "
               "builds SE({c1}, reduction={c1}) here; for that reading write [{f}, 1, SE, [{c1}, {c1}]]")
CONV_GROUP_READINGS: dict[str, str] = {name: _CONV_GROUP.replace("{sig}", sig) for name, sig in (
    ("SE", "SE(c1, r)"), ("SEAttention", "SEAttention(channel, reduction)"),
    ("SElayer", "SElayer(channel, reduction=16)"))}  # the seed's SElayer, as YOLOv5 tutorials list it there

# A YOLOv5-format row CBAM [C] (C the channel count) where the fork lists CBAM in parse_model's C3 group (args = [c1,
# c2, *args[1:]]; args.insert(2, n); n = 1): its CBAM(c1, c2, ratio=16, kernel_size=7), the paper's code, gets the
# depth-scaled repeat count as ratio, and is built once (frabob2017/yolov5 models/yolo.py, models/common.py)
C3_GROUP_READINGS: dict[str, OtherReading] = {
    "CBAM": OtherReading("CBAM(c1, c2, ratio=16, kernel_size=7) listed in parse_model's C3 group (args.insert(2, n), "
                         "then n = 1) reads the repeat count {written} (depth-scaled: {n}) as ratio and", "CBAM",
                         "reduction"),
}
