"""Registration into parse_model and the errors a user sees for bad yaml rows."""

import re
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from ultralytics.nn.tasks import DetectionModel, parse_model, yaml_model_load

import yolo_attn
from conftest import Gain, subprocess_env
from yolo_attn.graph.dialect import collect_notes, read_row
from yolo_attn.registry import ATTENTION_REGISTRY, get_attention, register_attention


def _yaml_with_layer9(row: list, name: str = "bad.yaml") -> dict:
    """yolov5n (scale n) with ``row`` as layer 9 and the head re-indexed, like the shipped configs."""
    d = yaml_model_load(yolo_attn.CONFIG_DIR / "yolov5-se.yaml")
    d["scale"], d["yaml_file"] = "n", name
    d["backbone"][9] = row
    return d


SHIPPED = ("SE", "CBAM", "SimAM", "SRM", "EMA", "ECA", "CA", "GAM", "SA", "NAM", "TripletAttention", "GC", "BAM", "SGE")


def test_registry_holds_the_fourteen_modules():
    assert {n for n, c in ATTENTION_REGISTRY.items() if c.__module__.startswith("yolo_attn.")} == set(SHIPPED)
    for name in SHIPPED:
        assert ATTENTION_REGISTRY[name] is getattr(yolo_attn, name)
        assert get_attention(name) is getattr(yolo_attn, name)


def test_get_attention_suggests_the_closest_name():
    with pytest.raises(KeyError, match="Did you mean 'SimAM'"):
        get_attention("simam")


@pytest.mark.parametrize("typo, suggestion", [("SEnet", "SE"), ("Simam", "SimAM"), ("CBAN", "CBAM"), ("C3xx", "C3x")])
def test_unknown_name_suggests_attention_names_first(typo, suggestion):
    d = _yaml_with_layer9([-1, 1, typo, []])
    with pytest.raises(KeyError, match=f"Did you mean '{suggestion}'"):
        DetectionModel(d, verbose=False)


def test_plain_python_calls_are_untouched():
    se = yolo_attn.SE(64, 8)
    assert se.fc[0].in_features == 64 and se.fc[0].out_features == 8
    assert yolo_attn.SimAM(None, 0.1).e_lambda == 0.1


@pytest.mark.parametrize(
    "row, args",
    [([-1, 1, "SE", []], "[]"), ([-1, 1, "CBAM", [16, 7]], "[16, 7]"), ([-1, 1, "EMA", [8]], "[8]"),
     ([-1, 1, "SimAM", [0.1]], "[0.1]"), ([[8], 1, "SRM", []], "[]")],
)
def test_yaml_rows_from_the_issue_build(row, args):
    model = DetectionModel(_yaml_with_layer9(row), verbose=False)
    layer = model.model[9]
    assert type(layer).__name__ == row[2]
    assert str(layer.f) in ("-1", "8")


def test_unknown_module_names_layer_name_closest_and_registered():
    with pytest.raises(KeyError) as err:
        DetectionModel(_yaml_with_layer9([-1, 1, "EMAA", []]), verbose=False)
    msg = err.value.args[0]
    for part in ("bad.yaml", "layer 9", "'EMAA'", "Did you mean 'EMA'", "Registered attention modules: "):
        assert part in msg
    assert msg.split("Registered attention modules: ")[1].startswith(", ".join(sorted(ATTENTION_REGISTRY)))


