"""Imports run one way: views -> domain -> models -> database.

Read from the source (the AST of every module of booking/clinic), so an import inside
a function counts as much as one at the top: a cycle dodged by importing late is still
a cycle.
"""

import ast
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "booking" / "clinic"
# What the domain must never reach for: the web's request machinery, blueprints,
# staff sign-in and the presentation of pages.
FORBIDDEN = (
    "booking.auth",
    "booking.presentation",
    "booking.public",
    "booking.diary",
    "booking.feeds",
)
FORBIDDEN_FLASK_NAMES = {"request", "session", "flash", "redirect", "abort", "url_for"}


def _module_name(path: Path) -> str:
    relative = path.relative_to(DOMAIN.parent.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _domain_modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), filename=str(path))
        for path in sorted(DOMAIN.rglob("*.py"))
    }


def _imports(tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the tree, `from pkg import submodule` resolved."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            found.append((node.module, names))
            found.extend(
                (f"{node.module}.{name}", []) for name in names if f"{node.module}.{name}" in known
            )
    return found


def _graph() -> dict[str, set[str]]:
    modules = _domain_modules()
    known = set(modules)
    return {
        name: {module for module, _ in _imports(tree, known) if module in known and module != name}
        for name, tree in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node) :] + [node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_domain_has_no_import_cycle():
    graph = _graph()
    assert "booking.clinic.appointments" in graph  # the walk found the domain
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_domain_imports_no_blueprint_auth_presentation_or_request():
    modules = _domain_modules()
    offences = []
    for name, tree in modules.items():
        for module, names in _imports(tree, set(modules)):
            if module.startswith(FORBIDDEN):
                offences.append(f"{name} imports {module}")
            if module == "flask" and FORBIDDEN_FLASK_NAMES & set(names):
                offences.append(f"{name} imports {sorted(FORBIDDEN_FLASK_NAMES & set(names))}")
    assert offences == []


def test_the_cycle_finder_finds_a_cycle():
    # The check above must be able to fail.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


DIARY = DOMAIN.parent / "diary"
# The diary's shared modules; every other module of the blueprint holds views.
DIARY_SHARED = {
    "booking.diary",
    "booking.diary.charts",
    "booking.diary.forms",
    "booking.diary.grid",
    "booking.diary.record_status",
    "booking.diary.signed_in",
}


def test_diary_view_modules_share_helpers_only_through_the_blueprints_small_modules():
    offences = []
    for path in sorted(DIARY.glob("*.py")):
        name = "booking.diary" if path.stem == "__init__" else f"booking.diary.{path.stem}"
        if name in DIARY_SHARED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "booking.diary."
            ):
                if node.module not in DIARY_SHARED:
                    offences.append(f"{name} imports {node.module}")
    assert offences == []


def test_one_signed_in_staff_helper():
    copies = [
        str(path.relative_to(DOMAIN.parent.parent))
        for path in sorted(DOMAIN.parent.rglob("*.py"))
        if "def signed_in_staff(" in path.read_text()
    ]
    assert copies == ["booking/diary/signed_in.py"]
