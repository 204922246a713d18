"""The comparison's honesty: Welch intervals (hand values and scipy), baselines found by removing attention layers,
initialisation labels, and interleaved latency with a control row (no model pays for being timed first)."""

import shutil

import pytest
import torch
from scipy import stats
from ultralytics.nn.tasks import DetectionModel, yaml_model_load

from yolo_attn.analysis.latency import measure_latencies
from yolo_attn.graph.records import init_label
from yolo_attn.graph.base import attention_layers, config_key
from yolo_attn.analysis.stats import ONE_SEED, delta_ci


def test_welch_interval_against_hand_values():
    # means 2 and 1, variances 2 and 2, n 2 and 2: se = sqrt(2/2 + 2/2) = sqrt(2), df = 4 / (1 + 1) = 2,
    # t(0.975, 2) = 4.302653 (table) -> 1 ± 6.084870
    ci = delta_ci([1.0, 3.0], [0.0, 2.0])
    assert ci["delta"] == pytest.approx(1.0) and ci["df"] == pytest.approx(2.0)
    assert (ci["lo"], ci["hi"]) == pytest.approx((1 - 4.302653 * 2 ** 0.5, 1 + 4.302653 * 2 ** 0.5), abs=1e-5)
    assert ci["note"].startswith("not significant")


@pytest.mark.parametrize("a, b", [([0.40, 0.30], [0.30, 0.36]), ([0.5, 0.52, 0.49, 0.55], [0.41, 0.44, 0.40]),
                                  ([0.31, 0.33, 0.30], [0.30, 0.29, 0.33, 0.31, 0.28])])
def test_welch_interval_against_scipy(a, b):
    ci = delta_ci(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert ci["df"] == pytest.approx(float(ref.df))
    lo, hi = ref.confidence_interval(0.95)
    assert (ci["lo"], ci["hi"]) == pytest.approx((float(lo), float(hi)))


def test_verdicts():
    better = delta_ci([0.50, 0.51, 0.52], [0.30, 0.31, 0.29])
    assert better["lo"] > 0 and better["note"].startswith("better than the baseline (95 % CI excludes 0)")
    assert delta_ci([0.30, 0.31, 0.29], [0.50, 0.51, 0.52])["note"].startswith("worse")
    one = delta_ci([0.4], [0.3, 0.32])
    assert one["note"] == ONE_SEED and one["lo"] is None and one["delta"] == pytest.approx(0.09)
    same = delta_ci([0.3, 0.3], [0.3, 0.3])  # no variance at all: the interval is the point 0
    assert same["lo"] == same["hi"] == 0 and same["note"].startswith("not significant")


def _built(cfg) -> dict:
    """The model dict as a checkpoint stores it (ultralytics fills it while building)."""
    return DetectionModel(cfg, verbose=False).yaml


def test_baseline_is_the_model_without_its_attention_layers():
    plain_n, plain_s = _built("yolov5n.yaml"), _built("yolov5s.yaml")
    se_n = _built("yolov5n-se.yaml")
    assert attention_layers(se_n) == ["SE"] and attention_layers(plain_n) == []
    assert config_key(se_n) == config_key(plain_n)
    assert config_key(_built("yolov5n-ema.yaml")) == config_key(plain_n)
    assert config_key(plain_s) != config_key(plain_n)  # another scale is another baseline
    assert config_key(_built("yolov8n.yaml")) != config_key(plain_n)


def test_baseline_of_a_neck_placement_on_yolov8n():
    """Attention after every layer Detect reads (re-pointed 'from's): still the plain yolov8n."""
    d = yaml_model_load("yolov8n.yaml")
    head = d["head"]
    nb = len(d["backbone"])
    detect_from = head[-1][0]
    rows = d["backbone"] + head[:-1]
    new_rows, new_index = [], {}
    for i, row in enumerate(rows):
        new_index[i] = len(new_rows)
        f = row[0]
        f = [new_index[j] if j >= 0 else j for j in f] if isinstance(f, list) else (new_index[f] if f >= 0 else f)
        new_rows.append([f, *row[1:]])
        if i in detect_from:  # insert CBAM after it; later -1 references now read CBAM, as they should
            new_rows.append([-1, 1, "CBAM", []])
            new_index[i] = len(new_rows) - 1
    new_rows.append([[new_index[j] for j in detect_from], *head[-1][1:]])
    cbam = {**d, "backbone": new_rows[:nb], "head": new_rows[nb:]}
    built = DetectionModel(cbam, verbose=False).yaml
    assert attention_layers(built) == ["CBAM"] * 3
    assert config_key(built) == config_key(_built("yolov8n.yaml"))


def test_init_label():
    assert init_label({"model": "yolov5n.yaml", "pretrained": True}) == "scratch"
    assert init_label({"model": "x.yaml", "pretrained": "/w/a/best.pt"}) == "fine-tuned from /w/a/best.pt"
    assert init_label({"model": "yolov5nu.pt", "pretrained": True}) == "fine-tuned from yolov5nu.pt"


def test_latency_baseline_first_and_its_copy_later_agree_within_the_control(tmp_path):
    """The baseline is timed first, a byte copy of its checkpoint last: both within the control row's resolution."""
    torch.manual_seed(0)
    base = tmp_path / "base.pt"
    torch.save({"model": DetectionModel("yolov5n.yaml", verbose=False), "train_args": {}}, base)
    other = tmp_path / "se.pt"
    torch.save({"model": DetectionModel("yolov5n-se.yaml", verbose=False), "train_args": {}}, other)
    copy = tmp_path / "copy.pt"
    shutil.copy(base, copy)
    lat = measure_latencies({"base": (base, 64), "se": (other, 64), "copy": (copy, 64)}, rounds=8, control="base")
    assert set(lat) == {"base", "se", "copy", "control", "resolution"}
    assert lat["control"]["params"] == lat["copy"]["params"] == lat["base"]["params"] < lat["se"]["params"]
    assert all(lat[k]["warmup_passes"] >= 10 for k in ("base", "se", "copy"))
    for k in ("base", "se", "copy", "control"):
        assert lat[k]["p10_ms"] <= lat[k]["latency_ms"] <= lat[k]["p90_ms"]
    assert abs(lat["copy"]["latency_ms"] / lat["base"]["latency_ms"] - 1) <= lat["resolution"]
