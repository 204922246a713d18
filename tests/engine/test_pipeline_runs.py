"""End to end on a tiny embedded set: train_attn.py for an attention config, a plain baseline through
``yolo_attn.engine.train.train``, val on best.pt (with pycocotools on a COCO-format copy of the val split), best.pt in a
fresh process, and compare over the two runs. Two 1-epoch trainings at imgsz 64 (about a minute on 2 cores)."""

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import subprocess_env
from yolo_attn.analysis.compare import compare
from yolo_attn.data.synthetic import make_dataset
from yolo_attn.eval.visdrone import yolo_ground_truth
from yolo_attn.engine.train import train
from yolo_attn.engine.val import detections_from_jdict, validate

pytestmark = pytest.mark.slow  # every test here trains (a module fixture or its own run)

ROOT = Path(__file__).resolve().parents[2]
TINY = dict(epochs=1, imgsz=64, batch=8, workers=0, plots=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Project folder with ``exp`` (yolov5n-simam via the CLI) and ``exp-2`` (plain yolov5n, same name asked)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    data = make_dataset(tmp / "data", n_train=16, n_val=8, imgsz=64)
    project = tmp / "runs"
    cmd = [sys.executable, str(ROOT / "train_attn.py"), "--cfg", "yolov5n-simam.yaml", "--data", str(data),
           "--epochs", "1", "--imgsz", "64", "--batch-size", "8", "--project", str(project), "--name", "exp", "plots=False"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), timeout=600, cwd=tmp)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    exp_mtime = (project / "exp" / "results.csv").stat().st_mtime_ns
    plain = train("yolov5n.yaml", str(data), project=str(project), name="exp", **{k: v for k, v in TINY.items() if k != "epochs"},
                  epochs=1)
    return dict(tmp=tmp, data=data, project=project, cli_out=r.stdout + r.stderr, plain=plain, exp_mtime=exp_mtime)


def test_train_cli_writes_an_ultralytics_run(runs):
    run = runs["project"] / "exp"  # exactly PROJECT/NAME, not runs/detect/...
    assert f"run saved to {run}" in runs["cli_out"]
    for f in ("args.yaml", "results.csv", "weights/best.pt", "weights/last.pt"):
        assert (run / f).is_file(), f
    args = yaml.safe_load((run / "args.yaml").read_text())
    assert (args["model"], args["imgsz"], args["epochs"], args["seed"], args["plots"]) == ("yolov5n-simam.yaml", 64, 1, 0, False)
    rows = list(csv.DictReader((run / "results.csv").open()))
    assert len(rows) == 1 and rows[0]["epoch"].strip() == "1"


def test_existing_run_is_not_overwritten(runs):
    assert runs["plain"] == [runs["project"] / "exp-2"]  # ultralytics increments: exp, exp-2, exp-3
    assert (runs["project"] / "exp" / "results.csv").stat().st_mtime_ns == runs["exp_mtime"]
    assert yaml.safe_load((runs["project"] / "exp-2" / "args.yaml").read_text())["model"] == "yolov5n.yaml"


def test_val_on_best_pt(runs, capsys):
    best = runs["project"] / "exp" / "weights" / "best.pt"
    out = validate(str(best), project=str(runs["project"]), name="val", plots=False)  # data: the one it trained on
    printed = capsys.readouterr().out
    assert out["data"] == str(runs["data"]) and out["imgsz"] == 64
    for k in ("mAP50", "mAP50-95", "precision", "recall"):
        assert 0.0 <= out[k] <= 1.0
    assert set(out["per_class"]) <= {"circle", "square", "triangle", "cross"}
    assert set(out["speed_ms"]) >= {"preprocess", "inference", "postprocess"}
    saved = json.loads((Path(out["save_dir"]) / "metrics.json").read_text())
    assert saved["mAP50"] == out["mAP50"] and f"ultralytics:  mAP50 {out['mAP50']:.4f}" in printed
    assert "pycocotools" not in out and "visdrone" not in out  # plain YOLO data: no extra evaluation


