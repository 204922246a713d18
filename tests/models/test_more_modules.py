"""ECA, CA, GAM, SA, NAM, TripletAttention, GC, BAM and SGE compute their authors' function: same parameters -> same output.

The reference classes restate the official forward passes (``yolo_attn.reference.official``, the one copy the tests
and the benchmark share).
"""

from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from module_checks import assert_same_function, over_cases_shapes_modes_devices, randomise
from yolo_attn.reference.official import (
    RefBAM, RefCoordAtt, RefContextBlock, RefECA, RefGAM, RefNAMChannel, RefSA, RefSGE, RefTriplet,
)
from yolo_attn import BAM, CA, ECA, GAM, GC, NAM, SA, SGE, TripletAttention
from yolo_attn.models.eca import eca_kernel_size


# ---------------------------------------------------------------------------------------------------- equivalence
CASES = {
    "ECA-k3": (lambda c: RefECA(c, 3), lambda c: ECA(c, 3)),
    "ECA-k5": (lambda c: RefECA(c, 5), lambda c: ECA(c, 5)),
    "CA-r32": (lambda c: RefCoordAtt(c, c, 32), lambda c: CA(c, 32)),
    "CA-r4": (lambda c: RefCoordAtt(c, c, 4), lambda c: CA(c, 4)),
    "GAM-r4": (lambda c: RefGAM(c, 4), lambda c: GAM(c, 4)),
    "SA-g4": (lambda c: RefSA(c, 4), lambda c: SA(c, 4)),
    "SA-g32": (lambda c: RefSA(c, 32), lambda c: SA(c, 32)),
    "NAM": (lambda c: RefNAMChannel(c), lambda c: NAM(c)),
    "Triplet": (lambda c: RefTriplet(), lambda c: TripletAttention(c)),
    "Triplet-nospatial": (lambda c: RefTriplet(no_spatial=True), lambda c: TripletAttention(c, no_spatial=True)),
    "GC-r16-att-add": (lambda c: RefContextBlock(c, 1 / 16), lambda c: GC(c, 16)),
    "GC-r4-avg-mul-add": (lambda c: RefContextBlock(c, 1 / 4, "avg", ("channel_add", "channel_mul")),
                          lambda c: GC(c, 4, "avg", ["channel_add", "channel_mul"])),
    "GC-r8-att-mul": (lambda c: RefContextBlock(c, 1 / 8, "att", ("channel_mul",)), lambda c: GC(c, 8, "att", ["channel_mul"])),
    "BAM-r16-d4": (lambda c: RefBAM(c, global_pool=True), lambda c: BAM(c)),
    "BAM-r4-d2": (lambda c: RefBAM(c, 4, 2, global_pool=True), lambda c: BAM(c, 4, 2)),
    "SGE-g64": (lambda c: RefSGE(64), lambda c: SGE(c)),
    "SGE-g8": (lambda c: RefSGE(8), lambda c: SGE(c, 8)),
}
SHAPES = [(2, 64, 8, 8), (3, 64, 5, 7), (2, 64, 1, 9)]


@over_cases_shapes_modes_devices(CASES, SHAPES)
def test_same_function_as_official_code(case, shape, train, device):
    make_ref, make_ours = CASES[case]
    ref, ours = make_ref(shape[1]), make_ours(shape[1])
    randomise(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)  # the official names load unchanged
    assert_same_function(ref, ours, shape, train, param_grads=True, device=device)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fresh_modules_have_the_official_initialisation(case):
    """Built the same way, ours and the official class start with the same parameter shapes and init-time values."""
    make_ref, make_ours = CASES[case]
    torch.manual_seed(3)
    ref = make_ref(64)
    torch.manual_seed(3)
    ours = make_ours(64)
    ref_state, state = ref.state_dict(), ours.state_dict()
    assert list(state) == list(ref_state)
    for k in state:
        torch.testing.assert_close(state[k], ref_state[k], msg=k)


# ---------------------------------------------------------------------------------------------------- weights methods
def _eval_random(module):
    randomise(module)
    return module.eval()


