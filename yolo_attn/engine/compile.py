"""Opt-in ``torch.compile`` of the attention modules inside a model.

Only the attention modules are compiled, each as its own small graph, so the rest of the detector (and
ultralytics' training loop, EMA copies, fusing and export) runs exactly as without the switch. ``nn.Module.compile``
compiles in place and keeps the module object: parameter names, state dicts and pickled checkpoints are unchanged
(a deep copy or a loaded checkpoint is eager again; call ``compile_attention`` on it to compile it too).

    import yolo_attn
    model = YOLO("yolov5s-simam.yaml")
    yolo_attn.compile_attention(model)          # YOLO wrapper, DetectionModel or any nn.Module

Training through ultralytics' ``YOLO.train()``: the trainer builds its own model from the yaml, so compile that
one from a callback (after the trainer's EMA copy is taken; the copy, used for validation, stays eager):

    model.add_callback("on_pretrain_routine_end", yolo_attn.engine.compile.compile_attention_callback)

On CPU, inductor needs a C++ compiler (gcc or clang on PATH); the first call at each new input shape compiles.
"""

from __future__ import annotations

import torch.nn as nn

from yolo_attn.registry import ATTENTION_REGISTRY

__all__ = ("compile_attention", "compile_attention_callback", "attention_modules", "is_compiled")


def attention_modules(model) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` for every registered attention module in ``model`` (outermost only, not their children)."""
    root = getattr(model, "model", model) if not isinstance(model, nn.Module) else model  # ultralytics YOLO wrapper
    kinds = tuple(ATTENTION_REGISTRY.values())
    found, inside = [], ()
    for name, m in root.named_modules():
        if inside and name.startswith(inside):
            continue
        if isinstance(m, kinds):
            found.append((name, m))
            inside = name + "."
    return found


def compile_attention(model, exclude=(), **compile_kwargs):
    """Compile every attention module of ``model`` in place with ``torch.compile`` and return ``model``.

    Args:
        model: an ``nn.Module`` (e.g. a ``DetectionModel``) or an ultralytics ``YOLO`` object.
        exclude: registered names to leave eager, e.g. ``("EMA",)`` for inference: EMA's compiled forward is slower
            than its eager one (CPU and CUDA; its compiled training step is faster; docs/BENCHMARKS.md).
        **compile_kwargs: passed to ``torch.compile`` (e.g. ``mode="max-autotune"``). ``dynamic`` defaults to
            False: a new input size compiles a new static graph (up to dynamo's recompile limit, then eager), because
            inductor 2.14 fails on EMA's training graph with symbolic sizes ("cannot determine truth value of
            Relational") after automatic dynamic shapes kick in at the second size.

    Raises:
        ValueError: ``exclude`` names an unregistered module, or nothing is left to compile.
    """
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    unknown = [n for n in exclude if n not in ATTENTION_REGISTRY]
    if unknown:
        raise ValueError(f"compile_attention: exclude={unknown} names no registered attention module; "
                         f"registered: {', '.join(sorted(ATTENTION_REGISTRY))}")
    skip = tuple(ATTENTION_REGISTRY[n] for n in exclude)
    mods = [(name, m) for name, m in attention_modules(model) if type(m) not in skip]
    if not mods:
        raise ValueError(
            f"compile_attention: no attention module ({', '.join(sorted(ATTENTION_REGISTRY))}) "
            f"{'left after exclude=' + str(list(exclude)) + ' ' if exclude else ''}in this "
            f"{type(model).__name__}; build it from an attention yaml, e.g. YOLO('yolov5s-simam.yaml')"
        )
    compile_kwargs.setdefault("dynamic", False)  # one static graph per feature-map size (see the note above)
    for _, m in mods:
        m.compile(**compile_kwargs)
    return model


def is_compiled(module: nn.Module) -> bool:
    """True when ``module`` was compiled in place (``nn.Module.compile``)."""
    return getattr(module, "_compiled_call_impl", None) is not None



def compile_attention_callback(trainer) -> None:
    """ultralytics trainer callback (``on_pretrain_routine_end``): compile the attention modules of ``trainer.model``."""
    compile_attention(trainer.model)
