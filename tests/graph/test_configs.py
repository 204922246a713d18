"""Every shipped config builds at every scale, runs, adds exactly its attention parameters, and keeps Detect right."""

import copy
import logging
from pathlib import Path

import pytest
import torch
from ultralytics import YOLO
from ultralytics.nn.tasks import DetectionModel, yaml_model_load
from ultralytics.utils.ops import make_divisible

import yolo_attn
from yolo_attn.tools.module_table import needs_channels

# every shipped config: file key -> module name
ATTN = {"se": "SE", "cbam": "CBAM", "simam": "SimAM", "srm": "SRM", "ema": "EMA", "eca": "ECA", "ca": "CA",
        "gam": "GAM", "sa": "SA", "nam": "NAM", "triplet": "TripletAttention", "gc": "GC", "bam": "BAM",
        "sge": "SGE"}
SCALES = "nsmlx"
WIDTH = {"n": 0.25, "s": 0.5, "m": 0.75, "l": 1.0, "x": 1.25}  # ultralytics' yolov5.yaml scales
MAX_CH = dict.fromkeys(SCALES, 1024)


def _shapes(module: torch.nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class _Plain(dict):
    def __missing__(self, scale):  # built on first use: only the scales the cases need
        self[scale] = DetectionModel(f"yolov5{scale}.yaml", verbose=False)
        return self[scale]


@pytest.fixture(scope="module")
def plain_models():
    return _Plain()


def test_shipped_configs_are_packaged():
    names = yolo_attn.shipped_configs()
    assert sorted(names) == sorted(f"yolov5-{key}.yaml" for key in ATTN)
    assert set(ATTN.values()) == {n for n, c in yolo_attn.ATTENTION_REGISTRY.items() if c.__module__.startswith("yolo_attn.")}
    assert (yolo_attn.CONFIG_DIR / "yolov5-se.yaml").is_file()


# every config at n and s; the wide scales (costly stride passes) with SE, whose channel path all modules share
CASES = [(k, s) for k in sorted(ATTN) for s in "ns"] + [("se", s) for s in "mlx"]


@pytest.mark.parametrize("key, scale", CASES, ids=[f"{k}-{s}" for k, s in CASES])
def test_config_builds_runs_and_adds_only_the_attention(key, scale, plain_models):
    model = DetectionModel(f"yolov5{scale}-{key}.yaml", verbose=False)
    plain = plain_models[scale]
    cls = yolo_attn.get_attention(ATTN[key])
    attn_layers = [m for m in model.model if type(m) is cls]
    assert len(attn_layers) == 1 and attn_layers[0].i == 9 and attn_layers[0].f == -1
    assert attn_layers[0].type == f"{cls.__module__}.{cls.__name__}"
    # the attention sees the channels of the C3 before it (layer 8) at this width
    c_in = model.model[8].cv3.conv.out_channels
    assert c_in == plain.model[8].cv3.conv.out_channels == make_divisible(min(1024, MAX_CH[scale]) * WIDTH[scale], 8)
    # built from the yaml == built by hand with c_in and the yaml's args: same parameter shapes (the inferred c1)
    args = yaml_model_load(f"yolov5{scale}-{key}.yaml")["backbone"][9][3]
    assert _shapes(attn_layers[0]) == _shapes(cls(c_in, *args))
    if needs_channels(cls):  # so that the comparison above can fail: another c1 changes the shapes
        assert _shapes(cls(c_in * 2, *args)) != _shapes(cls(c_in, *args))
    if key == "se":
        assert attn_layers[0].fc[0].in_features == c_in
    # parameter delta vs plain yolov5 of the same scale == the inserted module's own parameters
    assert _n_params(model) - _n_params(plain) == _n_params(attn_layers[0]) == attn_layers[0].np
    # Detect reads P3, P4, P5 with the same channels and strides as the plain model
    detect, plain_detect = model.model[-1], plain.model[-1]
    assert detect.f == [18, 21, 24]
    assert [c[0].conv.in_channels for c in detect.cv2] == [c[0].conv.in_channels for c in plain_detect.cv2]
    assert torch.equal(detect.stride, plain_detect.stride)
    model.eval()
    with torch.no_grad():
        y = model(torch.rand(1, 3, 64, 64))[0]
    assert y.shape == (1, 4 + 80, (8 * 8 + 4 * 4 + 2 * 2)) and torch.isfinite(y).all()


def test_yolo_finds_shipped_config_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = YOLO("yolov5s-ema.yaml")
    assert model.model.yaml["scale"] == "s"
    assert type(model.model.model[9]).__name__ == "EMA" and model.model.model[9].groups == 32


def test_users_own_yaml_path_wins_over_the_shipped_one(tmp_path):
    text = (yolo_attn.CONFIG_DIR / "yolov5-se.yaml").read_text().replace("SE, [16]", "SE, [8]")
    own = tmp_path / "yolov5n-se.yaml"
    own.write_text(text)
    model = YOLO(str(own))
    assert model.model.model[9].fc[0].out_features == 256 // 8  # n scale: 1024 * 0.25 channels, reduction 8


def _attention_head_yaml(scale: str) -> dict:
    """yolov5 with attention on each Detect input, read through non-adjacent and one-element-list 'from' fields."""
    d = yaml_model_load(f"yolov5{scale}.yaml")
    d["head"] = copy.deepcopy(d["head"][:-1]) + [
        [[17], 1, "SE", [8]],  # 24: from P3 (non-adjacent, list form)
        [20, 1, "CBAM", [8, 3]],  # 25: from P4
        [[23], 1, "EMA", [8]],  # 26: from P5
        [4, 1, "SimAM", [0.1]],  # 27: from a backbone layer, unused output
        [[24, 25, 26], 1, "Detect", ["nc"]],
    ]
    return d


@pytest.mark.parametrize("scale", "ns")
def test_non_adjacent_from_gets_that_layers_channels(scale):
    model = DetectionModel(_attention_head_yaml(scale), verbose=False)
    m = model.model
    p3, p4, p5 = (m[i].cv3.conv.out_channels for i in (17, 20, 23))
    assert m[24].fc[0].in_features == p3 and m[24].fc[0].out_features == p3 // 8
    assert m[25].channelattention.fc[0].in_channels == p4 and m[25].spatialattention.conv1.kernel_size == (3, 3)
    assert m[26].gn.num_channels == p5 // 8
    assert m[24].f == 17 and m[26].f == 23  # the one-element list was read as that index
    assert m[27].e_lambda == 0.1
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 64, 64))[0].shape[1] == 84


