"""Exercise copies for workshops: `course_utils.exercises` and `python -m course_utils exercises`."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from course_utils.errors import CourseError
from course_utils.exercises import (DEFAULT_EXERCISE_COMMENT, EXERCISE_PREFIX, EXERCISE_TAG, SOLUTION_TAG,
                                    MissingExerciseComment, exercise_comment_lines, make_exercises)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_PATHS = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def tags(cell) -> list[str]:
    return list(cell.metadata.get("tags", []))


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder`` (hidden ones included): a file's bytes, None for a folder."""
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
            for path in sorted(folder.rglob("*"))}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "course_utils", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The exercise copies of the course notebooks, built once, and the warnings raised while building."""
    out_dir = tmp_path_factory.mktemp("kit") / "workshop"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = make_exercises(NOTEBOOKS, out_dir)
    return out_dir, written, [str(warning.message) for warning in caught]


def pairs(built):
    out_dir, _, _ = built
    for path in NOTEBOOK_PATHS:
        yield path.name, nbformat.read(path, as_version=4), nbformat.read(out_dir / path.name, as_version=4)


def test_one_valid_copy_per_numbered_notebook_and_no_warning(built):
    out_dir, written, messages = built
    assert NOTEBOOK_PATHS, "no numbered notebooks found"
    assert [path.name for path in written] == [path.name for path in NOTEBOOK_PATHS]
    assert sorted(path.name for path in out_dir.iterdir()) == [path.name for path in NOTEBOOK_PATHS]
    for path in written:
        nbformat.validate(nbformat.read(path, as_version=4))
    assert messages == []  # every solution cell has its "# Exercise:" comment


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_every_notebook_has_solution_cells_with_an_exercise_comment(path):
    notebook = nbformat.read(path, as_version=4)
    solutions = [cell for cell in notebook.cells if SOLUTION_TAG in tags(cell)]
    assert 1 <= len(solutions) <= 3, f"{path.name}: {len(solutions)} solution cells"
    for cell in solutions:
        assert cell.cell_type == "code"
        assert cell.source.startswith(EXERCISE_PREFIX + " "), f"{path.name}: {cell.source[:60]!r}"
        assert len(cell.source.splitlines()) > 1, "the solution itself follows the comment"


def test_only_solution_cells_change(built):
    for name, original, copy in pairs(built):
        assert copy.metadata == original.metadata, name
        assert (copy.nbformat, copy.nbformat_minor) == (original.nbformat, original.nbformat_minor)
        assert len(copy.cells) == len(original.cells), name
        for before, after in zip(original.cells, copy.cells):
            assert after.cell_type == before.cell_type and after.get("id") == before.get("id")
            if SOLUTION_TAG in tags(before):
                assert after.source != before.source
                assert tags(after) == [EXERCISE_TAG if tag == SOLUTION_TAG else tag for tag in tags(before)]
                assert {k: v for k, v in after.metadata.items() if k != "tags"} == \
                       {k: v for k, v in before.metadata.items() if k != "tags"}
            else:
                assert after.source == before.source, f"{name}: a cell without the solution tag changed"
                assert after.metadata == before.metadata
                if before.cell_type == "markdown":
                    assert after == before


def test_scaffold_keeps_the_exercise_comment_and_drops_the_solution(built):
    checked = 0
    for name, original, copy in pairs(built):
        for before, after in zip(original.cells, copy.cells):
            if SOLUTION_TAG not in tags(before):
                continue
            comment = exercise_comment_lines(before.source)
            assert comment and before.source.startswith(comment[0])
            assert after.source == "\n".join([*comment, "# Your code here", "..."]), name
            solution_code = [line for line in before.source.splitlines() if line.strip() and not line.startswith("#")]
            assert not any(line in after.source for line in solution_code), f"{name}: solution code leaked"
            assert SOLUTION_TAG not in tags(after)
            checked += 1
    assert checked >= len(NOTEBOOK_PATHS)


def test_outputs_and_execution_counts_are_cleared(built):
    for name, original, copy in pairs(built):
        assert any(cell.get("outputs") for cell in original.cells), f"{name}: the original has outputs to clear"
        for cell in copy.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, name


def test_exercise_comment_lines():
    source = "# Exercise: write the loop.\n# Exercise: then print the loss.\n# a hint that gives it away\nx = 1\n# Exercise: late"
    assert exercise_comment_lines(source) == ["# Exercise: write the loop.", "# Exercise: then print the loss."]
    assert exercise_comment_lines("x = 1  # Exercise: no") == []
    assert exercise_comment_lines("\n# Exercise: after a blank line\ny = 2") == ["# Exercise: after a blank line"]


def write_notebook(folder: Path, name: str, cells: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.v4.new_notebook(cells=cells)
    path = folder / name
    nbformat.write(notebook, path)
    return path


def test_a_solution_cell_without_comment_gets_the_default_and_a_warning(tmp_path):
    solution = nbformat.v4.new_code_cell("# a plain comment\ny = 2 * 21", metadata={"tags": [SOLUTION_TAG]})
    solution.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    solution.execution_count = 3
    write_notebook(tmp_path / "nb", "01_demo.ipynb", [nbformat.v4.new_markdown_cell("# Demo"), solution])
    with pytest.warns(MissingExerciseComment, match="01_demo.ipynb.*Exercise"):
        (written,) = make_exercises(tmp_path / "nb", tmp_path / "out")
    cell = nbformat.read(written, as_version=4).cells[1]
    assert cell.source == f"{DEFAULT_EXERCISE_COMMENT}\n# Your code here\n..."
    assert tags(cell) == [EXERCISE_TAG] and cell.outputs == [] and cell.execution_count is None


def test_a_notebook_without_solution_cells_warns(tmp_path):
    write_notebook(tmp_path / "nb", "02_plain.ipynb", [nbformat.v4.new_code_cell("print(1)")])
    write_notebook(tmp_path / "nb", "scratch.ipynb", [nbformat.v4.new_code_cell("print(2)")])  # not numbered
    with pytest.warns(MissingExerciseComment, match="02_plain.ipynb: no cell is tagged 'solution'"):
        written = make_exercises(tmp_path / "nb", tmp_path / "out")
    assert [path.name for path in written] == ["02_plain.ipynb"]


def test_second_run_without_overwrite_refuses_and_writes_nothing(built):
    out_dir, _, _ = built
    before = snapshot(out_dir.parent)
    with pytest.raises(CourseError, match="not empty.*--overwrite"):
        make_exercises(NOTEBOOKS, out_dir)
    assert snapshot(out_dir.parent) == before  # copies untouched, no temporary folder left


def test_overwrite_replaces_the_notebooks_and_keeps_other_files(tmp_path):
    out_dir = tmp_path / "workshop"
    make_exercises(NOTEBOOKS, out_dir)
    first = out_dir / NOTEBOOK_PATHS[0].name
    first.write_text("learner's edits")
    (out_dir / "outputs").mkdir()
    (out_dir / "outputs" / "model.txt").write_text("kept")
    written = make_exercises(NOTEBOOKS, out_dir, overwrite=True)
    nbformat.validate(nbformat.read(first, as_version=4))
    assert (out_dir / "outputs" / "model.txt").read_text() == "kept"
    assert len(written) == len(NOTEBOOK_PATHS)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["workshop"]


@pytest.mark.parametrize("case", ["missing", "empty", "same", "inside", "holds", "file"])
def test_bad_input_raises_course_error_and_writes_nothing(tmp_path, case):
    notebooks = tmp_path / "course" / "notebooks"
    write_notebook(notebooks, "00_demo.ipynb", [nbformat.v4.new_code_cell("x = 1", metadata={"tags": [SOLUTION_TAG]})])
    out_dir = tmp_path / "workshop"
    if case == "missing":
        notebooks = tmp_path / "no-such-folder"
    elif case == "empty":
        notebooks = tmp_path / "empty"
        notebooks.mkdir()
    elif case == "same":
        out_dir = notebooks
    elif case == "inside":
        out_dir = notebooks / "workshop"
    elif case == "holds":
        out_dir = tmp_path / "course"
    elif case == "file":
        out_dir.write_text("not a folder")
    before = snapshot(tmp_path)
    with pytest.raises(CourseError, match="Fix:"), warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingExerciseComment)
        make_exercises(notebooks, out_dir, overwrite=case in {"same", "holds"})
    assert snapshot(tmp_path) == before  # no copy, no temporary folder


def test_cli_writes_one_line_per_notebook_and_a_total(tmp_path):
    result = run_cli("exercises", str(tmp_path / "workshop"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(NOTEBOOK_PATHS) + 1 and result.stderr == ""
    counts = []
    for path, line in zip(NOTEBOOK_PATHS, lines):
        solutions = sum(SOLUTION_TAG in tags(cell) for cell in nbformat.read(path, as_version=4).cells)
        assert line.endswith(f"{path.name}: {solutions} exercise{'s' if solutions != 1 else ''}")
        counts.append(solutions)
    assert lines[-1].startswith(f"{sum(counts)} exercises in {len(NOTEBOOK_PATHS)} notebooks, written to ")


@pytest.mark.parametrize("args", [
    ["exercises", "{tmp}/filled"],                       # exists and is not empty
    ["exercises", "{tmp}/new", "--notebooks", "{tmp}/no-such-folder"],
    ["exercises", "notebooks", "--overwrite"],           # the notebooks folder itself
])
def test_cli_bad_input_exits_2_with_one_line(tmp_path, args):
    (tmp_path / "filled").mkdir()
    (tmp_path / "filled" / "notes.txt").write_text("mine")
    before = snapshot(tmp_path), snapshot(NOTEBOOKS)
    result = run_cli(*[arg.format(tmp=tmp_path) for arg in args])
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ") and "Fix:" in result.stderr
    assert (snapshot(tmp_path), snapshot(NOTEBOOKS)) == before


@pytest.mark.parametrize("path", NOTEBOOK_PATHS, ids=lambda path: path.stem)
def test_copy_runs_up_to_its_first_exercise(built, path, monkeypatch):
    """What a learner runs first in the workshop: every cell above the first exercise, in fast mode, offline."""
    out_dir, _, _ = built
    copy = nbformat.read(out_dir / path.name, as_version=4)
    first = next(index for index, cell in enumerate(copy.cells) if EXERCISE_TAG in tags(cell))
    copy.cells = copy.cells[:first]
    for name, value in {"COURSE_FAST": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                        "TOKENIZERS_PARALLELISM": "false"}.items():
        monkeypatch.setenv(name, value)
    # raises-exception cells may raise (nbclient honours the tag); any other error fails the test
    client = NotebookClient(copy, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(out_dir)}})
    client.execute()
    ran = [cell for cell in copy.cells if cell.cell_type == "code"]
    assert ran and all(cell.execution_count is not None for cell in ran)
