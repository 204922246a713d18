"""yolo_attn: attention modules (SE, CBAM, SimAM, SRM, EMA, ECA, CA, GAM, SA, NAM, TripletAttention, GC, BAM) for
ultralytics YOLOv5 detectors.

``import yolo_attn`` registers the modules with ultralytics' yaml model builder, so a model yaml can say
``[-1, 1, SimAM, []]`` and ``YOLO("yolov5s-ema.yaml")`` finds the shipped configs.
"""

__version__ = "0.1.0"

from yolo_attn.registry import (  # noqa: E402
    ATTENTION_REGISTRY, SHIPPED_MODULES, add_registry_listener, get_attention, register_attention, remove_registry_listener,
)
from yolo_attn.models import *  # noqa: E402,F401,F403  (registers the modules; exports SHIPPED_MODULES' classes)
from yolo_attn.plugin import hook as _hook  # noqa: E402

_hook.install()

from yolo_attn.plugin import safe_load as _safe_load  # noqa: E402

_safe_load.install()  # allow-list our module classes for ULTRALYTICS_SAFE_LOAD=1 (weights-only) checkpoint loading

from yolo_attn.plugin.hook import CONFIG_DIR, SUPPORTED_ULTRALYTICS, shipped_configs  # noqa: E402
from yolo_attn.engine.compile import compile_attention  # noqa: E402
from yolo_attn.graph.placement import insert_attention, write_model_yaml  # noqa: E402
from yolo_attn.graph.checks import check_graph  # noqa: E402
from yolo_attn.graph.transfer import load_weights  # noqa: E402
from yolo_attn.checkpoint import load_checkpoint_safely  # noqa: E402

__all__ = (
    *SHIPPED_MODULES,
    "ATTENTION_REGISTRY", "register_attention", "get_attention", "add_registry_listener", "remove_registry_listener",
    "CONFIG_DIR", "SUPPORTED_ULTRALYTICS", "shipped_configs", "compile_attention", "__version__",
    "insert_attention", "write_model_yaml", "check_graph", "load_weights", "load_checkpoint_safely",
)

from yolo_attn.user_imports import import_from_env as _import_from_env  # noqa: E402

_import_from_env()  # $YOLO_ATTN_IMPORT=mod1,mod2: users' modules, here and in DDP workers and Ray trials
