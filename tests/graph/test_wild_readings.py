"""Issue 28: a copied yaml builds what its author's code built, or its note names the other reading; every unknown
name in one message, by kind; composites named and expanded by ``fix --expand``; ``check`` warns once; notes quote
the row as written and are logged once; the scale letter of a ``--cfg`` file name works in any folder."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ultralytics.nn.modules.conv import CBAM as UltralyticsCBAM
from ultralytics.nn.tasks import DetectionModel

from conftest import subprocess_env
from yolo_attn.graph.unknown import composite_of, expand_composites, name_kind
from yolo_attn.graph.wild import build_yaml, load_yaml

WILD = Path(__file__).parent / "yamls_wild"


def _params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def _dialect(row9=None, scale="s"):
    """yolov5s-dialect.yaml (ultralytics format, our names) with row 5 (EMA after P3's C3, 128 channels at s) set."""
    d = load_yaml(WILD / "yolov5s-dialect.yaml", scale)
    if row9 is not None:
        d["backbone"][5] = row9
    return d


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "yolo_attn", *map(str, args)], capture_output=True, text=True,
                          env=subprocess_env(), cwd=cwd, timeout=600)


# ---------------------------------------------------------------------------------------------------- unknown names
def test_every_unknown_name_in_one_message_with_advice_of_its_own_kind():
    d = _dialect()
    d["backbone"][2][2] = "CBAMC3"
    d["backbone"][8][2] = "ECAAttentoin"
    d["head"][3][2] = "FancyBlockXYZ"
    d["head"][-1][2] = "Decoupled_Detect"
    with pytest.raises(KeyError) as err:
        DetectionModel(d, verbose=False)
    msg = err.value.args[0]
    assert msg.startswith("yolov5s-dialect.yaml: 4 unknown module names: layer 2 'CBAMC3' (a composite: usually a C3 "
                          "whose bottlenecks end in CBAM")
    assert "layer 8 'ECAAttentoin' (an attention module from another project's code; Did you mean 'ECAAttention'?)" in msg
    assert "layer 16 'FancyBlockXYZ';" in msg  # like nothing we know: no suggestion
    head = msg.split("'Decoupled_Detect' (")[1].split(")")[0]
    assert head.startswith("a detection head from another project's code, not an attention module; the nearest head "
                           "here is 'Detect'") and "register" not in head and "YOLOEDetect" not in msg
    assert "[-1, 3, C3, [128]] then [-1, 1, CBAM, []] (not the same model" in msg


@pytest.mark.parametrize("name, block, attn", [("CBAMC3", "C3", "CBAM"), ("C3_CBAM", "C3", "CBAM"),
                                                ("CBAMBottleneck", "Bottleneck", "CBAM"), ("Conv_CBAM", "Conv", "CBAM"),
                                                ("C2f_EMA", "C2f", "EMA"), ("C3k2_CoordAtt", "C3k2", "CA")])
def test_composites_are_recognised(name, block, attn):
    c = composite_of(name)
    assert (c.block, c.attention) == (block, attn) and name_kind(name) == "composite"


@pytest.mark.parametrize("name", ["C3", "BottleneckCSP", "SPPF", "Detect", "MyGate"])
def test_plain_names_are_no_composites(name):
    assert composite_of(name) is None


def test_fix_expand_writes_the_block_then_the_attention_row(tmp_path):
    src = tmp_path / "yolov5s-comp.yaml"
    text = (WILD / "yolov5s-dialect.yaml").read_text().replace("[-1, 3, C3, [128]],", "[-1, 3, CBAMC3, [128]],", 1)
    src.write_text(text)
    refused = _run("fix", src)
    assert refused.returncode == 2 and "'CBAMC3' (a composite" in refused.stderr and "fix --expand" in refused.stderr
    r = _run("fix", src, "--expand", "-o", tmp_path / "yolov5s-out.yaml")
    assert r.returncode == 0, r.stderr
    assert ("layer 2: [-1, 3, CBAMC3, [128]] -> [-1, 3, C3, [128]] + [-1, 1, CBAM, []]  (CBAMC3 is usually a C3 whose "
            "bottlenecks end in CBAM") in r.stdout and "not the same model" in r.stdout
    out = (tmp_path / "yolov5s-out.yaml").read_text()
    assert "  - [-1, 3, C3, [128]] # 2\n  - [-1, 1, CBAM, []] # 3\n" in out
    expanded, _ = build_yaml(load_yaml(tmp_path / "yolov5s-out.yaml"))
    plain, _ = build_yaml(load_yaml(WILD / "yolov5s-dialect.yaml"))
    from yolo_attn import CBAM

    assert _params(expanded) == _params(plain) + _params(CBAM(64))  # C3 (64 channels at s) then CBAM(64)


def test_expand_composites_remaps_later_indices():
    d = {"backbone": [[-1, 1, "Conv", [8, 3, 2]], [-1, 1, "Conv_CBAM", [16, 3, 2]], [-1, 1, "Conv", [16, 3, 2]]],
         "head": [[[1, 2], 1, "Concat", [1]]]}
    out, changes = expand_composites(d)
    assert out["backbone"][1:3] == [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, "CBAM", []]]
    assert out["head"] == [[[2, 3], 1, "Concat", [1]]] and len(changes) == 1  # readers of 1 read the CBAM row


