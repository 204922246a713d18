"""Issue 28 item 7: a second, independent corpus of attention yamls from public YOLOv5/YOLOv8 forks
(``tests/graph/yamls_wild_2/``, each with its source on the first line and ``# expect:`` on the second), built through
the hook and held against each fork's own class (restated in ``yolo_attn.reference``) built with the arguments the
fork's ``parse_model`` passes:

- ``exact``: every attention layer has the source's parameter count, and the same output on a fixed input with our
  weights loaded into the restated class;
- ``note``: every attention layer's note names the other reading (the fork's);
- ``error``: one message naming every unknown name with its layer;
- ``known-gap``: the fork's class differs from ours in code the yaml does not show: the row is written exactly as a
  row of our own dialect (our name, our arguments), so a note there would be on every user's row too (docs/WILD_YAMLS.md,
  "What the yaml cannot tell"); the test holds that the gap is real (parameters or output differ) and that the row
  builds silently, as a row of our dialect must.
"""

import re
from pathlib import Path

import pytest
import torch
from ultralytics.nn.modules.conv import CBAM as UltralyticsCBAM

import yolo_attn
from yolo_attn.graph.wild import build_yaml, load_yaml
from yolo_attn.reference.official import RefCoordAtt, RefECA, RefGAM, RefSA, RefTriplet
from yolo_attn.reference.peers import (AirSEAttention, AirShuffleAttention, BiasFreeCoordAtt, BNSpatialCBAM, FloorSE,
                                       LeakyMLPCBAM, ReplicateGAM)
from yolo_attn.reference.seed import CBAM as SeedCBAM
from yolo_attn.reference.seed import EMA as SeedEMA
from yolo_attn.reference.seed import Simam_module

CORPUS = Path(__file__).parent / "yamls_wild_2"
YAMLS = sorted(p.name for p in CORPUS.glob("*.yaml"))

# yaml -> the fork's class as its parse_model builds it, for an input of c1 channels
EXACT = {
    "yolov8-kendyle-ca.yaml": lambda c: RefCoordAtt(c, c, 32),  # CA(c1, reduction=32): the official CoordAtt code
    "yolov8-kendyle-cbam.yaml": lambda c: UltralyticsCBAM(c, 7),  # ultralytics' own CBAM(c1, kernel_size)
    "yolov8-kendyle-eca.yaml": lambda c: RefECA(c, 3),
    "yolov8-kendyle-ema.yaml": lambda c: SeedEMA(c, None, 8),  # EMA(c1, factor=8), the official body
    "yolov8-kendyle-sa.yaml": lambda c: RefSA(c, 8),
    "yolov8-kendyle-simam.yaml": lambda c: Simam_module(e_lambda=1e-4),
    "yolov8s-zesong-simam.yaml": lambda c: Simam_module(),  # SimAM(channels=None, e_lambda=1e-4), args = [c1]
    "yolov8-nidhogg-ema.yaml": lambda c: SeedEMA(c, None, 8),  # EMA(channels, factor=8) behind prepend, [8]
    "yolov8-nidhogg-gam.yaml": lambda c: RefGAM(c, 4),  # GAM_Attention(in_channels, rate=4), []
    "yolov8-nidhogg-shuffle.yaml": lambda c: AirShuffleAttention(c, 16, 8),  # ShuffleAttention(ch, 16, G=8), [16, 8]
    "yolo11-invincible-eca.yaml": lambda c: RefECA(c, 3),
    # CoordAtt(inp, reduction=32) behind prepend: reduction 1024; at scale n (256 channels) the hidden width is the
    # floor max(8, 256 // 1024) = 8, as ours with 32: the same module (its note names the reading all the same)
    "yolo11-invincible-ca.yaml": lambda c: RefCoordAtt(c, c, 1024),  # ECAAttention(c1, k_size=3), args = [c2 (scaled), ...]
    # EMA_attention(channels, c2=None, factor=32) in the Conv group (args = [c1, c2, *args[1:]]): factor 32
    "yolov8-bei-ema-attention.yaml": lambda c: SeedEMA(c, None, 32),
    "yolov8-bei-triplet.yaml": lambda c: RefTriplet(),  # TripletAttention(no_spatial=False), args unchanged: []
}