@pytest.mark.parametrize(
    "row, expected",
    [
        ([-1, 1, "SE", [512]], ["layer 9", "reduction 512 is larger than the 256 input channels"]),
        ([-1, 1, "SE", [128]], ["layer 9", "reduction 128 is larger than the 64 input channels", "write []"]),
        ([-1, 1, "CBAM", [128]], ["layer 9", "reduction 128", "64 input channels"]),
        ([-1, 1, "EMA", [24]], ["layer 9", "divisible by factor", "64 % 24", "write factor 32"]),
        ([-1, 1, "CBAM", [16, 5]], ["layer 9", "kernel_size must be 3 or 7", "got 5"]),
        ([-1, 1, "SE", [16, 7]], ["layer 9", "too many arguments", "Channels (64) are inferred", "[reduction=16]"]),
        ([-1, 1, "SimAM", [0.1, 2]], ["layer 9", "too many arguments", "[e_lambda=0.0001]"]),
        ([-1, 1, "SRM", [16]], ["layer 9", "too many arguments"]),
        ([-1, 1, "SimAM", [-1.0]], ["layer 9", "0 < e_lambda < 1"]),
        ([-1, 1, "SimAM", [2.0]], ["layer 9", "0 < e_lambda < 1", "got 2.0"]),
        ([[6, 8], 1, "SE", []], ["layer 9", "takes one input"]),
        ([-1, 1, "SE"], ["layer 9 is [4, 1, 'SE']", "each layer is [from, number, module, args]"]),
    ],
    ids=["SE-not-a-channel-count", "SE-big-r", "CBAM-big-r", "EMA-factor", "CBAM-kernel", "SE-too-many", "SimAM-too-many",
         "SRM-too-many", "SimAM-negative", "SimAM-lambda-2", "two-inputs", "malformed-row"],
)
def test_bad_values_raise_valueerror_at_build_time(row, expected):
    """At scale n: layer 8 (C3 [1024] in the yaml) has 256 channels, layer 4 (C3 [256]) has 64."""
    d = _yaml_with_layer9(row)
    if row[2] != "SE" or row[3:] != [[512]]:
        d["backbone"][9][0] = 4 if row[0] == -1 else row[0]  # read layer 4 (64 channels)
    with pytest.raises(ValueError) as err:
        DetectionModel(d, verbose=False)
    for part in ["bad.yaml", *expected]:
        assert part in str(err.value)


# ---------------------------------------------------------------------------------------------------- explicit channels
def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


_SE_OTHER = re.compile(r"; (SE\(c1, r\) behind a parse_model that prepends the channels|forks that define their own "
                       r"CBAM\(c1, c2\)) .*?(?=; built )")


def _build_noted(d, other=False):
    """The notes of building ``d``; without ``other``, the clauses naming SE's other reading (SE(c1, r) behind a
    prepending parse_model) and forks' own CBAM (tested in test_se_other_reading_is_named) are cut, so these tests
    read the channel rule."""
    with collect_notes() as notes:
        model = DetectionModel(d, verbose=False)
    return model, [n.text if other else _SE_OTHER.sub("", n.text) for n in notes]


def test_se_other_reading_is_named():
    model, notes = _build_noted(_yaml_with_layer9([-1, 1, "SE", [256]]), other=True)
    assert notes == ["bad.yaml layer 9 [-1, 1, SE, [256]]: 256 is the channel count (fork style); SE(c1, r) behind a "
                     "parse_model that prepends the channels (args = [ch[f], *args]) builds SE(256, reduction=256) here; "
                     "for that reading write [-1, 1, SE, [256, 256]]; built SE(256, reduction=16)"]
    d = _yaml_with_layer9([-1, 1, "SE", [256, 256]])
    assert DetectionModel(d, verbose=False).model[9].fc[0].out_features == 1  # the row written builds that reading
    _, (cbam,) = _build_noted(_yaml_with_layer9([-1, 1, "CBAM", [256]]), other=True)
    assert "256 is the channel count (fork style); forks that define their own CBAM(c1, c2) (YOLOAir's" in cbam


@pytest.mark.parametrize("scale", "nslx")
def test_a_channel_count_as_first_argument_is_read_at_every_scale(scale):
    """``[-1, 1, SE, [1024]]`` after C3 [1024]: 256/512/1024/1280 channels at n/s/l/x; the yaml's 1024 is read as the
    channel count at every scale (the fork convention) and the model equals the one written ``[]``, with one note."""
    d = _yaml_with_layer9([-1, 1, "SE", [1024]])
    d["scale"] = scale
    model, notes = _build_noted(d)
    c1 = {"n": 256, "s": 512, "l": 1024, "x": 1280}[scale]
    assert notes == [f"bad.yaml layer 9 [-1, 1, SE, [1024]]: 1024 is the channel count (fork style); built "
                     f"SE({c1}, reduction=16)"]
    clean = _yaml_with_layer9([-1, 1, "SE", []])
    clean["scale"] = scale
    assert _params(model) == _params(DetectionModel(clean, verbose=False))
    assert model.model[9].fc[0].in_features == c1 and model.model[9].fc[0].out_features == c1 // 16


SCALED_S = ("SE", "CBAM", "CA", "GC", "BAM", "GAM", "EMA", "SA")


