"""The benchmark harness runs end to end at a tiny size and writes its report; its bookkeeping is right.

Speed itself is not asserted here (shared CI machines are noisy): ``python -m yolo_attn.tools.bench`` checks its targets.
"""

import csv

import pytest
import torch

from yolo_attn.tools import bench


def test_quick_benchmark_runs_every_section_and_writes_its_files(tmp_path):
    (tmp_path / "BENCHMARKS.md").write_text(f"old table\n{bench.NOTES_MARK}\nHand-written closing note.\n")
    # --no-compile: inductor's C++ build takes minutes on a cold CI cache; test_fast_paths covers compiled modules
    assert bench.main(["--quick", "--modules", "SE,EMA", "--no-compile", "--out", str(tmp_path)]) == 0

    rows = list(csv.DictReader(open(tmp_path / "benchmarks.csv")))
    by_section = {s: [r for r in rows if r["section"] == s] for s in ("module", "model", "train")}
    # a: 2 modules x (forward, forward+backward) at the one quick shape
    assert {(r["name"], r["pass"]) for r in by_section["module"]} == {
        (n, p) for n in ("SE", "EMA") for p in ("forward", "forward+backward")}
    for r in by_section["module"]:
        for k in ("floor_ms", "seed_ms", "eager_ms"):
            assert float(r[k]) > 0, (r["name"], k)
        assert float(r["eager/seed"]) == pytest.approx(float(r["eager_ms"]) / float(r["seed_ms"]), rel=1e-4)
        assert float(r["eager/floor"]) == pytest.approx(float(r["eager_ms"]) / float(r["floor_ms"]), rel=1e-4)
        assert "compiled_ms" not in r
    # b: plain, its control copy + 2 configs, ultralytics' counters: SE adds 2 C^2/16 weights at layer 9 (C = 256)
    models = {r["name"]: r for r in by_section["model"]}
    assert set(models) == {"plain", "plain-copy", "SE", "EMA"}
    assert models["plain-copy"]["params"] == models["plain"]["params"] and models["plain-copy"]["cfg"] == "yolov5n.yaml"
    assert float(models["plain"]["latency/plain"]) == 1.0
    assert int(models["SE"]["params"]) - int(models["plain"]["params"]) == 2 * 256 * 256 // 16
    assert float(models["plain"]["gflops"]) > 0 and models["EMA"]["cfg"] == "yolov5n-ema.yaml"
    # c: a training step per config, with a peak-memory figure
    train = {r["name"]: r for r in by_section["train"]}
    assert set(train) == {"plain", "plain-copy", "SE", "EMA"}
    assert all(float(r["step_ms"]) > 0 and float(r["peak_mem_mb"]) > 0 for r in train.values())

    md = (tmp_path / "BENCHMARKS.md").read_text()
    for text in ("# Benchmarks", "python -m yolo_attn.tools.bench --quick", "load average", "torch threads",
                 "## a. Modules alone", "## b. Whole model", "## c. One training step", "yolov5n-se.yaml",
                 "yolov5n.yaml (control: 2nd instance)"):
        assert text in md, text
    assert "old table" not in md and md.rstrip().endswith("Hand-written closing note.")  # notes survive a rerun


def test_timings_are_interleaved_round_robin():
    calls = []
    fns = {k: (lambda k=k: calls.append(k)) for k in "ABC"}
    medians = bench.time_interleaved(fns, repeats=3, device=torch.device("cpu"), warmup=1)
    assert calls == list("ABC") + list("ABC") + list("BCA") + list("CAB")  # warm-up, then rounds in rotated order
    assert set(medians) == set("ABC") and all(v >= 0 for v in medians.values())


def test_targets_report_each_miss_with_its_number():
    rows = [
        {"section": "module", "name": "SimAM", "shape": "8x256x80x80", "pass": "forward", "eager/floor": 4.7,
         "eager/seed": 0.8, "compiled/floor": 1.5, "compiled/seed": 0.3},
        {"section": "module", "name": "SE", "shape": "8x1024x20x20", "pass": "forward+backward", "eager/floor": 9.0,
         "eager/seed": 1.2},
        {"section": "model", "name": "plain", "latency/plain": 1.0},
        {"section": "model", "name": "CBAM", "latency/plain": 1.05},
        {"section": "model", "name": "SE", "latency/plain": 1.04},
        {"section": "train", "name": "plain", "step/plain": 1.0, "mem/plain": 1.0},
        {"section": "train", "name": "EMA", "step/plain": 1.2, "mem/plain": 1.05},
    ]
    missed = bench.check_targets(rows)
    assert missed == [
        "SimAM forward eager x4.70 of x*1.0 (target <= 4.5)",
        "SE 8x1024x20x20 forward+backward: eager 1.20x the seed's time (target <= 1)",
        "yolov5s-se latency +4.0% (target <= 3%)",
        "yolov5n-ema train step +20.0% (target <= 10%)",
    ]


def test_bad_arguments_are_refused_with_the_fix():
    with pytest.raises(SystemExit, match="at least 7 rounds"):
        bench.main(["--repeats", "3"])
    with pytest.raises(SystemExit, match="unknown \\['SEnet'\\]; choose from SE,CBAM,SimAM,SRM,EMA"):
        bench.main(["--quick", "--modules", "SEnet"])
