""".env.example lists every variable the application reads, and nothing it does not.

The application is config.py, wsgi.py and every module of booking/ (the development
mail catcher that `make run` starts reads its own address, say).
"""

import ast
import re
from pathlib import Path

from tests import source_tree

ROOT = Path(__file__).resolve().parent.parent
# os.environ.get("X"), os.getenv("X"), and config.py's _flag("X", default).
READERS = {"os.environ.get", "os.getenv", "environ.get", "getenv", "_flag"}


def application_sources() -> list[Path]:
    return [ROOT / "config.py", ROOT / "wsgi.py", *source_tree.python_files()]


def variables_read(source: str) -> set[str]:
    names = set()
    for node in source_tree.walk(source):
        if isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if ast.unparse(node.func) in READERS and isinstance(first, ast.Constant):
                names.add(first.value)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) in {
            "os.environ",
            "environ",
        }:
            if isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
    return names


def variables_the_application_reads() -> set[str]:
    names: set[str] = set()
    for path in application_sources():
        names |= variables_read(path.read_text())
    return names


def variables_listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_the_reader_finds_every_way_of_reading_a_variable():
    # A guard on the parser above: each form counts, and a dict's .get does not.
    source = """
import os
from os import environ, getenv
A = os.environ.get("PLAIN", "x")
B = int(os.environ.get(
    "MULTI_LINE", "1"))
C = os.environ["SUBSCRIPT"]
D = getenv("BARE_GETENV")
E = os.getenv("OS_GETENV")
F = _flag("A_FLAG", False)
G = environ["BARE_ENVIRON"]
H = settings.get("NOT_A_VARIABLE")
"""
    assert variables_read(source) == {
        "PLAIN",
        "MULTI_LINE",
        "SUBSCRIPT",
        "BARE_GETENV",
        "OS_GETENV",
        "A_FLAG",
        "BARE_ENVIRON",
    }


def test_the_reader_finds_what_the_application_reads():
    found = variables_the_application_reads()
    # config.py's plain, multi-line and flag forms, and one read outside config.py.
    assert {"SECRET_KEY", "MAIL_DEFAULT_SENDER", "RATELIMIT_ENABLED", "DEV_MAIL_PORT"} <= found


def test_env_example_lists_every_variable_the_application_reads():
    assert variables_listed() == variables_the_application_reads()