@pytest.mark.parametrize("name", SCALED_S)
@pytest.mark.parametrize("arg, source", [(512, -1), (256, 6), (1024, -1)],
                         ids=["scaled-P5", "scaled-P4-non-adjacent", "yaml-P5"])
def test_scaled_or_written_channel_counts_are_read_at_scale_s(name, arg, source):
    """parse_model only: read from layer 6, SPPF would get P4's map (the graph, not the reading, is odd here)."""
    d = _yaml_with_layer9([source, 1, name, [arg]])
    d["scale"] = "s"
    with collect_notes() as found:
        model, _ = parse_model(d, 3, verbose=False)
    notes = [_SE_OTHER.sub("", n.text) for n in found]
    clean = _yaml_with_layer9([source, 1, name, []])
    clean["scale"] = "s"
    assert _params(model) == _params(parse_model(clean, 3, verbose=False)[0])
    c1 = 256 if source == 6 else 512
    assert len(notes) == 1 and notes[0].startswith(f"bad.yaml layer 9 [{source}, 1, {name}, [{arg}]]: {arg} is the "
                                                   f"channel count (fork style); built {name}({c1}")


@pytest.mark.parametrize("row, expected", [
    ([-1, 1, "SE", [512]], "reduction 512 is larger than the 256 input channels"),  # 512: scale s's width, not n's
    ([-1, 1, "CBAM", [512]], "reduction 512 is larger than the 256 input channels"),
    ([-1, 1, "EMA", [512]], "factor"),
    ([-1, 1, "SimAM", [300]], "0 < e_lambda < 1, got 300"),
], ids=["SE", "CBAM", "EMA", "SimAM"])
def test_a_first_argument_equal_to_no_channel_count_keeps_its_meaning_and_errors(row, expected):
    """At scale n layer 8 has 256 channels (1024 written): 512 is no channel count of it, so it stays SE's reduction
    (and fails its check) instead of being taken for a channel count."""
    with pytest.raises(ValueError) as err:
        DetectionModel(_yaml_with_layer9(row), verbose=False)
    assert "bad.yaml: layer 9" in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize("scale", "ns")
def test_simam_reads_the_channel_count_of_any_scale_of_the_yaml(scale):
    """SimAM takes no integer >= 1: [512] after C3 [1024] (512 channels at s) builds at n too (issue 28: a yaml built
    at n failed at --scale s with 'e_lambda ... got 256')."""
    d = _yaml_with_layer9([-1, 1, "SimAM", [512]])
    d["scale"] = scale
    assert DetectionModel(d, verbose=False).model[9].e_lambda == 1e-4


def test_simam_channel_count_is_read_and_the_yoloair_misreading_noted():
    d = _yaml_with_layer9([-1, 1, "SimAM", [1024]])
    model, notes = _build_noted(d)
    assert model.model[9].e_lambda == 1e-4
    assert notes == ["bad.yaml layer 9 [-1, 1, SimAM, [1024]]: 1024 is the channel count (fork style); a parse_model "
                     "that prepends the channels to the official simam_module(channels=None, e_lambda=1e-4) would read "
                     "1024 as e_lambda, which yolo_attn's SimAM cannot build (0 < e_lambda < 1); built SimAM(256, "
                     "e_lambda=0.0001)"]  # an ultralytics-format yaml: YOLOAir's parse_model is not named
    yoloair = read_row("SimAM", [1024], 256, (256, 1024), yolov5_format=True)  # YOLOv5 format: YOLOAir's is named
    assert "YOLOAir's parse_model would pass the output channels as e_lambda (SimAM(e_lambda=256))" in yoloair.reasons[1]


def test_a_repeated_row_is_noted_once():
    d = _yaml_with_layer9([-1, 2, "SE", [1024]])
    d["scale"] = "l"  # depth 1.0: n stays 2
    model, notes = _build_noted(d)
    assert len(notes) == 1 and len(model.model[9]) == 2


def test_an_ordinary_first_argument_still_builds():
    """Only the 'from' layer's own count is refused: 32 (another layer's width) and 16 are reductions here."""
    d = {"yaml_file": "ok.yaml", "backbone": [[-1, 1, "Conv", [64, 3, 2]], [-1, 1, "Conv", [32, 3, 2]],
                                              [0, 1, "SE", [32]], [-1, 1, "SE", [16]]], "head": []}
    m, _ = parse_model(d, 3, verbose=False)
    assert [(x.fc[0].in_features, x.fc[0].out_features) for x in m[2:]] == [(64, 2), (64, 4)]


