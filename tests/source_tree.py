"""The application's source, read and parsed once per test process.

About a dozen tests read every module of booking/ as a syntax tree to prove a rule of
the code (imports run one way, only money.py turns pence into pounds, only the unit of
work commits...). Parsing and walking 200 modules again in each of them cost about a
second of processor time a test; the trees are never changed, so each process parses a
given text once and every test walks the same nodes.
"""

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "booking"


@functools.cache
def python_files(folder: Path = PACKAGE) -> tuple[Path, ...]:
    """Every .py file under the folder, in a stable order."""
    return tuple(sorted(folder.rglob("*.py")))


@functools.cache
def parse(source: str) -> ast.Module:
    """The syntax tree of a text, shared: walk it, never change it."""
    return ast.parse(source)


@functools.cache
def nodes(tree: ast.AST) -> tuple[ast.AST, ...]:
    """Every node of a tree, in ast.walk's order (a tree is keyed by its identity)."""
    return tuple(ast.walk(tree))


def walk(source: str) -> tuple[ast.AST, ...]:
    """Every node of a text's tree, in ast.walk's order."""
    return nodes(parse(source))
