"""A rerun of compare (or of a finished grid's report) reuses the recorded latencies for the same checkpoints, and
measures again on --retime or when a checkpoint changed; every comparison row states its power."""

import csv
import math
import os
import statistics

import pytest
import torch
import yaml
from statsmodels.stats.power import TTestIndPower
from ultralytics.nn.tasks import DetectionModel

import yolo_attn.analysis.latency_cache as cache
from yolo_attn.analysis.compare import compare


def _fake_run(folder, cfg, seed=0, map50_95=0.3):
    (folder / "weights").mkdir(parents=True)
    torch.manual_seed(seed)
    torch.save({"model": DetectionModel(cfg, nc=4, verbose=False), "epoch": -1}, folder / "weights" / "best.pt")
    (folder / "args.yaml").write_text(yaml.safe_dump(
        {"task": "detect", "mode": "train", "model": cfg, "data": "shapes.yaml", "imgsz": 64, "epochs": 1,
         "seed": seed}))
    (folder / "results.csv").write_text(f"epoch,metrics/mAP50(B),metrics/mAP50-95(B)\n1,0.5,{map50_95}\n")


@pytest.fixture
def runs(tmp_path):
    _fake_run(tmp_path / "base0", "yolov5n.yaml", 0, 0.30)
    _fake_run(tmp_path / "base1", "yolov5n.yaml", 1, 0.32)
    _fake_run(tmp_path / "se0", "yolov5n-se.yaml", 0, 0.31)
    _fake_run(tmp_path / "se1", "yolov5n-se.yaml", 1, 0.34)
    return tmp_path


def _lat(res):
    return {r["config"]: r["latency_ms"] for r in res["rows"]}


def test_rerun_reuses_recorded_timings_and_retime_measures_again(runs, monkeypatch):
    calls, measured = [], []
    real = cache.measure_latencies

    def counted(*a, **k):  # the real timing once (the record must hold real figures), then its figures again
        calls.append(1)
        if not measured:
            measured.append(real(*a, **k))
        return measured[0]

    monkeypatch.setattr(cache, "measure_latencies", counted)
    first = compare(runs, latency_runs=1)
    assert len(calls) == 1 and (runs / "latency.json").is_file()
    again = compare(runs, latency_runs=1)
    assert len(calls) == 1 and _lat(again) == _lat(first)  # nothing timed, the same figures
    assert "timings reused from" in again["rows"][0]["device"]
    compare(runs, latency_runs=1, retime=True)
    assert len(calls) == 2
    compare(runs, latency_runs=2)  # other rounds: other figures
    assert len(calls) == 3
    best = runs / "se1" / "weights" / "best.pt"  # a retrained cell: its checkpoint changed
    st = best.stat()
    os.utime(best, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    compare(runs, latency_runs=2)
    assert len(calls) == 4


def test_every_row_states_its_power(runs):
    rows = {r["config"]: r for r in csv.DictReader(compare(runs, latency_runs=0)["files"]["csv"].open())}
    se = rows["yolov5n-se"]
    sd = math.sqrt((statistics.variance([0.30, 0.32]) + statistics.variance([0.31, 0.34])) / 2)  # pooled, n 2 and 2
    d = TTestIndPower().solve_power(effect_size=None, nobs1=2, alpha=0.05, power=0.8, ratio=1.0)
    assert float(se["detectable_delta_mAP50-95"]) == pytest.approx(d * sd, abs=1e-4)
    assert se["delta_note"].startswith("not significant (95 % CI contains 0); inconclusive at 2 seeds (detects ≥ ")
    assert int(se["seeds_needed"]) > 2


def test_tradeoff_figure_points_with_ci(runs):
    from scipy import stats

    from yolo_attn.analysis.tradeoff import tradeoff_points

    res = compare(runs, latency_runs=0)
    f = res["files"]["tradeoff"]
    assert f.read_bytes()[:4] == b"\x89PNG"
    pts = {p["config"]: p for p in tradeoff_points(res["rows"])}
    assert set(pts) == {"yolov5n", "yolov5n-se"} and pts["yolov5n"]["baseline"] and not pts["yolov5n-se"]["baseline"]
    sd = statistics.stdev([0.31, 0.34])
    assert pts["yolov5n-se"]["ci"] == pytest.approx(stats.t.ppf(0.975, 1) * sd / math.sqrt(2), abs=1e-3)
    assert pts["yolov5n-se"]["params"] > pts["yolov5n"]["params"] and pts["yolov5n"]["latency_ms"] is None
