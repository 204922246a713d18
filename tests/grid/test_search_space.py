"""The search's space (module-argument ranges by parameter name), its yamls, top-k selection and the epoch budget
stopper (no training here)."""

from pathlib import Path

import pytest
import yaml
from ultralytics.nn.tasks import DetectionModel

from yolo_attn.errors import UsageError
from yolo_attn.grid.confirm import space_cells, top_k
from yolo_attn.grid.search import EpochBudget
from yolo_attn.grid.space import parse_ranges, search_space


def test_ranges_apply_to_the_modules_that_take_them():
    r = parse_ranges("reduction=8,16;factor=8,16")
    assert r == {"reduction": [8, 16], "factor": [8, 16]}
    pts = search_space(["SE", "SimAM", "EMA", "CBAM"], ["neck"], r)
    got = {(p.module, p.args, p.label) for p in pts}
    assert got == {("SE", (8,), "reduction8"), ("SE", (16,), "reduction16"), ("SimAM", (), ""),
                   ("EMA", (8,), "factor8"), ("EMA", (16,), "factor16"),
                   ("CBAM", (8,), "reduction8"), ("CBAM", (16,), "reduction16")}  # kernel_size stays default
    assert len(search_space(["SE"], ["backbone", "neck"], {"reduction": [8, 16]})) == 4


@pytest.mark.parametrize("bad, msg", [("reduction", "NAME=V1,V2"), ("reduction=", "NAME=V1,V2"),
                                      ("1x=3", "NAME=V1,V2")])
def test_bad_ranges(bad, msg):
    with pytest.raises(UsageError, match=msg):
        parse_ranges(bad)


def test_a_range_no_module_takes_is_refused():
    with pytest.raises(UsageError, match="no module of --attn SimAM takes this parameter"):
        search_space(["SimAM"], ["neck"], {"reduction": [8]})


def test_each_point_is_its_own_config(tmp_path):
    pts = search_space(["SE"], ["neck"], {"reduction": [8, 16]})
    cells = space_cells("yolov5n.yaml", pts, tmp_path, ["--epochs", "2"])
    assert [c.name for c in cells] == ["yolov5n-se-neck-reduction8-seed0", "yolov5n-se-neck-reduction16-seed0"]
    for c, red in zip(cells, (8, 16)):
        d = yaml.safe_load(open(c.base))
        assert any(row[2] == "SE" and row[3] == [red] for row in d["head"]), d["head"]
        m = DetectionModel(c.base, verbose=False)
        se = [x for x in m.modules() if type(x).__name__ == "SE"]
        assert se and all(s.fc[0].out_features == max(1, s.fc[0].in_features // red) for s in se)
    other = tmp_path / "other"
    with pytest.raises(UsageError, match="cannot be built"):  # factor 8 builds, 24 does not: no yaml written at all
        space_cells("yolov5n.yaml", search_space(["EMA"], ["neck"], {"factor": [8, 24]}), other, [])
    assert not other.exists()


def test_top_k_prefers_survivors_then_map():
    recs = [{"trial": "a", "epochs": 1, "last_mAP50-95": 0.9, "status": "stopped early"},
            {"trial": "b", "epochs": 4, "last_mAP50-95": 0.2, "status": "completed"},
            {"trial": "c", "epochs": 4, "last_mAP50-95": 0.3, "status": "completed"},
            {"trial": "d", "epochs": 0, "last_mAP50-95": None, "status": "failed"}]
    assert [r["trial"] for r in top_k(recs, 2)] == ["c", "b"]
    assert [r["trial"] for r in top_k(recs, 5)] == ["c", "b", "a"]


def test_epoch_budget_stops_everything_once_spent():
    s = EpochBudget(5)
    for tid, ep in (("a", 1), ("b", 1), ("a", 2), ("b", 2)):
        assert s(tid, {"epoch": ep}) is False
    assert not s.stop_all()
    s("a", {"epoch": 3})
    assert s.stop_all()


def _results(run_dir: Path, epochs: int):
    run_dir.mkdir(parents=True)
    rows = ["epoch,metrics/mAP50(B),metrics/mAP50-95(B)"] + [f"{e},0.5,0.3" for e in range(1, epochs + 1)]
    (run_dir / "results.csv").write_text("\n".join(rows) + "\n")


def test_a_full_length_chosen_trial_is_its_seeds_confirmation_run_counted_once(tmp_path):
    """The confirmation takes over a chosen trial that ran to the full length (same command and seed) instead of
    training it again; the budget counts its epochs once, in the search, on the first run and on a rerun alike. A
    trial stopped early is retrained."""
    from yolo_attn.grid.cells import Cell
    from yolo_attn.grid.confirm import _budget, _reused, confirm_cells, reuse_full_trials

    grid = tmp_path / "grid"
    full = Cell("a-seed0", str(grid / "cfg" / "a.yaml"), "SE", "neck", 0, str(grid / "search" / "a-seed0"), ())
    short = Cell("b-seed0", str(grid / "cfg" / "b.yaml"), "CBAM", "neck", 0, str(grid / "search" / "b-seed0"), ())
    _results(Path(full.run_dir), 15)
    _results(Path(short.run_dir), 6)
    records = [{"trial": "a-seed0", "epochs": 15, "last_mAP50-95": 0.3, "status": "completed"},
               {"trial": "b-seed0", "epochs": 6, "last_mAP50-95": 0.2, "status": "stopped early"}]
    by_name = {c.name: c for c in (full, short)}
    conf = confirm_cells("yolov5n.yaml", records, by_name, [0, 1, 2], grid / "confirm", [])
    assert reuse_full_trials(records, by_name, conf) == ["a-seed0"]  # only a's seed 0; b is retrained
    assert (grid / "confirm" / "a-seed0" / "results.csv").read_text() == (Path(full.run_dir) / "results.csv").read_text()
    assert not (grid / "confirm" / "b-seed0").exists()
    for c in conf:  # the confirmation grid trains the rest: 8 cells of 15 epochs
        if not Path(c.run_dir).exists():
            _results(Path(c.run_dir), 15)
    assert reuse_full_trials(records, by_name, conf) == []  # a rerun copies nothing again
    budget = _budget(records, conf, 2, 15, 3, _reused(grid, conf))
    assert budget["search_epochs"] == 21 and budget["confirm_epochs"] == 8 * 15
    assert budget["full_grid_epochs"] == 3 * 15 * 3 and budget["reused"] == ["a-seed0"]
