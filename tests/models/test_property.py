"""Property test: a random registered module with random arguments, inserted anywhere in yolov5n/s, builds and runs.

For each of 200 seeded cases: pick yolov5n or yolov5s (ultralytics' own ``yolov5.yaml``), a registered attention
module, a layer ``j`` (0..23, any layer before Detect) and random arguments drawn from the module's signature. The
module goes in right after layer ``j``: every ``from`` that read layer ``j`` now reads the attention, later indices
shift by one (``insert_after``). A first argument equal to layer ``j``'s channel count (scaled, or as written in the
yaml) is the fork convention: it is read as the channel count and dropped (a second one too for CA and CBAM), so the
module is built from the remaining arguments. Arguments the module itself rejects (``cls(c1, *rest)`` raises) must be
rejected by the yaml build with a ``ValueError`` naming the layer (checked for the first rejected draw); the case then
draws again. Which modules reject their own defaults at small widths is asserted separately
(``test_defaults_build_at_the_narrowest_layer``), so a redraw cannot hide a module that rejects what its official
code accepts. For valid arguments:

* the model builds: every 5th case through ultralytics' ``DetectionModel`` (its stride pass at 256x256 included), the
  others through ``parse_model`` under ultralytics' ``BaseModel`` forward (the stride pass would cost 16x the check);
* the attention layer sits at index ``j + 1``, got ``c1`` equal to layer ``j``'s output channels, and maps its input
  shape to the same shape as layer ``j``'s output in the plain model;
* the detector's output at 64x64 has the plain model's shape, and the parameter count grows by exactly the module's.
"""

import copy
import functools
import inspect
import random

import pytest
import torch
from ultralytics.nn import tasks
from ultralytics.nn.tasks import BaseModel, DetectionModel, yaml_model_load

from yolo_attn import ATTENTION_REGISTRY as _REGISTRY
from yolo_attn.graph.dialect import written_channels

# The package's own modules: other test files register their own classes in the same session.
ATTENTION_REGISTRY = {n: c for n, c in _REGISTRY.items() if c.__module__.startswith("yolo_attn.")}

N_CASES = 200
IMGSZ = 64
LAST_BEFORE_DETECT = 23  # yolov5.yaml: layers 0..23, Detect is 24


def insert_after(d: dict, j: int, name: str, args: list) -> dict:
    """Copy of model dict ``d`` with ``[-1, 1, name, args]`` after layer ``j``, re-indexing the ``from`` fields."""
    d = copy.deepcopy(d)
    nb = len(d["backbone"])
    layers = d["backbone"] + d["head"]

    def remap(f, i):  # f read by old layer i
        if f == -1:
            return -1  # the previous layer: for layer j + 1 that is now the attention
        a = i + f if f < 0 else f
        return a + 1 if a >= j else a  # readers of layer j read the attention (new index j + 1)

    out = []
    for i, (f, n, m, a) in enumerate(layers):
        if i > j:
            f = remap(f, i) if isinstance(f, int) else [remap(x, i) for x in f]
        out.append([f, n, m, a])
    out.insert(j + 1, [-1, 1, name, list(args)])
    split = nb + 1 if j < nb else nb
    d["backbone"], d["head"] = out[:split], out[split:]
    return d


@functools.lru_cache(maxsize=None)
def plain(scale: str):
    """(model dict, per-layer output shapes at IMGSZ, output shape, parameter count) of plain yolov5{scale}."""
    d = yaml_model_load(f"yolov5{scale}.yaml")
    model = DetectionModel(copy.deepcopy(d), verbose=False).eval()
    shapes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: shapes.__setitem__(k, tuple(o.shape)))
             for k, m in enumerate(model.model[:-1])]
    with torch.no_grad():
        y = model(torch.zeros(1, 3, IMGSZ, IMGSZ))[0]
    for h in hooks:
        h.remove()
    return d, shapes, tuple(y.shape), sum(p.numel() for p in model.parameters())


def _candidates(p: inspect.Parameter) -> list:
    """Random-argument pool for one constructor parameter, from its default and annotation."""
    default = p.default
    allows_none = "None" in str(p.annotation) or default is None
    if isinstance(default, bool):
        pool = [True, False]
    elif isinstance(default, int):
        pool = [default, 1, 2, 3, 4, 5, 7, 8, 16, 32, 64]
    elif isinstance(default, float):
        pool = [default, default * 10, default * 1000, default / 10]
    else:
        pool = [default]
    return pool + ([None] if allows_none and None not in pool else [])


def _sample_args(rng: random.Random, cls) -> list:
    params = list(inspect.signature(cls._plain_init).parameters.values())[2:]  # after self, c1
    k = rng.randint(0, len(params))  # pass the first k, leave the rest at their defaults
    return [rng.choice(_candidates(p)) for p in params[:k]]


def _build_alone(cls, c1: int, args: list):
    """``cls(c1, *args)``, or None where the module rejects the arguments."""
    try:
        return cls(c1, *args)
    except (ValueError, TypeError, AssertionError):
        return None


