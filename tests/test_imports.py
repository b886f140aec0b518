"""Imports run one way: views -> domain -> models -> database.

Read from the source (the AST of every module of booking/clinic), so an import inside
a function counts as much as one at the top: a cycle dodged by importing late is still
a cycle.
"""

import ast
from pathlib import Path

from tests import source_tree

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
        _module_name(path): source_tree.parse(path.read_text())
        for path in source_tree.python_files(DOMAIN)
    }


def _imports(tree: ast.Module, known: set[str]) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the tree, `from pkg import submodule` resolved."""
    found = []
    for node in source_tree.nodes(tree):
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


# All the domain may import of the application: itself, the tables and the database, the
# extensions' single instances and the encryption of clinical content. Anything else of
# booking/ is the web's side (blueprints, forms, the CLI, the demo data, presentation).
DOMAIN_MAY_IMPORT = (
    "booking.clinic",
    "booking.models",
    "booking.database",
    "booking.extensions",
    "booking.encryption",
)


def _outside_the_allowed(modules: dict[str, ast.Module]) -> list[str]:
    offences = []
    for name, tree in modules.items():
        for module, _names in _imports(tree, set(modules)):
            if module == "booking" or module.startswith("booking."):
                if not any(
                    module == allowed or module.startswith(f"{allowed}.")
                    for allowed in DOMAIN_MAY_IMPORT
                ):
                    offences.append(f"{name} imports {module}")
    return sorted(set(offences))


def test_the_domain_imports_only_the_domain_models_database_and_extensions():
    """Stricter than the list above: a new web-side module (a form module, the CLI, the
    demo data) is refused without being named here."""
    assert _outside_the_allowed(_domain_modules()) == []


def test_the_allowed_imports_check_can_fail():
    modules = {
        "booking.clinic.a": ast.parse("from booking.record_forms import fill"),
        "booking.clinic.b": ast.parse("import booking.cli\nfrom booking.models import X"),
        "booking.clinic.c": ast.parse("from booking.clinic.errors import DomainError"),
    }
    assert _outside_the_allowed(modules) == [
        "booking.clinic.a imports booking.record_forms",
        "booking.clinic.b imports booking.cli",
    ]


def test_the_cycle_finder_finds_a_cycle():
    # The check above must be able to fail.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


PACKAGE = DOMAIN.parent
BLUEPRINTS = ("booking.public", "booking.diary", "booking.feeds", "booking.auth")
ROUTE_DECORATORS = {"route", "get", "post", "put", "patch", "delete"}


def _package_modules() -> dict[str, ast.Module]:
    """Every module of booking/, by dotted name."""
    modules = {}
    for path in source_tree.python_files(PACKAGE):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = source_tree.parse(path.read_text())
    return modules


def _registers_routes(tree: ast.Module) -> bool:
    """Whether a module declares views: a function decorated `@blueprint.get(...)` or alike."""
    for node in source_tree.nodes(tree):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr in ROUTE_DECORATORS:
                    return True
    return False


def _view_modules(modules: dict[str, ast.Module]) -> set[str]:
    """The modules of the blueprints that hold views. A blueprint's package itself (its
    __init__, which every view module imports the blueprint from) is not counted."""
    return {
        name
        for name, tree in modules.items()
        if name.startswith(tuple(f"{blueprint}." for blueprint in BLUEPRINTS))
        and _registers_routes(tree)
    }


def _view_imports(modules: dict[str, ast.Module]) -> list[str]:
    """Every import of a view module by another module, but for its blueprint's package,
    which imports them all to register their views."""
    views = _view_modules(modules)
    offences = []
    for name, tree in modules.items():
        for module, _names in _imports(tree, set(modules)):
            if module in views and module != name and module.rsplit(".", 1)[0] != name:
                offences.append(f"{name} imports {module}")
    return sorted(set(offences))


def test_the_view_finder_tells_views_from_the_helpers_they_share():
    views = _view_modules(_package_modules())
    assert {"booking.public.booking", "booking.diary.day", "booking.feeds.staff"} <= views
    assert {"booking.public.picker", "booking.diary.signed_in", "booking.public.forms"}.isdisjoint(
        views
    )


def test_no_module_imports_a_view_module():
    """View modules share helpers through small modules of their blueprint (picker, links,
    forms, signed_in...), never through each other: a helper in a view module drags that
    module's views, and their imports, along, and is how cycles start."""
    assert _view_imports(_package_modules()) == []


def test_the_view_import_check_can_fail():
    views = {
        "booking.public": ast.parse("from booking.public import booking"),
        "booking.public.booking": ast.parse(
            "from booking.public import blueprint\n@blueprint.get('/')\ndef page(): ..."
        ),
        "booking.public.manage": ast.parse("from booking.public.booking import parse_day"),
        "booking.public.courses": ast.parse("from booking.public import booking"),
        "booking.diary.day": ast.parse("import booking.public.booking"),
    }
    assert _view_imports(views) == [
        "booking.diary.day imports booking.public.booking",
        "booking.public.courses imports booking.public.booking",
        "booking.public.manage imports booking.public.booking",
    ]


def test_one_signed_in_staff_helper():
    copies = [
        str(path.relative_to(DOMAIN.parent.parent))
        for path in source_tree.python_files(DOMAIN.parent)
        if "def signed_in_staff(" in path.read_text()
    ]
    assert copies == ["booking/diary/signed_in.py"]