@pytest.mark.parametrize("make", [lambda: ECA(64, 3), lambda: NAM(64), lambda: GAM(64, 4)], ids=["ECA", "NAM", "GAM"])
def test_channel_weights_are_what_forward_multiplies_by(make):
    m = _eval_random(make())
    x = torch.randn(2, 64, 6, 5)
    wts = m.channel_weights(x)
    assert wts.shape[:2] == (2, 64) and ((wts >= 0) & (wts <= 1)).all()  # sigmoid; saturates in fp32
    if isinstance(m, GAM):  # channel step, then the spatial step on its output
        torch.testing.assert_close(m(x), x * wts * m.spatial_weights(x))
    else:
        torch.testing.assert_close(m(x), x * wts)


def test_nam_weights_span_zero_to_one_without_a_relu():
    """sigmoid(bn(x) * share), no ReLU: channels can be suppressed below half (a ReLU would floor the weights at 0.5)."""
    m = _eval_random(NAM(64))
    wts = m.channel_weights(torch.randn(2, 64, 6, 5) * 20)
    assert wts.min() < 0.3 and wts.max() > 0.7


def test_ca_accepts_a_reduction_larger_than_its_channels_like_the_official_code():
    """CoordAtt(16, 16) with reduction 32 has max(8, 16 // 32) = 8 hidden units and computes the official function."""
    ref, ours = RefCoordAtt(16, 16, 32), CA(16)
    assert ours.conv1.out_channels == ref.conv1.out_channels == 8
    randomise(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert_same_function(ref, ours, (2, 16, 6, 5), train=True, param_grads=True)


@pytest.mark.parametrize("make", [lambda: CA(64, 8), lambda: TripletAttention(64)], ids=["CA", "Triplet"])
def test_spatial_weights_are_what_forward_multiplies_by(make):
    m = _eval_random(make())
    x = torch.randn(2, 64, 6, 5)
    wts = m.spatial_weights(x)
    assert wts.shape == x.shape and ((wts >= 0) & (wts <= 1)).all()  # sigmoid; saturates in fp32
    torch.testing.assert_close(m(x), x * wts)


def test_gc_starts_as_identity_and_its_weights_are_the_context_pooling():
    m = GC(64).eval()
    x = torch.randn(2, 64, 6, 5)
    torch.testing.assert_close(m(x), x)  # zero-initialised last conv, as official
    randomise(m)
    wts = m.spatial_weights(x)
    assert wts.shape == (2, 1, 6, 5)
    torch.testing.assert_close(wts.sum((2, 3)), torch.ones(2, 1))
    context = (x * wts).sum((2, 3), keepdim=True)
    torch.testing.assert_close(m(x), x + m.channel_add_conv(context))


def test_ca_weights_vary_only_along_their_own_axis():
    a_h, a_w = _eval_random(CA(64, 8)).hw_weights(torch.randn(2, 64, 6, 5))
    assert a_h.shape == (2, 64, 6, 1) and a_w.shape == (2, 64, 1, 5)


def test_sa_weights_are_the_two_halves_before_the_shuffle():
    m = _eval_random(SA(64, 4))
    x = torch.randn(2, 64, 6, 5)
    cw, sw = m.channel_weights(x), m.spatial_weights(x)
    assert cw.shape == (2, 32, 1, 1) and sw.shape == (2, 32, 6, 5)
    g = x.reshape(8, 16, 6, 5)
    halves = torch.cat((g[:, :8] * cw.reshape(8, 8, 1, 1), g[:, 8:] * sw.reshape(8, 8, 6, 5)), 1).reshape(2, 64, 6, 5)
    shuffled = halves.reshape(2, 2, 32, 6, 5).transpose(1, 2).reshape(2, 64, 6, 5)
    torch.testing.assert_close(m(x), shuffled)
    k = 64 // (2 * 4)
    ids = [(j // k) * 2 * k + j % k for j in range(32)]  # the input channels the channel weights apply to
    xn = x[:, ids] * cw
    torch.testing.assert_close(halves[:, ids], xn)
    # the shuffle interleaves: output channel 2k comes from the first half, 2k+1 from the second
    torch.testing.assert_close(m(x)[:, 1::2], halves[:, 32:])


# ---------------------------------------------------------------------------------------------------- arguments
def test_eca_adaptive_kernel_follows_the_paper():
    # k = |(log2 C + 1) / 2|, made odd (ECA-Net eq. 12, gamma=2, b=1)
    assert [eca_kernel_size(c) for c in (64, 128, 256, 512, 1024)] == [3, 5, 5, 5, 5]
    assert eca_kernel_size(8192) == 7
    assert ECA(512, None).conv.kernel_size == (5,)
    assert ECA(512).conv.kernel_size == (3,)  # the official eca_layer default


def test_defaults_match_the_official_code():
    assert CA(256).conv1.out_channels == 8 and CA(1024).conv1.out_channels == 32  # max(8, C // 32)
    assert GAM(64).channel_attention[0].out_features == 16  # rate 4
    assert SA(256).groups == 64 and SA(256).cweight.shape == (1, 2, 1, 1)
    assert set(dict(TripletAttention(8).named_children())) == {"cw", "hc", "hw"}
    assert TripletAttention(8).cw.conv.bn.momentum == 0.01


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ECA(64, 4), "positive odd integer"),
        (lambda: ECA(64, 0), "positive odd integer"),
        (lambda: CA(16, 0), "reduction must be a positive integer"),
        (lambda: GAM(64, 0), "reduction must be a positive integer"),
        (lambda: SA(96, 64), "96 channels, groups 64 .*write groups 16"),
        (lambda: SA(64, 2.5), "positive integer"),
        (lambda: NAM(0), "positive integer channel count"),
        (lambda: TripletAttention(64, "yes"), "True or False"),
        (lambda: GC(64, 16, "max"), "'att' or 'avg'"),
        (lambda: GC(64, 16, "att", ["channel_sum"]), r"write e.g. \[channel_add\]"),
        (lambda: BAM(64, 128), "reduction 128 is larger than the 64 input channels"),
        (lambda: BAM(64, 16, 0), "BAM dilation must be a positive integer"),
    ],
    ids=["ECA-even", "ECA-zero", "CA-r0", "GAM-r0", "SA-groups", "SA-float", "NAM-c0", "Triplet-flag", "GC-pool",
         "GC-fusion", "BAM-big-r", "BAM-dilation"],
)
def test_bad_arguments_raise_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_bad_yaml_argument_names_the_layer():
    from ultralytics.nn.tasks import parse_model

    d = {"yaml_file": "my-sa.yaml", "backbone": [[-1, 1, "Conv", [48, 3, 2]], [-1, 1, "SA", [64]]], "head": []}
    with pytest.raises(ValueError, match=r"my-sa.yaml: layer 1 .*48 input channels.*write groups 8"):
        parse_model(d, 3, verbose=False)