def build(d: dict, full: bool):
    """The detector from model dict ``d``: ultralytics' ``DetectionModel`` (with its 256x256 stride pass), or, to keep
    200 cases cheap, the same layers from ``parse_model`` run by ultralytics' ``BaseModel`` forward (no strides)."""
    if full:
        return DetectionModel(d, verbose=False)
    model = BaseModel()
    model.model, model.save = tasks.parse_model(d, 3, verbose=False)
    return model


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Small convs on a shared 2-core machine: one thread avoids spinning OpenMP workers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _fork_read(name, args, channel_counts):
    """The arguments the module gets: a leading channel count (two for CA and CBAM) is read and dropped."""
    rest = list(args)
    for _ in range(2 if name in ("CA", "CBAM") else 1):
        if rest and type(rest[0]) is int and rest[0] in channel_counts:
            rest.pop(0)
        else:
            break
    return rest


def _case(seed: int):
    rng = random.Random(seed)
    scale = "ns"[seed % 2]
    name = rng.choice(sorted(ATTENTION_REGISTRY))
    j = rng.randint(0, LAST_BEFORE_DETECT)
    return rng, scale, name, j


@pytest.mark.parametrize("seed", range(N_CASES))
def test_random_insertion_builds_and_keeps_shapes(seed):
    rng, scale, name, j = _case(seed)
    cls = ATTENTION_REGISTRY[name]
    d, shapes, out_shape, n_params = plain(scale)
    c1 = shapes[j][1]

    rows = d["backbone"] + d["head"]
    written = written_channels(rows, j, lambda m: m in ("Conv", "C3", "SPPF"), lambda m: m == "Concat")
    channel_counts = {c1, written} - {None}  # scaled, and as the yaml writes it (Concat: the sum of its inputs)
    checked_rejection = False
    for _ in range(50):
        args = _sample_args(rng, cls)
        if name == "CBAM" and args in ([3], [7]):  # read as ultralytics' own CBAM(c1, kernel_size) in an ultralytics-format
            continue  # yaml (docs/WILD_YAMLS.md; tests/graph/test_wild_readings.py): not a draw of our CBAM's arguments
        alone = _build_alone(cls, c1, _fork_read(name, args, channel_counts))
        if alone is not None:
            break
        if not checked_rejection:  # rejected arguments: the yaml build must name the layer, not fail deeper
            checked_rejection = True
            with pytest.raises(ValueError, match=rf"layer {j + 1} \[-1, 1, {name}, "):
                build(insert_after(d, j, name, args), full=False)
    else:
        pytest.fail(f"no valid arguments for {name}({c1}, ...) in 50 draws")

    model = build(insert_after(d, j, name, args), full=seed % 5 == 0).eval()  # every 5th: full DetectionModel
    attn = model.model[j + 1]
    assert type(attn) is cls, f"layer {j + 1} is {type(attn).__name__}, expected {name}"
    seen = {}
    attn.register_forward_hook(lambda mod, i, o: seen.update(inp=tuple(i[0].shape), out=tuple(o.shape)))
    with torch.no_grad():
        y = model(torch.zeros(1, 3, IMGSZ, IMGSZ))[0]
    assert seen["inp"] == seen["out"] == shapes[j], f"{name}{args} after layer {j}: {seen} vs {shapes[j]}"
    assert tuple(y.shape) == out_shape
    own = sum(p.numel() for p in alone.parameters())
    assert sum(p.numel() for p in model.parameters()) == n_params + own


# Modules whose defaults need more channels than yolov5n's narrowest layer (16, layer 0), as in their reference code:
# EMA groups by factor 32 (seed: ``assert channels // groups > 0``), SA splits into 2 x 64 groups (official sa_layer
# builds GroupNorm(0, 0)), SGE's official 64 groups need 64 channels. Every other module, CA included (official hidden width max(8, C // 32)), must build.
NEEDS_WIDER = {"EMA": 32, "SA": 128, "SGE": 64}


@pytest.mark.parametrize("name", sorted(ATTENTION_REGISTRY))
def test_defaults_build_at_the_narrowest_layer(name):
    d, shapes, _, _ = plain("n")
    assert shapes[0][1] == 16
    if name in NEEDS_WIDER:
        with pytest.raises(ValueError, match=rf"layer 1 \[-1, 1, {name}, \[\]\] with 16 input channels"):
            build(insert_after(d, 0, name, []), full=False)
        d_wide = insert_after(d, 1, name, [])  # layer 1: 32 channels at n
        if shapes[1][1] >= NEEDS_WIDER[name]:
            assert type(build(d_wide, full=False).model[2]).__name__ == name
        return
    model = build(insert_after(d, 0, name, []), full=False)
    assert type(model.model[1]) is ATTENTION_REGISTRY[name]


def test_insert_after_reindexes_like_the_shipped_config():
    """Inserting SE after layer 8 of yolov5.yaml gives exactly the layer list of the shipped yolov5-se.yaml."""
    d = yaml_model_load("yolov5n.yaml")
    shipped = yaml_model_load("yolov5n-se.yaml")
    got = insert_after(d, 8, "SE", shipped["backbone"][9][3])
    assert got["backbone"] == shipped["backbone"] and got["head"] == shipped["head"]


def test_cases_cover_every_module_both_scales_and_many_positions():
    cases = [_case(s)[1:] for s in range(N_CASES)]
    assert {n for _, n, _ in cases} == set(ATTENTION_REGISTRY)
    assert {s for s, _, _ in cases} == {"n", "s"}
    assert len({j for _, _, j in cases}) == LAST_BEFORE_DETECT + 1