@register_attention
class ScaleByTwo(Gain):
    """A user's own module, registered from outside the package."""

    def __init__(self, c1, gain=2.0):
        super().__init__(c1, gain)


def test_user_registered_module_gets_channels_in_yaml():
    model, _ = parse_model({"backbone": [[-1, 1, "Conv", [24, 3, 2]], [-1, 1, "ScaleByTwo", [3.0]]], "head": []}, 3,
                           verbose=False)
    assert model[1].c1 == 24 and model[1].gain == 3.0
    assert torch.equal(model[1](torch.ones(1)), torch.tensor([3.0]))


def test_registering_a_taken_name_with_another_class_fails():
    with pytest.raises(ValueError, match="already registered"):
        register_attention(type("SE", (nn.Module,), {"__init__": lambda self, c1: nn.Module.__init__(self)}))


def test_register_under_another_name_builds_from_yaml():
    cls = type("UserGain", (Gain,), {"__module__": __name__})
    try:
        assert register_attention(name="GainX2")(cls) is cls
        assert ATTENTION_REGISTRY["GainX2"] is cls and "UserGain" not in ATTENTION_REGISTRY
        model, _ = parse_model({"backbone": [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, "GainX2", [2.0]]], "head": []}, 3,
                               verbose=False)
        assert type(model[1]) is cls and model[1].c1 == 16 and model[1].gain == 2.0
    finally:
        ATTENTION_REGISTRY.pop("GainX2", None)


@pytest.mark.parametrize("name", ["Concat", "C3", "Detect"])
def test_a_name_ultralytics_defines_cannot_be_registered(name):
    import ultralytics.nn.tasks as tasks

    before = getattr(tasks, name)
    cls = type(f"My{name}", (Gain,), {"__module__": __name__})
    with pytest.raises(ValueError, match=rf"'{name}' is already defined by ultralytics .*{before.__qualname__}.*"
                                         rf"@register_attention\(name='My{name}'\)"):
        register_attention(name=name)(cls)
    assert getattr(tasks, name) is before and name not in ATTENTION_REGISTRY
    assert "_plain_init" not in cls.__dict__  # refused before anything was changed


def test_shipped_names_may_shadow_ultralytics_classes_of_the_same_name(monkeypatch):
    """ultralytics' own CBAM is not in parse_model's namespace in 8.4; if it were, the shipped CBAM must still win."""
    import ultralytics.nn.modules as um
    import ultralytics.nn.tasks as tasks
    from yolo_attn.plugin import hook

    assert "CBAM" in hook.SHIPPED_NAMES and hook.SHIPPED_NAMES == set(SHIPPED)
    monkeypatch.setattr(tasks, "CBAM", um.CBAM)
    hook._on_register("CBAM", yolo_attn.CBAM)  # the listener accepts it ...
    assert tasks.CBAM is yolo_attn.CBAM  # ... and puts the shipped class in
    other = type("CBAM", (Gain,), {"__module__": __name__})
    monkeypatch.setattr(tasks, "CBAM", um.CBAM)
    with pytest.raises(ValueError, match="already defined by ultralytics"):
        hook._on_register("CBAM", other)  # a user's CBAM does not get the exemption


def test_registering_a_class_from_main_warns():
    cls = type("MainGain", (Gain,), {"__module__": "__main__"})
    try:
        with pytest.warns(UserWarning, match=r"'MainGain'.*defined in __main__.*will not load.*importable module, "
                                             r"e.g. my_attn.py.*import my_attn"):
            register_attention(cls)
    finally:
        ATTENTION_REGISTRY.pop("MainGain", None)


def test_import_fails_clearly_when_ultralytics_changes_parse_model():
    code = (
        "import functools, ultralytics.nn.tasks as t\n"
        "orig = t.parse_model\n"
        "@functools.wraps(orig)\n"
        "def future(d, ch, verbose=True):  # a 'future' builder: no channels reach the attention class\n"
        "    f = orig.__globals__\n"
        "    return orig(d, ch, verbose) if d.get('yaml_file') != 'yolo_attn self-test' else (None, [])\n"
        "t.parse_model = future\n"
        "import yolo_attn\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode != 0
    assert "ImportError: yolo_attn supports ultralytics>=8.4.0,<8.5" in r.stderr
    assert "pip install 'ultralytics>=8.4.0,<8.5'" in r.stderr
