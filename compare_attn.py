#!/usr/bin/env python
"""Compare training runs: mAP50 / mAP50-95 (mean ± std over seeds), Δ vs each config's baseline (the same model
without its attention layers) with a 95 % Welch interval over seeds, params, GFLOPs and latency measured on this
machine (interleaved rounds after warm-up, with a control row). Writes comparison.md, comparison.csv and
comparison.png into RUNS_DIR (or --out). Runs on different data, imgsz, epochs or initialisation are never mixed.

Examples:
    python compare_attn.py                 # runs/
    python compare_attn.py runs --device 0 # latency on GPU 0
"""

import argparse
import sys

from yolo_attn.cli.guard import main_guard
from yolo_attn.analysis.compare import compare
from yolo_attn.user_imports import add_import_arg, use_imports


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs_dir", nargs="?", default="runs", help="folder holding the training runs (default: runs)")
    p.add_argument("--out", default=None, help="where to write the three files (default: RUNS_DIR)")
    p.add_argument("--device", default="cpu", help="device for the latency measurement: cpu or a GPU index")
    p.add_argument("--latency-runs", type=int, default=20,
                   help="interleaved timing rounds per model (median reported; 0: no latency column)")
    add_import_arg(p)
    return p.parse_args(argv)


def main(argv=None):
    from yolo_attn.engine.checks import check_device

    args = parse_args(argv)
    use_imports(args.imports)
    check_device(args.device)
    result = compare(args.runs_dir, args.out, args.device, args.latency_runs)
    print(result["markdown"])
    print("written: " + ", ".join(str(f) for f in result["files"].values()))


if __name__ == "__main__":
    sys.exit(main_guard(main))
