"""``python -m yolo_attn fix IN.yaml [-o OUT.yaml]``: write the same model in yolo_attn's own dialect.

Our class names, no channel arguments, ``from`` indices and anchors kept, one row per line with ``# i`` comments;
each change is printed. IN is never overwritten (default OUT: ``IN-yolo_attn.yaml`` beside it). A yaml already in
the dialect changes nothing: no file is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from yolo_attn.errors import UsageError

__all__ = ("build_parser", "main")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m yolo_attn fix", description=__doc__.split("\n\n")[0])
    p.add_argument("yaml", help="model yaml to rewrite (never overwritten)")
    p.add_argument("-o", "--output", help="where to write (default: IN-yolo_attn.yaml beside IN)")
    p.add_argument("--scale", choices=list("nsmlx"), help="scale the channels are read at (default: from the name)")
    p.add_argument("--force", action="store_true", help="replace an existing OUT that fix did not write")
    p.add_argument("--expand", action="store_true", help="write each composite (CBAMC3, C3_CBAM, Conv_CBAM, C2f_EMA) as "
                   "its block followed by the attention row: the closest yolo_attn rows, not the same model")
    return p


def check_output(src: Path, out: Path, force: bool = False) -> None:
    """Refuse, before anything is built or written, an OUT that is IN (also through a link), a directory, in a
    missing or read-only folder, read-only, or an existing file ``fix`` did not write (unless ``force``)."""
    from yolo_attn.graph.wild import HEADER

    again = "give another -o, e.g. -o " + f"{src.stem}-fixed.yaml"
    if out.is_dir():
        raise UsageError(f"-o {out}: is a directory; give a file path, e.g. -o {out / (src.stem + '-fixed.yaml')}")
    if out.exists():
        if src.exists() and os.path.samefile(src, out):
            raise UsageError(f"-o {out}: is the input {src} (the same file, or a link to it); fix never overwrites "
                             f"its input; {again}")
        if not os.access(out, os.W_OK) or not out.stat().st_mode & 0o222:  # no write bit: read-only, even for root
            raise UsageError(f"-o {out}: the file is read-only; {again}")
        try:
            ours = out.read_text(errors="replace").startswith(f"# {HEADER}")
        except OSError:
            ours = False
        if not ours and not force:
            raise UsageError(f"-o {out}: exists and was not written by fix; it is not overwritten. Add --force to "
                             f"replace it, or {again}")
    folder = out.absolute().parent
    if not folder.is_dir():
        raise UsageError(f"-o {out}: the folder {folder} does not exist; create it first, or {again}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"-o {out}: the folder {folder} is not writable; {again}")


def main(argv=None) -> None:
    import yolo_attn  # noqa: F401  (registers the modules)
    from yolo_attn.cli.check import load_or_usage
    from yolo_attn.graph.wild import dialect_dict, write_dialect_yaml

    args = build_parser().parse_args(argv)
    src = Path(args.yaml)
    out = Path(args.output) if args.output else src.with_name(f"{src.stem}-yolo_attn{src.suffix or '.yaml'}")
    if out.resolve() == src.resolve():
        raise UsageError(f"{out}: fix never overwrites its input; give another -o, e.g. -o {src.stem}-fixed.yaml")
    check_output(src, out, args.force)
    expanded = []

    def expand(d):
        from yolo_attn.graph.unknown import expand_composites

        d, lines = expand_composites(d)
        expanded.extend(lines)
        return d

    d, _, notes = load_or_usage(args.yaml, args.scale, expand if args.expand else None)
    fixed, changes = dialect_dict(d, notes)
    changes = expanded + changes
    if not changes:
        print(f"{src}: already in yolo_attn's dialect; nothing to change, nothing written")
        return
    for line in changes:
        print(line)
    try:
        write_dialect_yaml(fixed, out, src.name)
    except OSError as e:
        raise UsageError(f"-o {out}: cannot write it ({e.strerror or e}); nothing was written") from None
    print(f"wrote {out} ({len(changes)} row(s) changed)")