# yaml -> (what every attention layer's note must say, the fork's module for c1 (the note's other reading) or None)
NOTES = {
    "yolov8n-starcheng-ema.yaml": ("the official EMA(channels, c2=None, factor=32) behind a parse_model that passes "
                                   "the channels alone (args = [ch[f]])", lambda c: SeedEMA(c, None, 32)),
    "yolov8n-starcheng-cbam.yaml": ("forks that define their own CBAM(c1, c2) (YOLOAir's, copied widely: a biased "
                                    "Linear MLP with LeakyReLU(0.1) and a biased 7x7 conv)", LeakyMLPCBAM),
    "yolov8-nidhogg-coordatt.yaml": ("CoordAtt(inp, reduction=32) behind a parse_model that prepends the channels", None),
    # INVINCIBLE2297's parse_model: elif m in {CBAM, ...}: args = [c1, *args[1:]] -> ultralytics' CBAM(c1, 7)
    "yolo11-invincible-cbam.yaml": ("a fork that wires ultralytics' own CBAM(c1, kernel_size=7) (ultralytics.nn.modules."
                                    "conv) with args = [c1, *args[1:]] built that class here", lambda c: UltralyticsCBAM(c, 7)),
    "yolov8-nidhogg-seatt.yaml": ("SEAttention(channel, reduction) behind a parse_model that prepends the channels "
                                  "(args = [ch[f], *args]) reads 1024 as reduction=1024", lambda c: AirSEAttention(c, 1024)),
    # SE(c1, ratio) / SEAttention(channel, reduction) in the fork's Conv group: reduction = the scaled c2 (= c1)
    "yolov5s-huqian-se.yaml": ("SE(c1, r) listed in parse_model's Conv group (args = [c1, c2, *args[1:]], c2 the "
                               "width-scaled number) builds SE(512, reduction=512)", lambda c: AirSEAttention(c, c)),
    "yolov8-bei-seattention.yaml": ("SEAttention(channel, reduction) listed in parse_model's Conv group",
                                    lambda c: AirSEAttention(c, c)),
    # frabob2017's parse_model lists CBAM in the C3 group: args = [c1, c2, n] -> CBAM(c1, c2, ratio=n), n = 1 at s;
    # its CBAM is the paper's code (bias-free 1x1 convs, bias-free 7x7 conv), as the seed's
    "yolov5s-frabob-cbam.yaml": ("CBAM(c1, c2, ratio=16, kernel_size=7) listed in parse_model's C3 group "
                                 "(args.insert(2, n), then n = 1) reads the repeat count 3 (depth-scaled: 1) as ratio "
                                 "and builds CBAM(512, reduction=1, kernel_size=7) here; for that reading write "
                                 "[-1, 1, CBAM, [1]]", lambda c: SeedCBAM(c, ratio=1, kernel_size=7)),
    # the peer name says which code it may be: zesong01's CoordAtt has bias-free convs (aliases.PEER_VARIANTS)
    "yolov8s-zesong-coordatt.yaml": ("other code under the name CoordAtt: zesong01/visdrone-yolov8-attention's "
                                     "CoordAtt(channels, reduction=32) has bias-free 1x1 convs", BiasFreeCoordAtt),
}

ERRORS = {  # yaml -> the fork's own names yolo_attn does not build
    "yolov5s-huqian-c3cbam.yaml": {"C3CBAM", "ConvCBAM"},
    "yolov5s-huqian-c3se.yaml": {"C3SE"},
    "yolov5s-huqian-gsconv-attention.yaml": {"Attention1", "Attention2", "Attention3", "GSConv"},
}

KNOWN_GAPS = {  # yaml -> the fork's module; the rows are written as in our dialect (our name, our arguments)
    "yolov8-kendyle-se.yaml": FloorSE,  # [-1, 1, SE, [16]]: hidden max(c1 // 16, 8): 64 channels get 8, not 4
    "yolov8-kendyle-gam.yaml": ReplicateGAM,  # [-1, 1, GAM, [4]]: replicate padding, no sigmoid on channel weights
    "yolov8s-zesong-cbam.yaml": BNSpatialCBAM,  # [-1, 1, CBAM, []]: a BatchNorm after the spatial conv
}


def _expect(name: str) -> str:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# source: ") and lines[1].startswith("# expect: "), name
    return lines[1].split(":", 1)[1].split()[0]


