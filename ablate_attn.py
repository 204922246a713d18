#!/usr/bin/env python
"""Ablation grid on Ray Tune: attention modules x placements x seeds, plus the plain base once per seed.

Every cell is an ordinary train_attn.py run folder PROJECT/NAME/<base>-<module>-<at>-seed<k>/ (the plain base:
<base>-seed<k>/). Cells run as Ray Tune trials (one per cell, FIFO, never stopped early) on a local Ray cluster, or on
the cluster given by --ray-address / RAY_ADDRESS. Rerunning the same command skips finished cells and resumes
interrupted ones from their last.pt. The grid ends with PROJECT/NAME/comparison.{md,csv,png}, heatmap.png (Δ
mAP50-95 of each module x placement vs the base) and cells.csv (one row per cell, failed ones with their error).
Needs Ray: pip install -e ".[ray]".

Examples:
    python ablate_attn.py --base yolov5n.yaml --attn SE,CBAM,SimAM --at backbone,neck --seed 0 1 2 --epochs 15
    python ablate_attn.py --attn all --at neck --seed 0 --data VisDrone.yaml --imgsz 640 --ray-address auto
    python ablate_attn.py --attn EMA --at 6+8 --base yolov5s.yaml --weights yolov5su.pt lr0=0.002
"""

from yolo_attn.cli.guard import run_script, script_main
from yolo_attn.cli.ablate import main as _main

main = script_main(_main, __doc__)

if __name__ == "__main__":
    run_script(main)
