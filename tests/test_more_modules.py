"""ECA, CA, GAM, SA, NAM, TripletAttention, GC and BAM compute their authors' function: same parameters -> same output.

The reference classes below restate the official forward passes operation by operation, with the official parameter
names and initialisation, so the official state dicts load into both (sources and commits in each docstring). They
are written plainly, not optimised; do not "fix" them.
"""

from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from module_checks import DEVICES, assert_same_function, randomise
from yolo_attn import BAM, CA, ECA, GAM, GC, NAM, SA, TripletAttention
from yolo_attn.models.eca import eca_kernel_size


# ---------------------------------------------------------------------------------------------------- references
class RefECA(nn.Module):
    """BangguWu/ECANet models/eca_module.py ``eca_layer`` (commit 4329104)."""

    def __init__(self, channel, k_size=3):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        y = self.avg_pool(x)
        y = self.conv(y.squeeze(-1).transpose(-1, -2)).transpose(-1, -2).unsqueeze(-1)
        return x * self.sigmoid(y).expand_as(x)


class RefHSigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3) / 6


class RefCoordAtt(nn.Module):
    """houqb/CoordAttention coordatt.py ``CoordAtt`` with its ``h_swish`` (commit a3f3490)."""

    def __init__(self, inp, oup, reduction=32):
        super().__init__()
        self.pool_h = nn.AdaptiveAvgPool2d((None, 1))
        self.pool_w = nn.AdaptiveAvgPool2d((1, None))
        mip = max(8, inp // reduction)
        self.conv1 = nn.Conv2d(inp, mip, kernel_size=1, stride=1, padding=0)
        self.bn1 = nn.BatchNorm2d(mip)
        self.hsig = RefHSigmoid()
        self.conv_h = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)
        self.conv_w = nn.Conv2d(mip, oup, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        n, c, h, w = x.size()
        x_h = self.pool_h(x)
        x_w = self.pool_w(x).permute(0, 1, 3, 2)
        y = self.bn1(self.conv1(torch.cat([x_h, x_w], dim=2)))
        y = y * self.hsig(y)  # h_swish
        x_h, x_w = torch.split(y, [h, w], dim=2)
        x_w = x_w.permute(0, 1, 3, 2)
        a_h = self.conv_h(x_h).sigmoid()
        a_w = self.conv_w(x_w).sigmoid()
        return x * a_w * a_h


class RefGAM(nn.Module):
    """``GAM_Attention`` as used in YOLO attention collections (z1069614715/objectdetection_script cv-attention/GAM.py);
    the GAM authors published no code."""

    def __init__(self, in_channels, rate=4):
        super().__init__()
        self.channel_attention = nn.Sequential(
            nn.Linear(in_channels, int(in_channels / rate)), nn.ReLU(inplace=True), nn.Linear(int(in_channels / rate), in_channels)
        )
        self.spatial_attention = nn.Sequential(
            nn.Conv2d(in_channels, int(in_channels / rate), kernel_size=7, padding=3),
            nn.BatchNorm2d(int(in_channels / rate)),
            nn.ReLU(inplace=True),
            nn.Conv2d(int(in_channels / rate), in_channels, kernel_size=7, padding=3),
            nn.BatchNorm2d(in_channels),
        )

    def forward(self, x):
        b, c, h, w = x.shape
        x_permute = x.permute(0, 2, 3, 1).reshape(b, -1, c)
        x_att_permute = self.channel_attention(x_permute).view(b, h, w, c)
        x = x * x_att_permute.permute(0, 3, 1, 2).sigmoid()
        return x * self.spatial_attention(x).sigmoid()


class RefSA(nn.Module):
    """wofmanaf/SA-Net models/sa_resnet.py ``sa_layer`` (commit 032f169)."""

    def __init__(self, channel, groups=64):
        super().__init__()
        self.groups = groups
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.cweight = nn.Parameter(torch.zeros(1, channel // (2 * groups), 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, channel // (2 * groups), 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, channel // (2 * groups), 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, channel // (2 * groups), 1, 1))
        self.sigmoid = nn.Sigmoid()
        self.gn = nn.GroupNorm(channel // (2 * groups), channel // (2 * groups))

    @staticmethod
    def channel_shuffle(x, groups):
        b, c, h, w = x.shape
        return x.reshape(b, groups, -1, h, w).permute(0, 2, 1, 3, 4).reshape(b, -1, h, w)

    def forward(self, x):
        b, c, h, w = x.shape
        x = x.reshape(b * self.groups, -1, h, w)
        x_0, x_1 = x.chunk(2, dim=1)
        xn = x_0 * self.sigmoid(self.cweight * self.avg_pool(x_0) + self.cbias)
        xs = x_1 * self.sigmoid(self.sweight * self.gn(x_1) + self.sbias)
        out = torch.cat([xn, xs], dim=1).reshape(b, -1, h, w)
        return self.channel_shuffle(out, 2)


class RefNAMChannel(nn.Module):
    """Christian-lyc/NAM MODELS/attention.py ``Channel_Att`` (commit 768b859), what ``Att(no_spatial=True)`` runs."""

    def __init__(self, channels, t=16):
        super().__init__()
        self.channels = channels
        self.bn2 = nn.BatchNorm2d(self.channels, affine=True)

    def forward(self, x):
        residual = x
        x = self.bn2(x)
        weight_bn = self.bn2.weight.data.abs() / torch.sum(self.bn2.weight.data.abs())
        x = x.permute(0, 2, 3, 1).contiguous()
        x = torch.mul(weight_bn, x)
        x = x.permute(0, 3, 1, 2).contiguous()
        x = F.relu(x)
        return torch.sigmoid(x) * residual


class RefBasicConv(nn.Module):
    def __init__(self, in_planes, out_planes, kernel_size, padding=0, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=kernel_size, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_planes, eps=1e-5, momentum=0.01, affine=True)
        self.relu = nn.ReLU() if relu else None

    def forward(self, x):
        x = self.bn(self.conv(x))
        return self.relu(x) if self.relu is not None else x


class RefAttentionGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = RefBasicConv(2, 1, 7, padding=3, relu=False)

    def forward(self, x):
        x_compress = torch.cat((torch.max(x, 1)[0].unsqueeze(1), torch.mean(x, 1).unsqueeze(1)), dim=1)  # ZPool
        return x * torch.sigmoid_(self.conv(x_compress))


class RefTriplet(nn.Module):
    """landskape-ai/triplet-attention triplet_attention.py ``TripletAttention`` (commit 096a043)."""

    def __init__(self, no_spatial=False):
        super().__init__()
        self.cw = RefAttentionGate()
        self.hc = RefAttentionGate()
        self.no_spatial = no_spatial
        if not no_spatial:
            self.hw = RefAttentionGate()

    def forward(self, x):
        x_out11 = self.cw(x.permute(0, 2, 1, 3).contiguous()).permute(0, 2, 1, 3).contiguous()
        x_out21 = self.hc(x.permute(0, 3, 2, 1).contiguous()).permute(0, 3, 2, 1).contiguous()
        if not self.no_spatial:
            return 1 / 3 * (self.hw(x) + x_out11 + x_out21)
        return 1 / 2 * (x_out11 + x_out21)


class RefContextBlock(nn.Module):
    """GCNet ``ContextBlock`` as maintained in open-mmlab/mmcv mmcv/cnn/bricks/context_block.py (commit 1d7b818), with
    mmengine's ``kaiming_init(mode="fan_in")`` and ``last_zero_init`` written out."""

    def __init__(self, in_channels, ratio, pooling_type="att", fusion_types=("channel_add",)):
        super().__init__()
        self.planes = int(in_channels * ratio)
        self.pooling_type = pooling_type
        if pooling_type == "att":
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.avg_pool = nn.AdaptiveAvgPool2d(1)

        def transform():
            return nn.Sequential(nn.Conv2d(in_channels, self.planes, kernel_size=1), nn.LayerNorm([self.planes, 1, 1]),
                                 nn.ReLU(inplace=True), nn.Conv2d(self.planes, in_channels, kernel_size=1))

        self.channel_add_conv = transform() if "channel_add" in fusion_types else None
        self.channel_mul_conv = transform() if "channel_mul" in fusion_types else None
        if pooling_type == "att":
            nn.init.kaiming_normal_(self.conv_mask.weight, a=0, mode="fan_in", nonlinearity="relu")
            nn.init.constant_(self.conv_mask.bias, 0)
        for t in (self.channel_add_conv, self.channel_mul_conv):
            if t is not None:
                nn.init.constant_(t[-1].weight, 0)
                nn.init.constant_(t[-1].bias, 0)

    def spatial_pool(self, x):
        batch, channel, height, width = x.size()
        if self.pooling_type == "att":
            input_x = x.view(batch, channel, height * width).unsqueeze(1)
            context_mask = self.softmax(self.conv_mask(x).view(batch, 1, height * width)).unsqueeze(-1)
            return torch.matmul(input_x, context_mask).view(batch, channel, 1, 1)
        return self.avg_pool(x)

    def forward(self, x):
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out


class RefFlatten(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class RefBAMChannelGate(nn.Module):
    """Jongchan/attention-module MODELS/bam.py ``ChannelGate`` (commit 459efa5). ``global_pool=True`` swaps the
    official ``avg_pool2d(x, H, stride=H)`` (the global average on square maps only) for the global average, as
    yolo_attn's BAM does on every shape."""

    def __init__(self, gate_channel, reduction_ratio=16, num_layers=1, global_pool=False):
        super().__init__()
        self.global_pool = global_pool
        self.gate_c = nn.Sequential()
        self.gate_c.add_module('flatten', RefFlatten())
        gate_channels = [gate_channel]
        gate_channels += [gate_channel // reduction_ratio] * num_layers
        gate_channels += [gate_channel]
        for i in range(len(gate_channels) - 2):
            self.gate_c.add_module('gate_c_fc_%d' % i, nn.Linear(gate_channels[i], gate_channels[i + 1]))
            self.gate_c.add_module('gate_c_bn_%d' % (i + 1), nn.BatchNorm1d(gate_channels[i + 1]))
            self.gate_c.add_module('gate_c_relu_%d' % (i + 1), nn.ReLU())
        self.gate_c.add_module('gate_c_fc_final', nn.Linear(gate_channels[-2], gate_channels[-1]))

    def forward(self, in_tensor):
        if self.global_pool:
            avg_pool = F.adaptive_avg_pool2d(in_tensor, 1)
        else:
            avg_pool = F.avg_pool2d(in_tensor, in_tensor.size(2), stride=in_tensor.size(2))
        return self.gate_c(avg_pool).unsqueeze(2).unsqueeze(3).expand_as(in_tensor)


class RefBAMSpatialGate(nn.Module):
    """Jongchan/attention-module MODELS/bam.py ``SpatialGate`` (commit 459efa5)."""

    def __init__(self, gate_channel, reduction_ratio=16, dilation_conv_num=2, dilation_val=4):
        super().__init__()
        self.gate_s = nn.Sequential()
        self.gate_s.add_module('gate_s_conv_reduce0', nn.Conv2d(gate_channel, gate_channel // reduction_ratio, kernel_size=1))
        self.gate_s.add_module('gate_s_bn_reduce0', nn.BatchNorm2d(gate_channel // reduction_ratio))
        self.gate_s.add_module('gate_s_relu_reduce0', nn.ReLU())
        for i in range(dilation_conv_num):
            self.gate_s.add_module('gate_s_conv_di_%d' % i, nn.Conv2d(gate_channel // reduction_ratio, gate_channel // reduction_ratio,
                                                                      kernel_size=3, padding=dilation_val, dilation=dilation_val))
            self.gate_s.add_module('gate_s_bn_di_%d' % i, nn.BatchNorm2d(gate_channel // reduction_ratio))
            self.gate_s.add_module('gate_s_relu_di_%d' % i, nn.ReLU())
        self.gate_s.add_module('gate_s_conv_final', nn.Conv2d(gate_channel // reduction_ratio, 1, kernel_size=1))

    def forward(self, in_tensor):
        return self.gate_s(in_tensor).expand_as(in_tensor)


class RefBAM(nn.Module):
    """Jongchan/attention-module MODELS/bam.py ``BAM`` (commit 459efa5); ``reduction_ratio`` and ``dilation_val``
    passed through (the official class fixes them at 16 and 4)."""

    def __init__(self, gate_channel, reduction_ratio=16, dilation_val=4, global_pool=False):
        super().__init__()
        self.channel_att = RefBAMChannelGate(gate_channel, reduction_ratio, global_pool=global_pool)
        self.spatial_att = RefBAMSpatialGate(gate_channel, reduction_ratio, dilation_val=dilation_val)

    def forward(self, in_tensor):
        att = 1 + torch.sigmoid(self.channel_att(in_tensor) * self.spatial_att(in_tensor))
        return att * in_tensor


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
}
SHAPES = [(2, 64, 8, 8), (3, 64, 5, 7), (2, 64, 1, 9)]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("case", sorted(CASES))
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
        (lambda: CA(16, 32), "reduction 32 is larger than the 16 input channels"),
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
    ids=["ECA-even", "ECA-zero", "CA-big-r", "GAM-r0", "SA-groups", "SA-float", "NAM-c0", "Triplet-flag", "GC-pool",
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
TABLE = Path(__file__).resolve().parents[1] / "docs" / "MODULES.md"


def _table_rows() -> dict[str, list[str]]:
    rows = [line.strip("|").split(" | ") for line in TABLE.read_text().splitlines() if line.startswith("| `")]
    return {cells[0].strip("` "): [c.strip() for c in cells] for cells in rows}


def test_module_table_lists_every_registered_module():
    from yolo_attn.module_table import package_modules

    assert set(_table_rows()) == set(package_modules()), "regenerate: python -m yolo_attn.module_table"
    assert len(package_modules()) >= 12


def test_module_table_rows_are_what_the_code_computes():
    """CA (cost grows with H + W) and SimAM (no parameters, no channels) recomputed; the export column is checked by
    tests/test_export.py."""
    from yolo_attn.module_table import module_rows, render

    fresh = {cells[0].strip("` "): cells for cells in
             (line.strip("|").split(" | ") for line in render(module_rows(["CA", "SimAM"], export=False)).splitlines()
              if line.startswith("| `"))}
    table = _table_rows()
    export_col = 7
    for name in ("CA", "SimAM"):
        got = [c.strip() for c in fresh[name]]
        assert got[:export_col] + got[export_col + 1:] == table[name][:export_col] + table[name][export_col + 1:]
    assert table["CA"][4] == "25,648" and table["SimAM"][4] == "0" and table["SimAM"][6] == "no"
    # CA adds 2 x (512*16*40 + 2 * 16*512*20) MACs-ish, far below the 0.026 that stride-proxy extrapolation reports
    assert float(table["CA"][5]) < 0.005
    assert all(cell.startswith("ONNX ✓, TorchScript ✓, dynamic ONNX ✓") for cell in (r[export_col] for r in table.values()))


def test_module_table_parses_citations_and_channel_needs():
    from yolo_attn import get_attention
    from yolo_attn.module_table import needs_channels, package_modules, paper_info

    for name in package_modules():
        info = paper_info(get_attention(name))
        assert info["url"].startswith("http") and 2015 <= int(info["year"]) <= 2026, name
    assert paper_info(ECA)["title"].startswith("ECA-Net") and paper_info(ECA)["venue"] == "CVPR"
    assert [needs_channels(c) for c in (ECA, CA, TripletAttention)] == [False, True, False]
