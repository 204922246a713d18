"""Attention-map pictures: run a detector once with hooks on every attention layer and plot the weights it applied.

For each attention module (and each attention part inside one, such as CBAM's channel and spatial halves) a forward
pre-hook keeps the module's input; after the forward pass the module's own ``channel_weights(x)`` /
``spatial_weights(x)`` give the weights it multiplied by. They are plotted as

* channel weights (SE, ECA, SRM, CBAM's channel part, ...): the mean weight of each channel over the feature map,
  as a bar chart of the ``topk`` strongest channels;
* spatial weights (CBAM's spatial map, SimAM's and EMA's per-pixel weights, CA's row x column weights, ...): the mean
  over channels at each feature-map pixel, as a heatmap (one cell per feature-map pixel) over the letterboxed image;
* CA's h and w maps themselves (``hw_weights``): the mean over channels of the row weights and of the column weights,
  as two profiles.

Per image, ``visualize`` writes one PNG per attention layer, a contact sheet of all of them, and the exact plotted
values in ``attention_values.npz``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from yolo_attn.registry import ATTENTION_REGISTRY

__all__ = (
    "AttentionMap", "IMAGE_SUFFIXES", "attention_parts", "collect_attention", "load_image", "image_files",
    "plot_layer", "plot_contact_sheet", "visualize", "save_dir",
)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class AttentionMap:
    """The weights one attention part applied to one image.

    Attributes:
        layer (int): index of the model row (yaml layer) that holds the module.
        module (str): class name plus the part's attribute path, e.g. ``CBAM.spatialattention``.
        kind (str): ``"channel"``, ``"spatial"``, ``"rows"`` or ``"columns"``.
        values (np.ndarray): channel: (C,) mean weight per channel; spatial: (H, W) mean weight per pixel; rows: (H,)
            and columns: (W,) mean weight per feature-map row / column (CA's h and w maps).
    """

    layer: int
    module: str
    kind: str
    values: np.ndarray

    @property
    def key(self) -> str:
        """File-name-safe id, e.g. ``layer09_CBAM.spatialattention_spatial``."""
        return f"layer{self.layer:02d}_{self.module}_{self.kind}"


def attention_parts(model: nn.Module) -> list[tuple[int, str, nn.Module]]:
    """``(layer index, name, part)`` for every part with ``channel_weights``/``spatial_weights`` inside a registered
    attention module of ``model`` (an ultralytics ``DetectionModel`` or anything with a ``model`` list of rows)."""
    registered = tuple(ATTENTION_REGISTRY.values())
    rows = getattr(model, "model", model)
    parts = []
    for i, row in enumerate(rows):
        for att in (m for m in row.modules() if isinstance(m, registered)):
            for name, part in att.named_modules():
                if hasattr(part, "channel_weights") or hasattr(part, "spatial_weights"):
                    parts.append((getattr(row, "i", i), type(att).__name__ + (f".{name}" if name else ""), part))
    return parts


def collect_attention(model: nn.Module, image: torch.Tensor) -> list[AttentionMap]:
    """Run ``model`` once on ``image`` (1, 3, H, W) and return the weights of every attention part, in model order."""
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(f"collect_attention takes one image of shape (1, 3, H, W), got {tuple(image.shape)}")
    parts = attention_parts(model)
    inputs = {}
    hooks = [
        part.register_forward_pre_hook(lambda mod, args, k=k: inputs.__setitem__(k, args[0].detach()))
        for k, (_, _, part) in enumerate(parts)
    ]
    model.eval()
    try:
        with torch.no_grad():
            model(image)
    finally:
        for h in hooks:
            h.remove()
    maps = []
    with torch.no_grad():
        for k, (layer, name, part) in enumerate(parts):
            x = inputs[k]
            if hasattr(part, "channel_weights"):
                w = part.channel_weights(x)[0]  # (C', 1, 1) or (C', H, W)
                maps.append(AttentionMap(layer, name, "channel", w.reshape(w.shape[0], -1).mean(1).float().numpy()))
            if hasattr(part, "spatial_weights"):
                w = part.spatial_weights(x)  # (1, C', H, W); EMA: (G, 1, H, W)
                w = w.reshape(1, -1, *w.shape[-2:])[0].mean(0)
                maps.append(AttentionMap(layer, name, "spatial", w.float().numpy()))
            if hasattr(part, "hw_weights"):  # CA: (1, C, H, 1) and (1, C, 1, W)
                a_h, a_w = part.hw_weights(x)
                maps.append(AttentionMap(layer, name, "rows", a_h[0].mean(0).flatten().float().numpy()))
                maps.append(AttentionMap(layer, name, "columns", a_w[0].mean(0).flatten().float().numpy()))
    return maps


def load_image(path: str | Path, imgsz: int, stride: int = 32) -> tuple[torch.Tensor, np.ndarray]:
    """Letterbox an image file to ``imgsz`` as ultralytics' predictor does.

    Returns the model input (1, 3, imgsz, imgsz) float in [0, 1] and the letterboxed RGB image (imgsz, imgsz, 3) uint8.
    """
    import cv2
    from ultralytics.data.augment import LetterBox

    bgr = cv2.imread(str(path))
    if bgr is None:
        raise FileNotFoundError(f"cannot read image {path}")
    boxed = LetterBox(new_shape=(imgsz, imgsz), auto=False, stride=stride)(image=bgr)
    rgb = np.ascontiguousarray(boxed[..., ::-1])
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255, rgb


def image_files(source: str | Path, max_images: int | None = None) -> list[Path]:
    """The images of ``source`` (a file or a folder, sorted by name), at most ``max_images``."""
    source = Path(source)
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise FileNotFoundError(f"--source {source}: no such file or folder")
    files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"--source {source}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    return files[:max_images] if max_images else files


def _draw(ax, amap: AttentionMap, rgb: np.ndarray, topk: int) -> None:
    v = amap.values
    if amap.kind == "spatial":
        h, w = rgb.shape[:2]
        ax.imshow(rgb)
        im = ax.imshow(v, cmap="jet", alpha=0.5, extent=(0, w, h, 0), interpolation="nearest")  # one cell per pixel
        cbar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cbar.formatter.set_useOffset(False)  # show the weights themselves, not "1e-6 + 0.62"
        cbar.update_ticks()
        ax.set_title(f"L{amap.layer} {amap.module}\nspatial {v.shape[0]}x{v.shape[1]}, mean over channels", fontsize=8)
        ax.axis("off")
    elif amap.kind in ("rows", "columns"):
        from matplotlib.ticker import MaxNLocator

        ax.plot(range(len(v)), v, marker="o", color="tab:red")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlabel("feature-map row (top to bottom)" if amap.kind == "rows" else "feature-map column (left to right)",
                      fontsize=7)
        ax.set_title(f"L{amap.layer} {amap.module}\n{amap.kind[:-1]} weights, mean over channels", fontsize=8)
    else:
        order = np.argsort(-v, kind="stable")[:topk]
        ax.bar(range(len(order)), v[order], color="tab:blue")
        ax.set_xticks(range(len(order)), [str(c) for c in order], rotation=90, fontsize=5)
        lo, hi = float(v[order].min()), float(v[order].max())
        pad = max(hi - lo, 1e-4) * 0.1
        ax.set_ylim(lo - pad, hi + pad)  # zoomed to the shown bars: weights often differ in the third decimal
        ax.ticklabel_format(axis="y", useOffset=False)
        ax.set_xlabel("channel", fontsize=7)
        title = f"L{amap.layer} {amap.module}\nstrongest {len(order)} of {len(v)} channels (mean {v.mean():.3f})"
        ax.set_title(title, fontsize=8)


def plot_layer(maps: list[AttentionMap], rgb: np.ndarray, file: str | Path, topk: int = 32) -> Path:
    """One PNG for one attention layer: a panel per map (e.g. CBAM: channel bars and spatial heatmap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(4.5 * len(maps), 4), squeeze=False)
    for ax, amap in zip(axes[0], maps):
        _draw(ax, amap, rgb, topk)
    fig.tight_layout()
    fig.savefig(file, dpi=120)
    plt.close(fig)
    return Path(file)


def plot_contact_sheet(maps: list[AttentionMap], rgb: np.ndarray, file: str | Path, topk: int = 32) -> Path:
    """All maps of one image on one sheet, the input image first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(maps) + 1
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 4 * rows), squeeze=False)
    axes = axes.ravel()
    axes[0].imshow(rgb)
    axes[0].set_title("input (letterboxed)", fontsize=8)
    axes[0].axis("off")
    for ax, amap in zip(axes[1:], maps):
        _draw(ax, amap, rgb, topk)
    for ax in axes[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(file, dpi=100)
    plt.close(fig)
    return Path(file)


def save_dir(project: str | Path, name: str, exist_ok: bool = False) -> Path:
    """``project/name`` made as YOLOv5's detect.py does: ``exp``, then ``exp-2``, ``exp-3``, ... unless ``exist_ok``
    (ultralytics' ``increment_path`` puts a dash before the number; YOLOv5's own did not).

    Uses ultralytics' ``increment_path``; returns the created folder.
    """
    from ultralytics.utils.files import increment_path

    return increment_path(Path(project) / name, exist_ok=exist_ok, mkdir=True)


def visualize(
    weights, source, out_dir, imgsz: int | None = None, topk: int = 32, max_images: int | None = 8
) -> list[Path]:
    """Write attention pictures for each image of ``source`` under ``out_dir/<image stem>/``.

    Files per image: ``layerNN_<Module>.png`` (one per attention layer), ``contact_sheet.png`` and
    ``attention_values.npz`` (the plotted arrays, keyed by ``AttentionMap.key``). ``imgsz`` defaults to the size the
    checkpoint was trained at (its ``train_args``), else 640. Returns the written files.
    """
    from ultralytics import YOLO

    yolo = YOLO(str(weights))
    model = yolo.model.float().eval()
    if not attention_parts(model):
        raise ValueError(
            f"{weights}: the model has no attention layer with channel_weights/spatial_weights "
            f"(registered modules: {', '.join(sorted(ATTENTION_REGISTRY))})"
        )
    imgsz = int(imgsz or (yolo.ckpt or {}).get("train_args", {}).get("imgsz") or 640)
    stride = int(max(getattr(model, "stride", torch.tensor([32])).max(), 32))
    if imgsz % stride:
        raise ValueError(f"--imgsz {imgsz} must be a multiple of the model stride {stride}")
    written = []
    for path in image_files(source, max_images):
        image, rgb = load_image(path, imgsz, stride)
        maps = collect_attention(model, image)
        folder = Path(out_dir) / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for layer in sorted({m.layer for m in maps}):
            layer_maps = [m for m in maps if m.layer == layer]
            png = folder / f"layer{layer:02d}_{layer_maps[0].module.split('.')[0]}.png"  # e.g. layer09_CBAM.png
            written.append(plot_layer(layer_maps, rgb, png, topk))
        written.append(plot_contact_sheet(maps, rgb, folder / "contact_sheet.png", topk))
        np.savez(folder / "attention_values.npz", **{m.key: m.values for m in maps})
        written.append(folder / "attention_values.npz")
    return written
