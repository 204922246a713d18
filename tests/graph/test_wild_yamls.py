"""Yamls from the wild: fork-style channel counts and peer class names build the model written in our dialect, each
converted row noted; ``python -m yolo_attn check|fix`` on them."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from ultralytics.nn.tasks import DetectionModel

from conftest import subprocess_env
from yolo_attn.graph.wild import base_model_dict, build_yaml, load_yaml

WILD = Path(__file__).parent / "yamls_wild"
ROOT = Path(__file__).resolve().parents[2]


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _layers(model) -> list:
    return [(type(m).__name__, tuple(p.shape for p in m.parameters())) for m in model.model]


FORK_NOTES = {  # layer -> (start of the row as written, what was built), scale s
    5: ("[-1, 1, EMA, [256]]: 256 is the channel count (fork style)", "built EMA(128, factor=32)"),
    8: ("[-1, 1, CoordAtt, [512, 512]]: 512 is the channel count (fork style, as input and output channels); "
        "CoordAtt is houqb/CoordAttention's name for CA", "built CA(256, reduction=32)"),
    11: ("[-1, 1, CBAM, [1024]]: 1024 is the channel count (fork style)",
         "built CBAM(512, reduction=16, kernel_size=7)"),
    21: ("[-1, 1, SEAttention, [256]]: 256 is the channel count (fork style); SEAttention is YOLOAir's name for SE",
         "built SE(128, reduction=16)"),
    22: ("[-1, 1, GAMAttention, [256, 256]]: 256 is the channel count (fork style, as input and output channels)",
         "built GAM(128, rate=4)"),
    26: ("[-1, 1, SimAM, [512]]: 512 is the channel count (fork style); a parse_model that prepends the channels to "
         "the official simam_module(channels=None, e_lambda=1e-4) would read 512 as e_lambda, which yolo_attn's SimAM "
         "cannot build", "built SimAM(256, e_lambda=0.0001)"),  # ultralytics format: YOLOAir's reading not named
    30: ("[-1, 1, SRMLayer, [1024]]: 1024 is the channel count (fork style); SRMLayer is seed 000's name for SRM",
         "built SRM(512)"),
    31: ("[-1, 1, ShuffleAttention, [1024]]: 1024 is the channel count (fork style); ShuffleAttention is YOLOAir's "
         "name for SA", "built SA(512, groups=8)"),
}


def test_fork_style_ultralytics_yaml_builds_the_dialect_model_with_one_note_per_row():
    model, notes = build_yaml(load_yaml(WILD / "yolov5s-fork.yaml"))
    clean, clean_notes = build_yaml(load_yaml(WILD / "yolov5s-dialect.yaml"))
    assert clean_notes == []
    assert _params(model) == _params(clean) == 9_607_402
    assert _layers(model) == _layers(clean)
    assert {n.i for n in notes} == set(FORK_NOTES) and len(notes) == len(FORK_NOTES)
    for n in notes:
        head, tail = FORK_NOTES[n.i]
        assert n.text.startswith(f"yolov5s-fork.yaml layer {n.i} {head}") and n.text.endswith(tail), n.text
    # the checkpoint holds our classes, never a peer name
    assert {type(model.model[i]).__module__.split(".")[1] for i in FORK_NOTES} == {"models"}


@pytest.mark.parametrize("scale, c1", [("n", 256), ("l", 1024)])
def test_the_yaml_channel_count_is_read_at_other_scales(scale, c1):
    """The yaml's 1024 is P5's width as written: read at every scale (256 at n), not only where it is the scaled one."""
    model, notes = build_yaml(load_yaml(WILD / "yolov5s-fork.yaml", scale))
    cbam = next(n for n in notes if n.i == 11)
    assert cbam.text.endswith(f"built CBAM({c1}, reduction=16, kernel_size=7)")
    assert _params(model) == _params(build_yaml(load_yaml(WILD / "yolov5s-dialect.yaml", scale))[0])


def test_strip_attention_gives_the_plain_yolov5s():
    d = load_yaml(WILD / "yolov5s-fork.yaml")
    plain = DetectionModel("yolov5s.yaml", verbose=False)
    assert _params(build_yaml(base_model_dict(d))[0]) == _params(plain)


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "yolo_attn", *map(str, args)], capture_output=True, text=True,
                          env=subprocess_env(), cwd=cwd, timeout=600)


def test_check_prints_summary_notes_and_the_attention_cost():
    r = _run("check", WILD / "yolov5s-fork.yaml", "--imgsz", 320)
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert "YOLOv5s-fork summary: 182 layers, 9,607,402 parameters" in out
    assert "8 row(s) read in another dialect:" in out
    for i, (head, tail) in FORK_NOTES.items():
        assert f"yolov5s-fork.yaml layer {i} {head}" in out
    plain = _params(DetectionModel("yolov5s.yaml", verbose=False))
    assert f"attention layers: +{9_607_402 - plain:,} parameters" in out and "GFLOPs at 320" in out


def test_check_of_a_bad_yaml_is_one_error_line(tmp_path):
    bad = tmp_path / "yolov5s-bad.yaml"
    bad.write_text((WILD / "yolov5s-fork.yaml").read_text().replace("SEAttention, [256]", "SEAttention, [256, 8, 3]"))
    r = _run("check", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "yolov5s-bad.yaml: layer 21" in err[0] and "too many arguments for SEAttention" in err[0]
    assert "[reduction=16]" in err[0]


def test_fix_writes_the_same_model_in_our_dialect_and_never_overwrites(tmp_path):
    src = tmp_path / "yolov5s-fork.yaml"
    src.write_text((WILD / "yolov5s-fork.yaml").read_text())
    before = src.read_text()
    r = _run("fix", src)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "yolov5s-fork-yolo_attn.yaml"
    assert src.read_text() == before and out.is_file()
    assert "layer 31: [-1, 1, ShuffleAttention, [1024]] -> [-1, 1, SA, [8]]" in r.stdout
    assert "wrote" in r.stdout and "(8 row(s) changed)" in r.stdout
    text = out.read_text()
    assert "  - [[22, 26, 31], 1, Detect, [nc]] # 32" in text and "  - [-1, 1, CA, []] # 8" in text
    fixed, notes = build_yaml(load_yaml(out))
    orig, _ = build_yaml(load_yaml(src))
    assert notes == [] and _layers(fixed) == _layers(orig) and _params(fixed) == _params(orig)
    again = _run("fix", out, "-o", tmp_path / "again.yaml")
    assert again.returncode == 0 and "nothing to change" in again.stdout and not (tmp_path / "again.yaml").exists()
    refused = _run("fix", src, "-o", src)
    assert refused.returncode == 2 and "never overwrites its input" in refused.stderr and src.read_text() == before


def test_fix_on_a_clean_yaml_changes_nothing(tmp_path):
    r = _run("fix", WILD / "yolov5s-dialect.yaml", "-o", tmp_path / "out.yaml")
    assert r.returncode == 0 and "nothing to change" in r.stdout and not (tmp_path / "out.yaml").exists()


def test_no_subcommand_still_lists_the_modules():
    r = subprocess.run([sys.executable, "-c", "from yolo_attn.__main__ import run; import sys; "
                        "sys.argv=['x', '--help']; run()"], capture_output=True, text=True, env=subprocess_env())
    assert "--scale" in r.stdout and "check IN.yaml" in r.stdout


def test_yolov5_format_fork_yaml_builds_yolov5s_plus_the_modules():
    """YOLOv5 format (multiples, anchors, Detect [nc, anchors]) through the anchor head: YOLOv5 v7.0's own yolov5s
    count (7,235,389, REFERENCE.md; held against YOLOv5's code in tests/anchor) plus the five modules'."""
    import yolo_attn

    model, notes = build_yaml(load_yaml(WILD / "yolov5s_v5fork.yaml"))
    clean, clean_notes = build_yaml(load_yaml(WILD / "yolov5s_v5dialect.yaml"))
    mods = (yolo_attn.EMA(128), yolo_attn.SE(256), yolo_attn.SRM(512), yolo_attn.SimAM(), yolo_attn.CBAM(512))
    assert _params(model) == _params(clean) == 7_235_389 + sum(_params(m) for m in mods)
    assert _layers(model) == _layers(clean) and clean_notes == []
    assert [n.i for n in notes] == [5, 8, 11, 21, 28]
    assert notes[1].text == ("yolov5s_v5fork.yaml layer 8 [-1, 1, SElayer, [512]]: 512 is the channel count (fork "
                             "style); SElayer is seed 001's name for SE; SElayer(channel, reduction=16) behind a "
                             "parse_model that prepends the channels (args = [ch[f], *args]) reads 512 as "
                             "reduction=512, which yolo_attn cannot build (reduction 512 is larger than the 256 input "
                             "channels (it would leave 0 hidden units)); SElayer(channel, reduction=16) listed in "
                             "parse_model's Conv group (args = [c1, c2, *args[1:]], c2 the width-scaled number) builds "
                             "SE(256, reduction=256) here; for that reading write [-1, 1, SE, [256, 256]]; built "
                             "SE(256, reduction=16)")
    assert type(model).__name__ == "AnchorDetectionModel"


def test_fix_keeps_anchors_and_the_yolov5_head(tmp_path):
    src = tmp_path / "yolov5s_v5fork.yaml"
    src.write_text((WILD / "yolov5s_v5fork.yaml").read_text())
    r = _run("fix", src, "-o", tmp_path / "yolov5s_v5fixed.yaml")
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "yolov5s_v5fixed.yaml").read_text()
    assert "anchors:\n- [10, 13, 16, 30, 33, 23]" in text and "  - [[21, 24, 28], 1, Detect, [nc, anchors]] # 29" in text
    assert "depth_multiple: 0.33" in text and "  - [-1, 1, SE, []] # 8" in text
    fixed, notes = build_yaml(load_yaml(tmp_path / "yolov5s_v5fixed.yaml"))
    assert notes == [] and _layers(fixed) == _layers(build_yaml(load_yaml(src))[0])


# ------------------------------------------------------------------------------ the first corpus, row by row (issue 28)
# (yaml, layer) -> (outcome, [(the source's module for c1, built with the arguments its parse_model passes, the words
# the row's note must hold for it, or None)]). "exact": the first source's module is the one built; "note": each listed
# source module differs from the one built and the note names it. docs/WILD_YAMLS.md has the table and the sources.
def _first_corpus():
    from ultralytics.nn.modules.conv import CBAM as UltralyticsCBAM

    from yolo_attn.reference.official import RefCoordAtt
    from yolo_attn.reference.peers import AirGAMAttention, AirSEAttention, AirShuffleAttention, LeakyMLPCBAM
    from yolo_attn.reference.seed import CBAM as SeedCBAM
    from yolo_attn.reference.seed import EMA as SeedEMA
    from yolo_attn.reference.seed import SElayer, Simam_module, SRMLayer

    return {
        # yolov5s-fork.yaml: ultralytics format, tutorial/paper style; each name's code behind a YOLOv8 fork's wiring
        ("yolov5s-fork.yaml", 5): ("exact", [(lambda c: SeedEMA(c, 256, 32), None)]),  # official EMA, prepend: c2=256
        ("yolov5s-fork.yaml", 8): ("exact", [(lambda c: RefCoordAtt(c, c, 32), None)]),  # [c1, c2, *args[2:]]
        ("yolov5s-fork.yaml", 11): ("note", [(lambda c: UltralyticsCBAM(c, 7),
                                              "ultralytics' own CBAM(c1, kernel_size=7)"),
                                             (LeakyMLPCBAM, "YOLOAir's, copied widely")]),
        ("yolov5s-fork.yaml", 21): ("exact", [(lambda c: AirSEAttention(c, 16), None),  # YOLOAir: [c1, *args[1:]]
                                              (lambda c: AirSEAttention(c, c), "listed in parse_model's Conv group")]),
        ("yolov5s-fork.yaml", 22): ("note", [(lambda c: AirGAMAttention(c, c), "YOLOAir's GAMAttention multiplies by "
                                                                               "the channel MLP without a sigmoid")]),
        ("yolov5s-fork.yaml", 26): ("note", [(lambda c: Simam_module(e_lambda=512), "would read 512 as e_lambda")]),
        ("yolov5s-fork.yaml", 30): ("exact", [(lambda c: SRMLayer(c, 1024), None)]),  # reduction never read
        ("yolov5s-fork.yaml", 31): ("exact", [(lambda c: AirShuffleAttention(c, 16, 8), None)]),  # YOLOAir: [c1]
        # yolov5s_v5fork.yaml: YOLOv5 format; YOLOAir's parse_model, the EMA authors' (EMA in the Conv group)
        ("yolov5s_v5fork.yaml", 5): ("exact", [(lambda c: SeedEMA(c, c, 32), None)]),  # EMA(c1, c2): c2 unread
        ("yolov5s_v5fork.yaml", 8): ("note", [(lambda c: SElayer(c, c), "SElayer(channel, reduction=16) listed in "
                                                                         "parse_model's Conv group")]),
        ("yolov5s_v5fork.yaml", 11): ("exact", [(lambda c: SRMLayer(c, c), None)]),
        ("yolov5s_v5fork.yaml", 21): ("note", [(lambda c: Simam_module(c, c), "YOLOAir's parse_model would pass the "
                                                                              "output channels as e_lambda")]),
        ("yolov5s_v5fork.yaml", 28): ("note", [(LeakyMLPCBAM, "YOLOAir's, copied widely"),
                                               (lambda c: SeedCBAM(c, ratio=1, kernel_size=7),
                                                "listed in parse_model's C3 group")]),
    }


@pytest.mark.parametrize("name", ["yolov5s-fork.yaml", "yolov5s_v5fork.yaml"])
def test_first_corpus_rows_build_the_source_module_or_name_it(name):
    from test_wild_corpus_2 import _attention_inputs, _probe, _same_output

    rows = {i: v for (n, i), v in _first_corpus().items() if n == name}
    model, notes = build_yaml(load_yaml(WILD / name))
    layers = _attention_inputs(model)
    assert set(layers) == set(rows)  # every attention row audited
    by_layer = {n.i: n.text for n in notes}
    for i, (ours, x) in layers.items():
        outcome, sources = rows[i]
        c = x.shape[1]
        for k, (source, words) in enumerate(sources):
            ref = source(c)
            if _params(ref):
                same = _params(ref) == _params(ours) and _same_output(ours, ref, x)
            else:
                same = _params(ours) == 0 and torch.allclose(ours.eval()(_probe(x)), ref.eval()(_probe(x)), atol=1e-6)
            assert same == (outcome == "exact" and k == 0), f"{name} layer {i} source {k}"
            if words is not None:
                assert words in by_layer[i], by_layer[i]


def test_our_own_dialect_yamls_build_silently():
    ours = sorted((ROOT / "tests" / "yamls").glob("*.yaml"))
    for path in (WILD / "yolov5s-dialect.yaml", WILD / "yolov5s_v5dialect.yaml", *ours):
        assert build_yaml(load_yaml(path))[1] == [], path.name
