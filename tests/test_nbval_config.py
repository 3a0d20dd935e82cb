"""The nbval step compares what it should: every output of a notebook but stderr (see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def notebook_printing(path: Path, stored_stdout: str, stored_stderr: str) -> None:
    cell = nbformat.v4.new_code_cell('import sys\nprint("computed")\nprint("a warning of this run", file=sys.stderr)',
                                     execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored_stdout),
                    nbformat.v4.new_output("stream", name="stderr", text=stored_stderr)]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)


@pytest.mark.slow  # starts a Jupyter kernel per notebook
def test_nbval_ignores_stderr_and_compares_stdout(pytester):
    pytester.makeconftest((ROOT / "conftest.py").read_text(encoding="utf-8"))
    notebook_printing(pytester.path / "same_stdout.ipynb", "computed\n", "a warning of another run\n")
    notebook_printing(pytester.path / "other_stdout.ipynb", "something else\n", "a warning of this run\n")
    result = pytester.runpytest("--nbval", "--nbval-current-env", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*other_stdout.ipynb::Cell 0*"])
    assert "same_stdout.ipynb::Cell 0" not in "\n".join(line for line in result.outlines if "FAILED" in line)
