#!/usr/bin/env python
"""Compare training runs: mAP50 / mAP50-95 (mean ± std over seeds), Δ vs each config's baseline (the same model
without its attention layers) with a 95 % Welch interval over seeds, params, GFLOPs and latency measured on this
machine (interleaved rounds after warm-up, with a control row). Writes comparison.md, comparison.csv and
comparison.png into RUNS_DIR (or --out). Runs on different data, imgsz, epochs or initialisation are never mixed.

Examples:
    python compare_attn.py                 # runs/
    python compare_attn.py runs --device 0 # latency on GPU 0
"""

from yolo_attn.cli.guard import run_script, script_main
from yolo_attn.cli.compare import main as _main

main = script_main(_main, __doc__)

if __name__ == "__main__":
    run_script(main)
