"""Attention modules, one file per family. Importing this package registers them all."""

from yolo_attn.models.bam import BAM
from yolo_attn.models.ca import CA
from yolo_attn.models.cbam import CBAM, ChannelAttention, SpatialAttention
from yolo_attn.models.eca import ECA
from yolo_attn.models.ema import EMA
from yolo_attn.models.gam import GAM
from yolo_attn.models.gcnet import GC
from yolo_attn.models.nam import NAM
from yolo_attn.models.sa import SA
from yolo_attn.models.se import SE
from yolo_attn.models.sge import SGE
from yolo_attn.models.simam import SimAM
from yolo_attn.models.srm import SRM
from yolo_attn.models.triplet import TripletAttention

from yolo_attn.registry import SHIPPED_MODULES

__all__ = (*SHIPPED_MODULES, "ChannelAttention", "SpatialAttention")
