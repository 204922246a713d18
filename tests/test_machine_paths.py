"""No machine paths in the repository: a file committed with ``/work/...`` or ``/root/...`` in it describes one
machine, not the project (docs must give commands that run anywhere)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home/[\w.-]+)/")
THIS = "tests/test_machine_paths.py"


def machine_paths(text: str) -> list[str]:
    return [m.group(0) for m in MACHINE_PATH.finditer(text)]


def tracked_text_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and f != THIS]


def test_no_tracked_file_names_a_machine_path():
    found = []
    for name in tracked_text_files():
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:  # binary (a checkpoint fixture records where it was saved; it is kept byte for byte)
            continue
        for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if machine_paths(line):
                found.append(f"{name}:{i}: {line.strip()[:120]}")
    assert not found, "machine paths (write a relative path, ~/..., or a placeholder such as RUNS/):\n" + "\n".join(found)


def test_the_pattern_finds_machine_paths_and_spares_others():
    assert machine_paths("python train_attn.py --project /work/grid --out /root/out") == ["/work/", "/root/"]
    assert machine_paths("cp x /home/alice/y") == ["/home/alice/"]
    assert machine_paths("see docs/work/x.md, ~/.cache/yolo_attn/, runs/root/a, https://example.com/work/") == []
