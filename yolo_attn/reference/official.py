"""REFERENCE CODE, not for use in models: the authors' official modules, restated operation by operation.

ECA, CA, GAM, SA, NAM, TripletAttention, GC, BAM and SGE as their official repositories write them (sources and commits in
each docstring), with the official parameter names and initialisation, so the official state dicts load into both
these and yolo_attn's modules. ``tests/models/test_more_modules.py`` holds each shipped module against them. They are written
plainly, not optimised; do not "fix" them.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ("RefECA", "RefHSigmoid", "RefCoordAtt", "RefGAM", "RefSA", "RefNAMChannel", "RefBasicConv", "RefAttentionGate", "RefTriplet", "RefContextBlock", "RefFlatten", "RefBAMChannelGate", "RefBAMSpatialGate", "RefBAM", "RefSGE")


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
    """houqb/CoordAttention (Andrew-Qibin) coordatt.py ``CoordAtt`` with its ``h_swish`` (commit a3f3490); hidden width
    ``max(8, inp // reduction)``."""

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
    """Christian-lyc/NAM MODELS/attention.py ``Channel_Att`` (current version, commit c76abf4), what ``Att`` runs;
    no ReLU (the superseded commit 768b859 had ``F.relu`` before the sigmoid)."""

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


class RefSGE(nn.Module):
    """implus/PytorchInsight classification/models/imagenet/resnet_sge.py ``SpatialGroupEnhance(groups=64)``."""

    def __init__(self, groups=64):
        super().__init__()
        self.groups = groups
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.weight = nn.Parameter(torch.zeros(1, groups, 1, 1))
        self.bias = nn.Parameter(torch.ones(1, groups, 1, 1))
        self.sig = nn.Sigmoid()

    def forward(self, x):
        b, c, h, w = x.size()
        x = x.view(b * self.groups, -1, h, w)
        xn = x * self.avg_pool(x)
        xn = xn.sum(dim=1, keepdim=True)
        t = xn.view(b * self.groups, -1)
        t = t - t.mean(dim=1, keepdim=True)
        std = t.std(dim=1, keepdim=True) + 1e-5
        t = t / std
        t = t.view(b, self.groups, h, w)
        t = t * self.weight + self.bias
        t = t.view(b * self.groups, 1, h, w)
        x = x * self.sig(t)
        x = x.view(b, c, h, w)
        return x
