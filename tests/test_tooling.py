"""The checks CI runs are the ones a developer's commit runs: ruff and mypy, both ways.

`make test` (which .ci/run calls) lints first; `make hooks` installs the pre-commit hooks of
.pre-commit-config.yaml. Read as text: the test extra has no YAML reader, and the file's
shape (one `entry:` per hook) is simple.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def recipe(makefile: str, target: str) -> str:
    """The target's line and recipe, up to the blank line that ends it."""
    return makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]


def hook_entries(text: str) -> dict[str, str]:
    """Each hook's id -> the command it runs."""
    hooks = re.findall(r"-\s+id:\s*(\S+)(.*?)(?=\n\s*-\s+id:|\Z)", text, re.S)
    entries = {}
    for hook_id, body in hooks:
        entry = re.search(r"^\s*entry:\s*(.+)$", body, re.M)
        if entry:
            entries[hook_id] = entry.group(1).strip()
    return entries


def test_pre_commit_runs_ruff_check_ruff_format_and_mypy():
    entries = hook_entries((ROOT / ".pre-commit-config.yaml").read_text()).values()
    commands = [entry.split()[:2] for entry in entries]
    assert [".venv/bin/ruff", "check"] in commands
    assert [".venv/bin/ruff", "format"] in commands
    assert any(command[0] == ".venv/bin/mypy" for command in commands)


def test_ci_runs_make_test_which_lints_and_typechecks_first():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    # Lint runs beside the tests' warm-up, and its failure ends `make test` before any test.
    test = recipe(makefile, "test")
    lint_run = test.index("$(MAKE) --no-print-directory lint")
    lint_failed = test.index('echo "make test: lint failed (see above)"; exit 1')
    assert lint_run < lint_failed < test.index("pytest_on")
    lint = recipe(makefile, "lint")
    assert "ruff check ." in lint and "ruff format --check ." in lint and "typecheck" in lint
    assert re.search(r"^typecheck:.*\n\t\$\(VENV\)/bin/mypy$", makefile, re.M)


def test_the_hook_reader_can_fail():
    text = "repos:\n  - repo: local\n    hooks:\n      - id: a\n        entry: x y\n      - id: b\n"
    assert hook_entries(text) == {"a": "x y"}