def _params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _attention_inputs(model) -> dict:
    """Attention layer index -> (module, its input on a fixed 64x64 image)."""
    layers = {i: m for i, m in enumerate(model.model) if type(m).__module__.startswith("yolo_attn.models")
              or isinstance(m, UltralyticsCBAM)}
    seen = {}
    hooks = [m.register_forward_pre_hook(lambda mod, a, i=i: seen.setdefault(i, a[0].detach().clone()))
             for i, m in layers.items()]
    torch.manual_seed(0)
    model.eval()
    with torch.no_grad():
        model(torch.rand(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    assert layers and set(seen) == set(layers)
    return {i: (layers[i], seen[i]) for i in layers}


def _probe(x):
    """A fixed input of ``x``'s shape with unit variance: a deep layer's input in an untrained model is near zero on
    the fixed image (|x| ~ 1e-8 after SPPF), where any two attention modules agree within a tolerance."""
    return torch.randn(x.shape, generator=torch.Generator().manual_seed(2))


def _same_output(ours, ref, x) -> bool:
    x = _probe(x)
    torch.manual_seed(1)
    for p in ours.parameters():
        p.data.uniform_(-0.5, 0.5)
    theirs, values = ref.state_dict(), list(ours.state_dict().values())
    assert [v.numel() for v in theirs.values()] == [v.numel() for v in values]
    # our weights, in order, into the fork's class (a Linear's weight where the fork has a 1x1 conv: reshaped)
    ref.load_state_dict({k: v.reshape(t.shape) for (k, t), v in zip(theirs.items(), values)})
    # the detector's initialize_weights sets every BatchNorm's eps to 1e-3: the fork's model does the same to its class
    norms = [[m for m in mod.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)] for mod in (ours, ref)]
    for a, b in zip(*norms):
        b.eps = a.eps
    ours.eval(), ref.eval()
    with torch.no_grad():
        return torch.allclose(ours(x), ref(x), atol=1e-5)


def test_the_corpus_is_complete_and_labelled():
    labelled = {**{k: "exact" for k in EXACT}, **{k: "note" for k in NOTES}, **{k: "error" for k in ERRORS},
                **{k: "known-gap" for k in KNOWN_GAPS}}
    assert set(YAMLS) == set(labelled) and len(YAMLS) >= 20
    assert {n: _expect(n) for n in YAMLS} == labelled
    repos = {(CORPUS / n).read_text().split()[2] for n in YAMLS}
    assert len(repos) >= 6


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_yamls_build_the_source_module_layer_by_layer(name):
    model, _ = build_yaml(load_yaml(CORPUS / name))
    for i, (ours, x) in _attention_inputs(model).items():
        ref = EXACT[name](x.shape[1])
        assert _params(ours) == _params(ref), f"{name} layer {i}: {type(ours).__name__}"
        if _params(ref):
            assert _same_output(ours, ref, x), f"{name} layer {i}"
        else:
            ours.eval()
            assert torch.allclose(ours(_probe(x)), ref(_probe(x)), atol=1e-6)


@pytest.mark.parametrize("name", sorted(NOTES))
def test_note_yamls_name_the_forks_reading_on_every_attention_layer(name):
    text, fork = NOTES[name]
    model, notes = build_yaml(load_yaml(CORPUS / name))
    layers = _attention_inputs(model)
    by_layer = {n.i: n.text for n in notes}
    assert set(by_layer) == set(layers) and len(notes) == len(layers)
    for i, (ours, x) in layers.items():
        assert text in by_layer[i], by_layer[i]
        if fork is not None:  # the note is needed: the fork's module is not the one built
            assert _params(fork(x.shape[1])) != _params(ours)


def test_the_ema_note_row_builds_the_forks_module():
    """Star-Cheng's parse_model passes [ch[f]] only: its EMA(c, factor=32); the note's row builds that."""
    _, notes = build_yaml(load_yaml(CORPUS / "yolov8n-starcheng-ema.yaml"))
    assert "builds EMA(256, factor=32) here; for that reading write [-1, 1, EMA, []]" in notes[0].text
    assert _params(yolo_attn.EMA(256)) == _params(SeedEMA(256, None, 32)) == 672


def test_the_coordatt_note_row_builds_the_forks_module():
    _, notes = build_yaml(load_yaml(CORPUS / "yolov8-nidhogg-coordatt.yaml"))
    assert "builds CA(64, reduction=256) here; for that reading write [-1, 1, CA, [64, 64, 256]]" in notes[0].text
    assert _params(yolo_attn.CA(64, reduction=256)) == _params(RefCoordAtt(64, 64, 256))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_yamls_name_every_unknown_name_in_one_message(name):
    d = load_yaml(CORPUS / name)
    rows = d["backbone"] + d["head"]
    expected = [(i, r[2]) for i, r in enumerate(rows) if r[2] in ERRORS[name]]
    with pytest.raises(KeyError) as err:
        build_yaml(d)
    msg = err.value.args[0]
    assert msg.startswith(f"{name}: {len(expected)} unknown module names: "), msg[:200]
    for i, n in expected:
        assert f"layer {i} '{n}'" in msg
    assert len(re.findall(r"layer \d+ '", msg)) == len(expected)


@pytest.mark.parametrize("name", sorted(KNOWN_GAPS))
def test_known_gaps_are_real(name):
    """The fork's class differs from ours in code the yaml does not show: parameters or output differ somewhere."""
    model, _ = build_yaml(load_yaml(CORPUS / name))
    differs = []
    for i, (ours, x) in _attention_inputs(model).items():
        ref = KNOWN_GAPS[name](x.shape[1])
        differs.append(_params(ours) != _params(ref) or not _same_output(ours, ref, x))
    assert any(differs)


@pytest.mark.parametrize("name", sorted(KNOWN_GAPS))
def test_known_gap_rows_are_our_dialect_and_build_silently(name):
    """What the yaml cannot tell: each gap row is a row of our own dialect (our name, no channel count, our
    arguments), read as ours with no note, as our own shipped yamls are."""
    model, notes = build_yaml(load_yaml(CORPUS / name))
    assert notes == []
    d = load_yaml(CORPUS / name)
    rows = [r for r in d["backbone"] + d["head"] if r[2] in ("SE", "GAM", "CBAM")]
    assert rows and all(len(r[3]) <= 1 and all(a in (4, 16) for a in r[3]) for r in rows)


def test_docs_say_what_the_yaml_cannot_tell():
    text = (Path(__file__).resolve().parents[2] / "docs" / "WILD_YAMLS.md").read_text(encoding="utf-8")
    section = text.split("### What the yaml cannot tell")[1].split("\n## ")[0]
    for name in KNOWN_GAPS:
        assert name in section


def test_the_c3_group_note_row_builds_the_forks_module():
    """frabob2017's CBAM(c1, c2, ratio=n): the note's row [-1, 1, CBAM, [1]] builds it (parameters and output)."""
    d = load_yaml(CORPUS / "yolov5s-frabob-cbam.yaml")
    d["backbone"][8] = [-1, 1, "CBAM", [1]]
    model, notes = build_yaml(d)
    assert [n.i for n in notes] == []  # a number that is no channel count: CBAM's reduction, no other reading
    (ours, x), = [(m, x) for i, (m, x) in _attention_inputs(model).items() if i == 8]
    ref = SeedCBAM(512, ratio=1, kernel_size=7)
    assert _params(ours) == _params(ref) == 2 * 512 * 512 + 98
    assert _same_output(ours, ref, x)


def test_the_c3_group_note_reads_the_depth_scaled_repeat_count():
    d = load_yaml(CORPUS / "yolov5s-frabob-cbam.yaml")
    d["depth_multiple"] = 1.0  # n = 3 as written: the fork builds one CBAM with ratio 3, we build three with 16
    _, notes = build_yaml(d)
    assert ("reads the repeat count 3 (depth-scaled: 3) as ratio and builds CBAM(512, reduction=3, kernel_size=7) "
            "here; for that reading write [-1, 1, CBAM, [3]]") in notes[0].text


def test_the_c3_group_reading_is_for_yolov5_format_rows_of_one_channel_count():
    from yolo_attn.graph.dialect import c3_group_reading, read_row

    reading = read_row("CBAM", [1024], 512, (512, 1024))
    assert "as ratio and builds CBAM(512, reduction=1" in c3_group_reading("CBAM", [1024], reading, 512, 1, 3, True)
    assert c3_group_reading("CBAM", [1024], reading, 512, 1, 3, False) is None  # ultralytics format: not that fork
    two = read_row("CBAM", [1024, 1024], 512, (512, 1024))  # [C, C]: the C3 group would pass kernel_size 1024
    assert c3_group_reading("CBAM", [1024, 1024], two, 512, 1, 1, True) is None
    assert c3_group_reading("SE", [1024], read_row("SE", [1024], 512, (512, 1024)), 512, 1, 1, True) is None
