"""README.md and docs/*.md as a new user meets them: the Python blocks run as written and print what their comments
promise, the shell commands name scripts and flags that exist, the links resolve, and the README stays a page.

Python blocks: each file's ```python blocks run in order, as one script, in a fresh interpreter whose working
directory is a copy of the repository (what a fresh clone holds: no runs/, no build/), offline. A line's comment
``# prints VALUE`` promises that the script prints the line VALUE; the promised lines must appear in stdout in the
order of the comments (``...`` in VALUE stands for any text). Blocks that cannot run here (COCO, several GPUs) are
fenced as ```bash or ```text, not ```python.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import subprocess_env

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOC_FILES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINKED_FILES = [README, *sorted((ROOT / "docs").rglob("*.md")), ROOT / "CHANGELOG.md"]
README_LIMIT = 12_000

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
PROMISE = re.compile(r"#\s*prints\s+(.+?)\s*$")
SCRIPTS = ("train_attn.py", "val_attn.py", "compare_attn.py", "visualize_attn.py", "ablate_attn.py")
COPY_IGNORE = shutil.ignore_patterns(".git", "runs", "build", "dist", ".ci-venv", ".ci-yolov5", ".venv", "venv",
                                     "*.egg-info", "__pycache__", ".pytest_cache", "datasets")


def fenced(path: Path, lang: str) -> list[str]:
    """The code of every ```lang block of ``path``, in order."""
    return [code for tag, code in FENCE.findall(path.read_text(encoding="utf-8")) if tag == lang]


def promises(code: str) -> list[str]:
    return [m.group(1) for line in code.splitlines() if (m := PROMISE.search(line))]


def unmet_promises(expected: list[str], stdout: str) -> list[str]:
    """The promised lines not found in ``stdout`` in order (each after the previous one's line)."""
    lines = [line.strip() for line in stdout.splitlines()]
    pos, missing = 0, []
    for want in expected:
        pattern = re.compile(".*".join(re.escape(part) for part in want.split("...")) + r"\Z")
        hit = next((k for k in range(pos, len(lines)) if pattern.match(lines[k])), None)
        if hit is None:
            missing.append(want)
        else:
            pos = hit + 1
    return missing


PY_FILES = [p for p in DOC_FILES if fenced(p, "python")]


def _trains(path: Path) -> bool:
    return any(re.search(r"\btrain\(", code) for code in fenced(path, "python"))


@pytest.mark.parametrize(
    "doc", [pytest.param(p, marks=[pytest.mark.slow] if _trains(p) else [], id=p.relative_to(ROOT).as_posix())
            for p in PY_FILES])
def test_python_blocks_run_and_print_what_they_promise(doc, tmp_path):
    code = "\n\n".join(fenced(doc, "python"))
    expected = promises(code)
    assert expected, f"{doc.name}: its Python blocks promise no printed value (# prints ...)"
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=COPY_IGNORE)
    script = tmp_path / f"{doc.stem}_blocks.py"
    script.write_text(code, encoding="utf-8")
    env = subprocess_env(PYTHONPATH=str(clone), YOLO_OFFLINE="1", MPLBACKEND="Agg")
    env.pop("ULTRALYTICS_SAFE_LOAD", None)
    r = subprocess.run([sys.executable, str(script)], cwd=clone, env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, f"{doc.name}: blocks failed (exit {r.returncode}):\n{r.stderr[-3000:]}"
    missing = unmet_promises(expected, r.stdout)
    assert not missing, f"{doc.name}: promised but not printed (in order): {missing}\nstdout tail:\n{r.stdout[-3000:]}"


def test_promise_matching_is_ordered_and_exact():
    out = "noise\n(427, 427, 2)\nEMA\n[]\n"
    assert unmet_promises(["(427, 427, 2)", "EMA"], out) == []
    assert unmet_promises(["(421, 427, 2)"], out) == ["(421, 427, 2)"]  # the README's old wrong comment
    assert unmet_promises(["EMA", "(427, 427, 2)"], out) == ["(427, 427, 2)"]  # order matters
    assert unmet_promises(["(427, ...)"], out) == []
    assert unmet_promises(["427"], out) == ["427"]  # whole lines, not substrings


# ------------------------------------------------------------------------------------------------ shell commands
def shell_commands(path: Path) -> list[list[str]]:
    """Every command of the ```bash blocks of ``path`` as argv, continuation lines joined, comments dropped."""
    out = []
    for code in fenced(path, "bash"):
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)  # ; inside quotes stays in its argument
            lexer.whitespace_split, lexer.commenters = True, "#"
            argv = []
            for token in [*lexer, ";"]:
                if token in ("&&", ";", "|", "||", "&"):
                    if argv:
                        out.append(argv)
                    argv = []
                else:
                    argv.append(token)
    return out


def _target(argv: list[str]) -> str | None:
    """``train_attn.py`` / ``-m yolo_attn.x`` for a command that runs one of ours, else None."""
    for k, tok in enumerate(argv):
        if Path(tok).name in ("python", "python3") and k + 1 < len(argv):
            nxt = argv[k + 1]
            if nxt in SCRIPTS:
                return nxt
            if nxt == "-m" and k + 2 < len(argv) and argv[k + 2].split(".")[0] == "yolo_attn":
                return "-m " + argv[k + 2]
    return None


YOLO_MODULE = "yolo_attn.cli.yolo"  # `yolo-attn` as a module
ALL_COMMANDS = [(p, argv) for p in LINKED_FILES if p.is_file() for argv in shell_commands(p)]

HELP_SCRIPT = r"""
import contextlib, io, json, runpy, sys
out = {}
for target in json.loads(sys.argv[1]):
    buf = io.StringIO()
    # as Python itself: sys.argv[0] is "-m" while `python -m pkg` imports the package
    sys.argv = ["-m" if target.startswith("-m ") else target, "--help"]
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            if target.startswith("-m "):
                runpy.run_module(target[3:], run_name="__main__", alter_sys=True)
            else:
                runpy.run_path(target, run_name="__main__")
        except SystemExit:
            pass
    out[target] = buf.getvalue()
