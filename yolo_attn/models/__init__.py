"""Attention modules, one file per family. Importing this package registers them all."""

from yolo_attn.models.cbam import CBAM, ChannelAttention, SpatialAttention
from yolo_attn.models.ema import EMA
from yolo_attn.models.se import SE
from yolo_attn.models.simam import SimAM
from yolo_attn.models.srm import SRM

__all__ = ("SE", "CBAM", "ChannelAttention", "SpatialAttention", "SimAM", "SRM", "EMA")
