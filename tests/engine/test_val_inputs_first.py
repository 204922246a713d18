"""``val_attn.py`` reads the evaluation's own inputs (``coco_json``, VisDrone ignore files) before anything is
written: a bad one is one ``error:`` line, exit 2, no run folder (not predictions.json and plots without
metrics.json, issue 26)."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from yolo_attn.cli.guard import main_guard
from yolo_attn.data.synthetic import make_dataset

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "tests" / "fixtures" / "every-module-0.1.0.pt"


def _val_attn():
    spec = importlib.util.spec_from_file_location("val_attn", REPO / "val_attn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("valin") / "data", n_train=2, n_val=2, imgsz=64, seed=0)


def _ignore(root: Path, text: str):
    folder = root / "ign" / "val"
    folder.mkdir(parents=True, exist_ok=True)
    for img in sorted((root / "images" / "val").iterdir()):
        (folder / f"{img.stem}.txt").write_text("1 1 5 5\n")
    (folder / f"{img.stem}.txt").write_text(text)


@pytest.mark.parametrize("extra, prepare, words", [
    ({"coco_json": "missing.json"}, None, ["coco_json", "missing.json does not exist"]),
    ({"coco_json": "bad.json"}, lambda r: (r / "bad.json").write_text("{not json"), ["bad.json is not JSON"]),
    ({"coco_json": "list.json"}, lambda r: (r / "list.json").write_text("[1, 2]"), ["not a COCO instances json"]),
    ({"visdrone_ignore": "ign"}, lambda r: _ignore(r, "a b c d\n"), ["visdrone_ignore", "is not numbers"]),
    ({"visdrone_ignore": "ign"}, lambda r: _ignore(r, "1 2 3 4\n1 2 3\n"), ["visdrone_ignore", ":2: 3 numbers"]),
])
def test_bad_evaluation_input_stops_before_any_output(tmp_path, capsys, data, extra, prepare, words):
    d = yaml.safe_load(Path(data).read_text())
    root = Path(d["path"]) if Path(d["path"]).is_absolute() else Path(data).parent / d["path"]
    if prepare:
        prepare(root)
    bad = tmp_path / "bad-data.yaml"
    bad.write_text(yaml.safe_dump({**d, "path": str(root), **extra}))
    code = main_guard(_val_attn().main, ["--weights", str(WEIGHTS), "--data", str(bad), "--imgsz", "64",
                                         "--project", str(tmp_path / "runs")])
    out, err = capsys.readouterr()
    errors = [ln for ln in (out + err).splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, (out[-2000:], err[-2000:])
    assert all(w in errors[0] for w in words), errors[0]
    assert not (tmp_path / "runs").exists()  # no predictions.json, no plots, no half run
    if prepare and "ign" in extra.get("visdrone_ignore", ""):
        import shutil

        shutil.rmtree(root / "ign")