print("HELP-JSON" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def help_texts():
    targets = sorted({t for _, argv in ALL_COMMANDS if (t := _target(argv)) and t != "-m " + YOLO_MODULE})
    r = subprocess.run([sys.executable, "-c", HELP_SCRIPT, json.dumps(targets)], cwd=ROOT,
                       env=subprocess_env(PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=600)
    assert "HELP-JSON" in r.stdout, r.stderr[-3000:]
    return json.loads(r.stdout.split("HELP-JSON", 1)[1])


def test_shell_commands_name_existing_scripts_and_flags(help_texts):
    from ultralytics.cfg import MODES

    bad = []
    for path, argv in ALL_COMMANDS:
        where = f"{path.relative_to(ROOT)}: {' '.join(argv)}"
        yolo_args = argv[1:] if argv[0] == "yolo-attn" else argv[3:] if argv[1:3] == ["-m", YOLO_MODULE] else None
        if yolo_args is not None:  # ultralytics' yolo command: a mode, then key=value settings
            if not yolo_args or yolo_args[0] not in MODES:
                bad.append(f"{where}: no yolo mode {yolo_args[:1]}")
            continue
        if argv[:1] == ["bash"] and len(argv) > 1 and not (ROOT / argv[1]).is_file():
            bad.append(f"{where}: no file {argv[1]}")
        target = _target(argv)
        if target is None:
            continue
        text = help_texts[target]
        if "usage:" not in text:
            bad.append(f"{where}: {target} --help printed no usage")
            continue
        if target == "ablate_attn.py":  # shared training flags pass through to every cell
            text += help_texts.get("train_attn.py", "")
        for tok in argv:
            flag = tok.split("=", 1)[0]
            if flag.startswith("--") and not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                bad.append(f"{where}: {flag} is not in {target} --help")
    assert not bad, "\n".join(bad)


def test_shell_command_check_sees_a_wrong_flag(help_texts):
    text = help_texts["train_attn.py"]
    assert re.search(r"(?<![\w-])--attn-args(?![\w-])", text)
    assert not re.search(r"(?<![\w-])--attn-arg(?![\w-])", text)
    assert _target(["/usr/bin/time", "-v", "python", "train_attn.py", "--cfg", "x"]) == "train_attn.py"
    assert _target(["python", "-m", "yolo_attn.tools.bench", "--quick"]) == "-m yolo_attn.tools.bench"
    assert _target(["python3", "-m", "venv", ".venv"]) is None


# ------------------------------------------------------------------------------------------------ size and links
def test_readme_is_a_page_not_a_notebook():
    n = len(README.read_text(encoding="utf-8"))
    assert n <= README_LIMIT, f"README.md has {n} characters; at most {README_LIMIT} (move detail into docs/)"


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {github_anchor(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.M)}


def broken_links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    bad = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            bad.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{path.relative_to(ROOT)}: {target} (no heading '#{anchor}' in {dest.name})")
    return bad


def test_relative_links_point_at_existing_files_and_headings():
    bad = [b for p in LINKED_FILES if p.is_file() for b in broken_links(p)]
    assert not bad, "\n".join(bad)


def test_code_fences_are_closed():
    """An unclosed ``` swallows the prose after it and pairs the next blocks wrongly (their code would not run)."""
    odd = [p.relative_to(ROOT).as_posix() for p in LINKED_FILES if p.is_file()
           if len(re.findall(r"^```", p.read_text(encoding="utf-8"), re.M)) % 2]
    assert not odd, f"unclosed code fence in {odd}"


def test_link_check_sees_a_missing_file_and_heading(tmp_path):
    (tmp_path / "a.md").write_text("# A title, here\n[x](b.md) [y](a.md#a-title-here) [z](a.md#nope)\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert broken_links(tmp_path / "a.md") == ["a.md: b.md (no such file)", "a.md: a.md#nope (no heading '#nope' in a.md)"]
    finally:
        ROOT = saved
