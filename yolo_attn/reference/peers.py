"""REFERENCE CODE, not for use in models: YOLOAir's attention classes, restated operation by operation.

iscyy/yoloair (commit 29a8465) ``models/Models/Attention/{SEAttention,ShuffleAttention,NAMAttention,GAMAttention,
SimAM}.py``, with their parameter names, signatures and defaults, so their state dicts load into yolo_attn's modules.
``tests/models/test_aliases.py`` holds every alias (``yolo_attn.graph.aliases``) against these, the seed classes
(``reference/seed.py``) and the official ones (``reference/official.py``). Written plainly; do not "fix" them (the
GAMAttention without a sigmoid on its channel weights is YOLOAir's code as it is).
"""

import torch
import torch.nn as nn

from yolo_attn.reference.official import RefNAMChannel
from yolo_attn.reference.seed import Simam_module

__all__ = ("AirSEAttention", "AirShuffleAttention", "AirChannelAtt", "AirNAMAttention", "AirGAMAttention",
           "air_channel_shuffle", "AirSimAM", "LeakyMLPCBAM", "BNSpatialCBAM", "BiasFreeCoordAtt", "FloorSE",
           "ReplicateGAM")


class AirSEAttention(nn.Module):
    """YOLOAir ``SEAttention(channel=512, reduction=16)``: bias-free MLP, as seed 001."""

    def __init__(self, channel=512, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, channel // reduction, bias=False), nn.ReLU(inplace=True),
                                nn.Linear(channel // reduction, channel, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class AirShuffleAttention(nn.Module):
    """YOLOAir ``ShuffleAttention(channel=512, reduction=16, G=8)``; ``reduction`` is never used."""

    def __init__(self, channel=512, reduction=16, G=8):
        super().__init__()
        self.G = G
        self.channel = channel
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.gn = nn.GroupNorm(channel // (2 * G), channel // (2 * G))
        self.cweight = nn.Parameter(torch.zeros(1, channel // (2 * G), 1, 1))
        self.cbias = nn.Parameter(torch.ones(1, channel // (2 * G), 1, 1))
        self.sweight = nn.Parameter(torch.zeros(1, channel // (2 * G), 1, 1))
        self.sbias = nn.Parameter(torch.ones(1, channel // (2 * G), 1, 1))
        self.sigmoid = nn.Sigmoid()

    @staticmethod
    def channel_shuffle(x, groups):
        b, c, h, w = x.shape
        x = x.reshape(b, groups, -1, h, w).permute(0, 2, 1, 3, 4)
        return x.reshape(b, -1, h, w)

    def forward(self, x):
        b, c, h, w = x.size()
        x = x.view(b * self.G, -1, h, w)
        x_0, x_1 = x.chunk(2, dim=1)
        x_channel = self.avg_pool(x_0)
        x_channel = self.cweight * x_channel + self.cbias
        x_channel = x_0 * self.sigmoid(x_channel)
        x_spatial = self.gn(x_1)
        x_spatial = self.sweight * x_spatial + self.sbias
        x_spatial = x_1 * self.sigmoid(x_spatial)
        out = torch.cat([x_channel, x_spatial], dim=1)
        out = out.contiguous().view(b, -1, h, w)
        return self.channel_shuffle(out, 2)


class AirChannelAtt(RefNAMChannel):
    """YOLOAir ``Channel_Att(channels, t=16)`` (NAM's channel attention, no ReLU): the official ``Channel_Att``
    (``reference/official.py`` ``RefNAMChannel``), the same code."""


class AirNAMAttention(nn.Module):
    """YOLOAir ``NAMAttention(channels, out_channels=None, no_spatial=True)``: the channel attention only."""

    def __init__(self, channels, out_channels=None, no_spatial=True):
        super().__init__()
        self.Channel_Att = AirChannelAtt(channels)

    def forward(self, x):
        return self.Channel_Att(x)


def air_channel_shuffle(x, groups=2):
    b, c, h, w = x.size()
    out = x.view(b, groups, c // groups, h, w).permute(0, 2, 1, 3, 4).contiguous()
    return out.view(b, c, h, w)


class AirGAMAttention(nn.Module):
    """YOLOAir ``GAMAttention(c1, c2, group=True, rate=4)``: no sigmoid on the channel MLP's output; grouped 7x7 convs
    when ``group``; the spatial weights shuffled in 4 groups."""

    def __init__(self, c1, c2, group=True, rate=4):
        super().__init__()
        self.channel_attention = nn.Sequential(nn.Linear(c1, int(c1 / rate)), nn.ReLU(inplace=True),
                                               nn.Linear(int(c1 / rate), c1))
        self.spatial_attention = nn.Sequential(
            nn.Conv2d(c1, c1 // rate, kernel_size=7, padding=3, groups=rate) if group else
            nn.Conv2d(c1, int(c1 / rate), kernel_size=7, padding=3),
            nn.BatchNorm2d(int(c1 / rate)),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1 // rate, c2, kernel_size=7, padding=3, groups=rate) if group else
            nn.Conv2d(int(c1 / rate), c2, kernel_size=7, padding=3),
            nn.BatchNorm2d(c2),
        )

    def forward(self, x):
        b, c, h, w = x.shape
        x_permute = x.permute(0, 2, 3, 1).view(b, -1, c)
        x_att_permute = self.channel_attention(x_permute).view(b, h, w, c)
        x_channel_att = x_att_permute.permute(0, 3, 1, 2)
        x = x * x_channel_att
        x_spatial_att = self.spatial_attention(x).sigmoid()
        x_spatial_att = air_channel_shuffle(x_spatial_att, 4)
        return x * x_spatial_att


class AirSimAM(Simam_module):
    """YOLOAir ``SimAM(channels=None, e_lambda=1e-4)`` (the official simam_module under another name): the seed's
    ``Simam_module``, the same code."""


# ------------------------------------------------------------------ second corpus (tests/graph/yamls_wild_2): fork classes
class LeakyMLPCBAM(nn.Module):
    """Star-Cheng/yolov8-attention ``ultralytics/nn/modules/block.py`` ``CBAM(c1, c2)`` (c2 unused; "By CSDN 小哥谈"):
    biased Linear MLP c1 -> c1 // 16 with LeakyReLU(0.1), then a biased 7x7 conv on [mean, max]."""

    def __init__(self, c1, c2=None, reduction=16):
        super().__init__()
        self.avg_pool, self.max_pool = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)
        self.shared_MLP = nn.Sequential(nn.Linear(c1, c1 // reduction), nn.LeakyReLU(0.1, inplace=True),
                                        nn.Linear(c1 // reduction, c1))
        self.conv2d = nn.Conv2d(2, 1, kernel_size=7, stride=1, padding=3)

    def forward(self, x):
        avg = self.shared_MLP(self.avg_pool(x).view(x.size(0), -1)).unsqueeze(2).unsqueeze(3)
        mx = self.shared_MLP(self.max_pool(x).view(x.size(0), -1)).unsqueeze(2).unsqueeze(3)
        out = torch.sigmoid(avg + mx) * x
        s = torch.cat([torch.mean(out, dim=1, keepdim=True), torch.max(out, dim=1, keepdim=True)[0]], dim=1)
        return torch.sigmoid(self.conv2d(s)) * out


class BNSpatialCBAM(nn.Module):
    """zesong01/visdrone-yolov8-attention ``ultralytics/ultralytics/nn/modules/attention.py`` ``CBAM(channels,
    reduction=16, kernel_size=7)``: hidden ``max(8, channels // reduction)``, a BatchNorm after the spatial conv."""

    def __init__(self, channels, reduction=16, kernel_size=7):
        super().__init__()
        self.avg_pool, self.max_pool = nn.AdaptiveAvgPool2d(1), nn.AdaptiveMaxPool2d(1)
        mid = max(8, channels // reduction)
        self.fc = nn.Sequential(nn.Conv2d(channels, mid, 1, bias=False), nn.ReLU(inplace=True),
                                nn.Conv2d(mid, channels, 1, bias=False))
        self.spatial_conv = nn.Sequential(nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False),
                                          nn.BatchNorm2d(1), nn.Sigmoid())

    def forward(self, x):
        x = x * torch.sigmoid(self.fc(self.avg_pool(x)) + self.fc(self.max_pool(x)))
        return x * self.spatial_conv(torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1))


class BiasFreeCoordAtt(nn.Module):
    """zesong01/visdrone-yolov8-attention ``ultralytics/ultralytics/nn/modules/attention.py`` ``CoordAtt(channels,
    reduction=32)``: the official structure with bias-free convs and Hardswish."""

    def __init__(self, channels, reduction=32):
        super().__init__()
        self.pool_h, self.pool_w = nn.AdaptiveAvgPool2d((None, 1)), nn.AdaptiveAvgPool2d((1, None))
        mid = max(8, channels // reduction)
        self.conv1 = nn.Conv2d(channels, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act = nn.Hardswish(inplace=True)
        self.conv_h = nn.Conv2d(mid, channels, 1, bias=False)
        self.conv_w = nn.Conv2d(mid, channels, 1, bias=False)

    def forward(self, x):
        n, c, h, w = x.size()
        y = torch.cat([self.pool_h(x), self.pool_w(x).permute(0, 1, 3, 2)], dim=2)
        x_h, x_w = torch.split(self.act(self.bn1(self.conv1(y))), [h, w], dim=2)
        return x * torch.sigmoid(self.conv_h(x_h)) * torch.sigmoid(self.conv_w(x_w.permute(0, 1, 3, 2)))


class FloorSE(nn.Module):
    """kendyle2702/ultralytics_optimized ``ultralytics/nn/modules/conv.py`` ``SE(c1, reduction=16)``: 1x1 convs without
    bias, hidden ``max(c1 // reduction, 8)`` (a floor of 8 the paper's SE has not)."""

    def __init__(self, c1, reduction=16):
        super().__init__()
        c_ = max(c1 // reduction, 8)
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Conv2d(c1, c_, 1, bias=False), nn.ReLU(inplace=True),
                                nn.Conv2d(c_, c1, 1, bias=False), nn.Sigmoid())

    def forward(self, x):
        return x * self.fc(self.avg_pool(x))


class ReplicateGAM(nn.Module):
    """kendyle2702/ultralytics_optimized ``ultralytics/nn/modules/conv.py`` ``GAM(c1, rate=4)``: hidden
    ``max(int(c1 / rate), 8)``, 7x7 convs with ``padding_mode="replicate"`` and no sigmoid on the channel weights."""

    def __init__(self, c1, rate=4):
        super().__init__()
        c_ = max(int(c1 / rate), 8)
        self.linear1, self.linear2 = nn.Linear(c1, c_), nn.Linear(c_, c1)
        self.conv1 = nn.Conv2d(c1, c_, kernel_size=7, padding=3, padding_mode="replicate")
        self.norm1 = nn.BatchNorm2d(c_)  # registered in the order the fork's forward uses them
        self.conv2 = nn.Conv2d(c_, c1, kernel_size=7, padding=3, padding_mode="replicate")
        self.norm2 = nn.BatchNorm2d(c1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        b, c, h, w = x.shape
        x_ch = self.linear2(self.relu(self.linear1(x.permute(0, 2, 3, 1).reshape(b, -1, c))))
        x = x * x_ch.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return x * torch.sigmoid(self.norm2(self.conv2(self.relu(self.norm1(self.conv1(x))))))
