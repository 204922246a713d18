"""Every alias (``yolo_attn.graph.aliases``) builds the peer's module: built from a fork-style yaml row, our module
with the translated arguments has the peer's parameter count and, on the peer's weights, the peer's output (peer
classes restated in ``yolo_attn/reference/``). Peer arguments with no equivalent are errors naming our nearest one."""

import pytest
import torch
from ultralytics.nn.tasks import parse_model

import yolo_attn
from conftest import Gain
from yolo_attn.graph.aliases import ALIASES
from yolo_attn.graph.dialect import collect_notes
from yolo_attn.reference import official, peers, seed

C = 128  # channels of the row's input (a Conv to 128)


def _srm_state(state):
    state["cfc"] = state.pop("cfc.weight").view(C, 2)  # the seed's Conv1d (C, 1, 2) is our (C, 2)
    return state


def _nam_state(state):
    return {k.replace("Channel_Att.", ""): v for k, v in state.items()}


# alias -> (yaml args as a fork yaml writes them, peer module, our class, state-dict translation)
CASES = {
    "SElayer": ([C], lambda: seed.SElayer(C), "SE", None),
    "SElayer-r8": ([C, 8], lambda: seed.SElayer(C, 8), "SE", None),
    "SEAttention": ([C], lambda: peers.AirSEAttention(C), "SE", None),
    "Simam_module": ([C, 0.1], lambda: seed.Simam_module(C, 0.1), "SimAM", None),
    "simam_module": ([C], lambda: seed.Simam_module(C), "SimAM", None),  # official = seed 003 (REFERENCE.md)
    "SRMLayer": ([C], lambda: seed.SRMLayer(C), "SRM", _srm_state),
    "ShuffleAttention": ([C], lambda: peers.AirShuffleAttention(C), "SA", None),
    "ShuffleAttention-G4": ([C, 16, 4], lambda: peers.AirShuffleAttention(C, 16, 4), "SA", None),
    "sa_layer": ([C], lambda: official.RefSA(C), "SA", None),
    "NAMAttention": ([C], lambda: peers.AirNAMAttention(C), "NAM", _nam_state),
    "GAM_Attention": ([C], lambda: official.RefGAM(C), "GAM", None),
    "CoordAtt": ([C, C], lambda: official.RefCoordAtt(C, C), "CA", None),
    "CoordAtt-r16": ([C, C, 16], lambda: official.RefCoordAtt(C, C, 16), "CA", None),
    "eca_layer": ([C, 5], lambda: official.RefECA(C, 5), "ECA", None),
    "ContextBlock": ([C, 0.25], lambda: official.RefContextBlock(C, 0.25), "GC", None),
    "GlobalContextBlock": ([C], lambda: official.RefContextBlock(C, 1 / 16), "GC", None),
    "ECAAttention": ([C], lambda: official.RefECA(C, 3), "ECA", None),
    "ECAAttention-k5": ([5], lambda: official.RefECA(C, 5), "ECA", None),
    "EMA_attention": ([8], lambda: seed.EMA(C, 8), "EMA", None),  # 8 fills the unused c2: factor 32
    "EMA_attention-f16": ([C, None, 16], lambda: seed.EMA(C, factor=16), "EMA", None),
    "SpatialGroupEnhance": ([8], lambda: official.RefSGE(8), "SGE", None),  # no channel slot: 8 is groups
}


def _build(name: str, args: list):
    d = {"yaml_file": "peer.yaml", "backbone": [[-1, 1, "Conv", [C, 3, 2]], [-1, 1, name, args]], "head": []}
    with collect_notes() as notes:
        model, _ = parse_model(d, 3, verbose=False)
    return model[1], notes


def _params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def test_every_alias_has_a_case():
    assert {k.split("-")[0] for k in CASES} | {"GAMAttention", "SEBlock"} == set(ALIASES)


def test_seblock_is_one_exact_error_naming_the_variant():
    with pytest.raises(ValueError) as err:
        _build("SEBlock", [C, C])
    msg = str(err.value)
    assert "peer.yaml: layer 1 [-1, 1, SEBlock, [128, 128]]" in msg
    assert "SEBlock(in, out, reduction=16, attention_mode='conv') is an SE variant" in msg
    assert "not that variant. Write [-1, 1, SE, [16]]" in msg


def test_spatial_group_enhance_takes_no_channel_count():
    """SpatialGroupEnhance(groups=64) has no channel slot: [128] on 128 channels is groups 128, as the peer's code built."""
    ours, _ = _build("SpatialGroupEnhance", [C])
    assert ours.groups == C and _params(ours) == _params(official.RefSGE(C))