def test_val_pycocotools_on_coco_format_copy(runs, capsys):
    """The val split with a COCO json ground truth: pycocotools runs on the saved predictions."""
    data = yaml.safe_load(runs["data"].read_text())
    root = Path(data["path"])
    images = sorted((root / "images" / "val").glob("*.png"))
    gt = yolo_ground_truth(images, data["names"])
    (root / "val.json").write_text(json.dumps(gt))
    coco_yaml = runs["tmp"] / "shapes_coco.yaml"
    coco_yaml.write_text(yaml.safe_dump({**{k: data[k] for k in ("path", "train", "val", "names")}, "coco_json": "val.json"}))
    best = runs["project"] / "exp" / "weights" / "best.pt"
    out = validate(str(best), str(coco_yaml), project=str(runs["project"]), name="val_coco", plots=False, conf=0.001)
    printed = capsys.readouterr().out
    assert len(out["pycocotools"]["stats"]) == 12 and 0.0 <= out["pycocotools"]["mAP50"] <= 1.0
    assert "pycocotools:  mAP50" in printed and "AP@.50" in printed
    preds = json.loads((Path(out["save_dir"]) / "predictions.json").read_text())
    assert preds, "the 1-epoch model at conf 0.001 still makes detections"
    dets = detections_from_jdict(preds, list(range(1, 5)))
    assert {d["cls"] for d in dets} <= {0, 1, 2, 3} and {d["file_name"] for d in dets} <= {p.name for p in images}


