"""Generate the README's module table from the code and write it to ``docs/MODULES.md``.

Every column is computed, nothing is typed by hand:

* paper and year: parsed from the module file's docstring (``Authors, "Title", Venue Year, URL``);
* params and GFLOPs added to yolov5s: the shipped ``yolov5s-<name>.yaml`` minus ultralytics' ``yolov5s.yaml`` at 640,
  counted by thop on the full-size image (ultralytics' ``get_flops`` extrapolates from small proxies and overstates
  modules whose cost grows with H + W);
* needs channels: whether the module's parameters depend on the input channels (built with 256 and with 512);
* export: ``yolo_attn.engine.export.export_and_check`` on a yolov5n checkpoint of the config: ONNX and TorchScript at a fixed
  size, ONNX with dynamic shapes at another batch and size, each within 1e-4 of PyTorch;
* reference test: the test case that holds the module against its reference code (``tests/``).

Usage::

    python -m yolo_attn.tools.module_table            # writes docs/MODULES.md (about 3 minutes on 2 CPU cores)
    python -m yolo_attn.tools.module_table --no-export --out -   # skip the export column, print to stdout
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from yolo_attn.registry import ATTENTION_REGISTRY

__all__ = ("ModuleRow", "package_modules", "paper_info", "needs_channels", "config_for", "cost_added", "export_status",
           "reference_test", "module_rows", "render", "main")

REPO = Path(__file__).resolve().parents[2]
_PAPER = re.compile(  # Authors, "Title", Venue Year[ extra], URL
    r'"(?P<title>[^"]+)",\s*(?P<venue>[^,"]*?)\s*(?P<year>(19|20)\d\d)[^,"]*,\s*(?P<url>https?://\S+?)\.?(\s|$)'
)


@dataclass
class ModuleRow:
    """One row of the module table."""

    name: str
    title: str
    venue: str
    year: str
    url: str
    config: str
    params_added: int
    gflops_added: float
    needs_channels: bool
    export: str
    reference: str


def package_modules() -> list[str]:
    """Names of the registered modules that ship with yolo_attn (not ones a user or a test registered)."""
    return [n for n, c in ATTENTION_REGISTRY.items() if c.__module__.startswith("yolo_attn.models.")]


def paper_info(cls: type) -> dict[str, str]:
    """``title``, ``venue``, ``year``, ``url`` from the docstring of the file that defines ``cls``."""
    doc = " ".join((sys.modules[cls.__module__].__doc__ or "").split())
    m = _PAPER.search(doc)
    if not m:
        raise ValueError(f'{cls.__module__}: the module docstring needs a citation: Authors, "Title", Venue Year, URL')
    return {k: m.group(k).strip() for k in ("title", "venue", "year", "url")}


def needs_channels(cls: type) -> bool:
    """True if the module's parameter shapes depend on the input channel count."""
    def shapes(c):
        return {k: tuple(v.shape) for k, v in cls(c).state_dict().items()}

    return shapes(256) != shapes(512)  # YOLO-like widths that every default argument accepts


def config_for(name: str) -> str | None:
    """The shipped config whose layers use module ``name`` (the single-module ``yolov5-<x>.yaml`` first)."""
    from yolo_attn.plugin.hook import CONFIG_DIR, shipped_configs

    row = re.compile(rf"^\s*- \[[^\]]*?\]?,?\s*\d+,\s*{re.escape(name)},", re.M)
    hits = [c for c in shipped_configs() if row.search((CONFIG_DIR / c).read_text())]
    return min(hits, key=len) if hits else None


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def cost_added(cfg: str, scale: str = "s", imgsz: int = 640, _base={}) -> tuple[int, float]:
    """Parameters and GFLOPs that config ``cfg`` (``yolov5-x.yaml``) adds to plain ultralytics ``yolov5{scale}``."""
    import thop
    from ultralytics.nn.tasks import DetectionModel

    def cost(name):
        m = DetectionModel(name, verbose=False).eval()
        # thop on the full-size image: ultralytics' get_flops extrapolates from stride-sized proxies, which overstates
        # modules whose cost grows with H + W (CA, TripletAttention) about 20x at 640
        macs = thop.profile(m, inputs=[torch.zeros(1, 3, imgsz, imgsz)], verbose=False)[0]
        return _params(m), macs * 2 / 1e9

    if (scale, imgsz) not in _base:
        _base[(scale, imgsz)] = cost(f"yolov5{scale}.yaml")
    p0, f0 = _base[(scale, imgsz)]
    p, f = cost(cfg.replace("yolov5-", f"yolov5{scale}-"))
    return p - p0, f - f0


