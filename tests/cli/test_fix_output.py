"""``python -m yolo_attn fix IN -o OUT`` never overwrites IN (not through a hard or symbolic link either) nor an
unrelated file without ``--force``, and a bad OUT (missing folder, read-only file, a directory) is one ``error:``
line, exit 2, nothing written (issue 26)."""

import os
from pathlib import Path

import pytest

from yolo_attn.cli import fix
from yolo_attn.cli.guard import main_guard

WILD = Path(__file__).resolve().parents[1] / "graph" / "yamls_wild"
SRC = WILD / "yolov5s-fork.yaml"  # a fork-style yaml that fix rewrites


def _fix(capsys, *argv):
    code = main_guard(fix.main, [str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, [ln for ln in (out + err).splitlines() if ln.startswith("error:")], err


def _file(p: Path, mode: int = 0o644) -> Path:
    p.write_text("my notes\n")
    os.chmod(p, mode)
    return p


@pytest.fixture
def src(tmp_path):
    p = tmp_path / "yolov5s-mine.yaml"
    p.write_bytes(SRC.read_bytes())
    return p


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("make_out, words", [
    (lambda t, s: t / "missing" / "out.yaml", ["missing", "does not exist"]),
    (lambda t, s: t, ["is a directory"]),
    (lambda t, s: _file(t / "ro.yaml", 0o444), ["read-only"]),
    (lambda t, s: os.link(s, t / "hard.yaml") or t / "hard.yaml", ["is the input", "link"]),
    (lambda t, s: os.symlink(s, t / "soft.yaml") or t / "soft.yaml", ["never overwrites its input"]),
    (lambda t, s: _file(t / "notes.yaml"), ["not written by fix", "--force"]),
])
def test_bad_output_is_one_error_line_and_nothing_changes(tmp_path, capsys, src, make_out, words):
    out = make_out(tmp_path, src)
    before = _tree(tmp_path)
    code, _, errors, err = _fix(capsys, src, "-o", out)
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert all(w in errors[0] for w in words), errors[0]
    assert _tree(tmp_path) == before  # IN, its links and every other file byte-identical; no temporary file left


def test_force_replaces_an_unrelated_file_and_fix_replaces_its_own(tmp_path, capsys, src):
    out = tmp_path / "notes.yaml"
    out.write_text("my notes\n")
    code, printed, errors, _ = _fix(capsys, src, "-o", out, "--force")
    assert code == 0 and not errors and f"wrote {out}" in printed
    first = out.read_text()
    assert first.startswith("# yolo_attn dialect of")
    code, printed, errors, _ = _fix(capsys, src, "-o", out)  # a file fix wrote: replaced without --force
    assert code == 0 and not errors and out.read_text() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.yaml", src.name]  # no temporary files