# ---------------------------------------------------------------------------------------------------- readings
def test_ultralytics_format_cbam_with_a_kernel_size_builds_ultralytics_cbam():
    model, notes = build_yaml(_dialect([-1, 1, "CBAM", [7]]))
    m = model.model[5]
    assert type(m) is UltralyticsCBAM and _params(m) == _params(UltralyticsCBAM(128, 7)) == 16_610
    x = torch.randn(1, 128, 8, 8)
    ref = UltralyticsCBAM(128, 7)
    ref.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(x), ref(x))
    (note,) = [n.text for n in notes]
    assert "ultralytics' own CBAM(c1, kernel_size=7) (ultralytics.nn.modules.conv)" in note
    assert "yolo_attn's (the paper's) CBAM with reduction 7 is [-1, 1, CBAM, [7, 7]]" in note


def test_the_other_cbam_reading_row_builds_ours():
    model, _ = build_yaml(_dialect([-1, 1, "CBAM", [7, 7]]))
    from yolo_attn import CBAM

    assert type(model.model[5]) is CBAM and _params(model.model[5]) == _params(CBAM(128, 7, 7))


def test_ema_number_is_factor_in_our_dialect_and_named_twice_in_a_fork_file():
    model, notes = build_yaml(_dialect([-1, 1, "EMA", [8]]))
    assert model.model[5].groups == 8 and notes == []  # our dialect: our signature, no note
    fork = load_yaml(WILD / "yolov5s-fork.yaml")  # fork-style rows elsewhere: the file was written for a fork
    fork["backbone"][5] = [-1, 1, "EMA", [8]]
    model, notes = build_yaml(fork)
    note = next(n.text for n in notes if n.i == 5)
    assert model.model[5].groups == 8
    assert "the official EMA(channels, c2=None, factor=32)" in note and "builds EMA(128, factor=32) here; for that " \
           "reading write [-1, 1, EMA, []]" in note and note.endswith("built EMA(128, factor=8)")


def test_ema_attention_fills_c2_and_names_the_factor_reading():
    fork = load_yaml(WILD / "yolov5s-fork.yaml")
    fork["backbone"][5] = [-1, 1, "EMA_attention", [8]]
    model, notes = build_yaml(fork)
    note = next(n.text for n in notes if n.i == 5)
    assert model.model[5].groups == 32 and _params(model.model[5]) == 176
    assert "8 goes into EMA_attention's c2, which its code never reads" in note
    assert "for that reading write [-1, 1, EMA, [8]]" in note


@pytest.mark.parametrize("name, written, other", [
    ("TripletAttention", [256], "builds TripletAttention(128, no_spatial=True) here; for that reading write "
                                "[-1, 1, TripletAttention, [True]]"),
    ("CoordAtt", [256], "builds CA(128, reduction=256) here; for that reading write [-1, 1, CA, [128, 128, 256]]"),
    ("SEAttention", [256], "reads 256 as reduction=256, which yolo_attn cannot build"),
])
def test_one_channel_slot_peers_name_the_prepending_reading(name, written, other):
    fork = load_yaml(WILD / "yolov5s-fork.yaml")
    fork["backbone"][5] = [-1, 1, name, written]
    _, notes = build_yaml(fork)
    note = next(n.text for n in notes if n.i == 5)
    assert other in note and "behind a parse_model that prepends the channels" in note


def test_the_row_to_write_for_the_other_reading_builds_it():
    fork = load_yaml(WILD / "yolov5s-fork.yaml")
    fork["backbone"][5] = [-1, 1, "CA", [128, 128, 256]]
    model, _ = build_yaml(fork)
    from yolo_attn import CA

    assert _params(model.model[5]) == _params(CA(128, 256))


# ---------------------------------------------------------------------------------------------------- check and notes
def test_notes_quote_the_row_as_written_and_are_logged_once_per_process():
    code = ("import yolo_attn; from ultralytics.nn.tasks import DetectionModel; from yolo_attn.graph.wild import "
            "load_yaml; import sys\n"
            "d = load_yaml(sys.argv[1]); d['backbone'][5] = [-1, 3, 'SE', [256]]\n"
            "for _ in range(3): DetectionModel(d, verbose=False)\n")
    r = subprocess.run([sys.executable, "-c", code, str(WILD / "yolov5s-dialect.yaml")], capture_output=True,
                       text=True, env=subprocess_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout + r.stderr
    assert out.count("layer 5 [-1, 3, SE, [256]]: 256 is the channel count") == 1  # n = 3 as written, not 1


def test_check_warns_once_per_problem_in_the_users_layer_numbers(tmp_path):
    src = tmp_path / "yolov5s-stale.yaml"
    text = (WILD / "yolov5s-dialect.yaml").read_text()
    # layer 17 reads 15: the C3 at 16 is read by no one (a base layer, so the stripped model for the cost figure has
    # the same problem, at layer 13 of its own numbering)
    text = text.replace("   [-1, 3, C3, [512, False]],      # 16\n   [-1, 1, Conv, [256, 1, 1]],",
                        "   [-1, 3, C3, [512, False]],      # 16\n   [15, 1, Conv, [256, 1, 1]],", 1)
    src.write_text(text)
    r = _run("check", src, "--imgsz", 64)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert out.count("is read by no later layer") == 1 and "the C3 output (layer 16)" in out


def test_scale_letter_of_a_cfg_file_name_in_any_folder(tmp_path):
    from yolo_attn.engine.configs import check_model_cfg, resolve_cfgs

    folder = tmp_path / "run2s"  # a digit then a scale letter in the folder name broke ultralytics' whole-path rule
    folder.mkdir()
    (folder / "yolov5-mine.yaml").write_text((WILD / "yolov5s-dialect.yaml").read_text())
    cfg = str(folder / "yolov5n-mine.yaml")
    assert resolve_cfgs(cfg) == [cfg]
    check_model_cfg(cfg)
    model = DetectionModel(cfg, verbose=False)
    assert model.yaml["scale"] == "n"
