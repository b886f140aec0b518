""".env.example lists every variable config.py reads, and nothing it does not."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READERS = {"get", "getenv", "_flag"}  # os.environ.get, os.getenv, config._flag


def variables_config_reads() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse((ROOT / "config.py").read_text())):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            called = getattr(function, "attr", None) or getattr(function, "id", None)
            first = node.args[0]
            if called in READERS and isinstance(first, ast.Constant):
                names.add(first.value)
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            if isinstance(node.slice, ast.Constant):
                names.add(node.slice.value)
    return names


def variables_listed() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", text, re.M))


def test_the_reader_finds_what_config_reads():
    # A guard on the parser above: it must see the plainly read, multi-line and flag forms.
    found = variables_config_reads()
    assert {"SECRET_KEY", "MAIL_DEFAULT_SENDER", "RATELIMIT_ENABLED", "APP_ENV"} <= found


def test_env_example_lists_every_variable_config_reads():
    assert variables_listed() == variables_config_reads()
