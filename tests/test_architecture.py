"""docs/ARCHITECTURE.md is the architecture in the code: its tree names every module file, its table allows every
``yolo_attn`` import (lazy imports inside functions included), and no module imports itself back through others.

The table and the tree are read from docs/ARCHITECTURE.md, so the document and this test cannot disagree.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "yolo_attn"
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _unit(module: str) -> str:
    """The table's row for a dotted module: ``yolo_attn.graph.rows`` -> ``graph``, ``yolo_attn`` -> ``yolo_attn``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def allowed_imports(text: str) -> dict[str, set[str]]:
    """``{subpackage: subpackages it may import}`` from the table under "What each subpackage owns"."""
    section = text.split("## What each subpackage owns", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = [n.rstrip("/") for n in re.findall(r"`([^`]+)`", cells[0])]
        allowed = {n.rstrip("/") for n in re.findall(r"`([^`]+)`", cells[2])}
        for n in names:
            table[n] = allowed
    return table


def tree_sections(text: str) -> dict[str, str]:
    """``{folder: its text}`` from the tree block (``""`` for the package's own files, ``"engine/anchor"``, ...)."""
    block = text.split("```text\nyolo_attn/\n", 1)[1].split("```", 1)[0]
    sections, current = {"": ""}, ""
    for line in block.splitlines():
        m = re.match(r"^  (\S+)", line)
        if m and m.group(1).endswith("/"):
            current = m.group(1).rstrip("/")
            sections[current] = line
        elif m:  # a file of the package itself (errors.py ...)
            current = ""
            sections[""] += "\n" + line
        else:
            sections[current] += "\n" + line
    return sections


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str, path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every ``yolo_attn`` import in the file, at any depth (lazy imports too).
    ``from yolo_attn.x import y`` names ``yolo_attn.x.y`` when that is a module, else ``yolo_attn.x``."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for a in node.names:
                full = f"{source}.{a.name}"
                found.append((node.lineno, full if full in MODULES else source))
    return sorted({(line, m) for line, m in found if m == "yolo_attn" or m.startswith("yolo_attn.")})


def forbidden_imports(table: dict[str, set[str]]) -> list[str]:
    """One message per import the table does not allow: the file and line, the import, and the rule."""
    errors = []
    for module, path in MODULES.items():
        unit = _unit(module)
        if unit not in table:
            errors.append(f"{path.relative_to(ROOT)}: subpackage `{unit}` has no row in docs/ARCHITECTURE.md's table")
            continue
        for line, target in imports_of(module, path):
            to = _unit(target)
            if to != unit and to not in table[unit]:
                rule = ", ".join(f"`{u}`" for u in sorted(table[unit])) or "nothing of yolo_attn"
                errors.append(f"{path.relative_to(ROOT)}:{line} imports {target}, but `{unit}` may import only {rule} "
                              f"(docs/ARCHITECTURE.md); move the code or change the table")
    return errors


def import_circles() -> list[list[str]]:
    """Every circle of module imports (lazy ones included), each as the list of modules around it."""
    graph = {m: sorted({t for _, t in imports_of(m, p) if t in MODULES and t != m}) for m, p in MODULES.items()}
    circles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        stack.append(m)
        for t in graph[m]:
            if state.get(t) == "open":
                circles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = "done"

    for m in graph:
        if m not in state:
            visit(m, [])
    return circles


def test_the_table_allows_every_import_in_the_package():
    table = allowed_imports(DOC.read_text())
    assert {"anchor", "graph", "plugin", "engine", "cli"} <= set(table), "the table was not found in ARCHITECTURE.md"
    errors = forbidden_imports(table)
    assert not errors, "imports that docs/ARCHITECTURE.md does not allow:\n" + "\n".join(errors)


def test_anchor_is_a_leaf_beside_models():
    assert allowed_imports(DOC.read_text())["anchor"] == {"registry", "models", "errors"}


def test_no_module_imports_itself_back():
    circles = import_circles()
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_the_tree_names_every_module_file():
    sections = tree_sections(DOC.read_text())
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        folder = rel.parent.as_posix() if rel.parent != Path(".") else ""
        if path.name == "__init__.py" and folder:
            continue  # a folder's __init__ is its API, named by the folder's line
        if not re.search(rf"(?<![\w.]){re.escape(path.name)}", sections.get(folder, "")):
            missing.append(f"yolo_attn/{rel.as_posix()}: not named under `{folder or 'yolo_attn'}/` in the tree of "
                           f"docs/ARCHITECTURE.md; add it with what it does")
    assert not missing, "\n".join(missing)


def test_the_tree_names_no_file_that_is_gone():
    sections = tree_sections(DOC.read_text())
    gone = []
    for folder, text in sections.items():
        if folder == "yaml" or not (PACKAGE / folder).is_dir():
            continue
        for name in re.findall(r"(?<![\w./])(\w+\.py)\b", text):
            if not (PACKAGE / folder / name).is_file() and not (ROOT / name).is_file():
                gone.append(f"docs/ARCHITECTURE.md names {folder + '/' if folder else ''}{name}, which does not exist")
    assert not gone, "\n".join(gone)


MAX_MODULES = 12  # per folder, ``__init__.py`` not counted; models/ (one file per attention family) aside


def oversized_folders(package: Path = PACKAGE) -> list[str]:
    out = []
    for folder in sorted({p.parent for p in package.rglob("*.py")}):
        n = sum(1 for p in folder.glob("*.py") if p.name != "__init__.py")
        if folder.name != "models" and n > MAX_MODULES:
            out.append(f"{folder.relative_to(package.parent).as_posix()}/: {n} modules, at most {MAX_MODULES}; group "
                       f"some into a subfolder (as engine/anchor/) and name it in docs/ARCHITECTURE.md")
    return out


def test_no_folder_holds_more_than_twelve_modules(tmp_path):
    assert not oversized_folders(), "\n".join(oversized_folders())
    big = tmp_path / "yolo_attn" / "big"
    big.mkdir(parents=True)
    for i in range(MAX_MODULES + 1):
        (big / f"m{i}.py").write_text("")
    assert oversized_folders(tmp_path / "yolo_attn") == [
        "yolo_attn/big/: 13 modules, at most 12; group some into a subfolder (as engine/anchor/) and name it in "
        "docs/ARCHITECTURE.md"]


# The checks themselves must be able to fail: a forbidden import, a circle and an unnamed file are found.

def test_a_forbidden_import_is_named_with_its_file_and_rule(monkeypatch, tmp_path):
    bad = tmp_path / "yolo_attn" / "anchor" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    from yolo_attn.engine.trainers import TRAINERS\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {"yolo_attn.anchor.bad": bad})
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    errors = forbidden_imports(allowed_imports(DOC.read_text()))  # ROOT/MODULES read at call time
    assert errors == ["yolo_attn/anchor/bad.py:2 imports yolo_attn.engine.trainers, but `anchor` may import only "
                      "`errors`, `models`, `registry` (docs/ARCHITECTURE.md); move the code or change the table"]


def test_a_circle_is_found(monkeypatch, tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("import yolo_attn.graph.b\n")
    b.write_text("def f():\n    from yolo_attn.graph import a\n")
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {"yolo_attn.graph.a": a, "yolo_attn.graph.b": b})
    assert import_circles() == [["yolo_attn.graph.a", "yolo_attn.graph.b", "yolo_attn.graph.a"]]


@pytest.mark.parametrize("name", ["anchor/config.py", "graph/new_module.py"])
def test_an_unnamed_file_is_found(name):
    sections = tree_sections(DOC.read_text())
    folder, file = name.split("/")
    assert not re.search(rf"(?<![\w.]){re.escape(file)}", sections[folder])
