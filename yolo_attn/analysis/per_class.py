"""Per-class AP50 / AP50-95 columns of the comparison: each config's mean over its seeds of the per-class AP its runs
recorded (``{run}/per_class.json``, ``yolo_attn.eval.per_class``). A config with any run that recorded none gets no
per-class figures (a mean over some of its seeds would not be the row's mean), and the table says so."""

from __future__ import annotations

import statistics

__all__ = ("per_class_fields", "per_class_csv_fields", "per_class_markdown")


def per_class_fields(per_class: list[dict | None]) -> dict:
    """A config row's per-class fields from its runs' per-class dicts (None: the run recorded none):
    ``per_class`` ({class: (mean AP50, mean AP50-95)}, class-index order), ``AP50_<class>`` and ``AP50-95_<class>``
    (the CSV columns), or only ``per_class_missing`` (how many runs recorded none)."""
    missing = sum(pc is None for pc in per_class)
    if missing or not per_class:
        return {"per_class": {}, "per_class_missing": missing}
    classes = list(dict.fromkeys(c for pc in per_class for c in pc))
    means = {}
    for c in classes:
        vals = [pc[c] for pc in per_class if c in pc]
        means[c] = (round(statistics.fmean(v["mAP50"] for v in vals), 4),
                    round(statistics.fmean(v["mAP50-95"] for v in vals), 4))
    out = {"per_class": means, "per_class_missing": 0}
    for c, (ap50, ap) in means.items():
        out[f"AP50_{c}"], out[f"AP50-95_{c}"] = ap50, ap
    return out


def per_class_csv_fields(rows: list[dict]) -> list[str]:
    """The per-class CSV columns over all rows: AP50 and AP50-95 of each class, in the order the classes appear."""
    classes = list(dict.fromkeys(c for r in rows for c in r.get("per_class", {})))
    return [f"{m}_{c}" for c in classes for m in ("AP50", "AP50-95")]


def per_class_markdown(rows: list[dict]) -> list[str]:
    """The per-class table of one group's rows (markdown lines), and a line naming configs without per-class AP."""
    rs = [r for r in rows if r.get("module") != "control"]
    have = [r for r in rs if r.get("per_class")]
    lacking = [r for r in rs if not r.get("per_class")]
    out = []
    if have:
        classes = list(dict.fromkeys(c for r in have for c in r["per_class"]))
        out += ["Per-class AP50 / AP50-95 (final validation of each run's best.pt, mean over seeds):", "",
                "| config | seeds | " + " | ".join(classes) + " |", "|---|---|" + "---|" * len(classes)]
        for r in have:
            cells = [("{:.4f} / {:.4f}".format(*r["per_class"][c]) if c in r["per_class"] else "") for c in classes]
            out.append(f"| {r['config']} | {r['seeds']} | " + " | ".join(cells) + " |")
        out.append("")
    if lacking:
        out += [("No per-class AP for " if have else "No per-class AP in this group: ") +
                ", ".join(f"{r['config']} ({r['per_class_missing']} of {r['n_runs']} runs without per_class.json)"
                          for r in lacking) +
                " — runs trained before per-class AP was recorded; retrain, or validate a best.pt with val_attn.py "
                "(its metrics.json lists per_class).", ""]
    return out
