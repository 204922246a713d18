"""Issue 28 item 7: a second, independent corpus of attention yamls from public YOLOv5/YOLOv8 forks
(``tests/graph/yamls_wild_2/``, each with its source on the first line and ``# expect:`` on the second), built through
the hook and held against each fork's own class (restated in ``yolo_attn.reference``) built with the arguments the
fork's ``parse_model`` passes:

- ``exact``: every attention layer has the source's parameter count, and the same output on a fixed input with our
  weights loaded into the restated class;
- ``note``: every attention layer's note names the other reading (the fork's);
- ``error``: one message naming every unknown name with its layer;
- ``known-gap``: the fork's class differs from ours in code the yaml does not show (no note can know); the test
  holds that the gap is real (parameters or output differ), so a fix turns it into ``exact`` or ``note``.
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
}

ERRORS = {  # yaml -> the fork's own names yolo_attn does not build
    "yolov5s-huqian-c3cbam.yaml": {"C3CBAM", "ConvCBAM"},
    "yolov5s-huqian-c3se.yaml": {"C3SE"},
    "yolov5s-huqian-gsconv-attention.yaml": {"Attention1", "Attention2", "Attention3", "GSConv"},
}

KNOWN_GAPS = {  # yaml -> the fork's module; the yaml shows nothing of the difference
    "yolov8-kendyle-se.yaml": FloorSE,  # hidden max(c1 // 16, 8): 64 channels get 8, not 4
    "yolov8-kendyle-gam.yaml": ReplicateGAM,  # same parameters; replicate padding, no sigmoid on channel weights
    "yolov8s-zesong-cbam.yaml": BNSpatialCBAM,  # a BatchNorm after the spatial conv
    "yolov8s-zesong-coordatt.yaml": BiasFreeCoordAtt,  # bias-free convs
    "yolov5s-frabob-cbam.yaml": lambda c: SeedCBAM(c, ratio=1, kernel_size=7),  # C3 group: args.insert(2, n) -> ratio n
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


def _same_output(ours, ref, x) -> bool:
    torch.manual_seed(1)
    for p in ours.parameters():
        p.data.uniform_(-0.5, 0.5)
    theirs, values = ref.state_dict(), list(ours.state_dict().values())
    assert [v.numel() for v in theirs.values()] == [v.numel() for v in values]
    # our weights, in order, into the fork's class (a Linear's weight where the fork has a 1x1 conv: reshaped)
    ref.load_state_dict({k: v.reshape(t.shape) for (k, t), v in zip(theirs.items(), values)})
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
            assert torch.allclose(ours(x), ref(x), atol=1e-6)


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
