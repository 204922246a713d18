"""The ``compare_attn.py`` command line: its parser and one call to ``yolo_attn.analysis.compare.compare``."""

from __future__ import annotations

import argparse

from yolo_attn.analysis.compare import compare
from yolo_attn.engine.checks import check_device
from yolo_attn.cli.guard import add_loading_args, use_loading_args

__all__ = ("parse_args", "main")


def parse_args(argv=None, doc: str | None = None):
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs_dir", nargs="?", default="runs", help="folder holding the training runs (default: runs)")
    p.add_argument("--out", default=None, help="where to write the three files (default: RUNS_DIR)")
    p.add_argument("--device", default="cpu", help="device for the latency measurement: cpu or a GPU index")
    p.add_argument("--latency-runs", type=int, default=20,
                   help="interleaved timing rounds per model (median reported; 0: no latency column)")
    p.add_argument("--retime", action="store_true",
                   help="time the models again (default: reuse OUT/latency.json when it timed the same checkpoints, "
                        "device and rounds)")
    add_loading_args(p)
    return p.parse_args(argv)


def main(argv=None, doc: str | None = None):
    """Parse ``compare_attn.py`` arguments, compare the runs, print the table and the files written."""
    args = parse_args(argv, doc)
    use_loading_args(args)
    check_device(args.device)
    result = compare(args.runs_dir, args.out, args.device, args.latency_runs, retime=args.retime)
    print(result["markdown"])
    print("written: " + ", ".join(str(f) for f in result["files"].values()))