def test_global_context_block_with_yoloair_arguments_names_the_argument():
    with pytest.raises(ValueError) as err:
        _build("GlobalContextBlock", [C, 0.25, 2, 16])
    assert "GlobalContextBlock argument pooling_type" in str(err.value) and "got 2" in str(err.value)
    with pytest.raises(ValueError, match="GlobalContextBlock argument fusion_types.*got 16"):
        _build("GlobalContextBlock", [C, 0.25, "att", 16])


@pytest.mark.parametrize("case", sorted(CASES))
def test_alias_builds_the_peers_module(case):
    args, make_peer, target, translate = CASES[case]
    name = case.split("-")[0]
    ours, notes = _build(name, args)
    peer = make_peer()
    assert type(ours) is yolo_attn.ATTENTION_REGISTRY[target]  # the checkpoint holds our class
    assert _params(ours) == _params(peer)
    with torch.no_grad():
        for p in peer.parameters():
            p.normal_(0.5, 0.3)  # off the initial values, so every weight shapes the output
    state = peer.state_dict()
    ours.load_state_dict(translate(state) if translate else state, strict=True)
    x = torch.randn(2, C, 12, 10)
    ours.eval(), peer.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x.clone()), peer(x.clone()), rtol=1e-4, atol=1e-5)
    assert len(notes) == 1 and f"{name} is " in notes[0].text and notes[0].target == target


def test_gam_attention_is_built_as_the_papers_gam_and_the_note_says_how_yoloair_differs():
    """YOLOAir's GAMAttention: no sigmoid on the channel weights, grouped convs by default, shuffled spatial weights.
    Ungrouped (group=False) it has our parameters and names; its output is not the paper's, and the note says so."""
    ours, notes = _build("GAMAttention", [C, C])
    assert "without a sigmoid" in notes[0].text and notes[0].text.endswith(f"built GAM({C}, rate=4)")
    peer = peers.AirGAMAttention(C, C, group=False)
    assert _params(ours) == _params(peer) == _params(official.RefGAM(C))
    ours.load_state_dict(peer.state_dict(), strict=True)
    assert _params(peers.AirGAMAttention(C, C)) != _params(ours)  # YOLOAir's default groups its convs
    ours.eval(), peer.eval()
    x = torch.randn(1, C, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(ours(x), peer(x))


@pytest.mark.parametrize("name, args, words", [
    ("SRMLayer", [C, 4], ["SRMLayer argument reduction=4 has no equivalent in yolo_attn's SRM",
                          "nearest argument: none: SRM takes no arguments"]),
    ("ShuffleAttention", [C, 8, 4], ["ShuffleAttention argument reduction=8 has no equivalent in yolo_attn's SA",
                                     "nearest argument: groups"]),
    ("GAMAttention", [C, C, True], ["GAMAttention argument group=True has no equivalent in yolo_attn's GAM",
                                    "nearest argument: rate", "write False there"]),
    ("NAMAttention", [C, C, False], ["NAMAttention argument no_spatial=False has no equivalent"]),
    ("ContextBlock", [C, 0.3], ["ContextBlock argument ratio: ratio 0.3 is not 1/n"]),
    ("SEAttention", [C, 16, 2], ["too many arguments for SEAttention", "[reduction=16]"]),
])
def test_a_peer_argument_with_no_equivalent_is_an_error_naming_ours(name, args, words):
    with pytest.raises(ValueError) as err:
        _build(name, args)
    msg = str(err.value)
    assert msg.startswith(f"peer.yaml: layer 1 [-1, 1, {name}, {args!r}] with {C} input channels: ")
    for w in words:
        assert w in msg


def test_a_user_registration_wins_over_an_alias_of_the_same_name():
    """A class the user registers as ``SEAttention`` is built as theirs, with their arguments."""
    SEAttention = type("SEAttention", (Gain,), {"__module__": __name__})
    try:
        yolo_attn.register_attention(SEAttention)
        m, notes = _build("SEAttention", [3.0])
        assert type(m) is SEAttention and m.gain == 3.0 and notes == []
    finally:
        from yolo_attn.plugin import hook

        yolo_attn.ATTENTION_REGISTRY.pop("SEAttention", None)
        hook._adapter.set("SEAttention", yolo_attn.SE)  # the alias again, for the other tests in this process


def test_docs_list_every_alias():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "MODULES.md").read_text()
    for alias in ALIASES.values():
        assert f"| {alias.name} | `{alias.target}` |" in text, "regenerate: python -m yolo_attn.tools.module_table"