def test_bam_equals_the_unmodified_official_code_on_square_maps_and_departs_only_where_it_breaks():
    ref = RefBAM(64)  # the official avg_pool2d(x, H, stride=H)
    randomise(ref)
    ours = BAM(64)
    ours.load_state_dict(ref.state_dict(), strict=True)
    ref.eval(), ours.eval()
    with torch.no_grad():
        x = torch.randn(2, 64, 8, 8)
        torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=1e-5)
        x = torch.randn(2, 64, 5, 9)  # rectangular: the official pool averages only the left 5x5 block
        assert (ours(x) - ref(x)).abs().max() > 1e-3
        with pytest.raises(RuntimeError):  # H = 1: the official pool keeps W columns and the Linear breaks
            ref(torch.randn(2, 64, 1, 9))
        assert ours(torch.randn(2, 64, 1, 9)).shape == (2, 64, 1, 9)
    ours.train(), ref.train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        ref(torch.randn(1, 64, 8, 8))  # official BatchNorm1d on a training batch of one
    before = ours.channel_att.gate_c.gate_c_bn_1.running_mean.clone()
    y = ours(x1 := torch.randn(1, 64, 8, 8))  # ours: the running statistics, left unchanged
    assert y.shape == x1.shape and torch.isfinite(y).all()
    torch.testing.assert_close(ours.channel_att.gate_c.gate_c_bn_1.running_mean, before)


