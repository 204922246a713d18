#!/usr/bin/env python
"""Save pictures of the attention weights a trained model applies to an image (or to each image of a folder).

Examples:
    python visualize_attn.py --weights runs/yolov5n-cbam/weights/best.pt                 # embedded demo set's val images
    python visualize_attn.py --weights best.pt --source street.jpg --imgsz 640
    python visualize_attn.py --weights best.pt --source images/ --max-images 20 --topk 16
    python visualize_attn.py --weights best.pt --project runs/attention --name exp --exist-ok
    python visualize_attn.py --cam eigencam --weights base.pt --weights attn.pt --source imgs/   # pip install yolo_attn[cam]

Output folder as YOLOv5's detect.py: PROJECT/NAME (runs/attention/exp), incremented (exp-2, exp-3, ...) unless
--exist-ok; --out DIR writes to DIR exactly (the older spelling). Detection and segmentation checkpoints.
Per image, under that folder/<image name>/: one PNG per attention layer (spatial weights as a heatmap over the image,
channel weights as a bar chart of the strongest channels), contact_sheet.png with every layer, and
attention_values.npz with the exact plotted values.
--cam eigencam|gradcam: class-activation heatmaps of every --weights (two or more) side by side on the same images
(the grad-cam package): per image <image>_cam.png (the image, then one overlay per checkpoint) and <image>_cam.npz
(one heatmap in [0, 1] of the image's height x width per checkpoint); --cam-layers picks the rows (default: the
detection head's inputs).
"""

from yolo_attn.cli.guard import run_script, script_main
from yolo_attn.cli.visualize import main as _main

main = script_main(_main, __doc__)

if __name__ == "__main__":
    run_script(main)
