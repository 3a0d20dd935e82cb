"""course_utils, the library the notebooks teach, stays small enough to read: a cap on its public names
(scripts/package_size.py). courseware, the course's machinery, is measured and reported on its own."""

from __future__ import annotations

import ast
from pathlib import Path

import package_size  # scripts/ is on pytest's pythonpath (pyproject.toml)

ROOT = Path(__file__).resolve().parents[1]

PUBLIC_NAME_CAP = 102  # what the notebooks, the command line and the benchmarks call; the rest is private
# (99 before the sentiment loaders of notebook 08 added two)


def test_public_names_stay_under_the_cap():
    size = package_size.measure(ROOT / "course_utils")
    assert size["public_names"] < PUBLIC_NAME_CAP, (
        f"course_utils has {size['public_names']} public names (cap {PUBLIC_NAME_CAP}): make helpers that "
        "no notebook calls private (a leading underscore)")


def test_every_module_counts_subfolders_included(tmp_path):
    (tmp_path / "one.py").write_text("A = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.py").write_text("B = 2\nC = 3\n")
    assert package_size.measure(tmp_path) == {"modules": 2, "lines": 3, "code": 3, "public_names": 3}
    modules = sum(1 for _ in (ROOT / "courseware").rglob("*.py"))
    assert package_size.measure(ROOT / "courseware")["modules"] == modules > len(list((ROOT / "courseware").glob("*.py")))


def test_counts_names_code_and_docstrings(tmp_path):
    (tmp_path / "one.py").write_text('"""Doc."""\n\nX = 1\n_Y = 2\n\n\ndef shown():\n    """Doc\n    more."""\n'
                                     '    # a comment\n    return X\n\n\nclass _Hidden:\n    pass\n')
    assert package_size.measure(tmp_path) == {"modules": 1, "lines": 15, "code": 6, "public_names": 2}
    assert package_size.public_names(ast.parse("a = b = 1\nc: int = 2\ndef _d(): pass")) == ["a", "b", "c"]


def test_the_script_prints_the_figures_and_refuses_a_missing_folder(capsys, tmp_path):
    assert package_size.main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["course_utils", "courseware"]  # each package on its own line
    assert all("public names" in line for line in lines)
    assert package_size.main([str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