def test_verbose_table_shows_module_names_and_parameter_counts():
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("ultralytics")
    logger.addHandler(handler)
    try:
        model = DetectionModel("yolov5n-cbam.yaml", verbose=True)
    finally:
        logger.removeHandler(handler)
    row = next(line for line in lines if "yolo_attn.models.cbam.CBAM" in line)
    assert row.split()[0] == "9" and int(row.split()[3]) == _n_params(model.model[9]) > 0


@pytest.mark.parametrize("name, source", [("SE", -1), ("SE", 6), ("CBAM", 6), ("EMA", 4)])
def test_repeat_count_builds_a_sequence_of_modules_with_the_from_layers_channels(name, source):
    """``[from, 6, X, []]`` at depth 0.33 -> 2 modules, each built with layer ``from``'s channels (also non-adjacent)."""
    d = yaml_model_load("yolov5n.yaml")
    d["backbone"].insert(9, [source, 6, name, []])  # before SPPF; later indices shift by one
    for layer in d["head"]:
        f = layer[0]
        layer[0] = [x + 1 if x >= 9 else x for x in f] if isinstance(f, list) else f
    if source != -1:
        d["backbone"][10][0] = 8  # SPPF keeps reading layer 8
    model = DetectionModel(d, verbose=False)
    seq, c_from = model.model[9], model.model[8 if source == -1 else source].cv3.conv.out_channels
    assert isinstance(seq, torch.nn.Sequential) and len(seq) == 2
    if source != -1:  # a non-adjacent source whose width differs from the layer just before
        assert c_from != model.model[8].cv3.conv.out_channels
    cls = yolo_attn.get_attention(name)
    for block in seq:
        assert type(block) is cls and _shapes(block) == _shapes(cls(c_from))
        assert _shapes(block) != _shapes(cls(c_from * 2))


def test_configs_say_where_the_attention_goes():
    assert len(ATTN) == 14
    for key, name in ATTN.items():
        text = (yolo_attn.CONFIG_DIR / f"yolov5-{key}.yaml").read_text()
        assert "Placement:" in text and f"- [-1, 1, {name}," in text
        assert Path(yolo_attn.CONFIG_DIR / f"yolov5-{key}.yaml").stat().st_size < 10_000
