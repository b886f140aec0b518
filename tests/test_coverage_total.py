"""The coverage total `make test` prints: lines run by either backend's run count once."""

import json

from tests.coverage_total import main, total


def report(path, files: dict[str, tuple[list[int], list[int]]]):
    path.write_text(
        json.dumps(
            {
                "meta": {"software": "slipcover", "show_contexts": False, "branch_coverage": False},
                "files": {
                    name: {"executed_lines": run, "missing_lines": missed}
                    for name, (run, missed) in files.items()
                },
            }
        )
    )
    return path


def test_a_line_either_run_ran_counts_as_run(tmp_path):
    sqlite = report(tmp_path / "s.json", {"booking/a.py": ([1, 2], [3, 4]), "config.py": ([1], [])})
    postgresql = report(tmp_path / "p.json", {"booking/a.py": ([1, 3], [2, 4])})
    # Lines 1, 2 and 3 of a.py and line 1 of config.py ran; line 4 never did.
    assert total([sqlite, postgresql]) == 80.0
    assert total([sqlite]) == 60.0


def test_a_missing_report_is_an_error_not_a_figure(tmp_path, capsys):
    assert main([str(tmp_path / "absent.json")]) == 1
    assert "no coverage report" in capsys.readouterr().err