def test_bam_spatial_weights_are_its_attention_map():
    m = _eval_random(BAM(64, 8))
    x = torch.randn(2, 64, 6, 5)
    wts = m.spatial_weights(x)
    assert wts.shape == x.shape and ((wts > 0) & (wts < 1)).all()
    torch.testing.assert_close(m(x), x * (1 + wts))

# ---------------------------------------------------------------------------------------------------- module table
TABLE = Path(__file__).resolve().parents[2] / "docs" / "MODULES.md"


def _table_rows() -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in TABLE.read_text().splitlines() if line.startswith("| `")]
    return {cells[0].strip("` "): [c.strip() for c in cells] for cells in rows}


def test_module_table_lists_every_registered_module():
    from yolo_attn.tools.module_table import package_modules

    assert set(_table_rows()) == set(package_modules()), "regenerate: python -m yolo_attn.tools.module_table"
    assert len(package_modules()) >= 12


def test_module_table_rows_are_what_the_code_computes():
    """CA (cost grows with H + W) and SimAM (no parameters, no channels) recomputed by the generator and, independently,
    from the modules themselves; the committed table must hold the same rows. The export column is checked by
    tests/test_export.py."""
    from ultralytics.nn.tasks import DetectionModel

    from yolo_attn.tools.module_table import module_rows, render

    fresh = {cells[0].strip("` "): [c.strip() for c in cells] for cells in
             (line.strip("|").split(" | ") for line in render(module_rows(["CA", "SimAM"], export=False)).splitlines()
              if line.startswith("| `"))}
    table = _table_rows()
    export_col = 7
    for name in ("CA", "SimAM"):
        got = fresh[name]
        assert got[:export_col] + got[export_col + 1:] == table[name][:export_col] + table[name][export_col + 1:]
    # independently: the module yolov5s-ca.yaml inserts, its parameters, and its MACs on yolov5s's P5 map at 640
    layer = DetectionModel("yolov5s-ca.yaml", verbose=False).model[9]
    c, (h, w) = 512, (20, 20)  # layer 8 of yolov5s: 1024 * 0.5 channels at stride 32
    assert type(layer) is CA and layer.conv1.in_channels == c
    mip = max(8, c // 32)
    params = (c * mip + mip) + 2 * mip + 2 * (mip * c + c)  # conv1, bn1, conv_h, conv_w
    assert int(fresh["CA"][4].replace(",", "")) == params == sum(p.numel() for p in CA(c).parameters())
    macs = (h + w) * (c * mip) + h * (mip * c) + w * (mip * c)  # the 1x1 convs over the H + W strips
    assert abs(float(fresh["CA"][5]) - 2 * macs / 1e9) <= 0.0015  # the table rounds to 3 decimals; pools/BN add a little
    assert fresh["SimAM"][4] == "0" and fresh["SimAM"][6] == "no" and fresh["CA"][6] == "yes"
    assert all(cell.startswith("ONNX ✓, TorchScript ✓, dynamic ONNX ✓") for cell in (r[export_col] for r in table.values()))


def test_module_table_parses_citations_and_channel_needs():
    from yolo_attn import get_attention
    from yolo_attn.tools.module_table import needs_channels, package_modules, paper_info

    for name in package_modules():
        info = paper_info(get_attention(name))
        assert info["url"].startswith("http") and 2015 <= int(info["year"]) <= 2026, name
    assert paper_info(ECA)["title"].startswith("ECA-Net") and paper_info(ECA)["venue"] == "CVPR"
    assert [needs_channels(c) for c in (ECA, CA, TripletAttention)] == [False, True, False]
