"""One meaning per name in ``yolo_attn.graph``: one yaml writer for model dicts (``graph.rows.write_rows_yaml``, used by
generated placements and by ``python -m yolo_attn fix``), the run record key written by the trainers never copied
into a generated yaml, and one case-insensitive registry lookup (``registry.registered_name``)."""

from __future__ import annotations

import yaml

import yolo_attn  # noqa: F401
from yolo_attn.graph.placement import insert_attention, write_model_yaml
from yolo_attn.graph.records import START_KEY
from yolo_attn.graph.rows import write_rows_yaml
from yolo_attn.graph.wild import write_dialect_yaml
from yolo_attn.registry import registered_name

D = {"nc": 4, "depth_multiple": 0.33, "width_multiple": 0.25, "anchors": [[10, 13, 16, 30]],
     "backbone": [[-1, 1, "Conv", [16, 3, 2]], [-1, 1, "SE", []]], "head": [[-1, 1, "Conv", [16, 1, 1]]]}


def test_the_writer_keeps_keys_one_per_line_and_numbers_the_rows(tmp_path):
    text = write_rows_yaml(D, tmp_path / "x.yaml", ["made here"]).read_text()
    assert text.splitlines()[:5] == ["# made here", "", "nc: 4", "depth_multiple: 0.33", "width_multiple: 0.25"]
    assert "  - [-1, 1, SE, []] # 1" in text and "  - [-1, 1, Conv, [16, 1, 1]] # 2" in text
    back = yaml.safe_load(text)
    assert {k: back[k] for k in D} == D


def test_fix_and_generated_yamls_write_the_same_way(tmp_path):
    fixed = write_dialect_yaml(D, tmp_path / "fixed.yaml", "x.yaml").read_text().splitlines()
    plain = write_rows_yaml(D, tmp_path / "plain.yaml", ["yolo_attn dialect of x.yaml, written by python -m yolo_attn fix"])
    assert fixed == plain.read_text().splitlines()


def test_a_run_record_is_never_written_into_a_generated_yaml(tmp_path):
    d = insert_attention("yolov5n.yaml", "SE", "neck")
    d[START_KEY] = {"model": "somewhere.yaml", "pretrained": True}
    text = write_model_yaml(d, tmp_path / "yolov5n-se-neck.yaml").read_text()
    assert START_KEY not in text and "SE" in text


def test_registered_name_is_case_insensitive_and_none_for_unknown():
    assert registered_name("simam") == "SimAM" and registered_name("CBAM") == "CBAM"
    assert registered_name("tripletattention") == "TripletAttention"
    assert registered_name("nothing-like-it") is None