def test_best_pt_loads_and_predicts_in_fresh_process(runs):
    best = runs["project"] / "exp" / "weights" / "best.pt"
    image = sorted((Path(yaml.safe_load(runs["data"].read_text())["path"]) / "images" / "val").glob("*.png"))[0]
    code = (  # no 'import yolo_attn': unpickling the model must import it by itself
        "import json, sys, torch\n"
        "from ultralytics import YOLO\n"
        f"m = YOLO({str(best)!r})\n"
        f"r = m.predict({str(image)!r}, imgsz=64, conf=0.0001, verbose=False)[0]\n"
        "torch.manual_seed(0); x = torch.rand(1, 3, 64, 64)\n"
        "m.model.eval(); y = m.model(x)[0]\n"
        "print(json.dumps({'layer9': type(m.model.model[9]).__module__ + '.' + type(m.model.model[9]).__name__,"
        " 'boxes': len(r.boxes), 'shape': list(r.orig_shape), 'sum': float(y.double().sum())}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["layer9"] == "yolo_attn.models.simam.SimAM" and got["shape"] == [64, 64]
    from ultralytics import YOLO

    m = YOLO(str(best))
    # the fresh process predicts what this one does (conf 1e-4 keeps the low-score boxes of a 1-epoch model)
    here = m.predict(str(image), imgsz=64, conf=0.0001, verbose=False)[0]
    assert got["boxes"] == len(here.boxes) > 0
    torch.manual_seed(0)
    x = torch.rand(1, 3, 64, 64)
    m.model.eval()
    assert float(m.model(x)[0].double().sum()) == pytest.approx(got["sum"], rel=1e-5)


def _fake_copy(src: Path, dst: Path, seed=None, imgsz=None, map50=None, map50_95=None, pretrained=None):
    """Copy a run and edit its recorded seed/imgsz/pretrained/metrics (cheap extra 'runs' for the grouping logic)."""
    shutil.copytree(src, dst)
    args = yaml.safe_load((dst / "args.yaml").read_text())
    args.update({k: v for k, v in (("seed", seed), ("imgsz", imgsz), ("pretrained", pretrained)) if v is not None})
    (dst / "args.yaml").write_text(yaml.safe_dump(args))
    rows = list(csv.DictReader((dst / "results.csv").open()))
    for r in rows:
        r["metrics/mAP50(B)"], r["metrics/mAP50-95(B)"] = str(map50), str(map50_95)
    with (dst / "results.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def test_compare_two_runs(runs, tmp_path):
    project = tmp_path / "runs"
    _fake_copy(runs["project"] / "exp", project / "simam-s0", seed=0, map50=0.60, map50_95=0.40)
    _fake_copy(runs["project"] / "exp-2", project / "plain-s0", seed=0, map50=0.50, map50_95=0.30)
    res = compare(project, latency_runs=2)
    assert {k: f.is_file() for k, f in res["files"].items()} == {"md": True, "csv": True, "png": True, "tradeoff": True}
    assert res["files"]["png"].read_bytes()[:4] == b"\x89PNG" and res["files"]["tradeoff"].read_bytes()[:4] == b"\x89PNG"
    rows = list(csv.DictReader(res["files"]["csv"].open()))
    # the baseline, the control row (the baseline's checkpoint timed again), the attention config
    assert [(r["config"], r["module"], r["scale"], r["group"], r["baseline"]) for r in rows] == [
        ("yolov5n", "none", "n", "1", ""), ("yolov5n (control)", "control", "n", "1", "yolov5n"),
        ("yolov5n-simam", "SimAM", "n", "1", "yolov5n")]
    assert rows[2]["init"] == "scratch"
    assert float(rows[2]["delta_mAP50"]) == pytest.approx(0.10) and float(rows[2]["delta_mAP50-95"]) == pytest.approx(0.10)
    # one seed: a Δ but no interval (the issue: "outside the seed spread" used to be claimed from too few seeds)
    assert rows[0]["delta_note"] == "baseline" and rows[2]["delta_note"].startswith("one seed: no interval")
    assert rows[2]["delta_mAP50-95_ci_lo"] == ""
    assert int(rows[2]["params"]) > 0 and float(rows[2]["GFLOPs"]) > 0 and float(rows[2]["latency_ms"]) > 0
    assert rows[1]["params"] == rows[0]["params"] and "resolves latency differences above" in rows[1]["latency_note"]
    assert rows[2]["device"].startswith("CPU")
    md = res["files"]["md"].read_text()
    assert "| yolov5n-simam | SimAM | yolov5n | 0 | 0.6000 | 0.4000 | +0.1000 | +0.1000 |" in md

    # two more seeds of each: mean ± std, Δ with a Welch interval containing 0; another imgsz is its own group
    _fake_copy(runs["project"] / "exp", project / "simam-s1", seed=1, map50=0.62, map50_95=0.30)
    _fake_copy(runs["project"] / "exp-2", project / "plain-s1", seed=1, map50=0.58, map50_95=0.36)
    _fake_copy(runs["project"] / "exp-2", project / "plain-96", seed=0, imgsz=96, map50=0.9, map50_95=0.8)
    rows = [r for r in csv.DictReader(compare(project, latency_runs=2)["files"]["csv"].open()) if r["module"] != "control"]
    assert [(r["group"], r["config"], r["imgsz"], r["seeds"]) for r in rows] == [
        ("1", "yolov5n", "64", "0 1"), ("1", "yolov5n-simam", "64", "0 1"), ("2", "yolov5n", "96", "0")]
    simam = rows[1]
    assert float(simam["mAP50-95_mean"]) == pytest.approx(0.35) and float(simam["mAP50-95_std"]) == pytest.approx(0.0707, abs=1e-4)
    assert float(simam["delta_mAP50-95"]) == pytest.approx(0.35 - 0.33)
    assert simam["delta_note"].startswith("not significant")
    # Welch with n=2 each, sd 0.0707 and 0.0424: se 0.0583, df 1.63 (see tests/test_compare_honest.py for the arithmetic)
    assert float(simam["delta_mAP50-95_ci_lo"]) < 0 < float(simam["delta_mAP50-95_ci_hi"])

    # a run fine-tuned from a checkpoint is never averaged with the scratch runs
    _fake_copy(runs["project"] / "exp-2", project / "plain-ft", seed=2, map50=0.7, map50_95=0.5,
               pretrained=str(runs["project"] / "exp" / "weights" / "best.pt"))
    rows = [r for r in csv.DictReader(compare(project, latency_runs=2)["files"]["csv"].open()) if r["module"] != "control"]
    ft = [r for r in rows if r["init"].startswith("fine-tuned from")]
    assert len(ft) == 1 and ft[0]["seeds"] == "2" and ft[0]["init"].endswith("exp/weights/best.pt")
    assert [r["seeds"] for r in rows if r["init"] == "scratch" and r["config"] == "yolov5n" and r["imgsz"] == "64"] == ["0 1"]


def test_resume_of_a_finished_run_is_refused(runs):
    """A finished run's last.pt has no optimizer state; ultralytics would silently start afresh on coco8 (a download)."""
    from yolo_attn.errors import UsageError

    last = runs["project"] / "exp" / "weights" / "last.pt"
    with pytest.raises(UsageError, match=r"this run finished .* nothing to resume.*--weights"):
        train(resume=str(last), project=str(runs["project"]))
    with pytest.raises(UsageError, match="no \\*/weights/last.pt under"):
        train(resume=True, project=str(runs["tmp"] / "empty"))


def test_val_visdrone_branch_drops_detections_in_ignored_regions(runs, capsys):
    """A dataset yaml with ``visdrone_ignore``: an ignored region over every whole image drops every detection."""
    data = yaml.safe_load(runs["data"].read_text())
    root = Path(data["path"])
    ign = root / "ign" / "val"
    ign.mkdir(parents=True, exist_ok=True)
    for im in (root / "images" / "val").glob("*.png"):
        (ign / f"{im.stem}.txt").write_text("0 0 64 64\n")
    vis_yaml = runs["tmp"] / "shapes_visdrone.yaml"
    vis_yaml.write_text(yaml.safe_dump({**{k: data[k] for k in ("path", "train", "val", "names")}, "visdrone_ignore": "ign"}))
    best = runs["project"] / "exp" / "weights" / "best.pt"
    out = validate(str(best), str(vis_yaml), project=str(runs["project"]), name="val_vis", plots=False)
    preds = json.loads((Path(out["save_dir"]) / "predictions.json").read_text())
    assert preds and out["visdrone"]["dropped"] == len(preds)
    assert out["visdrone"]["ignore_regions"]["mAP50"] == 0.0
    assert "VisDrone ignored regions:" in capsys.readouterr().out


def test_val_cli_split_picks_the_split(runs, tmp_path):
    """``val_attn.py --split test`` validates the yaml's test split; a split the yaml lacks is a clear error."""
    data = yaml.safe_load(runs["data"].read_text())
    data["test"] = data["val"]
    data["val"] = data["train"]  # a different val: the two splits give different image counts
    path = tmp_path / "with_test.yaml"
    path.write_text(yaml.safe_dump(data))
    best = runs["project"] / "exp" / "weights" / "best.pt"
    cmd = [sys.executable, str(ROOT / "val_attn.py"), "--weights", str(best), "--data", str(path), "--imgsz", "64",
           "--project", str(tmp_path / "val"), "--name", "t"]
    r = subprocess.run(cmd + ["--split", "test"], capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    saved = json.loads((tmp_path / "val" / "t" / "metrics.json").read_text())
    assert saved["split"] == "test"
    n_test = len(list((Path(data["path"]) / data["test"]).glob("*.png")))
    assert re.search(rf"all\s+{n_test}\s", r.stdout + r.stderr), (r.stdout + r.stderr)[-3000:]  # the test images

    del data["test"]
    path.write_text(yaml.safe_dump(data))
    r = subprocess.run(cmd + ["--split", "test", "--exist-ok"], capture_output=True, text=True, env=subprocess_env(),
                       timeout=600)
    assert r.returncode != 0 and "test" in (r.stdout + r.stderr)[-2000:]


def test_compare_cli_out_writes_the_three_files_there(runs, tmp_path):
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, str(ROOT / "compare_attn.py"), str(runs["project"]), "--out", str(out),
                        "--latency-runs", "1"], capture_output=True, text=True, env=subprocess_env(), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    files = {p.name for p in out.iterdir()}
    # the table, its CSV, the bar chart, the trade-off figure, and the latencies recorded for reuse (--retime)
    assert files == {"comparison.md", "comparison.csv", "comparison.png", "tradeoff.png", "latency.json"}
    assert not (runs["project"] / "comparison.md").exists()  # --out, not the runs folder
    assert f"written: {out / 'comparison.md'}" in r.stdout
    rows = list(csv.DictReader((out / "comparison.csv").open()))
    assert {row["config"] for row in rows} >= {"yolov5n", "yolov5n-simam"}
