"""Fork-style channel counts on attention rows (graph/dialect.py's read_row, graph/aliases.py's TWO_CHANNEL_NAMES).

``CBAM [128, 8]``: 128 is the from-layer's channel count (dropped), 8 the reduction (kept). ``CBAM [128, 128]``
is YOLOAir's CBAM(c1, c2): both counts are dropped and the reduction is the default 16. Built through the model
builder, then the module's bottleneck read back (hidden = channels // reduction).
"""

import pytest
from ultralytics.nn.tasks import DetectionModel

import yolo_attn  # noqa: F401  (registers the attention modules into parse_model)
from yolo_attn.graph.dialect import read_row
from yolo_attn.models import CBAM


def _build(cbam_args: list) -> CBAM:
    d = {"nc": 2, "depth_multiple": 1.0, "width_multiple": 1.0,
         "backbone": [[-1, 1, "Conv", [128, 3, 2]], [-1, 1, "CBAM", cbam_args], [-1, 1, "Conv", [128, 3, 2]]],
         "head": [[[1, 2], 1, "Detect", ["nc"]]]}
    model = DetectionModel(d, ch=3, verbose=False)
    return next(m for m in model.modules() if isinstance(m, CBAM))


@pytest.mark.parametrize("args,reduction", [([128, 8], 8), ([128, 128], 16), ([128], 16), ([8], 8), ([], 16),
                                            ([128, 128, 4], 4)])
def test_cbam_fork_style_rows_build_the_written_reduction(args, reduction):
    cbam = _build(args)
    assert cbam.channelattention.fc[0].in_channels == 128
    assert cbam.channelattention.fc[0].out_channels == 128 // reduction


def test_read_row_keeps_a_second_integer_that_is_not_a_channel_count():
    r = read_row("CBAM", [128, 8], 128, [128, 128])
    assert r.dropped == [128] and r.args == [8]
    r = read_row("CBAM", [128, 128], 128, [128, 128])
    assert r.dropped == [128, 128] and r.args == []
    assert "as input and output channels" in r.reasons[0]
    r = read_row("SE", [128, 128], 128, [128, 128])  # SE takes one channel count: the second 128 is its reduction
    assert r.dropped == [128] and r.args == [128]