def export_status(cfg: str, imgsz: int = 64) -> str:
    """Export a yolov5n checkpoint of ``cfg`` and check parity; e.g. ``ONNX ✓, TorchScript ✓, dynamic ONNX ✓``."""
    from ultralytics import YOLO

    from yolo_attn.engine.export import export_and_check

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "model.pt"
        YOLO(cfg.replace("yolov5-", "yolov5n-")).save(weights)
        status = []
        for label, kwargs in (
            ("ONNX", dict(formats=("onnx",))),
            ("TorchScript", dict(formats=("torchscript",))),
            ("dynamic ONNX", dict(formats=("onnx",), dynamic=True, check_sizes=[(2, imgsz + 32, imgsz + 64)])),
        ):
            try:
                export_and_check(weights, imgsz=imgsz, **kwargs)
                status.append(f"{label} ✓")
            except Exception as e:  # a failed export is a table entry, not a crash of the generator
                status.append(f"{label} ✗ ({type(e).__name__})")
    return ", ".join(status)


def reference_test(name: str, tests_dir: Path = REPO / "tests") -> str:
    """``file: reference`` for the equivalence cases (``lambda c: Ref(...), lambda c: Name(...)``) of ``name``."""
    case = re.compile(rf"lambda c:\s*([\w.]+)\(.*lambda c:\s*{re.escape(name)}\(")
    found = []
    for f in sorted(tests_dir.rglob("test_*.py")):  # tests/<subpackage>/test_*.py
        refs = sorted({m.group(1) for m in map(case.search, f.read_text().splitlines()) if m})
        if refs:
            found.append(f"{f.name}: {', '.join(refs)}")
    return "; ".join(found) or "none"


def module_rows(names=None, export: bool = True, scale: str = "s", imgsz: int = 640) -> list[ModuleRow]:
    """Rows for ``names`` (default: every module shipped with yolo_attn, in registration order)."""
    rows = []
    for name in names or package_modules():
        cls = ATTENTION_REGISTRY[name]
        cfg = config_for(name)
        params, gflops = cost_added(cfg, scale, imgsz) if cfg else (0, 0.0)
        rows.append(ModuleRow(
            name=name, **paper_info(cls), config=cfg or "none", params_added=params, gflops_added=gflops,
            needs_channels=needs_channels(cls), export=(export_status(cfg) if cfg and export else "not checked"),
            reference=reference_test(name),
        ))
    return rows


def render(rows: list[ModuleRow], scale: str = "s", imgsz: int = 640) -> str:
    """The markdown table (plus a short header saying how it was made)."""
    lines = [
        "# Attention modules",
        "",
        "Generated by `python -m yolo_attn.tools.module_table` from the code; do not edit by hand.",
        f"Params and GFLOPs: the shipped config at scale `{scale}` minus ultralytics' `yolov5{scale}.yaml`, {imgsz}x{imgsz}, "
        "counted by thop (2 x MACs) on the full-size image. "
        "Export: a yolov5n checkpoint exported with ultralytics at 64 px and run on a random image, output within 1e-4 "
        "(max abs, boxes as a fraction of the input size) of PyTorch; dynamic ONNX run at another batch and size.",
        "",
        "| Module | Paper | Year | Config | Params added | GFLOPs added | Needs channels | Export | Reference test |",
        "|---|---|---|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r.name}` | [{r.title}]({r.url}) ({r.venue or 'preprint'}) | {r.year} | `{r.config}` | {r.params_added:,} | "
            f"{r.gflops_added:.3f} | {'yes' if r.needs_channels else 'no'} | {r.export} | {r.reference} |"
        )
    return "\n".join(lines) + "\n"


def render_aliases() -> str:
    """The section listing the peer names read as our modules (``yolo_attn.graph.aliases``), from the code."""
    from yolo_attn.graph.aliases import ALIASES

    lines = ["", "## Aliases: peer class names", "",
             "A yaml may name a module by the class name of the seed code, YOLOAir or the official repository; the row "
             "is read with the peer's argument order and defaults and builds our module (the checkpoint holds our class; "
             "each such row prints a note, see [WILD_YAMLS.md](WILD_YAMLS.md)). Test: `tests/models/test_aliases.py` "
             "(parameter count and output equal to the peer's code on the same weights).", "",
             "| Peer name | Builds | Peer class (source) | Peer arguments after the channels -> ours |", "|---|---|---|---|"]
    for a in ALIASES.values():
        args = ", ".join(f"{p.name}={p.default!r} -> " + (f"{p.ours} (1/{p.name})" if p.name == "ratio" else p.ours
                                                           if p.ours else "unused by the peer's code (any value)"
                                                           if p.ignored else f"no equivalent (only {p.neutral!r})")
                         for p in a.params) or "none"
        extra = f" {a.peer_note}." if a.peer_note else ""
        extra += f" Refused: {a.refuse}." if a.refuse else ""
        lines.append(f"| {a.name} | `{a.target}` | {a.source} | {args}.{extra} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Write the attention module table (docs/MODULES.md) from the code.")
    p.add_argument("--out", default=str(REPO / "docs" / "MODULES.md"), help="output file, '-' for stdout")
    p.add_argument("--no-export", action="store_true", help="skip the export checks (fast)")
    p.add_argument("--modules", nargs="*", default=None, help="only these modules")
    args = p.parse_args(argv)
    text = render(module_rows(args.modules, export=not args.no_export)) + render_aliases()
    if args.out == "-":
        print(text, end="")
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
