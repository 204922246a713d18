"""The package imports on the oldest Python that pyproject.toml's ``requires-python`` names (3.9).

No Python 3.9 is installed here, so this reads every module with ``ast``: its syntax must parse as 3.9 syntax
(``feature_version``), and no ``X | Y`` union may be evaluated at run time (an annotation of a function or a class
or module variable, or ``isinstance``/``issubclass``' second argument) without ``from __future__ import annotations``
(on 3.9, ``int | None`` raises ``TypeError`` when the module is imported).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLDEST = (3, 9)


def _has_future_annotations(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
               for n in tree.body)


def _unions(node) -> list[int]:
    return [n.lineno for n in ast.walk(node) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr)]


def runtime_unions(source: str) -> list[int]:
    """Lines where a ``|`` union is evaluated at run time on Python 3.9 (module docstring)."""
    tree = ast.parse(source)
    found = []
    lazy = _has_future_annotations(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not lazy:
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, [args.vararg, args.kwarg])]
            for a in every:
                found += _unions(a.annotation) if a.annotation else []
            found += _unions(node.returns) if node.returns else []
        elif isinstance(node, (ast.Module, ast.ClassDef)) and not lazy:
            for stmt in node.body:  # module and class variable annotations are evaluated; a function's local ones not
                if isinstance(stmt, ast.AnnAssign):
                    found += _unions(stmt.annotation)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "issubclass"):
            found += _unions(node.args[1]) if len(node.args) == 2 else []
    return sorted(set(found))


def _oldest_python() -> tuple[int, int]:
    text = (ROOT / "pyproject.toml").read_text()
    m = re.search(r'requires-python\s*=\s*">=\s*(\d+)\.(\d+)"', text)
    assert m, "pyproject.toml: no requires-python = \">=X.Y\""
    return int(m.group(1)), int(m.group(2))


def test_requires_python_is_the_version_checked_here():
    assert _oldest_python() == OLDEST


def test_every_module_parses_as_the_oldest_python_syntax():
    bad = []
    for path in sorted((ROOT / "yolo_attn").rglob("*.py")):
        try:
            ast.parse(path.read_text(), str(path), feature_version=OLDEST)
        except SyntaxError as e:
            bad.append(f"{path.relative_to(ROOT)}:{e.lineno}: not Python {OLDEST[0]}.{OLDEST[1]} syntax: {e.msg}")
    assert not bad, "\n".join(bad)


def test_no_module_evaluates_a_union_at_run_time():
    bad = [f"{path.relative_to(ROOT)}:{line}: `X | Y` is evaluated at import on Python 3.9 (TypeError); add "
           f"`from __future__ import annotations` or write Optional/Union"
           for path in sorted((ROOT / "yolo_attn").rglob("*.py")) for line in runtime_unions(path.read_text())]
    assert not bad, "\n".join(bad)


def test_the_check_finds_what_breaks_python_3_9():
    assert runtime_unions("def f(c1: int | None = None):\n    pass\n") == [1]
    assert runtime_unions("class A:\n    x: int | str = 1\n") == [2]
    assert runtime_unions("def g(x):\n    return isinstance(x, int | str)\n") == [2]
    assert runtime_unions("from __future__ import annotations\ndef f(c1: int | None = None):\n    pass\n") == []
    assert runtime_unions("def f():\n    y: int | None = None\n    return 1 | 2\n") == []
