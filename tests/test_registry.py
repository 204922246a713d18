"""Registration into parse_model and the errors a user sees for bad yaml rows."""

import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from ultralytics.nn.tasks import DetectionModel, parse_model, yaml_model_load

import yolo_attn
from conftest import subprocess_env
from yolo_attn.registry import ATTENTION_REGISTRY, get_attention, register_attention


def _yaml_with_layer9(row: list, name: str = "bad.yaml") -> dict:
    """yolov5n (scale n) with ``row`` as layer 9 and the head re-indexed, like the shipped configs."""
    d = yaml_model_load(yolo_attn.CONFIG_DIR / "yolov5-se.yaml")
    d["scale"], d["yaml_file"] = "n", name
    d["backbone"][9] = row
    return d


def test_registry_holds_the_five_modules():
    for name in ("SE", "CBAM", "SimAM", "SRM", "EMA"):
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
        ([-1, 1, "SE", [1024]], ["layer 9", "reduction 1024 is larger than the 256 input channels", "write []"]),
        ([-1, 1, "CBAM", [1024]], ["layer 9", "reduction 1024", "256 input channels"]),
        ([-1, 1, "EMA", [24]], ["layer 9", "divisible by factor", "256 % 24", "write factor 32"]),
        ([-1, 1, "CBAM", [16, 5]], ["layer 9", "kernel_size must be 3 or 7", "got 5"]),
        ([-1, 1, "SE", [16, 7]], ["layer 9", "too many arguments", "Channels (256) are inferred", "[reduction=16]"]),
        ([-1, 1, "SimAM", [0.1, 2]], ["layer 9", "too many arguments", "[e_lambda=0.0001]"]),
        ([-1, 1, "SRM", [16]], ["layer 9", "too many arguments"]),
        ([-1, 1, "SimAM", [-1.0]], ["layer 9", "e_lambda must be a positive number"]),
        ([[6, 8], 1, "SE", []], ["layer 9", "takes one input"]),
    ],
)
def test_bad_values_raise_valueerror_at_build_time(row, expected):
    with pytest.raises(ValueError) as err:
        DetectionModel(_yaml_with_layer9(row), verbose=False)
    for part in ["bad.yaml", *expected]:
        assert part in str(err.value)


@register_attention
class ScaleByTwo(nn.Module):
    """A user's own module, registered from outside the package."""

    def __init__(self, c1, gain=2.0):
        super().__init__()
        self.c1, self.gain = c1, gain

    def forward(self, x):
        return x * self.gain


def test_user_registered_module_gets_channels_in_yaml():
    model, _ = parse_model({"backbone": [[-1, 1, "Conv", [24, 3, 2]], [-1, 1, "ScaleByTwo", [3.0]]], "head": []}, 3,
                           verbose=False)
    assert model[1].c1 == 24 and model[1].gain == 3.0
    assert torch.equal(model[1](torch.ones(1)), torch.tensor([3.0]))


def test_registering_a_taken_name_with_another_class_fails():
    with pytest.raises(ValueError, match="already registered"):
        register_attention(type("SE", (nn.Module,), {"__init__": lambda self, c1: nn.Module.__init__(self)}))


def test_import_fails_clearly_when_ultralytics_changes_parse_model():
    code = (
        "import ultralytics.nn.tasks as t\n"
        "orig = t.parse_model\n"
        "t.parse_model = lambda d, ch, verbose=True: orig(d, ch, verbose)  # a 'future' builder\n"
        "import yolo_attn\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode != 0
    assert "ImportError: yolo_attn supports ultralytics>=8.4.0,<8.5" in r.stderr
    assert "pip install 'ultralytics>=8.4.0,<8.5'" in r.stderr
