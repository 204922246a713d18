"""REFERENCE CODE: the implementations yolo_attn's modules are held against, shipped so tests and benchmarks share
one copy. Not for use in models (unoptimised, with the originals' bugs: NaN on 1x1 maps, fixed input sizes).

* :mod:`yolo_attn.reference.seed`: the seed code (SE, CBAM, SimAM, SRM, EMA), ``SEED_OF`` maps shipped names to it;
* :mod:`yolo_attn.reference.official`: the authors' official code (ECA, CA, GAM, SA, NAM, TripletAttention, GC, BAM).
* :mod:`yolo_attn.reference.peers`: YOLOAir's classes (SEAttention, ShuffleAttention, NAMAttention, GAMAttention, SimAM).

Importing this package registers nothing and touches no ultralytics code.
"""

from yolo_attn.reference import official, peers, seed

__all__ = ("seed", "official", "peers")
