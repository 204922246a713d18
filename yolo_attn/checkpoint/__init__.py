"""Reading checkpoints from strangers: one loader, safe by default (``load_checkpoint_safely``).

See ``loader.py`` for what is read how, ``scan.py`` for the format check and its caps, and docs/RELIABILITY.md
("Threat model").
"""

from yolo_attn.checkpoint.loader import (MAX_NC, TRUST_ENV, add_trust_arg, load_checkpoint_safely, trust_requested,
                                         use_trust, yolov5_to_model)
from yolo_attn.checkpoint.scan import MAX_OPCODES, MAX_PICKLE_BYTES, CheckpointScan, scan_checkpoint

__all__ = ("load_checkpoint_safely", "trust_requested", "TRUST_ENV", "MAX_NC", "MAX_OPCODES", "MAX_PICKLE_BYTES",
           "CheckpointScan", "scan_checkpoint", "yolov5_to_model", "add_trust_arg", "use_trust")
