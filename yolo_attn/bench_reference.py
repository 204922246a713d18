"""Former home of the seed reference code, kept as an import path for ``yolo_attn.bench``: it re-exports
:mod:`yolo_attn.reference.seed` (the single copy)."""

from yolo_attn.reference.seed import *  # noqa: F401,F403
from yolo_attn.reference.seed import SEED_OF, __all__  # noqa: F401
